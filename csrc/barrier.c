/* barrier.c - Barrier (see mpsync.h, "Barriers"): parties, the sleepers,
 * one state word (the generation, the futex waiters sleep on, and the
 * arrivals: count, releasing, broken), the last generation that
 * completed, and the identity of each counted party.  A party arrives
 * with one compare-and-swap, no lock.  Go's semaphore.Barrier is the same
 * algorithm on the same words; keep the two in step. */
#ifndef MPS_USE_SYSTEM_LIB

#include <errno.h>
#include <string.h>

#include "mpsync_impl.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "gen is the low half of the state word");

static const int64_t slice_ns = 20 * 1000000;

struct barrier {
    uint32_t parties;
    uint64_t *state;
    uint32_t *gen; /* the low half of state */
    uint32_t *last_ok, *sleepers;
    uint64_t *waiters;
};

static uint32_t *word(unsigned char *p, size_t off) { return (uint32_t *)(p + off); }

static uint64_t pack(uint32_t gen, uint32_t arrivals) { return (uint64_t)arrivals << 32 | gen; }
static uint32_t gen_of(uint64_t s) { return (uint32_t)s; }
static uint32_t arrivals_of(uint64_t s) { return (uint32_t)(s >> 32); }

/* view checks b and maps its words.  The party count comes from the
 * payload's size, validated when the object was opened, so that view
 * reads no shared memory (the parties word shares the state's cache
 * line; mps_barrier_open checks that the two agree). */
static int view(const mps_object *b, struct barrier *v)
{
    int err = mps__family_check(b, MPS_KIND_BARRIER, 0, MPS_BARRIER_OFF_WAITERS + 8, 0);
    if (err != 0)
        return err;
    uint64_t size = mps_object_info(b)->payload_size - MPS_BARRIER_OFF_WAITERS;
    if (size % 8 != 0 || size / 8 > MPS_BARRIER_PARTIES_MAX)
        return -EBADMSG;
    unsigned char *p = mps_object_payload(b);
    *v = (struct barrier){
        .parties = (uint32_t)(size / 8),
        .state = (uint64_t *)(p + MPS_BARRIER_OFF_STATE),
        .gen = word(p, MPS_BARRIER_OFF_STATE),
        .last_ok = word(p, MPS_BARRIER_OFF_LAST_OK),
        .sleepers = word(p, MPS_BARRIER_OFF_SLEEPERS),
        .waiters = (uint64_t *)(p + MPS_BARRIER_OFF_WAITERS),
    };
    return 0;
}

static int init_barrier(mps_object *o, void *arg)
{
    unsigned char *p = mps_object_payload(o);
    uint32_t last_ok = UINT32_MAX; /* generation 0 has not completed */
    memcpy(p + MPS_BARRIER_OFF_PARTIES, arg, 4);
    memcpy(p + MPS_BARRIER_OFF_LAST_OK, &last_ok, 4);
    return 0;
}

MPS_API int mps_barrier_create(const char *name, unsigned int parties, mps_object **out)
{
    if (parties < 1 || parties > MPS_BARRIER_PARTIES_MAX)
        return -EINVAL;
    uint32_t p = parties;
    return mps__family_create(name, MPS_KIND_BARRIER, MPS_BARRIER_OFF_WAITERS + 8 * (uint64_t)parties, 0,
                              init_barrier, &p, out);
}

MPS_API int mps_barrier_open(const char *name, mps_object **out)
{
    mps_object *o;
    int err = mps__family_open(name, MPS_KIND_BARRIER, 0, MPS_BARRIER_OFF_WAITERS + 8, 0, &o);
    if (err != 0)
        return err;
    struct barrier v;
    if ((err = view(o, &v)) == 0 &&
        __atomic_load_n(word(mps_object_payload(o), MPS_BARRIER_OFF_PARTIES), __ATOMIC_RELAXED) != v.parties)
        err = -EBADMSG;
    if (err != 0) {
        mps_object_close(o);
        return err;
    }
    *out = o;
    return 0;
}

static uint64_t load_state(struct barrier *v) { return __atomic_load_n(v->state, __ATOMIC_SEQ_CST); }

