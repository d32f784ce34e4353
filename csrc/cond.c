/* cond.c - Condition (see mpsync.h, "Conditions"): the kind and name of
 * its lock, then four counters: tickets, the bound of the latest
 * notification, the waiters not yet notified and the notifications not yet
 * taken, with seq the futex waiters sleep on.  Any number may wait.  Go's
 * semaphore.Condition is the same algorithm on the same words; keep the
 * two in step. */
#ifndef MPS_USE_SYSTEM_LIB

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpsync_impl.h"

static const int64_t slice_ns = 50 * 1000000;

struct mps_cond {
    mps_object *obj;
    mps_object *lock;
    int kind;     /* of the lock: MPS_KIND_LOCK or MPS_KIND_RLOCK */
    int own_lock; /* the lock was made or opened here: close closes it */
    int implicit; /* the lock was made for the condition: unlink unlinks it */
};

static uint32_t *word(const mps_cond *c, size_t off) { return (uint32_t *)(mps_object_payload(c->obj) + off); }

static uint32_t load(const uint32_t *w) { return __atomic_load_n(w, __ATOMIC_SEQ_CST); }

static void store(uint32_t *w, uint32_t v) { __atomic_store_n(w, v, __ATOMIC_SEQ_CST); }

static mps_cond *new_cond(mps_object *obj, mps_object *lock, int kind, int own, int implicit)
{
    mps_cond *c = calloc(1, sizeof *c);
    if (c != NULL)
        *c = (mps_cond){obj, lock, kind, own, implicit};
    return c;
}

struct cond_init {
    int kind;
    int implicit;
    const char *lock_name;
};

static int init_cond(mps_object *o, void *arg)
{
    const struct cond_init *ci = arg;
    unsigned char *p = mps_object_payload(o);
    uint32_t kind = (uint32_t)ci->kind, format = MPS_COND_FORMAT, flags = ci->implicit ? MPS_COND_IMPLICIT_LOCK : 0;
    memcpy(p + MPS_COND_OFF_KIND, &kind, 4);
    memcpy(p + MPS_COND_OFF_FORMAT, &format, 4);
    memcpy(p + MPS_COND_OFF_FLAGS, &flags, 4);
    strncpy((char *)p + MPS_COND_OFF_LOCK_NAME, ci->lock_name, MPS_COND_LOCK_NAME_SIZE - 1);
    return 0;
}

MPS_API int mps_cond_create(const char *name, mps_object *lock, mps_cond **out)
{
    if (out == NULL)
        return -EINVAL;
    int own = lock == NULL, err;
    /* A condition made in an arena gets its implicit lock there too
     * (anonymous), as Go's does. */
    char arena_name[MPS_NAME_MAX + 2];
    const char *object;
    if (!mps__arena_split(name, arena_name, &object))
        arena_name[0] = '\0';
    else
        strcat(arena_name, "/");
    if (own && (err = mps_rlock_create(arena_name[0] == '\0' ? NULL : arena_name, &lock)) != 0)
        return err;
    int kind = mps_object_info(lock)->kind;
    if ((kind != MPS_KIND_LOCK && kind != MPS_KIND_RLOCK) || mps_object_lock(lock) == NULL)
        return -EINVAL;
    struct cond_init ci = {kind, own, mps_object_name(lock)};
    mps_object *obj = NULL;
    mps_cond *c = NULL;
    err = mps__family_create(name, MPS_KIND_CONDITION, MPS_COND_PAYLOAD, 0, init_cond, &ci, &obj);
    if (err == 0 && (c = new_cond(obj, lock, kind, own, own)) == NULL)
        err = -ENOMEM;
    if (err != 0) {
        if (obj != NULL) {
            mps_object_unlink(obj);
            mps_object_close(obj);
        }
        if (own) {
            mps_object_unlink(lock);
            mps_object_close(lock);
        }
        return err;
    }
    *out = c;
    return 0;
}

