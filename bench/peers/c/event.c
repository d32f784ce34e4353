/* event.c - W7 for raw C: an event (a futex flag) set in one process wakes
 * a waiter in another.  Two events ping-pong, so each wake is timed from
 * the other side's set: the result is half a round trip.
 *
 *   event N    prints "ns_per_op <set-to-wake latency>" */
#include "common.h"

#include <sys/wait.h>

static void event_wait(atomic_int *e)
{
    while (atomic_load(e) == 0)
        futex_wait(e, 0);
}

static void event_set(atomic_int *e)
{
    atomic_store(e, 1);
    futex_wake(e, INT32_MAX);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    long n = atol(argv[1]);
    char *mem = shared_alloc(4096);
    atomic_int *ea = (atomic_int *)mem, *eb = (atomic_int *)(mem + 64);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        for (long i = 0; i < n; i++) {
            event_wait(ea);
            atomic_store(ea, 0);
            event_set(eb);
        }
        _exit(0);
    }
    double start = now_ns();
    for (long i = 0; i < n; i++) {
        event_set(ea);
        event_wait(eb);
        atomic_store(eb, 0);
    }
    double end = now_ns();
    waitpid(pid, NULL, 0);
    printf("ns_per_op %.1f\n", (end - start) / n / 2);
    return 0;
}
