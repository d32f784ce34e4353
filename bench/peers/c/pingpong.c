/* pingpong.c - W2 for raw C: two processes alternate on two semaphores,
 * built on plain futexes or on glibc's process-shared semaphores.
 *
 *   pingpong futex|sem N    prints "ns_per_op <round trip>" */
#include "common.h"

#include <semaphore.h>
#include <string.h>
#include <sys/wait.h>

/* A futex semaphore without spinning: the value is the futex word. */
static void fsem_wait(atomic_int *s)
{
    for (;;) {
        int v = atomic_load(s);
        if (v > 0 && atomic_compare_exchange_strong(s, &v, v - 1))
            return;
        if (v == 0)
            futex_wait(s, 0);
    }
}

static void fsem_post(atomic_int *s)
{
    atomic_fetch_add(s, 1);
    futex_wake(s, 1);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    long n = atol(argv[2]);
    int futex = strcmp(argv[1], "futex") == 0;
    char *mem = shared_alloc(4096);
    atomic_int *fa = (atomic_int *)mem, *fb = (atomic_int *)(mem + 64);
    sem_t *sa = (sem_t *)(mem + 128), *sb = (sem_t *)(mem + 192);
    sem_init(sa, 1, 0);
    sem_init(sb, 1, 0);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        for (long i = 0; i < n; i++) {
            if (futex) {
                fsem_wait(fa);
                fsem_post(fb);
            } else {
                sem_wait(sa);
                sem_post(sb);
            }
        }
        _exit(0);
    }
    double start = now_ns();
    for (long i = 0; i < n; i++) {
        if (futex) {
            fsem_post(fa);
            fsem_wait(fb);
        } else {
            sem_post(sa);
            sem_wait(sb);
        }
    }
    double end = now_ns();
    waitpid(pid, NULL, 0);
    printf("ns_per_op %.1f\n", (end - start) / n);
    return 0;
}
