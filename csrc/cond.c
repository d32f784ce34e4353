/* cond.c - Condition (see mpsync.h, "Conditions"): the kind and name of
 * its lock, then one slot per waiter, each slot's state word the futex its
 * waiter sleeps on.  Slots are claimed, notified and freed under the
 * lock.  Go's semaphore.Condition is the same algorithm on the same
 * words; keep the two in step. */
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

struct slot {
    uint64_t owner; /* the waiter's identity */
    uint32_t state; /* MPS_COND_FREE, _WAITING, _NOTIFIED; the futex */
    uint32_t ticket;
};

_Static_assert(sizeof(struct slot) <= MPS_COND_SLOT_SIZE, "slot size");
_Static_assert(offsetof(struct slot, state) == MPS_COND_SLOT_OFF_STATE, "slot state");
_Static_assert(offsetof(struct slot, ticket) == MPS_COND_SLOT_OFF_TICKET, "slot ticket");

static unsigned char *payload(const mps_cond *c) { return mps_object_payload(c->obj); }

static struct slot *slot_at(const mps_cond *c, int i)
{
    return (struct slot *)(payload(c) + MPS_COND_OFF_SLOTS + (size_t)i * MPS_COND_SLOT_SIZE);
}

static uint32_t *ticket(const mps_cond *c) { return (uint32_t *)(payload(c) + MPS_COND_OFF_TICKET); }

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
    uint32_t kind = (uint32_t)ci->kind, nslots = MPS_COND_SLOTS, flags = ci->implicit ? MPS_COND_IMPLICIT_LOCK : 0;
    memcpy(p + MPS_COND_OFF_KIND, &kind, 4);
    memcpy(p + MPS_COND_OFF_NSLOTS, &nslots, 4);
    memcpy(p + MPS_COND_OFF_FLAGS, &flags, 4);
    strncpy((char *)p + MPS_COND_OFF_LOCK_NAME, ci->lock_name, MPS_COND_LOCK_NAME_SIZE - 1);
    return 0;
}

MPS_API int mps_cond_create(const char *name, mps_object *lock, mps_cond **out)
{
    if (out == NULL)
        return -EINVAL;
    int own = lock == NULL, err;
    if (own && (err = mps_rlock_create(NULL, &lock)) != 0)
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
    uint32_t kind, nslots, flags;
    memcpy(&kind, p + MPS_COND_OFF_KIND, 4);
    memcpy(&nslots, p + MPS_COND_OFF_NSLOTS, 4);
    memcpy(&flags, p + MPS_COND_OFF_FLAGS, 4);
    char lock_name[MPS_COND_LOCK_NAME_SIZE];
    memcpy(lock_name, p + MPS_COND_OFF_LOCK_NAME, sizeof lock_name - 1);
    lock_name[sizeof lock_name - 1] = '\0';
    if (nslots != MPS_COND_SLOTS)
        err = -EBADMSG;
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

/* claim_slot takes a free slot, or else one whose waiter died (checking
 * liveness only when no slot is free).  The caller holds the lock. */
static struct slot *claim_slot(mps_cond *c, uint64_t self)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < MPS_COND_SLOTS; i++) {
            struct slot *s = slot_at(c, i);
            if (__atomic_load_n(&s->state, __ATOMIC_SEQ_CST) != MPS_COND_FREE &&
                (pass == 0 || mps__alive(__atomic_load_n(&s->owner, __ATOMIC_SEQ_CST))))
                continue;
            __atomic_store_n(&s->owner, self, __ATOMIC_SEQ_CST);
            __atomic_store_n(&s->ticket, __atomic_add_fetch(ticket(c), 1, __ATOMIC_SEQ_CST), __ATOMIC_SEQ_CST);
            __atomic_store_n(&s->state, MPS_COND_WAITING, __ATOMIC_SEQ_CST);
            return s;
        }
    }
    return NULL;
}

/* wait_until is mps_cond_wait with an absolute deadline (0: none);
 * try_only waits not at all. */
static int wait_until(mps_cond *c, int64_t deadline, int try_only)
{
    if (!held(c))
        return -EPERM;
    uint64_t self;
    int err = mps__self(&self);
    if (err != 0)
        return err;
    struct slot *s = claim_slot(c, self);
    if (s == NULL)
        return -EAGAIN;
    void *l = mps_object_lock(c->lock);
    uint32_t n = 1;
    err = c->kind == MPS_KIND_RLOCK ? mps__rlock_release_all(l, &n) : mps_lock_release(l);
    if (err != 0) {
        __atomic_store_n(&s->state, MPS_COND_FREE, __ATOMIC_SEQ_CST);
        return err;
    }

    int wait_err = try_only ? -ETIMEDOUT : 0;
    while (wait_err == 0 && __atomic_load_n(&s->state, __ATOMIC_SEQ_CST) == MPS_COND_WAITING) {
        if (mps__futex_sleep(&s->state, MPS_COND_WAITING, slice_ns, deadline) == -ETIMEDOUT &&
            mps__expired(deadline))
            wait_err = -ETIMEDOUT;
    }

    int lock_err = c->kind == MPS_KIND_RLOCK ? mps__rlock_restore_all(l, n) : mps_lock_acquire(l, -1);
    uint32_t state = __atomic_load_n(&s->state, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->owner, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->state, MPS_COND_FREE, __ATOMIC_SEQ_CST);
    if (lock_err != 0)
        return lock_err;
    if (state == MPS_COND_NOTIFIED)
        return 0;
    /* Only the waiter and notify write the slot, notify only NOTIFIED, or
     * FREE for a waiter it took for dead (then this is a spurious
     * wake-up): anything else is garbage. */
    if (state != MPS_COND_WAITING && state != MPS_COND_FREE)
        return -EBADMSG;
    return wait_err;
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

/* by_ticket orders waiting slots oldest first (tickets wrap around). */
static int by_ticket(const void *a, const void *b)
{
    uint32_t ta = __atomic_load_n(&(*(struct slot *const *)a)->ticket, __ATOMIC_SEQ_CST);
    uint32_t tb = __atomic_load_n(&(*(struct slot *const *)b)->ticket, __ATOMIC_SEQ_CST);
    int32_t d = (int32_t)(ta - tb);
    return (d > 0) - (d < 0);
}

MPS_API int mps_cond_notify(mps_cond *c, unsigned int n)
{
    if (c == NULL)
        return -EINVAL;
    if (!held(c))
        return -EPERM;
    struct slot *waiting[MPS_COND_SLOTS];
    int nw = 0;
    for (int i = 0; i < MPS_COND_SLOTS; i++)
        if (__atomic_load_n(&slot_at(c, i)->state, __ATOMIC_SEQ_CST) == MPS_COND_WAITING)
            waiting[nw++] = slot_at(c, i);
    qsort(waiting, (size_t)nw, sizeof waiting[0], by_ticket);
    for (int i = 0; i < nw && n > 0; i++) {
        struct slot *s = waiting[i];
        if (!mps__alive(__atomic_load_n(&s->owner, __ATOMIC_SEQ_CST))) {
            __atomic_store_n(&s->owner, 0, __ATOMIC_SEQ_CST);
            __atomic_store_n(&s->state, MPS_COND_FREE, __ATOMIC_SEQ_CST);
            continue;
        }
        __atomic_store_n(&s->state, MPS_COND_NOTIFIED, __ATOMIC_SEQ_CST);
        mps__futex_wake(&s->state, 1);
        n--;
    }
    return 0;
}

MPS_API int mps_cond_notify_all(mps_cond *c) { return mps_cond_notify(c, MPS_COND_SLOTS); }

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
