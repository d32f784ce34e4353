/* pingpong.c - W2 for raw C: two processes alternate on two semaphores,
 * built on plain futexes, on glibc's process-shared semaphores, as
 * spin-then-futex semaphores, or spinning only (the [limit] row).
 *
 *   pingpong futex|sem|spinfutex|spin N
 *       runs 2N round trips and prints, over the last N (the first N are
 *       a warm-up: a fresh pair hands over through the kernel until both
 *       sides spin), "ns_per_op <round trip>" and "cpu_ns_per_op <CPU
 *       time of both processes per round trip>" */
#include "common.h"

#include <semaphore.h>
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

/* A semaphore that spins before it sleeps: value is the futex word,
 * sleepers counts the processes in (or about to enter) FUTEX_WAIT, so a
 * post makes no system call while the other side spins. */
struct ssem {
    atomic_int value;
    atomic_int sleepers;
};

static void ssem_wait(struct ssem *s, enum wait_policy p)
{
    for (long i = 0;; i++) {
        int v = atomic_load(&s->value);
        if (v > 0) {
            if (atomic_compare_exchange_strong(&s->value, &v, v - 1))
                return;
            continue;
        }
        if (keep_spinning(p, i))
            continue;
        /* Announce, then look: a poster that adds after this look sees
         * the sleeper and wakes it (both seq_cst). */
        atomic_fetch_add(&s->sleepers, 1);
        while (atomic_load(&s->value) == 0)
            futex_wait(&s->value, 0);
        atomic_fetch_sub(&s->sleepers, 1);
    }
}

static void ssem_post(struct ssem *s)
{
    atomic_fetch_add(&s->value, 1);
    if (atomic_load(&s->sleepers) > 0)
        futex_wake(&s->value, 1);
}

enum kind { FUTEX, SEM, OWN };

static void wait_on(enum kind k, enum wait_policy p, void *s)
{
    if (k == FUTEX)
        fsem_wait(s);
    else if (k == SEM)
        sem_wait(s);
    else
        ssem_wait(s, p);
}

static void post(enum kind k, void *s)
{
    if (k == FUTEX)
        fsem_post(s);
    else if (k == SEM)
        sem_post(s);
    else
        ssem_post(s);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    long n = atol(argv[2]);
    enum kind k = OWN;
    int p = parse_policy(argv[1]);
    if (strcmp(argv[1], "futex") == 0)
        k = FUTEX;
    else if (strcmp(argv[1], "sem") == 0)
        k = SEM;
    else if (p < 0)
        return 2;
    char *mem = shared_alloc(4096);
    void *a = mem, *b = mem + 128;
    double *child_cpu = (double *)(mem + 256);
    if (k == SEM) {
        sem_init(a, 1, 0);
        sem_init(b, 1, 0);
    }
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        double c0 = 0;
        for (long i = 0; i < 2 * n; i++) {
            if (i == n)
                c0 = cpu_ns();
            wait_on(k, p, a);
            post(k, b);
        }
        *child_cpu = cpu_ns() - c0;
        _exit(0);
    }
    double c0 = 0, start = 0;
    for (long i = 0; i < 2 * n; i++) {
        if (i == n)
            c0 = cpu_ns(), start = now_ns();
        post(k, a);
        wait_on(k, p, b);
    }
    double end = now_ns(), cpu = cpu_ns() - c0;
    if (waitpid(pid, NULL, 0) != pid)
        die("waitpid");
    printf("ns_per_op %.1f\ncpu_ns_per_op %.1f\n", (end - start) / n, (cpu + *child_cpu) / n);
    return 0;
}
