/* barrier.c - Barrier (see mpsync.h, "Barriers"): parties, broken, the
 * arrival count, the generation (the futex waiters sleep on), how the
 * last generations ended, and the identity of each waiting party,
 * guarded by the object's lock.  Go's semaphore.Barrier is the same
 * algorithm on the same words; keep the two in step. */
#ifndef MPS_USE_SYSTEM_LIB

#include <errno.h>
#include <string.h>

#include "mpsync_impl.h"

static const int64_t slice_ns = 20 * 1000000;

struct barrier {
    void *lock;
    uint32_t parties;
    uint32_t *parties_word, *broken, *count, *gen, *last_broken, *sleepers;
    uint64_t *ok_bits, *waiters;
};

static uint32_t *word(unsigned char *p, size_t off) { return (uint32_t *)(p + off); }

/* view checks b and maps its words.  The number of parties comes from
 * the payload's size, checked when b was opened and kept in this process:
 * the parties word is shared memory a process may overwrite, only for
 * display (a reset rewrites it). */
static int view(const mps_object *b, struct barrier *v)
{
    int err = mps__family_check(b, MPS_KIND_BARRIER, 0, MPS_BARRIER_OFF_WAITERS + 8, 1);
    if (err != 0)
        return err;
    unsigned char *p = mps_object_payload(b);
    uint64_t size = mps_object_info(b)->payload_size;
    uint64_t parties = (size - MPS_BARRIER_OFF_WAITERS) / 8;
    if (parties < 1 || parties > MPS_BARRIER_PARTIES_MAX || size != MPS_BARRIER_OFF_WAITERS + 8 * parties)
        return -EBADMSG;
    *v = (struct barrier){
        .lock = mps_object_lock(b),
        .parties = (uint32_t)parties,
        .parties_word = word(p, MPS_BARRIER_OFF_PARTIES),
        .broken = word(p, MPS_BARRIER_OFF_BROKEN),
        .count = word(p, MPS_BARRIER_OFF_COUNT),
        .gen = word(p, MPS_BARRIER_OFF_GEN),
        .last_broken = word(p, MPS_BARRIER_OFF_LAST_BROKEN),
        .sleepers = word(p, MPS_BARRIER_OFF_SLEEPERS),
        .ok_bits = (uint64_t *)(p + MPS_BARRIER_OFF_OK_BITS),
        .waiters = (uint64_t *)(p + MPS_BARRIER_OFF_WAITERS),
    };
    return 0;
}

static int init_barrier(mps_object *o, void *arg)
{
    unsigned char *p = mps_object_payload(o);
    uint32_t last_broken = UINT32_MAX; /* no generation was broken */
    memcpy(p + MPS_BARRIER_OFF_PARTIES, arg, 4);
    memcpy(p + MPS_BARRIER_OFF_LAST_BROKEN, &last_broken, 4);
    return 0;
}

MPS_API int mps_barrier_create(const char *name, unsigned int parties, mps_object **out)
{
    if (parties < 1 || parties > MPS_BARRIER_PARTIES_MAX)
        return -EINVAL;
    uint32_t p = parties;
    return mps__family_create(name, MPS_KIND_BARRIER, MPS_BARRIER_OFF_WAITERS + 8 * (uint64_t)parties, 1,
                              init_barrier, &p, out);
}

MPS_API int mps_barrier_open(const char *name, mps_object **out)
{
    mps_object *o;
    int err = mps__family_open(name, MPS_KIND_BARRIER, 0, MPS_BARRIER_OFF_WAITERS + 8, 1, &o);
    if (err != 0)
        return err;
    struct barrier v;
    if ((err = view(o, &v)) != 0) {
        mps_object_close(o);
        return err;
    }
    *out = o;
    return 0;
}

/* end_gen ends the current generation, recording whether it completed
 * (ok), and wakes its sleepers; the caller holds the lock. */
static void end_gen(struct barrier *v, int ok)
{
    uint32_t gen = __atomic_load_n(v->gen, __ATOMIC_SEQ_CST);
    uint64_t bit = (uint64_t)1 << (gen % 64);
    uint64_t bits = __atomic_load_n(v->ok_bits, __ATOMIC_SEQ_CST);
    __atomic_store_n(v->ok_bits, ok ? bits | bit : bits & ~bit, __ATOMIC_SEQ_CST);
    if (!ok)
        __atomic_store_n(v->last_broken, gen, __ATOMIC_SEQ_CST);
    __atomic_store_n(v->gen, gen + 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(v->sleepers, __ATOMIC_SEQ_CST) != 0)
        mps__futex_wake(v->gen, INT32_MAX);
}

