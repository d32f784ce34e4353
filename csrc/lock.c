/* lock.c - the robust process-shared lock (see mpsync.h, "Robust
 * process-shared locks").  internal/robust in Go is the same algorithm on
 * the same word; keep the two in step. */
#ifndef MPS_USE_SYSTEM_LIB

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mpsync_impl.h"

#define DEAD_BIT (1ull << 30)
#define WAITERS_BIT (1ull << 31)
#define NOT_RECOVERABLE ((uint64_t)MPS_LOCK_NOTRECOVERABLE)

enum { spin_tries = 100 };
static const int64_t slice_ns = 20 * 1000000; /* liveness check period */

struct lock_area {
    uint64_t word;
    uint32_t pad;
    uint32_t count;
    uint64_t owner;
    int64_t since; /* when the holder took it (Unix ns), 0 unknown */
    int64_t wait;  /* when the earliest sleeping waiter began, 0 none */
};

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint32_t *futex_word(struct lock_area *l) { return (uint32_t *)&l->word; /* low half */ }

static int same_owner(uint64_t w, uint64_t self)
{
    return w != NOT_RECOVERABLE && (w & MPS_ID_MASK) == self;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cas(struct lock_area *l, uint64_t *expected, uint64_t desired)
{
    return __atomic_compare_exchange_n(&l->word, expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static int take_over(struct lock_area *l, uint64_t w, uint64_t self)
{
    if (!cas(l, &w, self | DEAD_BIT | (w & WAITERS_BIT)))
        return 0;
    __atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&l->count, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&l->since, wall_ns(), __ATOMIC_RELAXED);
    return 1;
}

MPS_API int mps_lock_acquire(void *lock, int64_t timeout_ns)
{
    struct lock_area *l = lock;
    if (l == NULL || (uintptr_t)l % 8 != 0)
        return -EINVAL;
    uint64_t self;
    int err = mps__self(&self);
    if (err != 0)
        return err;
    uint64_t zero = 0;
    if (cas(l, &zero, self))
        return 0;

    int64_t deadline = timeout_ns > 0 ? now_ns() + timeout_ns : 0;
    if (timeout_ns != 0) {
        for (int i = 0; i < spin_tries; i++) {
            uint64_t w = __atomic_load_n(&l->word, __ATOMIC_RELAXED);
            if (w == 0 && cas(l, &w, self))
                return 0;
            if (w == NOT_RECOVERABLE)
                return -ENOTRECOVERABLE;
            sched_yield();
        }
    }
    for (;;) {
        uint64_t w = __atomic_load_n(&l->word, __ATOMIC_SEQ_CST);
        if (w == 0) {
            /* Keep the waiters bit: others may still sleep.  The release
             * then takes the slow path, which clears the stamp. */
            if (timeout_ns == 0) {
                if (cas(l, &w, self))
                    return 0;
            } else if (cas(l, &w, self | WAITERS_BIT)) {
                __atomic_store_n(&l->since, wall_ns(), __ATOMIC_RELAXED);
                return 0;
            }
            continue;
        }
        if (w == NOT_RECOVERABLE)
            return -ENOTRECOVERABLE;
        if (timeout_ns == 0) {
            if (!same_owner(w, self) && !mps__alive(w) && take_over(l, w, self))
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
        if (__atomic_load_n(&l->wait, __ATOMIC_RELAXED) == 0)
            __atomic_compare_exchange_n(&l->wait, &zero_t, wall_ns(), 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
        int64_t wait = slice_ns;
        if (deadline != 0) {
            int64_t left = deadline - now_ns();
            if (left <= 0)
                return -ETIMEDOUT;
            if (left < wait)
                wait = left;
        }
        struct timespec ts = {wait / 1000000000, wait % 1000000000};
        long r = syscall(SYS_futex, futex_word(l), FUTEX_WAIT, (uint32_t)w, &ts, NULL, 0);
        if (r != 0 && errno == ETIMEDOUT && __atomic_load_n(&l->word, __ATOMIC_SEQ_CST) == w &&
            !same_owner(w, self) && !mps__alive(w) && take_over(l, w, self))
            return -EOWNERDEAD;
    }
}

MPS_API int mps_lock_release(void *lock)
{
    struct lock_area *l = lock;
    if (l == NULL)
        return -EINVAL;
    uint64_t self = mps__self_word();
    for (;;) {
        uint64_t w = __atomic_load_n(&l->word, __ATOMIC_SEQ_CST);
        if (!same_owner(w, self))
            return -EPERM;
        uint64_t next = (w & DEAD_BIT) ? NOT_RECOVERABLE : 0;
        int64_t since = __atomic_exchange_n(&l->since, 0, __ATOMIC_RELAXED);
        int64_t waited = __atomic_exchange_n(&l->wait, 0, __ATOMIC_RELAXED);
        if (!cas(l, &w, next)) {
            __atomic_store_n(&l->since, since, __ATOMIC_RELAXED);
            int64_t zero_t = 0;
            __atomic_compare_exchange_n(&l->wait, &zero_t, waited, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
            continue;
        }
        if (next == NOT_RECOVERABLE) {
            syscall(SYS_futex, futex_word(l), FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
            return -ENOTRECOVERABLE;
        }
        if (w & WAITERS_BIT)
            syscall(SYS_futex, futex_word(l), FUTEX_WAKE, 1, NULL, NULL, 0);
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
    return w == NOT_RECOVERABLE || w == 0 ? 0 : mps__pid_of(w);
}

#endif /* MPS_USE_SYSTEM_LIB */
