/* lock.c - the robust process-shared lock (see mpsync.h, "Robust
 * process-shared locks") and its recursive form, and the sliced futex wait
 * every kind of the family uses.  internal/robust in Go is the same
 * algorithm on the same word; keep the two in step.  Go queues the
 * goroutines of one process on a process-local gate so that they occupy
 * one OS thread; C threads are OS threads already and each waits on the
 * futex itself, which the shared protocol (the waiters bit, one wake per
 * release) does not tell apart.  An RLock's owner token is the calling
 * thread's here, the goroutine's in Go: tokens are compared only within
 * the owning process. */
#ifndef MPS_USE_SYSTEM_LIB

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mpsync_impl.h"

#define DEAD_BIT MPS__LOCK_DEAD_BIT
#define WAITERS_BIT MPS__LOCK_WAITERS_BIT
#define NOT_RECOVERABLE ((uint64_t)MPS_LOCK_NOTRECOVERABLE)

enum { spin_tries = 100 };
static const int64_t slice_ns = 20 * 1000000; /* liveness check period */

#define lock_area mps__lock_area

MPS_HIDDEN int64_t mps__wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

MPS_HIDDEN int64_t mps__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

MPS_HIDDEN int64_t mps__deadline(int64_t timeout_ns)
{
    return timeout_ns > 0 ? mps__now_ns() + timeout_ns : 0;
}

MPS_HIDDEN int mps__expired(int64_t deadline) { return deadline != 0 && mps__now_ns() >= deadline; }

MPS_HIDDEN int mps__futex_sleep(uint32_t *word, uint32_t val, int64_t slice, int64_t deadline)
{
    int64_t wait = slice;
    if (deadline != 0) {
        int64_t left = deadline - mps__now_ns();
        if (left <= 0)
            return -ETIMEDOUT;
        if (left < wait)
            wait = left;
    }
    struct timespec ts = {wait / 1000000000, wait % 1000000000};
    return syscall(SYS_futex, word, FUTEX_WAIT, val, &ts, NULL, 0) == 0 ? 0 : -errno;
}

MPS_HIDDEN void mps__futex_wake(uint32_t *word, int n) { syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0); }

/* relax tells the core that it is spinning (x86 PAUSE, arm64 YIELD), so
 * that our looks hammer the waker's cache line less: measured here, the
 * ping-pongs of W2 and W7 from C went faster with it than with bare
 * looks. */
static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield" ::: "memory");
#else
    __asm__ volatile("" ::: "memory");
#endif
}

MPS_HIDDEN int mps__busy(int (*done)(void *arg), void *arg, int64_t busy_ns)
{
    /* The clock costs tens of ns in a VM (and a PAUSE about 20-60 ns):
     * read it once per 16 looks. */
    int64_t end = 0;
    for (;;) {
        for (int i = 0; i < 16; i++) {
            if (done(arg))
                return 1;
            relax();
        }
        int64_t now = mps__now_ns();
        if (end == 0)
            end = now + busy_ns;
        else if (now >= end)
            return 0;
    }
}

MPS_HIDDEN int mps__spin(int (*done)(void *arg), void *arg) { return mps__busy(done, arg, MPS__BUSY_NS); }

static uint32_t *futex_word(struct lock_area *l) { return (uint32_t *)&l->word; /* low half */ }

static int same_owner(uint64_t w, uint64_t self)
{
    return w != NOT_RECOVERABLE && (w & MPS_ID_MASK) == self;
}

