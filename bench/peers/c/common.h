/* common.h - helpers shared by the C peers of the workload suite: wall and
 * CPU time, shared anonymous memory, a plain futex lock, and the waiting
 * policies of the spin-then-futex and pure-spin peers. */
#ifndef MPS_BENCH_COMMON_H
#define MPS_BENCH_COMMON_H

#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* cpu_ns returns this process's CPU time so far, user + system, summed
 * over its threads (not its children's: each process reports its own). */
static inline double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* peer_name writes the name of a peer's i-th named object: "/" + the bench
 * run's prefix (MPSYNC_BENCH_PREFIX, so that the run counts as its own
 * only what it made) + this process's pid + "-" + i. */
static inline void peer_name(char *buf, size_t size, long i)
{
    const char *prefix = getenv("MPSYNC_BENCH_PREFIX");
    snprintf(buf, size, "/%s%d-%ld", prefix ? prefix : "mps-bench-", (int)getpid(), i);
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

/* How a spin-then-futex or pure-spin peer waits.  SPIN_FUTEX looks at the
 * word up to SPIN_TRIES times with a pause in between (about 20 us on the
 * x86 machines measured, the order of mpsync's own 100-200 yields before
 * it sleeps), then sleeps in FUTEX_WAIT; a waker makes the system call
 * only when someone sleeps.  PURE_SPIN never sleeps: the hardware floor,
 * the report's [limit] row.  It calls sched_yield every SPIN_YIELD looks
 * (about 6 us; not reached while both sides run, as a hand-over takes
 * well under a microsecond), so that on a loaded machine a partner
 * waiting for this core gets it. */
enum wait_policy { SPIN_FUTEX, PURE_SPIN };
enum { SPIN_TRIES = 1000, SPIN_YIELD = 256 };

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#else
    __asm__ volatile("" ::: "memory");
#endif
}

/* keep_spinning is called after the i-th fruitless look: it pauses and
 * says whether to look again (1) or to sleep (0). */
static inline int keep_spinning(enum wait_policy p, long i)
{
    cpu_relax();
    if (p == PURE_SPIN) {
        if (i % SPIN_YIELD == SPIN_YIELD - 1)
            sched_yield();
        return 1;
    }
    return i < SPIN_TRIES;
}

/* parse_policy maps a mode argument to a policy: "spinfutex" or "spin";
 * -1 for anything else. */
static inline int parse_policy(const char *mode)
{
    if (strcmp(mode, "spinfutex") == 0)
        return SPIN_FUTEX;
    if (strcmp(mode, "spin") == 0)
        return PURE_SPIN;
    return -1;
}

#endif
