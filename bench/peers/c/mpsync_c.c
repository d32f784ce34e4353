/* mpsync_c.c - the "mpsync from C" rows: libmpsync's C API (mpsync.h) on
 * the workloads of the raw C peers, every process in C.  Built against
 * libmpsync (see peers.mpsProgram), not with the other peers.  Objects
 * are made with the C API under names from peer_name, opened by name in
 * the forked children, and unlinked by the parent at the end.
 *
 *   mpsync_c lock N           W1: acquire+release of a free Lock
 *   mpsync_c pingpong N       W2: two processes alternate on two Semaphores
 *   mpsync_c counter P TOTAL  W3: P processes increment one int under a Lock
 *   mpsync_c event N          W7: two Events ping-pong (½ round trip)
 *   mpsync_c barrier N        W8: two processes wait on a Barrier
 *
 * pingpong, event and barrier run 2N rounds and time the last N (the
 * first N are a warm-up, as in the raw C peers).
 *
 * Each prints "ns_per_op" (or, for counter, "ops_per_s" and "count") and
 * "cpu_ns_per_op", the CPU time of all its processes over the measured
 * loop, as the other C peers do. */
#include "common.h"

#include <sys/wait.h>

#include "mpsync.h"

/* check dies with what's error text if err (a -errno) is not 0. */
static void check(int err, const char *what)
{
    if (err != 0) {
        fprintf(stderr, "%s: %s\n", what, mps_strerror(err));
        exit(1);
    }
}

/* The shared page: the children's CPU times, a start flag, a counter. */
struct shared {
    double child_cpu[64];
    atomic_int go;
    volatile long count;
};

static int ready_pipe[2]; /* children write a byte to [1] once ready */
static double child_cpu0; /* a child's CPU time when it was ready */

/* ready tells the parent that this child has opened its objects: as the
 * Go roles say "ready" on a pipe before the measured loop starts, a
 * child's start-up (its first open makes a registry and reaches the
 * tracker) is left out of the wall and the CPU time. */
static void ready(void)
{
    child_cpu0 = cpu_ns();
    if (write(ready_pipe[1], "r", 1) != 1)
        die("write");
}

/* wait_ready blocks until n children have called ready. */
static void wait_ready(int n)
{
    char c;
    for (int i = 0; i < n; i++)
        if (read(ready_pipe[0], &c, 1) != 1)
            die("read");
}

/* fork_child forks and returns its pid; the child runs fn(arg), which
 * calls ready() once it has opened its objects, then stores its CPU time
 * from then on in sh->child_cpu[i] and exits. */
static pid_t fork_child(struct shared *sh, int i, void (*fn)(void *), void *arg)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        fn(arg);
        sh->child_cpu[i] = cpu_ns() - child_cpu0;
        _exit(0);
    }
    return pid;
}

/* reap waits for every child and adds their CPU times to *cpu. */
static void reap(struct shared *sh, int n, double *cpu)
{
    for (int i = 0; i < n; i++)
        if (wait(NULL) < 0)
            die("wait");
    for (int i = 0; i < n; i++)
        *cpu += sh->child_cpu[i];
}

static void run_lock(long n)
{
    char name[128];
    peer_name(name, sizeof name, 0);
    mps_object *o;
    check(mps_lock_create(name, &o), "mps_lock_create");
    void *l = mps_object_lock(o);
    check(mps_lock_acquire(l, -1), "mps_lock_acquire"); /* the first acquire makes the identity */
    check(mps_lock_release(l), "mps_lock_release");
    double c0 = cpu_ns(), start = now_ns();
    for (long i = 0; i < n; i++) {
        mps_lock_acquire(l, -1);
        mps_lock_release(l);
    }
    double end = now_ns(), c1 = cpu_ns();
    check(mps_object_unlink(o), "mps_object_unlink");
    check(mps_object_close(o), "mps_object_close");
    printf("ns_per_op %.2f\ncpu_ns_per_op %.2f\n", (end - start) / n, (c1 - c0) / n);
}

/* The two-process workloads: the objects' names, the rounds. */
struct pair {
    char a[128], b[128];
    long n;
};

static void pong(void *arg)
{
    struct pair *p = arg;
    mps_object *a, *b;
    check(mps_sem_open(p->a, &a), "mps_sem_open");
    check(mps_sem_open(p->b, &b), "mps_sem_open");
    ready();
    for (long i = 0; i < 2 * p->n; i++) {
        if (i == p->n)
            child_cpu0 = cpu_ns();
        check(mps_sem_acquire(a, -1), "mps_sem_acquire");
        check(mps_sem_release(b), "mps_sem_release");
    }
    mps_object_close(a);
    mps_object_close(b);
}

static void run_pingpong(struct shared *sh, long n)
{
    struct pair p = {.n = n};
    peer_name(p.a, sizeof p.a, 0);
    peer_name(p.b, sizeof p.b, 1);
    mps_object *a, *b;
    check(mps_sem_create(p.a, 0, &a), "mps_sem_create");
    check(mps_sem_create(p.b, 0, &b), "mps_sem_create");
    fork_child(sh, 0, pong, &p);
    wait_ready(1);
    double c0 = 0, start = 0;
    for (long i = 0; i < 2 * n; i++) {
        if (i == n)
            c0 = cpu_ns(), start = now_ns();
        check(mps_sem_release(a), "mps_sem_release");
        check(mps_sem_acquire(b, -1), "mps_sem_acquire");
    }
    double end = now_ns(), cpu = cpu_ns() - c0;
    reap(sh, 1, &cpu);
    mps_object_unlink(a);
    mps_object_unlink(b);
    mps_object_close(a);
    mps_object_close(b);
    printf("ns_per_op %.1f\ncpu_ns_per_op %.1f\n", (end - start) / n, cpu / n);
}