static int cas(struct lock_area *l, uint64_t *expected, uint64_t desired)
{
    return __atomic_compare_exchange_n(&l->word, expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* is_free reports whether the lock word w names no owner: 0, or the
 * waiters bit alone, which a release by subtraction leaves when a waiter
 * set the bit just before it (see mps_lock_release). */
static int is_free(uint64_t w) { return (w & MPS_ID_MASK) == 0; }

/* claim takes the lock for self if its word w is free, keeping the
 * waiters bit (someone may sleep: the release must wake them). */
static int claim(struct lock_area *l, uint64_t w, uint64_t self)
{
    return is_free(w) && cas(l, &w, self | (w & WAITERS_BIT));
}

/* stamp stores now in a time field, unless the area is compact (it has
 * none). */
static void stamp(int64_t *field, int compact)
{
    if (!compact)
        __atomic_store_n(field, mps__wall_ns(), __ATOMIC_RELAXED);
}

static void set_holder(struct lock_area *l, uint64_t token, uint32_t n, int compact);

/* take_over replaces the dead owner recorded in w with self, marks the
 * state inconsistent and stamps since.  It sets the waiters bit too, as a
 * contended acquisition does: the release must take the slow path, which
 * clears the stamp (after mps_lock_consistent the word would otherwise be
 * the identity alone, released by the fast path with the stamp left for
 * the next holder); its one spare wake-up comes after a death only. */
static int take_over(struct lock_area *l, uint64_t w, uint64_t self, int compact)
{
    if (!cas(l, &w, self | DEAD_BIT | WAITERS_BIT))
        return 0;
    set_holder(l, 0, 0, compact);
    stamp(&l->since, compact);
    return 1;
}

static int acquire_slow(struct lock_area *l, int64_t timeout_ns, int compact);

MPS_API int mps_lock_acquire(void *lock, int64_t timeout_ns)
{
    /* The free lock with this process's identity made: one load and one
     * compare-and-swap, in a leaf with no frame (Go's FastLock). */
    struct lock_area *l = lock;
    uint64_t self = __atomic_load_n(&mps__self_id, __ATOMIC_ACQUIRE), zero = 0;
    if (self != 0 && l != NULL && (uintptr_t)l % 8 == 0 && cas(l, &zero, self))
        return 0;
    return acquire_slow(l, timeout_ns, 0);
}

/* acquire is mps_lock_acquire on a full or a compact area. */
static int acquire(struct lock_area *l, int64_t timeout_ns, int compact)
{
    uint64_t self = __atomic_load_n(&mps__self_id, __ATOMIC_ACQUIRE), zero = 0;
    if (self != 0 && l != NULL && (uintptr_t)l % 8 == 0 && cas(l, &zero, self))
        return 0;
    return acquire_slow(l, timeout_ns, compact);
}

/* claim_busy is a contended acquirer's first wait: it looks at l's word
 * for MPS__LOCK_BUSY_NS, with no system call, and takes it for self once
 * it is free (1), or gives up (0).  Between looks it pauses 1, 2, 4, ...
 * up to LOCK_MAX_PAUSES times: every look pulls the lock's cache line
 * away from the holder, whose release and next acquire then wait for it,
 * and a waiter that takes the lock the instant it is free moves the
 * line, and the data it guards, to its own core on every hand-over.
 * Measured on W3 from C (2 processes incrementing a shared counter, 10
 * interleaved runs): 26 M/s looking every pause, 36 M/s with the backoff
 * (the C futex lock: 30); 4 processes on 2 cores, 40 and 46 M/s.  Go's
 * robust lock backs off the same way (futex.BusyBackoff). */
enum { LOCK_MAX_PAUSES = 64 };

static int claim_busy(struct lock_area *l, uint64_t self)
{
    int64_t end = mps__now_ns() + MPS__LOCK_BUSY_NS;
    for (int pauses = 1;; pauses = pauses < LOCK_MAX_PAUSES ? 2 * pauses : LOCK_MAX_PAUSES) {
        uint64_t w = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
        if (claim(l, w, self))
            return 1;
        for (int k = 0; k < pauses; k++)
            relax();
        if (mps__now_ns() >= end)
            return 0;
    }
}

/* acquire_slow is mps_lock_acquire for the rest: a bad argument, no
 * identity yet, or a taken lock (Go's lockMiss and lockSlow). */
__attribute__((noinline)) static int acquire_slow(struct lock_area *l, int64_t timeout_ns, int compact)
{
    if (l == NULL || (uintptr_t)l % 8 != 0)
        return -EINVAL;
    uint64_t self;
    int err = mps__self(&self);
    if (err != 0)
        return err;
    uint64_t zero = 0;
    if (cas(l, &zero, self))
        return 0;
    int64_t deadline = mps__deadline(timeout_ns);
    if (timeout_ns != 0) {
        if (claim_busy(l, self))
            return 0;
        for (int i = 0; i < spin_tries; i++) {
            uint64_t w = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
            if (claim(l, w, self))
                return 0;
            if (w == NOT_RECOVERABLE)
                return -ENOTRECOVERABLE;
            /* As Go's robust lock: every other time a short pause (its
             * runtime.Gosched, which returns within a fraction of a
             * microsecond when nothing else runs), else sched_yield. */
            if (i % 2 == 0)
                for (int k = 0; k < 4; k++)
                    relax();
            else
                sched_yield();
        }
    }
    for (;;) {
        uint64_t w = __atomic_load_n(&l->word, __ATOMIC_SEQ_CST);
        if (is_free(w)) {
            /* Set the waiters bit: others may still sleep.  The release
             * then takes the slow path, which clears the stamp. */
            if (timeout_ns == 0) {
                if (claim(l, w, self))
                    return 0;
            } else if (cas(l, &w, self | WAITERS_BIT)) {
                stamp(&l->since, compact);
                return 0;
            }
            continue;
        }
        if (w == NOT_RECOVERABLE)
            return -ENOTRECOVERABLE;
        if (timeout_ns == 0) {
            if (!same_owner(w, self) && !mps__alive(w) && take_over(l, w, self, compact))
                return -EOWNERDEAD;
            return -EBUSY;
        }
        if (!(w & WAITERS_BIT)) {
            uint64_t expected = w;
            if (!cas(l, &expected, w | WAITERS_BIT))
                continue;
            w |= WAITERS_BIT;
        }
        int64_t zero_t = 0;
        if (!compact && __atomic_load_n(&l->wait, __ATOMIC_RELAXED) == 0)
            __atomic_compare_exchange_n(&l->wait, &zero_t, mps__wall_ns(), 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
        int r = mps__futex_sleep(futex_word(l), (uint32_t)w, slice_ns, deadline);
        if (r == -ETIMEDOUT && mps__expired(deadline))
            return -ETIMEDOUT;
        if (r == -ETIMEDOUT && __atomic_load_n(&l->word, __ATOMIC_SEQ_CST) == w &&
            !same_owner(w, self) && !mps__alive(w) && take_over(l, w, self, compact))
            return -EOWNERDEAD;
    }
}

static int release_slow(struct lock_area *l, int compact);

MPS_API void mps__lock_wake(void *lock) { mps__futex_wake(futex_word(lock), 1); }

/* release is mps_lock_release on a full or a compact area.  Held by this
 * process with neither the waiters nor the dead bit, the word is emptied
 * by one atomic subtraction of the identity (cheaper than a
 * compare-and-swap: it cannot fail); the stamps release_slow clears
 * belong to contended holds and takeovers, which leave a bit set.  Only
 * the waiters bit can appear between the look and the subtraction (a
 * waiter's compare-and-swap; no one else changes a live owner's word):
 * the subtraction then leaves that bit alone, a free lock whose sleeper
 * it wakes.  The header's inline release does the same. */
static int release(struct lock_area *l, int compact)
{
    uint64_t held = __atomic_load_n(&mps__self_id, __ATOMIC_ACQUIRE);
    if (held != 0 && l != NULL && __atomic_load_n(&l->word, __ATOMIC_RELAXED) == held) {
        if (__atomic_fetch_sub(&l->word, held, __ATOMIC_SEQ_CST) != held)
            mps__lock_wake(l);
        return 0;
    }
    return release_slow(l, compact);
}

MPS_API int mps_lock_release(void *lock) { return release(lock, 0); }

/* release_slow is mps_lock_release when the fast path did not apply. */
__attribute__((noinline)) static int release_slow(struct lock_area *l, int compact)
{
    if (l == NULL)
        return -EINVAL;
    uint64_t self = mps__self_word();
    for (;;) {
        uint64_t w = __atomic_load_n(&l->word, __ATOMIC_SEQ_CST);
        if (!same_owner(w, self))
            return -EPERM;
        uint64_t next = (w & DEAD_BIT) ? NOT_RECOVERABLE : 0;
        if (compact) {
            if (!cas(l, &w, next))
                continue;
        } else {
            int64_t since = __atomic_exchange_n(&l->since, 0, __ATOMIC_RELAXED);
            int64_t waited = __atomic_exchange_n(&l->wait, 0, __ATOMIC_RELAXED);
            if (!cas(l, &w, next)) {
                __atomic_store_n(&l->since, since, __ATOMIC_RELAXED);
                int64_t zero_t = 0;
                __atomic_compare_exchange_n(&l->wait, &zero_t, waited, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
                continue;
            }
        }
        if (next == NOT_RECOVERABLE) {
            mps__futex_wake(futex_word(l), INT32_MAX);
            return -ENOTRECOVERABLE;
        }
        if (w & WAITERS_BIT)
            mps__futex_wake(futex_word(l), 1);
        return 0;
    }
}

MPS_API int mps_lock_consistent(void *lock)
{
    struct lock_area *l = lock;
    if (l == NULL)
        return -EINVAL;
    uint64_t self = mps__self_word();
    for (;;) {
        uint64_t w = __atomic_load_n(&l->word, __ATOMIC_SEQ_CST);
        if (!same_owner(w, self) || !(w & DEAD_BIT))
            return -EPERM;
        if (cas(l, &w, w & ~DEAD_BIT))
            return 0;
    }
}

MPS_API int mps_lock_owner(const void *lock)
{
    const struct lock_area *l = lock;
    if (l == NULL)
        return 0;
    uint64_t w = __atomic_load_n(&l->word, __ATOMIC_SEQ_CST);
    return w == NOT_RECOVERABLE || is_free(w) ? 0 : mps__pid_of(w);
}

MPS_HIDDEN int mps__lock_held(const void *lock)
{
    const struct lock_area *l = lock;
    uint64_t self = mps__self_word();
    return self != 0 && same_owner(__atomic_load_n(&l->word, __ATOMIC_SEQ_CST), self);
}

MPS_HIDDEN int mps__lock_holder_died(const void *lock)
{
    const struct lock_area *l = lock;
    uint64_t w = __atomic_load_n(&l->word, __ATOMIC_SEQ_CST);
    return w != NOT_RECOVERABLE && (w & MPS_ID_MASK) != 0 && !mps__alive(w);
}

MPS_HIDDEN uint64_t mps__thread_token(void)
{
    static __thread char token;
    return (uint64_t)(uintptr_t)&token;
}

/* The recursive owner is a full area's owner and count, or a compact
 * area's rec word: the token's low MPS__REC_TOKEN_BITS bits (a thread's
 * token is a user-space address, below 2^47) and the count above them. */
#define REC_TOKEN_MASK ((1ull << MPS__REC_TOKEN_BITS) - 1)

/* holder returns the recursive owner's token and stores its count in *n. */
static uint64_t holder(struct lock_area *l, uint32_t *n, int compact)
{
    if (compact) {
        uint64_t r = __atomic_load_n(&l->rec, __ATOMIC_RELAXED);
        *n = (uint32_t)(r >> MPS__REC_TOKEN_BITS);
        return r & REC_TOKEN_MASK;
    }
    *n = __atomic_load_n(&l->count, __ATOMIC_RELAXED);
    return __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
}

/* set_holder records token as the recursive owner, n times. */
static void set_holder(struct lock_area *l, uint64_t token, uint32_t n, int compact)
{
    if (compact) {
        __atomic_store_n(&l->rec, (token & REC_TOKEN_MASK) | (uint64_t)n << MPS__REC_TOKEN_BITS, __ATOMIC_RELAXED);
        return;
    }
    __atomic_store_n(&l->owner, token, __ATOMIC_RELAXED);
    __atomic_store_n(&l->count, n, __ATOMIC_RELAXED);
}

/* held_by_me reports whether the calling thread holds the recursive lock
 * l, as Go's HeldBy does for a goroutine, and stores the count in *n. */
static int held_by_me(struct lock_area *l, uint32_t *n, int compact)
{
    uint64_t me = mps__thread_token();
    if (compact)
        me &= REC_TOKEN_MASK;
    return holder(l, n, compact) == me && mps__lock_held(l);
}

static int rlock_acquire(struct lock_area *l, int64_t timeout_ns, int compact)
{
    if (l == NULL || (uintptr_t)l % 8 != 0)
        return -EINVAL;
    uint32_t c;
    if (held_by_me(l, &c, compact)) {
        if (c == (compact ? MPS__REC_COUNT_MAX : UINT32_MAX))
            return -EAGAIN;
        set_holder(l, mps__thread_token(), c + 1, compact);
        return 0;
    }
    int rc = acquire(l, timeout_ns, compact);
    if (rc == 0 || rc == -EOWNERDEAD)
        set_holder(l, mps__thread_token(), 1, compact);
    return rc;
}

MPS_API int mps_rlock_acquire(void *lock, int64_t timeout_ns) { return rlock_acquire(lock, timeout_ns, 0); }

MPS_HIDDEN int mps__crlock_acquire(void *lock, int64_t timeout_ns) { return rlock_acquire(lock, timeout_ns, 1); }

static int rlock_release(struct lock_area *l, int compact)
{
    if (l == NULL || (uintptr_t)l % 8 != 0)
        return -EINVAL;
    uint32_t c;
    if (!held_by_me(l, &c, compact))
        return -EPERM;
    if (c > 1) {
        set_holder(l, mps__thread_token(), c - 1, compact);
        return 0;
    }
    set_holder(l, 0, 0, compact);
    return release(l, compact);
}

MPS_API int mps_rlock_release(void *lock) { return rlock_release(lock, 0); }

MPS_HIDDEN int mps__crlock_release(void *lock) { return rlock_release(lock, 1); }

MPS_API int mps_rlock_count(const void *lock, uint32_t *count)
{
    struct lock_area *l = (struct lock_area *)lock;
    if (l == NULL || (uintptr_t)l % 8 != 0 || count == NULL)
        return -EINVAL;
    uint32_t c;
    *count = held_by_me(l, &c, 0) ? c : 0;
    return 0;
}

MPS_HIDDEN int mps__rlock_release_all(void *lock, uint32_t *n)
{
    struct lock_area *l = lock;
    if (!held_by_me(l, n, 0))
        return -EPERM;
    set_holder(l, 0, 0, 0);
    return mps_lock_release(lock);
}

MPS_HIDDEN int mps__rlock_restore_all(void *lock, uint32_t n)
{
    struct lock_area *l = lock;
    int rc = mps_lock_acquire(lock, -1);
    if (rc == 0 || rc == -EOWNERDEAD)
        set_holder(l, mps__thread_token(), n, 0);
    return rc;
}

#endif /* MPS_USE_SYSTEM_LIB */
