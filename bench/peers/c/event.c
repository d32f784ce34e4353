/* event.c - W7 for raw C: an event (a futex flag) set in one process wakes
 * a waiter in another.  Two events ping-pong, so each wake is timed from
 * the other side's set: the result is half a round trip.  The waiter
 * sleeps at once (futex), spins before it sleeps (spinfutex), or only
 * spins (spin, the [limit] row).
 *
 *   event futex|spinfutex|spin N
 *       runs 2N round trips and prints, over the last N (the first N are
 *       a warm-up), "ns_per_op <set-to-wake latency>" and "cpu_ns_per_op
 *       <CPU time of both processes per wake>" */
#include "common.h"

#include <sys/wait.h>

/* flag is the futex word; sleepers counts waiters in (or about to enter)
 * FUTEX_WAIT, so a set makes no system call while the waiter spins.  The
 * plain futex event always wakes. */
struct event {
    atomic_int flag;
    atomic_int sleepers;
};

static int spins; /* 0 for the plain futex event */
static enum wait_policy policy;

static void event_wait(struct event *e)
{
    for (long i = 0; spins && atomic_load(&e->flag) == 0; i++)
        if (!keep_spinning(policy, i))
            break;
    if (atomic_load(&e->flag) != 0)
        return;
    atomic_fetch_add(&e->sleepers, 1);
    while (atomic_load(&e->flag) == 0)
        futex_wait(&e->flag, 0);
    atomic_fetch_sub(&e->sleepers, 1);
}

static void event_set(struct event *e)
{
    atomic_store(&e->flag, 1);
    if (!spins || atomic_load(&e->sleepers) > 0)
        futex_wake(&e->flag, INT_MAX);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    long n = atol(argv[2]);
    int p = parse_policy(argv[1]);
    if (p >= 0) {
        spins = 1;
        policy = p;
    } else if (strcmp(argv[1], "futex") != 0) {
        return 2;
    }
    char *mem = shared_alloc(4096);
    struct event *ea = (struct event *)mem, *eb = (struct event *)(mem + 128);
    double *child_cpu = (double *)(mem + 256);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        double c0 = 0;
        for (long i = 0; i < 2 * n; i++) {
            if (i == n)
                c0 = cpu_ns();
            event_wait(ea);
            atomic_store(&ea->flag, 0);
            event_set(eb);
        }
        *child_cpu = cpu_ns() - c0;
        _exit(0);
    }
    double c0 = 0, start = 0;
    for (long i = 0; i < 2 * n; i++) {
        if (i == n)
            c0 = cpu_ns(), start = now_ns();
        event_set(ea);
        event_wait(eb);
        atomic_store(&eb->flag, 0);
    }
    double end = now_ns(), cpu = cpu_ns() - c0;
    if (waitpid(pid, NULL, 0) != pid)
        die("waitpid");
    printf("ns_per_op %.1f\ncpu_ns_per_op %.1f\n", (end - start) / n / 2, (cpu + *child_cpu) / n / 2);
    return 0;
}