static int cas_state(struct barrier *v, uint64_t *old, uint64_t new)
{
    return __atomic_compare_exchange_n(v->state, old, new, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* wake wakes the sleepers on gen, if there may be any. */
static void wake(struct barrier *v)
{
    if (__atomic_load_n(v->sleepers, __ATOMIC_SEQ_CST) != 0)
        mps__futex_wake(v->gen, INT32_MAX);
}

/* dead reports whether the party in slot i is known and dead. */
static int dead(struct barrier *v, uint32_t i)
{
    uint64_t w = __atomic_load_n(&v->waiters[i], __ATOMIC_SEQ_CST);
    return w != 0 && !mps__alive(w);
}

/* party_died reports whether generation gen, still current, waits on a
 * dead party: one counted in, or, while releasing, the releasing one. */
static int party_died(struct barrier *v, uint32_t gen)
{
    uint64_t s = load_state(v);
    if (gen_of(s) != gen)
        return 0;
    uint32_t a = arrivals_of(s);
    if (a & MPS_BARRIER_RELEASING)
        return dead(v, v->parties - 1) && load_state(v) == s;
    uint32_t n = a & MPS_BARRIER_COUNT;
    for (uint32_t i = 0; i < n && i < v->parties; i++)
        if (dead(v, i))
            return gen_of(load_state(v)) == gen;
    return 0;
}

/* Results of break_gen. */
enum { BROKE, RELEASING, MOVED_ON };

/* break_gen breaks generation gen, if it is current and not being
 * released by a live party: BROKE; RELEASING if it is being released
 * (wait for the next generation); MOVED_ON if gen is over. */
static int break_gen(struct barrier *v, uint32_t gen)
{
    uint64_t s = load_state(v);
    while (gen_of(s) == gen) {
        if ((arrivals_of(s) & MPS_BARRIER_RELEASING) && !dead(v, v->parties - 1))
            return RELEASING;
        if (cas_state(v, &s, pack(gen + 1, MPS_BARRIER_BROKEN))) {
            wake(v);
            return BROKE;
        }
    }
    return MOVED_ON;
}

/* completed reports whether generation gen ended by every party arriving
 * (rather than by a break or a reset). */
static int completed(struct barrier *v, uint32_t gen)
{
    return (int32_t)(__atomic_load_n(v->last_ok, __ATOMIC_SEQ_CST) - gen) >= 0;
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

/* await waits for generation gen to end: 0; -ETIMEDOUT once deadline
 * passes; -EPIPE if a party it waits on died. */
static int await(struct barrier *v, uint32_t gen, int64_t deadline)
{
    /* The others often arrive within microseconds: look before sleeping. */
    struct gen_change change = {v->gen, gen};
    if (mps__spin(gen_changed, &change))
        return 0;
    int err = 0;
    __atomic_add_fetch(v->sleepers, 1, __ATOMIC_SEQ_CST);
    while (err == 0 && __atomic_load_n(v->gen, __ATOMIC_SEQ_CST) == gen) {
        int r = mps__futex_sleep(v->gen, gen, slice_ns, deadline);
        if (r == -ETIMEDOUT && mps__expired(deadline))
            err = -ETIMEDOUT;
        else if (r != 0 && party_died(v, gen))
            err = -EPIPE;
    }
    __atomic_sub_fetch(v->sleepers, 1, __ATOMIC_SEQ_CST);
    return err;
}

/* finish ends a wait in generation gen that gave up (err): it breaks gen,
 * or waits out its release, and returns 0 if gen completed, else err. */
static int finish(struct barrier *v, uint32_t gen, int err)
{
    while (break_gen(v, gen) == RELEASING)
        await(v, gen, -1);
    return completed(v, gen) ? 0 : err;
}

/* valid reports whether a, the arrivals half of a state word, is one the
 * algorithm writes: a count below parties; RELEASING with the count at
 * parties; BROKEN with no count. */
static int valid(uint32_t a, uint32_t parties)
{
    uint32_t count = a & MPS_BARRIER_COUNT, flags = a & ~MPS_BARRIER_COUNT;
    switch (flags) {
    case 0:
        return count < parties;
    case MPS_BARRIER_RELEASING:
        return count == parties;
    case MPS_BARRIER_BROKEN:
        return count == 0;
    }
    return 0;
}

/* arrive counts the calling party (self) into the current generation:
 * 0 with its generation, arrival index and whether it is the last; or
 * -EPIPE (broken), -EBADMSG (corrupt state; broken now), -ETIMEDOUT (it
 * may not wait and is not the last; broken now). */
static int arrive(struct barrier *v, uint64_t self, int may_wait, uint32_t *gen, uint32_t *index, int *last)
{
    /* The first compare-and-swap guesses a fresh barrier's state: right
     * or wrong, it brings the line here for writing and the state with
     * it, where a load then a compare-and-swap would move it twice.  (A
     * guess leads only to that compare-and-swap; a party that may not
     * wait breaks the generation, so it starts from the real state.) */
    uint64_t s = may_wait ? 0 : load_state(v);
    for (;;) {
        uint32_t g = gen_of(s), a = arrivals_of(s), count = a & MPS_BARRIER_COUNT;
        /* The state is shared memory a buggy process may have scribbled
         * on: check it before the count indexes anything. */
        if (!valid(a, v->parties)) {
            if (cas_state(v, &s, pack(g + 1, MPS_BARRIER_BROKEN))) {
                wake(v);
                return -EBADMSG;
            }
            continue;
        }
        if (a & MPS_BARRIER_BROKEN)
            return -EPIPE;
        if (a & MPS_BARRIER_RELEASING) {
            /* The last party of g runs the action: wait for the next
             * generation (whatever the timeout, as a lock would). */
            if (await(v, g, -1) == -EPIPE)
                break_gen(v, g);
            s = load_state(v);
            continue;
        }
        int is_last = count + 1 == v->parties;
        if (!may_wait && !is_last) {
            if (break_gen(v, g) == BROKE)
                return -ETIMEDOUT;
            s = load_state(v);
            continue;
        }
        if (cas_state(v, &s, pack(g, is_last ? MPS_BARRIER_RELEASING | v->parties : count + 1))) {
            /* Until this store the slot holds an earlier party's identity:
             * for those nanoseconds, a death check may miss this party or
             * see that one. */
            __atomic_store_n(&v->waiters[count], self, __ATOMIC_RELEASE);
            *gen = g;
            *index = count;
            *last = is_last;
            return 0;
        }
    }
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
    uint32_t gen, i;
    int last;
    if ((err = arrive(&v, self, timeout_ns != 0, &gen, &i, &last)) != 0)
        return err;
    if (index != NULL)
        *index = i;
    if (last) {
        /* The last party: run the action, then free everyone. */
        int r = action != NULL ? action(arg) : 0;
        if (r != 0) {
            __atomic_store_n(v.state, pack(gen + 1, MPS_BARRIER_BROKEN), __ATOMIC_SEQ_CST);
            wake(&v);
            return r < 0 ? r : -ECANCELED;
        }
        /* last_ok before the generation moves on: a waiter that sees the
         * new generation knows how the old one ended. */
        __atomic_store_n(v.last_ok, gen, __ATOMIC_RELEASE);
        __atomic_store_n(v.state, pack(gen + 1, 0), __ATOMIC_SEQ_CST);
        wake(&v);
        return 0;
    }
    err = await(&v, gen, deadline);
    /* The usual end: the generation completed, and nothing more to do. */
    if (err == 0 && completed(&v, gen))
        return 0;
    return finish(&v, gen, err != 0 ? err : -EPIPE);
}

/* settle waits out a release in progress and returns the state after. */
static uint64_t settle(struct barrier *v)
{
    uint64_t s = load_state(v);
    while (arrivals_of(s) & MPS_BARRIER_RELEASING) {
        if (await(v, gen_of(s), -1) == -EPIPE)
            break_gen(v, gen_of(s));
        s = load_state(v);
    }
    return s;
}

MPS_API int mps_barrier_abort(mps_object *b)
{
    struct barrier v;
    int err = view(b, &v);
    if (err != 0)
        return err;
    uint64_t s = settle(&v);
    while (!cas_state(&v, &s, pack(gen_of(s) + 1, MPS_BARRIER_BROKEN)))
        s = settle(&v);
    wake(&v);
    return 0;
}

MPS_API int mps_barrier_reset(mps_object *b)
{
    struct barrier v;
    int err = view(b, &v);
    if (err != 0)
        return err;
    uint64_t s = settle(&v);
    while (!cas_state(&v, &s, pack(gen_of(s) + 1, 0)))
        s = settle(&v);
    wake(&v);
    return 0;
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
        uint32_t c = arrivals_of(load_state(&v)) & MPS_BARRIER_COUNT;
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
        *broken = (arrivals_of(load_state(&v)) & MPS_BARRIER_BROKEN) != 0;
    return err;
}

#endif /* MPS_USE_SYSTEM_LIB */
