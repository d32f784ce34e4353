/* object.c - creating (atomically published) and opening mpsync objects. */
#ifndef MPS_USE_SYSTEM_LIB
#define _GNU_SOURCE /* O_TMPFILE */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mpsync_impl.h"

struct mps_object {
    void *data;
    size_t size;
    struct mps_object_info info;
    mps_arena *arena; /* the object is a block of this arena: data is in its mapping */
    int compact;      /* the lock area is an arena's compact one */
    uint64_t off;     /* in an arena: the block's offset and generation */
    uint32_t gen;
    char name[MPS_NAME_MAX + 1];
};

/* open_in opens object in the arena arena_name; name is the whole
 * qualified name, as given. */
static int open_in(const char *name, const char *arena_name, const char *object, int kind, mps_object **out)
{
    if (strlen(name) > MPS_NAME_MAX)
        return -ENAMETOOLONG;
    mps_object *o = calloc(1, sizeof *o);
    if (o == NULL)
        return -ENOMEM;
    struct mps__arena_block blk;
    int err = mps__arena_find(arena_name, object, &o->arena, &blk);
    if (err == 0 && kind != 0 && blk.info.kind != kind)
        err = -EMEDIUMTYPE;
    if (err != 0) {
        mps_arena_close(o->arena);
        free(o);
        return err;
    }
    o->data = blk.mem;
    o->size = blk.size;
    o->info = blk.info;
    o->compact = blk.compact;
    o->off = blk.off;
    o->gen = blk.gen;
    strcpy(o->name, name[0] == '/' ? name + 1 : name);
    *out = o;
    return 0;
}

MPS_HIDDEN int mps__object_compact(const mps_object *obj) { return obj->compact; }

struct arena_init {
    mps_object *o;
    int (*init)(mps_object *obj, void *arg);
    void *arg;
};

/* init_block describes the new block in the object, then runs the
 * caller's init on it. */
static int init_block(struct mps__arena_block *blk, void *arg)
{
    struct arena_init *ai = arg;
    ai->o->data = blk->mem;
    ai->o->size = blk->size;
    ai->o->info = blk->info;
    ai->o->compact = blk->compact;
    ai->o->off = blk->off;
    ai->o->gen = blk->gen;
    return ai->init == NULL ? 0 : ai->init(ai->o, ai->arg);
}

MPS_API int mps_arena_object_create(mps_arena *arena, const char *name, const struct mps_object_spec *spec,
                                    int (*init)(mps_object *obj, void *arg), void *arg, mps_object **out)
{
    if (arena == NULL || spec == NULL || out == NULL)
        return -EINVAL;
    if (name != NULL && name[0] == '\0')
        name = NULL;
    size_t an = strlen(mps_arena_name(arena));
    if (an + 1 + (name == NULL ? 30 : strlen(name)) > MPS_NAME_MAX)
        return -ENAMETOOLONG;
    mps_object *o = calloc(1, sizeof *o);
    if (o == NULL)
        return -ENOMEM;
    struct arena_init ai = {o, init, arg};
    struct mps__arena_block blk;
    uint64_t off;
    uint32_t gen;
    int err = mps__arena_alloc(arena, name, spec, init_block, &ai, &blk, &off, &gen);
    if (err != 0) {
        free(o);
        return err;
    }
    mps__arena_retain(arena);
    o->arena = arena;
    if (name != NULL)
        snprintf(o->name, sizeof o->name, "%s/%s", mps_arena_name(arena), name);
    else
        snprintf(o->name, sizeof o->name, "%s/#%llx.%x", mps_arena_name(arena), (unsigned long long)off, gen);
    *out = o;
    return 0;
}

MPS_DOOR const char *mps__kind_tag(int kind)
{
    switch (kind) {
    case MPS_KIND_LOCK: return "lock";
    case MPS_KIND_RLOCK: return "rlock";
    case MPS_KIND_SEMAPHORE: return "sem";
    case MPS_KIND_BOUNDED_SEMAPHORE: return "bsem";
    case MPS_KIND_CONDITION: return "cond";
    case MPS_KIND_EVENT: return "event";
    case MPS_KIND_BARRIER: return "barrier";
    case MPS_KIND_VALUE: return "value";
    case MPS_KIND_ARRAY: return "array";
    case MPS_KIND_QUEUE: return "queue";
    case MPS_KIND_ARENA: return "arena";
    }
    return "obj";
}

/* create_in makes an object in the arena called arena_name, named
 * object ("" anonymous). */
static int create_in(const char *arena_name, const char *object, const struct mps_object_spec *spec,
                     int (*init)(mps_object *obj, void *arg), void *arg, mps_object **out)
{
    mps_arena *a;
    int err = mps_arena_open(arena_name, &a);
    if (err != 0)
        return err;
    err = mps_arena_object_create(a, object, spec, init, arg, out);
    mps_arena_close(a); /* the object keeps it mapped */
    return err;
}

