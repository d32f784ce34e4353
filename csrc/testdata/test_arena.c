/* test_arena.c - arenas in C: creating an arena and objects in it, named
 * and anonymous, opening them by name and handle, the compact lock of
 * Values, errors, a full name table, threads creating and freeing at
 * once, freeing (blocks reused, stale handles refused), and the family's
 * constructors given "arena/name". */
#include "check.h"
#include "mpsync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static const struct mps_object_spec value_spec = {.kind = MPS_KIND_VALUE, .format = "q", .count = 1,
                                                  .elem_size = 8, .elem_align = 8, .with_lock = 1};
static const struct mps_object_spec lock_spec = {.kind = MPS_KIND_LOCK, .format = "", .with_lock = 1};

static int set_value(mps_object *obj, void *arg)
{
    memcpy(mps_object_payload(obj), arg, sizeof(int64_t));
    return 0;
}

static int64_t load(mps_object *v)
{
    int64_t x;
    CHECK_RC(mps_value_load(v, 0, &x, sizeof x), 0);
    return x;
}

enum { objects = 1000, threads = 4, per_thread = 200 };

static mps_arena *shared;

/* make_values creates anonymous Values from a thread, reopens each by its
 * handle and checks it, and frees every other one. */
static void *make_values(void *arg)
{
    int64_t base = (int64_t)(intptr_t)arg * 1000000;
    for (int64_t i = 0; i < per_thread; i++) {
        mps_object *v, *w;
        int64_t x = base + i, one = 1;
        CHECK_RC(mps_arena_object_create(shared, NULL, &value_spec, set_value, &x, &v), 0);
        CHECK_RC(mps_value_open(mps_object_name(v), &w), 0);
        CHECK(load(w) == x);
        CHECK_RC(mps_value_add(w, 0, &one, NULL, sizeof one), 0);
        CHECK(load(v) == x + 1);
        CHECK_RC(mps_object_close(w), 0);
        if (i % 2 == 1)
            CHECK_RC(mps_object_unlink(v), 0);
        CHECK_RC(mps_object_close(v), 0);
    }
    return NULL;
}

