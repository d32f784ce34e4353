/* counter.c - W3 for raw C: P processes increment one shared int under one
 * lock, a futex lock or a process-shared robust pthread mutex.
 *
 *   counter futex|robust P TOTAL    prints "ops_per_s <v>", "count <n>" and
 *                                   "cpu_ns_per_op <CPU time of all the
 *                                   processes per increment>" */
#include "common.h"

#include <pthread.h>
#include <string.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    int futex = strcmp(argv[1], "futex") == 0;
    int procs = atoi(argv[2]);
    long total = atol(argv[3]), each = total / procs;
    char *mem = shared_alloc(4096);
    atomic_int *f = (atomic_int *)mem;
    atomic_int *go = (atomic_int *)(mem + 64);
    pthread_mutex_t *m = (pthread_mutex_t *)(mem + 128);
    volatile long *count = (volatile long *)(mem + 256);
    double *child_cpu = (double *)(mem + 512); /* one slot per process, up to 64 */
    if (procs < 1 || procs > 64)
        return 2;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(m, &a);
    for (int p = 0; p < procs; p++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            while (atomic_load(go) == 0)
                ;
            double c0 = cpu_ns();
            for (long i = 0; i < each; i++) {
                if (futex) {
                    futex_lock(f);
                    *count = *count + 1;
                    futex_unlock(f);
                } else {
                    pthread_mutex_lock(m);
                    *count = *count + 1;
                    pthread_mutex_unlock(m);
                }
            }
            child_cpu[p] = cpu_ns() - c0;
            _exit(0);
        }
    }
    double c0 = cpu_ns(), start = now_ns();
    atomic_store(go, 1);
    while (wait(NULL) > 0)
        ;
    double end = now_ns(), cpu = cpu_ns() - c0;
    for (int p = 0; p < procs; p++)
        cpu += child_cpu[p];
    printf("ops_per_s %.0f\ncount %ld\ncpu_ns_per_op %.2f\n", each * procs / ((end - start) / 1e9), *count, cpu / (each * procs));
    return 0;
}