MPS_API int mps_cond_open(const char *name, mps_cond **out)
{
    if (out == NULL)
        return -EINVAL;
    mps_object *obj, *lock = NULL;
    int err = mps__family_open(name, MPS_KIND_CONDITION, 0, MPS_COND_PAYLOAD, 0, &obj);
    if (err != 0)
        return err;
    const unsigned char *p = mps_object_payload(obj);
    uint32_t kind, format, flags;
    memcpy(&kind, p + MPS_COND_OFF_KIND, 4);
    memcpy(&format, p + MPS_COND_OFF_FORMAT, 4);
    memcpy(&flags, p + MPS_COND_OFF_FLAGS, 4);
    char lock_name[MPS_COND_LOCK_NAME_SIZE];
    memcpy(lock_name, p + MPS_COND_OFF_LOCK_NAME, sizeof lock_name - 1);
    lock_name[sizeof lock_name - 1] = '\0';
    if (format != MPS_COND_FORMAT)
        err = -EPROTONOSUPPORT;
    else if (kind == MPS_KIND_LOCK)
        err = mps_lock_open(lock_name, &lock);
    else if (kind == MPS_KIND_RLOCK)
        err = mps_rlock_open(lock_name, &lock);
    else
        err = -EBADMSG;
    mps_cond *c = NULL;
    if (err == 0 && (c = new_cond(obj, lock, (int)kind, 1,
                                  (flags & MPS_COND_IMPLICIT_LOCK) && kind == MPS_KIND_RLOCK)) == NULL)
        err = -ENOMEM;
    if (err != 0) {
        mps_object_close(lock);
        mps_object_close(obj);
        return err;
    }
    *out = c;
    return 0;
}

MPS_API const char *mps_cond_name(const mps_cond *c) { return mps_object_name(c->obj); }

MPS_API mps_object *mps_cond_lock(const mps_cond *c) { return c->lock; }

MPS_API int mps_cond_acquire(mps_cond *c, int64_t timeout_ns)
{
    if (c == NULL)
        return -EINVAL;
    void *l = mps_object_lock(c->lock);
    return c->kind == MPS_KIND_RLOCK ? mps_rlock_acquire(l, timeout_ns) : mps_lock_acquire(l, timeout_ns);
}

MPS_API int mps_cond_release(mps_cond *c)
{
    if (c == NULL)
        return -EINVAL;
    void *l = mps_object_lock(c->lock);
    return c->kind == MPS_KIND_RLOCK ? mps_rlock_release(l) : mps_lock_release(l);
}

/* held reports whether the caller holds the lock: for an RLock the
 * calling thread, for a Lock this process. */
static int held(const mps_cond *c)
{
    void *l = mps_object_lock(c->lock);
    if (c->kind == MPS_KIND_RLOCK) {
        uint32_t n = 0;
        return mps_rlock_count(l, &n) == 0 && n > 0;
    }
    return mps__lock_held(l);
}

/* sane resets a counter holding garbage to zero and says so (-EBADMSG).
 * The caller holds the lock, or takes only tokens. */
