/* barrier.c - W8 for raw C: two processes wait on a barrier, round after
 * round: a process-shared pthread_barrier, a barrier that spins before it
 * sleeps on a futex (spinfutex), or one that only spins (spin, the
 * [limit] row).
 *
 *   barrier pthread|spinfutex|spin N
 *       runs 2N rounds and prints, over the last N (the first N are a
 *       warm-up), "ns_per_op <per round>" and "cpu_ns_per_op <CPU time of
 *       both processes per round>" */
#include "common.h"

#include <pthread.h>
#include <sys/wait.h>

/* A generation barrier: the last of parties to arrive resets arrived and
 * advances gen, the futex word the others wait on; sleepers counts those
 * in (or about to enter) FUTEX_WAIT. */
struct sbarrier {
    atomic_int arrived;
    atomic_int gen;
    atomic_int sleepers;
    int parties;
};

static void sbarrier_wait(struct sbarrier *b, enum wait_policy p)
{
    /* Read the generation before arriving: only this round's last
     * arrival, which needs ours, can advance it. */
    int g = atomic_load(&b->gen);
    if (atomic_fetch_add(&b->arrived, 1) == b->parties - 1) {
        atomic_store(&b->arrived, 0);
        atomic_store(&b->gen, g + 1);
        if (atomic_load(&b->sleepers) > 0)
            futex_wake(&b->gen, INT_MAX);
        return;
    }
    for (long i = 0; atomic_load(&b->gen) == g; i++) {
        if (keep_spinning(p, i))
            continue;
        atomic_fetch_add(&b->sleepers, 1);
        while (atomic_load(&b->gen) == g)
            futex_wait(&b->gen, g);
        atomic_fetch_sub(&b->sleepers, 1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    long n = atol(argv[2]);
    int p = parse_policy(argv[1]);
    int pthread = strcmp(argv[1], "pthread") == 0;
    if (p < 0 && !pthread)
        return 2;
    char *mem = shared_alloc(4096);
    pthread_barrier_t *pb = (pthread_barrier_t *)mem;
    struct sbarrier *sb = (struct sbarrier *)(mem + 128);
    double *child_cpu = (double *)(mem + 256);
    if (pthread) {
        pthread_barrierattr_t a;
        pthread_barrierattr_init(&a);
        pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_barrier_init(pb, &a, 2);
    }
    sb->parties = 2;
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        double c0 = 0;
        for (long i = 0; i < 2 * n; i++) {
            if (i == n)
                c0 = cpu_ns();
            if (pthread)
                pthread_barrier_wait(pb);
            else
                sbarrier_wait(sb, p);
        }
        *child_cpu = cpu_ns() - c0;
        _exit(0);
    }
    double c0 = 0, start = 0;
    for (long i = 0; i < 2 * n; i++) {
        if (i == n)
            c0 = cpu_ns(), start = now_ns();
        if (pthread)
            pthread_barrier_wait(pb);
        else
            sbarrier_wait(sb, p);
    }
    double end = now_ns(), cpu = cpu_ns() - c0;
    if (waitpid(pid, NULL, 0) != pid)
        die("waitpid");
    printf("ns_per_op %.1f\ncpu_ns_per_op %.1f\n", (end - start) / n, (cpu + *child_cpu) / n);
    return 0;
}