/* break_locked breaks the barrier and frees its waiters; the caller holds
 * the lock. */
static void break_locked(struct barrier *v)
{
    __atomic_store_n(v->broken, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(v->count, 0, __ATOMIC_SEQ_CST);
    end_gen(v, 0);
}

/* lock takes the internal lock, waiting at most timeout_ns (< 0:
 * without limit); a holder that died left the bookkeeping half-done, so
 * the barrier is broken and the lock repaired.  It fails, without the
 * lock, on a timeout (-ETIMEDOUT) and for a lock that is not recoverable. */
static int lock(struct barrier *v, int64_t timeout_ns)
{
    int err = mps_lock_acquire(v->lock, timeout_ns);
    if (err == -EOWNERDEAD) {
        break_locked(v);
        return mps_lock_consistent(v->lock);
    }
    return err;
}

static void unlock(struct barrier *v) { mps_lock_release(v->lock); }

/* completed reports whether generation gen ended by every party arriving
 * (rather than by a break or a reset): by its bit while the generation is
 * at most 64 past it (the bit is read before the generation, so a later
 * generation cannot have reused it), and beyond that by being after the
 * last broken one; a generation that cannot be told counts as broken. */
static int completed(struct barrier *v, uint32_t gen)
{
    uint64_t bits = __atomic_load_n(v->ok_bits, __ATOMIC_SEQ_CST);
    uint32_t now = __atomic_load_n(v->gen, __ATOMIC_SEQ_CST);
    if (now == gen)
        return 0;
    if (now - gen <= 64)
        return (bits >> (gen % 64)) & 1;
    return (int32_t)(__atomic_load_n(v->last_broken, __ATOMIC_SEQ_CST) - gen) < 0;
}

/* party_died reports whether a party waiting in generation gen died. */
static int party_died(struct barrier *v, uint32_t gen)
{
    uint32_t n = __atomic_load_n(v->count, __ATOMIC_SEQ_CST);
    for (uint32_t i = 0; i < n && i < v->parties; i++) {
        uint64_t w = __atomic_load_n(&v->waiters[i], __ATOMIC_SEQ_CST);
        if (w != 0 && !mps__alive(w))
            return __atomic_load_n(v->gen, __ATOMIC_SEQ_CST) == gen;
    }
    return 0;
}

/* finish ends a wait in generation gen whose generation has moved on, or
 * that gave up (err): 0 if the generation completed, err otherwise. */
static int finish(struct barrier *v, uint32_t gen, int err)
{
    int lerr = lock(v, -1);
    if (lerr != 0)
        return lerr;
    if (__atomic_load_n(v->gen, __ATOMIC_SEQ_CST) == gen)
        break_locked(v);
    int ok = completed(v, gen);
    unlock(v);
    return ok ? 0 : err;
}

/* struct gen_change is what a waiter waits for: the generation at gen
 * moving on from was. */
struct gen_change {
    const uint32_t *gen;
    uint32_t was;
};

/* gen_changed is an mps__spin look for a struct gen_change. */
static int gen_changed(void *arg)
{
    const struct gen_change *c = arg;
    return __atomic_load_n(c->gen, __ATOMIC_SEQ_CST) != c->was;
}

MPS_API int mps_barrier_wait(mps_object *b, int64_t timeout_ns, int (*action)(void *arg), void *arg,
                             unsigned int *index)
{
    struct barrier v;
    int err = view(b, &v);
    if (err != 0)
        return err;
    uint64_t self;
    if ((err = mps__self(&self)) != 0)
        return err;
    int64_t deadline = mps__deadline(timeout_ns);
    /* Waiting for the lock, this party has not arrived: a timeout leaves
     * the barrier as it is.  With timeout 0 it waits (it may be the last
     * party, which does not wait for the others). */
    if ((err = lock(&v, timeout_ns > 0 ? timeout_ns : -1)) != 0)
        return err;
    if (__atomic_load_n(v.broken, __ATOMIC_SEQ_CST) != 0) {
        unlock(&v);
        return -EPIPE;
    }
    uint32_t gen = __atomic_load_n(v.gen, __ATOMIC_SEQ_CST);
    /* The count is shared memory a buggy process may have scribbled on:
     * read it once and check it before it indexes anything. */
    uint32_t count = __atomic_load_n(v.count, __ATOMIC_SEQ_CST);
    if (count >= v.parties) {
        break_locked(&v);
        unlock(&v);
        return -EBADMSG;
    }
    if (timeout_ns == 0 && count + 1 < v.parties) {
        break_locked(&v); /* not the last, and may not wait */
        unlock(&v);
        return -ETIMEDOUT;
    }
    /* The identity goes first: a waiter looking for dead parties reads
     * the count, then the identities below it, never a stale one. */
    __atomic_store_n(&v.waiters[count], self, __ATOMIC_SEQ_CST);
    __atomic_store_n(v.count, count + 1, __ATOMIC_SEQ_CST);
    if (index != NULL)
        *index = count;
    if (count == v.parties - 1) {
        /* The last party: run the action, then free everyone. */
        int r = action != NULL ? action(arg) : 0;
        if (r != 0) {
            break_locked(&v);
            unlock(&v);
            return r < 0 ? r : -ECANCELED;
        }
        __atomic_store_n(v.count, 0, __ATOMIC_SEQ_CST);
        end_gen(&v, 1);
        unlock(&v);
        return 0;
    }
    unlock(&v);

    /* The others often arrive within microseconds: look before sleeping. */
    struct gen_change change = {v.gen, gen};
    err = 0;
    if (!mps__spin(gen_changed, &change)) {
        __atomic_add_fetch(v.sleepers, 1, __ATOMIC_SEQ_CST);
        while (err == 0 && __atomic_load_n(v.gen, __ATOMIC_SEQ_CST) == gen) {
            int r = mps__futex_sleep(v.gen, gen, slice_ns, deadline);
            if (r == -ETIMEDOUT && mps__expired(deadline))
                err = -ETIMEDOUT;
            /* A dead holder of the lock may have died before it counted
             * itself in, where party_died cannot see it. */
            else if (r != 0 && (party_died(&v, gen) || mps__lock_holder_died(v.lock)))
                err = -EPIPE;
        }
        __atomic_sub_fetch(v.sleepers, 1, __ATOMIC_SEQ_CST);
    }
    /* The usual end: the generation completed (its bit is set before the
     * generation moves on), and no lock is needed to know it. */
    if (err == 0 && completed(&v, gen))
        return 0;
    return finish(&v, gen, err != 0 ? err : -EPIPE);
}

MPS_API int mps_barrier_abort(mps_object *b)
{
    struct barrier v;
    int err = view(b, &v);
    if (err == 0 && (err = lock(&v, -1)) == 0) {
        break_locked(&v);
        unlock(&v);
    }
    return err;
}

MPS_API int mps_barrier_reset(mps_object *b)
{
    struct barrier v;
    int err = view(b, &v);
    if (err == 0 && (err = lock(&v, -1)) == 0) {
        __atomic_store_n(v.parties_word, v.parties, __ATOMIC_SEQ_CST);
        __atomic_store_n(v.broken, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(v.count, 0, __ATOMIC_SEQ_CST);
        end_gen(&v, 0);
        unlock(&v);
    }
    return err;
}

MPS_API int mps_barrier_parties(const mps_object *b, unsigned int *parties)
{
    struct barrier v;
    int err = view(b, &v);
    if (err == 0 && parties == NULL)
        err = -EINVAL;
    if (err == 0)
        *parties = v.parties;
    return err;
}

MPS_API int mps_barrier_n_waiting(const mps_object *b, unsigned int *n)
{
    struct barrier v;
    int err = view(b, &v);
    if (err == 0 && n == NULL)
        err = -EINVAL;
    if (err == 0) {
        uint32_t c = __atomic_load_n(v.count, __ATOMIC_SEQ_CST);
        *n = c < v.parties ? c : v.parties;
    }
    return err;
}

MPS_API int mps_barrier_broken(const mps_object *b, int *broken)
{
    struct barrier v;
    int err = view(b, &v);
    if (err == 0 && broken == NULL)
        err = -EINVAL;
    if (err == 0)
        *broken = __atomic_load_n(v.broken, __ATOMIC_SEQ_CST) != 0;
    return err;
}

#endif /* MPS_USE_SYSTEM_LIB */
