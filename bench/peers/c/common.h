/* common.h - helpers shared by the C peers of the workload suite: time,
 * shared anonymous memory, and a plain futex lock and event. */
#ifndef MPS_BENCH_COMMON_H
#define MPS_BENCH_COMMON_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline void die(const char *what)
{
    perror(what);
    exit(1);
}

/* shared_alloc returns zeroed memory shared with children forked later. */
static inline void *shared_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    return p;
}

/* Shared (not FUTEX_PRIVATE) futex calls. */
static inline void futex_wait(atomic_int *f, int val)
{
    syscall(SYS_futex, f, FUTEX_WAIT, val, NULL, NULL, 0);
}

static inline void futex_wake(atomic_int *f, int n)
{
    syscall(SYS_futex, f, FUTEX_WAKE, n, NULL, NULL, 0);
}

/* The classic futex mutex (Drepper, "Futexes are tricky", mutex 2):
 * 0 free, 1 locked, 2 locked with waiters.  No spinning. */
static inline void futex_lock(atomic_int *f)
{
    int c = 0;
    if (atomic_compare_exchange_strong(f, &c, 1))
        return;
    if (c != 2)
        c = atomic_exchange(f, 2);
    while (c != 0) {
        futex_wait(f, 2);
        c = atomic_exchange(f, 2);
    }
}

static inline void futex_unlock(atomic_int *f)
{
    if (atomic_fetch_sub(f, 1) != 1) {
        atomic_store(f, 0);
        futex_wake(f, 1);
    }
}

#endif