MPS_API int mps_object_create(const char *name, const struct mps_object_spec *spec,
                              int (*init)(mps_object *obj, void *arg), void *arg, mps_object **out)
{
    uint64_t size;
    if (out == NULL)
        return -EINVAL;
    char arena_name[MPS_NAME_MAX + 1];
    const char *object;
    if (mps__arena_split(name, arena_name, &object))
        return create_in(arena_name, object, spec, init, arg, out);
    int err = mps_object_size(spec, &size);
    if (err != 0)
        return err;
    mps_object *o = calloc(1, sizeof *o);
    if (o == NULL)
        return -ENOMEM;
    int random = name == NULL || name[0] == '\0';
    if (!random && (err = mps__check_name(name, o->name)) != 0) {
        free(o);
        return err;
    }
    int fd = mps__open_retry(MPS_SHM_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        free(o);
        return fd;
    }
    /* Every byte is allocated before the header, lock area and payload
     * are written: a full /dev/shm is -ENOSPC, never SIGBUS. */
    err = mps__allocate(fd, size);
    if (err == 0)
        err = mps__map_fd(fd, size, &o->data);
    if (err == 0) {
        o->size = size;
        err = mps_header_init(o->data, size, spec, &o->info);
        if (err == 0 && init != NULL)
            err = init(o, arg);
        if (err == 0)
            err = mps_header_publish(o->data);
    }
    if (err == 0) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "mps_%s_", mps__kind_tag(spec->kind));
        err = mps__publish(fd, random, prefix, o->name);
    }
    close(fd);
    if (err != 0) {
        if (o->data != NULL)
            munmap(o->data, o->size);
        free(o);
        return err;
    }
    *out = o;
    return 0;
}

MPS_API int mps_object_open(const char *name, int kind, mps_object **out)
{
    if (out == NULL)
        return -EINVAL;
    char arena_name[MPS_NAME_MAX + 1];
    const char *object;
    if (mps__arena_split(name, arena_name, &object))
        return open_in(name, arena_name, object, kind, out);
    mps_shm *s;
    int err = mps_shm_open(name, &s);
    if (err != 0)
        return err;
    mps_object *o = calloc(1, sizeof *o);
    if (o == NULL) {
        mps_shm_close(s);
        return -ENOMEM;
    }
    o->data = mps_shm_data(s);
    o->size = mps_shm_size(s);
    strcpy(o->name, mps_shm_name(s));
    /* Keep the mapping, drop the handle. */
    mps__shm_forget(s);
    /* A creator that does not publish atomically may still be at work. */
    for (long wait_us = 1000;; wait_us *= 2) {
        err = mps_header_validate(o->data, o->size, &o->info);
        if (err != -EAGAIN || wait_us > 100000)
            break;
        struct timespec ts = {0, wait_us * 1000};
        nanosleep(&ts, NULL);
    }
    if (err == 0 && kind != 0 && o->info.kind != kind)
        err = -EMEDIUMTYPE;
    if (err != 0) {
        mps_object_close(o);
        return err;
    }
    *out = o;
    return 0;
}

MPS_API const struct mps_object_info *mps_object_info(const mps_object *obj) { return &obj->info; }

MPS_API const char *mps_object_name(const mps_object *obj) { return obj->name; }

MPS_API const char *mps_object_format(const mps_object *obj) { return obj->info.format; }

MPS_API uint64_t mps_object_count(const mps_object *obj) { return obj->info.count; }

MPS_API uint64_t mps_object_elem_size(const mps_object *obj) { return obj->info.elem_size; }

MPS_API void *mps_object_payload(const mps_object *obj)
{
    return (char *)obj->data + obj->info.payload_offset;
}

MPS_API void *mps_object_lock(const mps_object *obj)
{
    return obj->info.lock_offset == 0 ? NULL : (char *)obj->data + obj->info.lock_offset;
}

MPS_API int mps_object_close(mps_object *obj)
{
    if (obj == NULL)
        return 0;
    int err = obj->arena != NULL ? mps_arena_close(obj->arena) : munmap(obj->data, obj->size) != 0 ? -errno : 0;
    free(obj);
    return err;
}

MPS_HIDDEN int mps__family_create(const char *name, int kind, uint64_t payload, int with_lock,
                                  int (*init)(mps_object *obj, void *arg), void *arg, mps_object **out)
{
    struct mps_object_spec spec = {.kind = (uint16_t)kind, .format = "", .with_lock = with_lock};
    if (payload > 0) {
        spec.count = 1;
        spec.elem_size = payload;
    }
    return mps_object_create(name, &spec, init, arg, out);
}

MPS_HIDDEN int mps__family_check(const mps_object *o, int kind, int kind2, uint64_t min_payload, int with_lock)
{
    if (o == NULL)
        return -EINVAL;
    if (o->info.kind != kind && (kind2 == 0 || o->info.kind != kind2))
        return -EMEDIUMTYPE;
    if (o->info.payload_size < min_payload || (with_lock && o->info.lock_offset == 0))
        return -EBADMSG;
    return 0;
}

MPS_HIDDEN int mps__family_open(const char *name, int kind, int kind2, uint64_t min_payload, int with_lock,
                                mps_object **out)
{
    if (out == NULL)
        return -EINVAL;
    mps_object *o;
    int err = mps_object_open(name, 0, &o);
    if (err != 0)
        return err;
    if ((err = mps__family_check(o, kind, kind2, min_payload, with_lock)) != 0) {
        mps_object_close(o);
        return err;
    }
    *out = o;
    return 0;
}

MPS_API int mps_lock_create(const char *name, mps_object **out)
{
    return mps__family_create(name, MPS_KIND_LOCK, 0, 1, NULL, NULL, out);
}

MPS_API int mps_lock_open(const char *name, mps_object **out)
{
    return mps__family_open(name, MPS_KIND_LOCK, 0, 0, 1, out);
}

MPS_API int mps_rlock_create(const char *name, mps_object **out)
{
    return mps__family_create(name, MPS_KIND_RLOCK, 0, 1, NULL, NULL, out);
}

MPS_API int mps_rlock_open(const char *name, mps_object **out)
{
    return mps__family_open(name, MPS_KIND_RLOCK, 0, 0, 1, out);
}

MPS_API int mps_object_unlink(const mps_object *obj)
{
    if (obj == NULL)
        return -EINVAL;
    return obj->arena != NULL ? mps__arena_free(obj->arena, obj->off, obj->gen) : mps_shm_unlink(obj->name);
}

#endif /* MPS_USE_SYSTEM_LIB */
