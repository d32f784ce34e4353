/* barrier.c - W8 for raw C: two processes wait on a process-shared
 * pthread_barrier, round after round.
 *
 *   barrier N    prints "ns_per_op <per round>" */
#include "common.h"

#include <pthread.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    long n = atol(argv[1]);
    pthread_barrier_t *b = shared_alloc(sizeof *b);
    pthread_barrierattr_t a;
    pthread_barrierattr_init(&a);
    pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_barrier_init(b, &a, 2);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        for (long i = 0; i < n; i++)
            pthread_barrier_wait(b);
        _exit(0);
    }
    double start = now_ns();
    for (long i = 0; i < n; i++)
        pthread_barrier_wait(b);
    double end = now_ns();
    waitpid(pid, NULL, 0);
    printf("ns_per_op %.1f\n", (end - start) / n);
    return 0;
}