static int sane(mps_cond *c)
{
    int err = 0;
    const size_t offs[] = {MPS_COND_OFF_WAITING, MPS_COND_OFF_TOKENS};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        uint32_t *w = word(c, offs[i]), v = load(w);
        if (v > MPS_COND_COUNT_MAX &&
            __atomic_compare_exchange_n(w, &v, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            err = -EBADMSG;
    }
    return err;
}

/* take takes a token if there is one for the waiter holding ticket:
 * returns 1 (taken), 0 (none), or -EBADMSG. */
static int take(mps_cond *c, uint32_t ticket)
{
    uint32_t *tokens = word(c, MPS_COND_OFF_TOKENS);
    for (;;) {
        uint32_t tok = load(tokens);
        if (tok > MPS_COND_COUNT_MAX)
            return sane(c);
        if (tok == 0 || (int32_t)(load(word(c, MPS_COND_OFF_BOUND)) - ticket) <= 0)
            return 0;
        if (__atomic_compare_exchange_n(tokens, &tok, tok - 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return 1;
    }
}

/* leave uncounts a waiter that goes without a notification.  The caller
 * holds the lock. */
static void leave(mps_cond *c)
{
    uint32_t *waiting = word(c, MPS_COND_OFF_WAITING), w = load(waiting);
    if (w > 0 && w <= MPS_COND_COUNT_MAX)
        store(waiting, w - 1);
}

/* wait_until is mps_cond_wait with an absolute deadline (0: none);
 * try_only waits not at all. */
static int wait_until(mps_cond *c, int64_t deadline, int try_only)
{
    if (!held(c))
        return -EPERM;
    int err = sane(c);
    if (err != 0)
        return err;
    uint32_t ticket = __atomic_fetch_add(word(c, MPS_COND_OFF_NEXT), 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(word(c, MPS_COND_OFF_WAITING), 1, __ATOMIC_SEQ_CST);
    void *l = mps_object_lock(c->lock);
    uint32_t n = 1;
    err = c->kind == MPS_KIND_RLOCK ? mps__rlock_release_all(l, &n) : mps_lock_release(l);
    if (err != 0) {
        leave(c);
        return err;
    }

    uint32_t *seq = word(c, MPS_COND_OFF_SEQ);
    int got = 0, wait_err = 0;
    for (;;) {
        uint32_t s = load(seq);
        if ((got = take(c, ticket)) != 0)
            break;
        if (try_only || (mps__futex_sleep(seq, s, slice_ns, deadline) == -ETIMEDOUT && mps__expired(deadline))) {
            wait_err = -ETIMEDOUT;
            break;
        }
    }

    int lock_err = c->kind == MPS_KIND_RLOCK ? mps__rlock_restore_all(l, n) : mps_lock_acquire(l, -1);
    if (lock_err != 0 && lock_err != -EOWNERDEAD)
        return lock_err; /* not held: the counters are left as they are */
    if (got == 0) /* a last look, with the lock held */
        got = take(c, ticket);
    if (got != 1)
        leave(c);
    if (lock_err != 0)
        return lock_err;
    if (got == 1)
        return 0;
    return got < 0 ? got : wait_err;
}

MPS_API int mps_cond_wait(mps_cond *c, int64_t timeout_ns)
{
    if (c == NULL)
        return -EINVAL;
    return wait_until(c, mps__deadline(timeout_ns), timeout_ns == 0);
}

MPS_API int mps_cond_wait_for(mps_cond *c, int (*pred)(void *arg), void *arg, int64_t timeout_ns)
{
    if (c == NULL || pred == NULL)
        return -EINVAL;
    int64_t deadline = mps__deadline(timeout_ns);
    for (;;) {
        if (pred(arg))
            return 0;
        int err = wait_until(c, deadline, timeout_ns == 0 || mps__expired(deadline));
        if (err == -ETIMEDOUT)
            return pred(arg) ? 0 : -ETIMEDOUT;
        if (err != 0)
            return err;
    }
}

MPS_API int mps_cond_notify(mps_cond *c, unsigned int n)
{
    if (c == NULL)
        return -EINVAL;
    if (!held(c))
        return -EPERM;
    int err = sane(c);
    if (err != 0)
        return err;
    uint32_t *waiting = word(c, MPS_COND_OFF_WAITING), w = load(waiting);
    if (n == 0 || w == 0)
        return 0;
    uint32_t k = n < w ? n : w;
    store(waiting, w - k);
    store(word(c, MPS_COND_OFF_BOUND), load(word(c, MPS_COND_OFF_NEXT)));
    __atomic_fetch_add(word(c, MPS_COND_OFF_TOKENS), k, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(word(c, MPS_COND_OFF_SEQ), 1, __ATOMIC_SEQ_CST);
    mps__futex_wake(word(c, MPS_COND_OFF_SEQ), (int)k);
    return 0;
}

MPS_API int mps_cond_notify_all(mps_cond *c) { return mps_cond_notify(c, MPS_COND_COUNT_MAX); }

MPS_API int mps_cond_close(mps_cond *c)
{
    if (c == NULL)
        return 0;
    int err = mps_object_close(c->obj);
    if (c->own_lock) {
        int lerr = mps_object_close(c->lock);
        if (err == 0)
            err = lerr;
    }
    free(c);
    return err;
}

MPS_API int mps_cond_unlink(const mps_cond *c)
{
    if (c == NULL)
        return -EINVAL;
    int err = mps_object_unlink(c->obj);
    if (c->implicit) {
        int lerr = mps_object_unlink(c->lock);
        if (err == 0)
            err = lerr;
    }
    return err;
}

#endif /* MPS_USE_SYSTEM_LIB */
