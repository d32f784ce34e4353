/* test_family.c: the sync family in one process, from several threads -
 * semaphores, recursive locks, events, conditions, barriers and typed
 * values - and their errors.  It also runs under ThreadSanitizer. */
#include "check.h"
#include "mpsync.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

enum { threads = 4, rounds = 2000 };

static void run_threads(void *(*fn)(void *), void *arg)
{
    pthread_t t[threads];
    for (int i = 0; i < threads; i++)
        CHECK(pthread_create(&t[i], NULL, fn, arg) == 0);
    for (int i = 0; i < threads; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
}

static void drop(mps_object *o)
{
    CHECK_RC(mps_object_unlink(o), 0);
    CHECK_RC(mps_object_close(o), 0);
}

/* ---- semaphores ---- */

static long sem_counter;

static void *sem_add(void *arg)
{
    mps_object *s = arg;
    for (int i = 0; i < rounds; i++) {
        CHECK_RC(mps_sem_acquire(s, -1), 0);
        sem_counter++;
        CHECK_RC(mps_sem_release(s), 0);
    }
    return NULL;
}

static void test_semaphore(void)
{
    mps_object *s, *s2, *b;
    CHECK_RC(mps_sem_create(NULL, 1, &s), 0);
    CHECK(strncmp(mps_object_name(s), "mps_sem_", 8) == 0);
    CHECK_RC(mps_sem_open(mps_object_name(s), &s2), 0);
    run_threads(sem_add, s2);
    CHECK(sem_counter == (long)threads * rounds);

    unsigned v, max;
    CHECK_RC(mps_sem_value(s, &v), 0);
    CHECK(v == 1);
    CHECK_RC(mps_sem_max(s, &max), 0);
    CHECK(max == MPS_SEM_VALUE_MAX);
    CHECK_RC(mps_sem_try(s), 0);
    CHECK_RC(mps_sem_try(s), -EAGAIN);
    CHECK_RC(mps_sem_acquire(s, 1000000), -ETIMEDOUT);
    CHECK_RC(mps_sem_release(s), 0);
    CHECK_RC(mps_sem_release(s), 0);
    CHECK_RC(mps_sem_value(s2, &v), 0);
    CHECK(v == 2);
    CHECK_RC(mps_sem_create(NULL, MPS_SEM_VALUE_MAX + 1u, &b), -EINVAL);

    CHECK_RC(mps_bsem_create(NULL, 2, &b), 0);
    CHECK(strncmp(mps_object_name(b), "mps_bsem_", 9) == 0);
    CHECK_RC(mps_sem_release(b), -EOVERFLOW);
    CHECK_RC(mps_sem_acquire(b, -1), 0);
    CHECK_RC(mps_sem_release(b), 0);
    CHECK_RC(mps_sem_release(b), -EOVERFLOW);
    CHECK_RC(mps_sem_max(b, &max), 0);
    CHECK(max == 2);
    drop(b);
    CHECK_RC(mps_bsem_create(NULL, 0, &b), 0); /* allowed, as in Python */
    CHECK_RC(mps_sem_try(b), -EAGAIN);
    CHECK_RC(mps_sem_release(b), -EOVERFLOW);
    drop(b);

    /* Wrong kinds, both ways. */
    mps_object *e;
    CHECK_RC(mps_event_create(NULL, &e), 0);
    CHECK_RC(mps_sem_open(mps_object_name(e), &b), -EMEDIUMTYPE);
    CHECK_RC(mps_sem_release(e), -EMEDIUMTYPE);
    CHECK_RC(mps_event_open(mps_object_name(s), &b), -EMEDIUMTYPE);
    CHECK_RC(mps_sem_acquire(NULL, -1), -EINVAL);
    drop(e);
    CHECK_RC(mps_object_close(s2), 0);
    drop(s);
    CHECK_RC(mps_sem_open("mps_sem_nonexistent", &s), -ENOENT);
}

/* ---- recursive locks ---- */

static long rlock_counter;

static void *rlock_add(void *lock)
{
    for (int i = 0; i < rounds; i++) {
        CHECK_RC(mps_rlock_acquire(lock, -1), 0);
        CHECK_RC(mps_rlock_acquire(lock, -1), 0);
        uint32_t n;
        CHECK_RC(mps_rlock_count(lock, &n), 0);
        CHECK(n == 2);
        rlock_counter++;
        CHECK_RC(mps_rlock_release(lock), 0);
        CHECK_RC(mps_rlock_release(lock), 0);
    }
    return NULL;
}

static void *rlock_other(void *lock)
{
    uint32_t n = 1;
    CHECK_RC(mps_rlock_count(lock, &n), 0);
    CHECK(n == 0);
    CHECK_RC(mps_rlock_release(lock), -EPERM);
    CHECK_RC(mps_rlock_acquire(lock, 0), -EBUSY);
    CHECK_RC(mps_rlock_acquire(lock, 1000000), -ETIMEDOUT);
    return NULL;
}

static void test_rlock(void)
{
    mps_object *r, *r2;
    CHECK_RC(mps_rlock_create(NULL, &r), 0);
    CHECK_RC(mps_rlock_open(mps_object_name(r), &r2), 0);
    CHECK_RC(mps_lock_open(mps_object_name(r), &r2), -EMEDIUMTYPE);
    void *lock = mps_object_lock(r);
    run_threads(rlock_add, mps_object_lock(r2));
    CHECK(rlock_counter == (long)threads * rounds);

    CHECK_RC(mps_rlock_release(lock), -EPERM);
    CHECK_RC(mps_rlock_acquire(lock, 0), 0);
    CHECK_RC(mps_rlock_acquire(lock, 0), 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, rlock_other, lock) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_RC(mps_rlock_release(lock), 0);
    CHECK_RC(mps_rlock_release(lock), 0);
    CHECK_RC(mps_rlock_release(lock), -EPERM);
    CHECK(mps_lock_owner(lock) == 0);
    CHECK_RC(mps_object_close(r2), 0);
    drop(r);

    mps_object *l;
    CHECK_RC(mps_lock_create("/mps_test_family_lock", &l), 0);
    CHECK(strcmp(mps_object_name(l), "mps_test_family_lock") == 0);
    CHECK_RC(mps_lock_create("mps_test_family_lock", &r), -EEXIST);
    CHECK_RC(mps_lock_acquire(mps_object_lock(l), 0), 0);
    CHECK_RC(mps_lock_release(mps_object_lock(l)), 0);
    drop(l);
}

/* ---- events ---- */

static void *event_wait(void *e)
{
    CHECK_RC(mps_event_wait(e, -1), 0);
    return NULL;
}

static void test_event(void)
{
    mps_object *e, *e2;
    CHECK_RC(mps_event_create(NULL, &e), 0);
    CHECK_RC(mps_event_open(mps_object_name(e), &e2), 0);
    int set = 1;
    CHECK_RC(mps_event_is_set(e, &set), 0);
    CHECK(set == 0);
    CHECK_RC(mps_event_wait(e, 0), -ETIMEDOUT);
    CHECK_RC(mps_event_wait(e, 2000000), -ETIMEDOUT);
    pthread_t t[threads];
    for (int i = 0; i < threads; i++)
        CHECK(pthread_create(&t[i], NULL, event_wait, i % 2 ? e : e2) == 0);
    CHECK_RC(mps_event_set(e2), 0);
    for (int i = 0; i < threads; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK_RC(mps_event_is_set(e, &set), 0);
    CHECK(set == 1);
    CHECK_RC(mps_event_wait(e, 0), 0);
    CHECK_RC(mps_event_clear(e), 0);
    CHECK_RC(mps_event_is_set(e2, &set), 0);
    CHECK(set == 0);
    CHECK_RC(mps_object_close(e2), 0);
    drop(e);
}

/* ---- conditions ---- */

struct queue {
    mps_cond *c;
    long items, taken, sum;
};

static int has_items(void *arg) { return ((struct queue *)arg)->items > 0; }

static void *consume(void *arg)
{
    struct queue *q = arg;
    for (int i = 0; i < rounds / 4; i++) {
        CHECK_RC(mps_cond_acquire(q->c, -1), 0);
        CHECK_RC(mps_cond_wait_for(q->c, has_items, q, -1), 0);
        q->items--;
        q->taken++;
        CHECK_RC(mps_cond_release(q->c), 0);
    }
    return NULL;
}

static void run_queue(mps_cond *c)
{
    struct queue q = {.c = c};
    pthread_t t[threads];
    for (int i = 0; i < threads; i++)
        CHECK(pthread_create(&t[i], NULL, consume, &q) == 0);
    for (int i = 0; i < threads * (rounds / 4); i++) {
        CHECK_RC(mps_cond_acquire(c, -1), 0);
        q.items++;
        CHECK_RC(i % 2 ? mps_cond_notify(c, 1) : mps_cond_notify_all(c), 0);
        CHECK_RC(mps_cond_release(c), 0);
    }
    for (int i = 0; i < threads; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(q.taken == threads * (rounds / 4) && q.items == 0);
}

struct crowd {
    mps_cond *c;
    long inside, woken;
};

static void *crowd_wait(void *arg)
{
    struct crowd *cr = arg;
    CHECK_RC(mps_cond_acquire(cr->c, -1), 0);
    cr->inside++;
    CHECK_RC(mps_cond_wait(cr->c, -1), 0);
    cr->woken++;
    CHECK_RC(mps_cond_release(cr->c), 0);
    return NULL;
}

/* crowd_count reads a count of the crowd's under the lock. */
static long crowd_count(struct crowd *cr, const long *n)
{
    CHECK_RC(mps_cond_acquire(cr->c, -1), 0);
    long v = *n;
    CHECK_RC(mps_cond_release(cr->c), 0);
    return v;
}

/* run_crowd: more waiters than the 128 slots of the earlier layout;
 * notify(50) wakes exactly 50, notify_all the rest. */
static void run_crowd(mps_cond *c)
{
    enum { crowd = 300 };
    struct crowd cr = {.c = c};
    pthread_t t[crowd];
    for (int i = 0; i < crowd; i++)
        CHECK(pthread_create(&t[i], NULL, crowd_wait, &cr) == 0);
    while (crowd_count(&cr, &cr.inside) < crowd)
        sched_yield();
    CHECK_RC(mps_cond_acquire(c, -1), 0);
    CHECK_RC(mps_cond_notify(c, 50), 0);
    CHECK_RC(mps_cond_release(c), 0);
    while (crowd_count(&cr, &cr.woken) < 50)
        sched_yield();
    CHECK(crowd_count(&cr, &cr.woken) == 50);
    CHECK_RC(mps_cond_acquire(c, -1), 0);
    CHECK_RC(mps_cond_notify_all(c), 0);
    CHECK_RC(mps_cond_release(c), 0);
    for (int i = 0; i < crowd; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(cr.woken == crowd);
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

static void test_condition(void)
{
    /* On an implicit RLock, opened a second time by name. */
    mps_cond *c, *c2;
    CHECK_RC(mps_cond_create(NULL, NULL, &c), 0);
    CHECK(strncmp(mps_cond_name(c), "mps_cond_", 9) == 0);
    CHECK_RC(mps_cond_open(mps_cond_name(c), &c2), 0);
    CHECK(strcmp(mps_object_name(mps_cond_lock(c)), mps_object_name(mps_cond_lock(c2))) == 0);
    CHECK(mps_object_info(mps_cond_lock(c2))->kind == MPS_KIND_RLOCK);
    run_queue(c2);
    run_crowd(c2);

    CHECK_RC(mps_cond_wait(c, 0), -EPERM);
    CHECK_RC(mps_cond_notify(c, 1), -EPERM);
    CHECK_RC(mps_cond_acquire(c, -1), 0);
    CHECK_RC(mps_cond_acquire(c, -1), 0); /* recursion survives the wait */
    CHECK_RC(mps_cond_wait(c, 0), -ETIMEDOUT);
    CHECK_RC(mps_cond_wait(c, 1000000), -ETIMEDOUT);
    CHECK_RC(mps_cond_wait_for(c, never, NULL, 2000000), -ETIMEDOUT);
    uint32_t n;
    CHECK_RC(mps_rlock_count(mps_object_lock(mps_cond_lock(c)), &n), 0);
    CHECK(n == 2);
    CHECK_RC(mps_cond_notify(c, 3), 0); /* nobody waits */
    CHECK_RC(mps_cond_release(c), 0);
    CHECK_RC(mps_cond_release(c), 0);
    char lock_name[MPS_NAME_MAX + 1];
    strcpy(lock_name, mps_object_name(mps_cond_lock(c)));
    CHECK_RC(mps_cond_close(c2), 0);
    CHECK_RC(mps_cond_unlink(c), 0);
    CHECK_RC(mps_cond_close(c), 0);
    mps_object *gone;
    CHECK_RC(mps_rlock_open(lock_name, &gone), -ENOENT);

    /* On a caller's Lock, which outlives it. */
    mps_object *l, *e;
    CHECK_RC(mps_lock_create(NULL, &l), 0);
    CHECK_RC(mps_cond_create(NULL, l, &c), 0);
    CHECK_RC(mps_cond_open(mps_cond_name(c), &c2), 0);
    CHECK(mps_object_info(mps_cond_lock(c2))->kind == MPS_KIND_LOCK);
    run_queue(c);
    CHECK_RC(mps_cond_close(c2), 0);
    CHECK_RC(mps_cond_unlink(c), 0);
    CHECK_RC(mps_cond_close(c), 0);
    CHECK_RC(mps_lock_acquire(mps_object_lock(l), 0), 0); /* still open */
    CHECK_RC(mps_lock_release(mps_object_lock(l)), 0);
    CHECK_RC(mps_event_create(NULL, &e), 0);
    CHECK_RC(mps_cond_create(NULL, e, &c), -EINVAL);
    CHECK_RC(mps_cond_open(mps_object_name(e), &c), -EMEDIUMTYPE);
    drop(e);
    drop(l);
}

/* ---- barriers ---- */

struct party {
    mps_object *b;
    long actions;   /* counted by the action, under the barrier's lock */
    long index_sum; /* atomic */
};

static int count_action(void *arg)
{
    ((struct party *)arg)->actions++;
    return 0;
}

static void *barrier_rounds(void *arg)
{
    struct party *p = arg;
    for (int i = 0; i < rounds / 4; i++) {
        unsigned idx = 99;
        CHECK_RC(mps_barrier_wait(p->b, -1, count_action, p, &idx), 0);
        CHECK(idx < threads);
        __atomic_add_fetch(&p->index_sum, idx, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void *barrier_once(void *b)
{
    CHECK_RC(mps_barrier_wait(b, -1, NULL, NULL, NULL), -EPIPE);
    return NULL;
}

static int fail_action(void *arg)
{
    (void)arg;
    return -ECANCELED;
}

static void test_barrier(void)
{
    mps_object *b, *b2;
    CHECK_RC(mps_barrier_create(NULL, 0, &b), -EINVAL);
    CHECK_RC(mps_barrier_create(NULL, threads, &b), 0);
    CHECK_RC(mps_barrier_open(mps_object_name(b), &b2), 0);
    struct party p = {.b = b2};
    run_threads(barrier_rounds, &p);
    CHECK(p.actions == rounds / 4);
    CHECK(p.index_sum == (long)(rounds / 4) * (threads * (threads - 1) / 2));

    unsigned parties, n;
    int broken;
    CHECK_RC(mps_barrier_parties(b, &parties), 0);
    CHECK(parties == threads);
    CHECK_RC(mps_barrier_n_waiting(b, &n), 0);
    CHECK(n == 0);

    /* A party that may not wait breaks it; a reset mends it. */
    CHECK_RC(mps_barrier_wait(b, 0, NULL, NULL, NULL), -ETIMEDOUT);
    CHECK_RC(mps_barrier_broken(b, &broken), 0);
    CHECK(broken == 1);
    CHECK_RC(mps_barrier_wait(b, -1, NULL, NULL, NULL), -EPIPE);
    CHECK_RC(mps_barrier_reset(b), 0);
    CHECK_RC(mps_barrier_broken(b, &broken), 0);
    CHECK(broken == 0);

    /* A timeout breaks it for the others. */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, barrier_once, b2) == 0);
    CHECK_RC(mps_barrier_wait(b, 20000000, NULL, NULL, NULL), -ETIMEDOUT);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_RC(mps_barrier_reset(b), 0);

    /* Abort frees the waiters. */
    CHECK(pthread_create(&t, NULL, barrier_once, b2) == 0);
    do
        CHECK_RC(mps_barrier_n_waiting(b, &n), 0);
    while (n == 0);
    CHECK_RC(mps_barrier_abort(b), 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_RC(mps_barrier_reset(b), 0);
    drop(b);
    CHECK_RC(mps_object_close(b2), 0);

    /* A failing action breaks it; one party alone passes at once. */
    CHECK_RC(mps_barrier_create(NULL, 1, &b), 0);
    unsigned idx = 7;
    CHECK_RC(mps_barrier_wait(b, 0, NULL, NULL, &idx), 0);
    CHECK(idx == 0);
    CHECK_RC(mps_barrier_wait(b, -1, fail_action, NULL, NULL), -ECANCELED);
    CHECK_RC(mps_barrier_wait(b, -1, NULL, NULL, NULL), -EPIPE);
    drop(b);
}

/* ---- values and arrays ---- */

struct big {
    int64_t a, b;
};

static mps_object *new_array(const char *format, uint64_t count, uint64_t size, int with_lock)
{
    struct mps_object_spec spec = {.kind = count == 1 ? MPS_KIND_VALUE : MPS_KIND_ARRAY,
                                   .format = format,
                                   .count = count,
                                   .elem_size = size,
                                   .elem_align = (uint32_t)(size < 8 ? size : 8),
                                   .with_lock = with_lock};
    mps_object *o;
    CHECK_RC(mps_object_create(NULL, &spec, NULL, NULL, &o), 0);
    return o;
}

static void *value_add(void *v)
{
    for (int i = 0; i < rounds; i++) {
        int16_t one = 1;
        CHECK_RC(mps_value_add(v, 1, &one, NULL, 2), 0);
        int16_t old, new;
        int swapped = 0;
        do {
            CHECK_RC(mps_value_load(v, 2, &old, 2), 0);
            new = (int16_t)(old + 1);
            CHECK_RC(mps_value_cas(v, 2, &old, &new, 2, &swapped), 0);
        } while (!swapped);
    }
    return NULL;
}

static void *big_store(void *v)
{
    for (int i = 0; i < rounds; i++) {
        struct big x = {i, -i}, y;
        CHECK_RC(mps_value_store(v, 0, &x, sizeof x), 0);
        CHECK_RC(mps_value_load(v, 0, &y, sizeof y), 0);
        CHECK(y.a == -y.b); /* never torn */
    }
    return NULL;
}

static void test_values(void)
{
    /* 2-byte neighbours, atomically added and swapped from threads. */
    mps_object *h = new_array("h", 4, 2, 1);
    run_threads(value_add, h);
    int16_t got[4];
    CHECK_RC(mps_value_read(h, 0, 4, got), 0);
    CHECK(got[0] == 0 && got[1] == (int16_t)(threads * rounds) && got[2] == (int16_t)(threads * rounds) &&
          got[3] == 0);
    int16_t x = 5;
    CHECK_RC(mps_value_load(h, 4, &x, 2), -EINVAL);
    CHECK_RC(mps_value_load(h, 0, &x, 4), -EINVAL);
    CHECK_RC(mps_value_read(h, 3, 2, got), -EINVAL);
    int16_t in[2] = {7, 8};
    CHECK_RC(mps_value_write(h, 2, 2, in), 0);
    CHECK_RC(mps_value_load(h, 3, &x, 2), 0);
    CHECK(x == 8);
    drop(h);

    /* Every atomic size, and floats. */
    mps_object *c = new_array("B", 3, 1, 0);
    uint8_t b = 250, d8 = 10, r8;
    CHECK_RC(mps_value_store(c, 1, &b, 1), 0);
    CHECK_RC(mps_value_add(c, 1, &d8, &r8, 1), 0);
    CHECK(r8 == 4);
    drop(c);
    mps_object *i = new_array("i", 1, 4, 1);
    int32_t i32 = -3, one = 1, r32;
    CHECK_RC(mps_value_store(i, 0, &i32, 4), 0);
    CHECK_RC(mps_value_add(i, 0, &one, &r32, 4), 0);
    CHECK(r32 == -2);
    int swapped;
    int32_t want = 9;
    CHECK_RC(mps_value_cas(i, 0, &want, &one, 4, &swapped), 0);
    CHECK(swapped == 0);
    CHECK_RC(mps_value_cas(i, 0, &r32, &want, 4, &swapped), 0);
    CHECK(swapped == 1);
    drop(i);
    mps_object *q = new_array("d", 2, 8, 1);
    double d = 1.5, dd = 0.25, rd;
    CHECK_RC(mps_value_store(q, 1, &d, 8), 0);
    CHECK_RC(mps_value_add(q, 1, &dd, &rd, 8), 0);
    CHECK(rd == 1.75);
    drop(q);
    mps_object *f = new_array("f", 1, 4, 1);
    float ff = 2, fd = 0.5f, rf;
    CHECK_RC(mps_value_store(f, 0, &ff, 4), 0);
    CHECK_RC(mps_value_add(f, 0, &fd, &rf, 4), 0);
    CHECK(rf == 2.5f);
    drop(f);
    mps_object *bo = new_array("?", 1, 1, 1);
    uint8_t t = 1;
    CHECK_RC(mps_value_add(bo, 0, &t, NULL, 1), -EOPNOTSUPP);
    drop(bo);

    /* A 16-byte struct goes under the lock, which the caller may hold. */
    mps_object *s = new_array("T{q:a:q:b:}", 1, sizeof(struct big), 1);
    run_threads(big_store, s);
    void *lock = mps_object_lock(s);
    CHECK_RC(mps_rlock_acquire(lock, -1), 0);
    struct big bx = {3, -3}, by;
    CHECK_RC(mps_value_store(s, 0, &bx, sizeof bx), 0);
    CHECK_RC(mps_value_load(s, 0, &by, sizeof by), 0);
    CHECK(by.a == 3 && by.b == -3);
    CHECK_RC(mps_value_add(s, 0, &bx, NULL, sizeof bx), -EOPNOTSUPP);
    CHECK_RC(mps_value_cas(s, 0, &bx, &by, sizeof bx, &swapped), -EOPNOTSUPP);
    CHECK_RC(mps_rlock_release(lock), 0);
    mps_object *e;
    CHECK_RC(mps_event_create(NULL, &e), 0);
    CHECK_RC(mps_value_load(e, 0, &by, sizeof by), -EMEDIUMTYPE);
    drop(e);
    drop(s);

    /* By typecode, as Go's ValueOf and ArrayOf. */
    mps_object *tv, *ta, *o;
    CHECK_RC(mps_value_create(NULL, "xx", 1, &tv), -EINVAL);
    CHECK_RC(mps_value_create(NULL, "d", 1, &tv), 0);
    CHECK(strncmp(mps_object_name(tv), "mps_value_", 10) == 0);
    CHECK(mps_object_elem_size(tv) == 8 && mps_object_lock(tv) != NULL);
    CHECK_RC(mps_array_create(NULL, "h", 10, 0, &ta), 0);
    CHECK(strncmp(mps_object_name(ta), "mps_array_", 10) == 0);
    CHECK(mps_object_count(ta) == 10 && mps_object_elem_size(ta) == 2 && mps_object_lock(ta) == NULL);
    CHECK(strcmp(mps_object_format(ta), "h") == 0);
    CHECK_RC(mps_array_open(mps_object_name(tv), &o), -EMEDIUMTYPE);
    CHECK_RC(mps_value_open(mps_object_name(tv), &o), 0);
    CHECK_RC(mps_object_close(o), 0);
    int16_t many[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, back[10];
    CHECK_RC(mps_value_write(ta, 0, 10, many), 0); /* raw: no lock to take */
    CHECK_RC(mps_value_read(ta, 0, 10, back), 0);
    CHECK(memcmp(many, back, sizeof many) == 0);
    drop(tv);
    drop(ta);
}

int main(void)
{
    test_semaphore();
    test_rlock();
    test_event();
    test_condition();
    test_barrier();
    test_values();
    return 0;
}