int main(void)
{
    mps_arena *a;
    CHECK_RC(mps_arena_create(NULL, 1, 0, &a), -EINVAL);
    CHECK_RC(mps_arena_create(NULL, 8 << 20, 2 * objects + 16, &a), 0);
    CHECK(strncmp(mps_arena_name(a), "mps_arena_", 10) == 0);
    char name[300], arena_name[256];
    strcpy(arena_name, mps_arena_name(a));

    for (int64_t i = 0; i < objects; i++) {
        mps_object *v, *l;
        snprintf(name, sizeof name, "v%lld", (long long)i);
        CHECK_RC(mps_arena_object_create(a, name, &value_spec, set_value, &i, &v), 0);
        CHECK_RC(mps_object_close(v), 0);
        snprintf(name, sizeof name, "l%lld", (long long)i);
        CHECK_RC(mps_arena_object_create(a, name, &lock_spec, NULL, NULL, &l), 0);
        CHECK_RC(mps_object_close(l), 0);
    }
    mps_object *o;
    CHECK_RC(mps_arena_object_create(a, "v1", &lock_spec, NULL, NULL, &o), -EEXIST);
    CHECK_RC(mps_arena_object_create(a, "a/b", &lock_spec, NULL, NULL, &o), -EINVAL);
    CHECK_RC(mps_arena_object_create(a, "#1.1", &lock_spec, NULL, NULL, &o), -EINVAL);

    for (int64_t i = 0; i < objects; i++) {
        mps_object *v, *l;
        snprintf(name, sizeof name, "%s/v%lld", arena_name, (long long)i);
        CHECK_RC(mps_value_open(name, &v), 0);
        CHECK(strcmp(mps_object_name(v), name) == 0);
        CHECK(load(v) == i);
        /* The compact lock: recursive for the thread, 16 bytes before the
         * payload, which it must not touch. */
        CHECK((char *)mps_object_payload(v) - (char *)mps_object_lock(v) == MPS_ARENA_COMPACT_LOCK);
        CHECK_RC(mps_value_acquire(v, -1), 0);
        CHECK_RC(mps_value_acquire(v, 0), 0);
        int64_t neg = -i;
        CHECK_RC(mps_value_write(v, 0, 1, &neg), 0);
        CHECK_RC(mps_value_release(v), 0);
        CHECK_RC(mps_value_release(v), 0);
        CHECK_RC(mps_value_release(v), -EPERM);
        CHECK(load(v) == -i);
        CHECK_RC(mps_object_close(v), 0);
        snprintf(name, sizeof name, "%s/l%lld", arena_name, (long long)i);
        CHECK_RC(mps_lock_open(name, &l), 0);
        CHECK_RC(mps_lock_acquire(mps_object_lock(l), 0), 0);
        CHECK_RC(mps_lock_release(mps_object_lock(l)), 0);
        CHECK_RC(mps_object_close(l), 0);
    }

    /* Opening errors. */
    snprintf(name, sizeof name, "%s/missing", arena_name);
    CHECK_RC(mps_object_open(name, 0, &o), -ENOENT);
    snprintf(name, sizeof name, "%s/v1", arena_name);
    CHECK_RC(mps_lock_open(name, &o), -EMEDIUMTYPE);
    snprintf(name, sizeof name, "%s/#10.1", arena_name);
    CHECK_RC(mps_object_open(name, 0, &o), -ENOENT);
    snprintf(name, sizeof name, "%s/#zz.1", arena_name);
    CHECK_RC(mps_object_open(name, 0, &o), -EINVAL);
    CHECK_RC(mps_object_open("mps_no_such_arena_x/v1", 0, &o), -ENOENT);

    /* Threads creating at once, under the allocator's lock. */
    shared = a;
    pthread_t t[threads];
    for (int i = 0; i < threads; i++)
        CHECK(pthread_create(&t[i], NULL, make_values, (void *)(intptr_t)(i + 1)) == 0);
    for (int i = 0; i < threads; i++)
        CHECK(pthread_join(t[i], NULL) == 0);

    struct mps_arena_stats st;
    CHECK_RC(mps_arena_stats(a, &st), 0);
    CHECK(st.objects == 2 * objects + threads * per_thread / 2);
    CHECK(st.names == 2 * objects);
    CHECK(st.size == 8 << 20 && st.recovered == 0 && st.types == 2);

    /* Freeing: by handle (mps_object_unlink) and by name or handle
     * string (mps_arena_free); the block is reused by the next object of
     * its class, with a new generation, so the old handle fails. */
    uint64_t used = st.used;
    int64_t x = 5;
    mps_object *v, *w;
    CHECK_RC(mps_arena_object_create(a, NULL, &value_spec, set_value, &x, &v), 0);
    char handle[300];
    strcpy(handle, mps_object_name(v));
    CHECK_RC(mps_object_unlink(v), 0);
    CHECK_RC(mps_object_unlink(v), -ENOENT);
    CHECK_RC(mps_object_close(v), 0);
    CHECK_RC(mps_object_open(handle, 0, &o), -ENOENT);
    CHECK_RC(mps_arena_object_create(a, NULL, &value_spec, set_value, &x, &w), 0);
    const char *h0 = strchr(handle, '#'), *h1 = strchr(mps_object_name(w), '#');
    CHECK(strchr(h0, '.') - h0 == strchr(h1, '.') - h1 && strncmp(h0, h1, (size_t)(strchr(h0, '.') - h0)) == 0);
    CHECK(strcmp(h0, h1) != 0); /* same block, another generation */
    CHECK_RC(mps_arena_free(a, h1), 0);
    CHECK_RC(mps_arena_free(a, h1), -ENOENT);
    CHECK_RC(mps_object_close(w), 0);
    CHECK_RC(mps_arena_free(a, "v3"), 0);
    CHECK_RC(mps_arena_free(a, "v3"), -ENOENT);
    snprintf(name, sizeof name, "%s/v3", arena_name);
    CHECK_RC(mps_value_open(name, &o), -ENOENT);
    CHECK_RC(mps_arena_free(a, ""), -EINVAL);
    CHECK_RC(mps_arena_free(a, "a/b"), -EINVAL);
    CHECK_RC(mps_arena_free(NULL, "v4"), -EINVAL);
    x = 33;
    CHECK_RC(mps_arena_object_create(a, "v3", &value_spec, set_value, &x, &v), 0);
    CHECK(load(v) == 33);
    CHECK_RC(mps_object_close(v), 0);
    CHECK_RC(mps_arena_stats(a, &st), 0);
    CHECK(st.objects == 2 * objects + threads * per_thread / 2 && st.used == used);
    for (int i = 0; i < objects; i++) {
        snprintf(name, sizeof name, "l%d", i);
        CHECK_RC(mps_arena_free(a, name), 0);
    }
    CHECK_RC(mps_arena_stats(a, &st), 0);
    CHECK(st.names == objects && st.objects == objects + threads * per_thread / 2);

    /* The family's constructors make objects in an arena given
     * "arena/name", or "arena/" for an anonymous one; a condition's own
     * RLock goes in the arena too, and mps_cond_unlink frees both. */
    uint64_t before = st.objects;
    mps_object *sem, *ev, *bar;
    mps_cond *cond;
    snprintf(name, sizeof name, "%s/s", arena_name);
    CHECK_RC(mps_sem_create(name, 2, &sem), 0);
    CHECK_RC(mps_sem_open(name, &o), 0);
    CHECK_RC(mps_object_close(o), 0);
    snprintf(name, sizeof name, "%s/", arena_name);
    CHECK_RC(mps_event_create(name, &ev), 0);
    CHECK(strncmp(mps_object_name(ev), name, strlen(name)) == 0 && mps_object_name(ev)[strlen(name)] == '#');
    CHECK_RC(mps_barrier_create(name, 3, &bar), 0);
    snprintf(name, sizeof name, "%s/c", arena_name);
    CHECK_RC(mps_cond_create(name, NULL, &cond), 0);
    CHECK_RC(mps_arena_stats(a, &st), 0);
    CHECK(st.objects == before + 5);
    CHECK_RC(mps_cond_unlink(cond), 0);
    CHECK_RC(mps_cond_close(cond), 0);
    CHECK_RC(mps_object_unlink(sem), 0);
    CHECK_RC(mps_object_unlink(ev), 0);
    CHECK_RC(mps_object_unlink(bar), 0);
    CHECK_RC(mps_object_close(sem), 0);
    CHECK_RC(mps_object_close(ev), 0);
    CHECK_RC(mps_object_close(bar), 0);
    CHECK_RC(mps_arena_stats(a, &st), 0);
    CHECK(st.objects == before);
    snprintf(name, sizeof name, "mps_no_such_arena_x/s");
    CHECK_RC(mps_sem_create(name, 1, &o), -ENOENT);

    /* A name table of 64 slots takes 48 names. */
    mps_arena *small;
    CHECK_RC(mps_arena_create(NULL, 1 << 20, 0, &small), 0);
    for (int i = 0; i < 48; i++) {
        snprintf(name, sizeof name, "n%d", i);
        CHECK_RC(mps_arena_object_create(small, name, &lock_spec, NULL, NULL, &o), 0);
        CHECK_RC(mps_object_close(o), 0);
    }
    CHECK_RC(mps_arena_object_create(small, "n48", &lock_spec, NULL, NULL, &o), -ENOSPC);
    CHECK_RC(mps_arena_object_create(small, NULL, &lock_spec, NULL, NULL, &o), 0); /* anonymous: no name */
    CHECK_RC(mps_object_close(o), 0);
    CHECK_RC(mps_arena_unlink(mps_arena_name(small)), 0);
    CHECK_RC(mps_arena_close(small), 0);

    /* A compact lock counts up to 65535 recursive holds, in its 16 bytes,
     * and leaves the value beside it alone. */
    snprintf(name, sizeof name, "%s/v7", arena_name);
    CHECK_RC(mps_value_open(name, &o), 0);
    for (int i = 0; i < 65535; i++)
        CHECK_RC(mps_value_acquire(o, 0), 0);
    CHECK_RC(mps_value_acquire(o, 0), -EAGAIN);
    CHECK(load(o) == -7);
    for (int i = 0; i < 65535; i++)
        CHECK_RC(mps_value_release(o), 0);
    CHECK_RC(mps_value_release(o), -EPERM);
    CHECK_RC(mps_object_close(o), 0);

    /* An arena of another layout version (version 1 had 24-byte compact
     * locks) is refused, not misread. */
    mps_arena *old;
    CHECK_RC(mps_arena_create(NULL, 1 << 20, 0, &old), 0);
    char old_name[256], path[300];
    strcpy(old_name, mps_arena_name(old));
    CHECK_RC(mps_arena_close(old), 0);
    snprintf(path, sizeof path, "/dev/shm/%s", old_name);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    uint32_t one = 1;
    CHECK(pwrite(fd, &one, sizeof one, MPS_ARENA_CTL + 8) == (ssize_t)sizeof one);
    CHECK(close(fd) == 0);
    CHECK_RC(mps_arena_open(old_name, &old), -EPROTONOSUPPORT);
    snprintf(name, sizeof name, "%s/x", old_name);
    CHECK_RC(mps_value_open(name, &o), -EPROTONOSUPPORT);
    CHECK_RC(mps_arena_unlink(old_name), 0);

    CHECK_RC(mps_arena_unlink(arena_name), 0);
    CHECK_RC(mps_arena_close(a), 0);
    return 0;
}
