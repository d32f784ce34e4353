/* lock_uncontended.c - W1 for raw C: acquire+release of a free lock in one
 * process, for a futex lock, a process-shared robust pthread mutex and a
 * glibc named semaphore.
 *
 *   lock_uncontended futex|robust|sem N    prints "ns_per_op <value>" and
 *                                          "cpu_ns_per_op <value>" */
#include "common.h"

#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    long n = atol(argv[2]);
    double start, end, c0, c1;
    if (strcmp(argv[1], "futex") == 0) {
        atomic_int *f = shared_alloc(64);
        c0 = cpu_ns();
        start = now_ns();
        for (long i = 0; i < n; i++) {
            futex_lock(f);
            futex_unlock(f);
        }
        end = now_ns();
        c1 = cpu_ns();
    } else if (strcmp(argv[1], "robust") == 0) {
        pthread_mutex_t *m = shared_alloc(sizeof *m);
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
        pthread_mutex_init(m, &a);
        c0 = cpu_ns();
        start = now_ns();
        for (long i = 0; i < n; i++) {
            pthread_mutex_lock(m);
            pthread_mutex_unlock(m);
        }
        end = now_ns();
        c1 = cpu_ns();
    } else if (strcmp(argv[1], "sem") == 0) {
        char name[128];
        peer_name(name, sizeof name, 0);
        sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
        if (s == SEM_FAILED)
            die("sem_open");
        sem_unlink(name);
        c0 = cpu_ns();
        start = now_ns();
        for (long i = 0; i < n; i++) {
            sem_wait(s);
            sem_post(s);
        }
        end = now_ns();
        c1 = cpu_ns();
    } else {
        return 2;
    }
    printf("ns_per_op %.2f\ncpu_ns_per_op %.2f\n", (end - start) / n, (c1 - c0) / n);
    return 0;
}