struct counter {
    char lock[128];
    long each;
    struct shared *sh;
};

static void count(void *arg)
{
    struct counter *c = arg;
    mps_object *o;
    check(mps_lock_open(c->lock, &o), "mps_lock_open");
    void *l = mps_object_lock(o);
    check(mps_lock_acquire(l, -1), "mps_lock_acquire"); /* make the identity before the start */
    check(mps_lock_release(l), "mps_lock_release");
    volatile long *n = &c->sh->count;
    long each = c->each;
    ready();
    while (atomic_load(&c->sh->go) == 0)
        ;
    for (long i = 0; i < each; i++) {
        check(mps_lock_acquire(l, -1), "mps_lock_acquire");
        *n = *n + 1;
        check(mps_lock_release(l), "mps_lock_release");
    }
    mps_object_close(o);
}

static void run_counter(struct shared *sh, int procs, long total)
{
    struct counter c = {.each = total / procs, .sh = sh};
    peer_name(c.lock, sizeof c.lock, 0);
    mps_object *o;
    check(mps_lock_create(c.lock, &o), "mps_lock_create");
    for (int i = 0; i < procs; i++)
        fork_child(sh, i, count, &c);
    wait_ready(procs);
    double c0 = cpu_ns(), start = now_ns();
    atomic_store(&sh->go, 1);
    double cpu = 0;
    reap(sh, procs, &cpu);
    double end = now_ns();
    cpu += cpu_ns() - c0;
    mps_object_unlink(o);
    mps_object_close(o);
    long done = c.each * procs;
    printf("ops_per_s %.0f\ncount %ld\ncpu_ns_per_op %.2f\n", done / ((end - start) / 1e9), sh->count, cpu / done);
}

static void event_pong(void *arg)
{
    struct pair *p = arg;
    mps_object *a, *b;
    check(mps_event_open(p->a, &a), "mps_event_open");
    check(mps_event_open(p->b, &b), "mps_event_open");
    ready();
    for (long i = 0; i < 2 * p->n; i++) {
        if (i == p->n)
            child_cpu0 = cpu_ns();
        check(mps_event_wait(a, -1), "mps_event_wait");
        check(mps_event_clear(a), "mps_event_clear");
        check(mps_event_set(b), "mps_event_set");
    }
    mps_object_close(a);
    mps_object_close(b);
}

static void run_event(struct shared *sh, long n)
{
    struct pair p = {.n = n};
    peer_name(p.a, sizeof p.a, 0);
    peer_name(p.b, sizeof p.b, 1);
    mps_object *a, *b;
    check(mps_event_create(p.a, &a), "mps_event_create");
    check(mps_event_create(p.b, &b), "mps_event_create");
    fork_child(sh, 0, event_pong, &p);
    wait_ready(1);
    double c0 = 0, start = 0;
    for (long i = 0; i < 2 * n; i++) {
        if (i == n)
            c0 = cpu_ns(), start = now_ns();
        check(mps_event_set(a), "mps_event_set");
        check(mps_event_wait(b, -1), "mps_event_wait");
        check(mps_event_clear(b), "mps_event_clear");
    }
    double end = now_ns(), cpu = cpu_ns() - c0;
    reap(sh, 1, &cpu);
    mps_object_unlink(a);
    mps_object_unlink(b);
    mps_object_close(a);
    mps_object_close(b);
    printf("ns_per_op %.1f\ncpu_ns_per_op %.1f\n", (end - start) / n / 2, cpu / n / 2);
}

static void party(void *arg)
{
    struct pair *p = arg;
    mps_object *b;
    check(mps_barrier_open(p->a, &b), "mps_barrier_open");
    ready();
    for (long i = 0; i < 2 * p->n; i++) {
        if (i == p->n)
            child_cpu0 = cpu_ns();
        check(mps_barrier_wait(b, -1, NULL, NULL, NULL), "mps_barrier_wait");
    }
    mps_object_close(b);
}

static void run_barrier(struct shared *sh, long n)
{
    struct pair p = {.n = n};
    peer_name(p.a, sizeof p.a, 0);
    mps_object *b;
    check(mps_barrier_create(p.a, 2, &b), "mps_barrier_create");
    fork_child(sh, 0, party, &p);
    wait_ready(1);
    double c0 = 0, start = 0;
    for (long i = 0; i < 2 * n; i++) {
        if (i == n)
            c0 = cpu_ns(), start = now_ns();
        check(mps_barrier_wait(b, -1, NULL, NULL, NULL), "mps_barrier_wait");
    }
    double end = now_ns(), cpu = cpu_ns() - c0;
    reap(sh, 1, &cpu);
    mps_object_unlink(b);
    mps_object_close(b);
    printf("ns_per_op %.1f\ncpu_ns_per_op %.1f\n", (end - start) / n, cpu / n);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    struct shared *sh = shared_alloc(sizeof *sh);
    if (pipe(ready_pipe) != 0)
        die("pipe");
    long n = atol(argv[argc - 1]);
    if (strcmp(argv[1], "lock") == 0 && argc == 3)
        run_lock(n);
    else if (strcmp(argv[1], "pingpong") == 0 && argc == 3)
        run_pingpong(sh, n);
    else if (strcmp(argv[1], "counter") == 0 && argc == 4 && atoi(argv[2]) >= 1 && atoi(argv[2]) <= 64)
        run_counter(sh, atoi(argv[2]), n);
    else if (strcmp(argv[1], "event") == 0 && argc == 3)
        run_event(sh, n);
    else if (strcmp(argv[1], "barrier") == 0 && argc == 3)
        run_barrier(sh, n);
    else
        return 2;
    return 0;
}
