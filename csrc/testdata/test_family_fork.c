/* test_family_fork.c: the sync family when a process dies - a forked
 * child (an identity of its own) holds or waits and is killed with
 * SIGKILL, and the parent recovers or breaks as mpsync.h says. */
#include "check.h"
#include "mpsync.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* child runs fn(name) in a forked child that writes one byte to a pipe
 * once fn says it is in place, then stays until killed; it returns the
 * child's pid once the byte arrived. */
static pid_t child(void (*fn)(const char *name, int ready), const char *name)
{
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        fn(name, p[1]);
        for (;;)
            pause();
    }
    close(p[1]);
    char c;
    CHECK(read(p[0], &c, 1) == 1);
    close(p[0]);
    return pid;
}

static void kill_child(pid_t pid)
{
    CHECK(kill(pid, SIGKILL) == 0);
    CHECK(waitpid(pid, NULL, 0) == pid);
}

static void ready(int fd) { CHECK(write(fd, "x", 1) == 1); }

static void hold_rlock(const char *name, int fd)
{
    mps_object *o;
    CHECK_RC(mps_rlock_open(name, &o), 0);
    CHECK_RC(mps_rlock_acquire(mps_object_lock(o), -1), 0);
    CHECK_RC(mps_rlock_acquire(mps_object_lock(o), -1), 0);
    ready(fd);
}

static void test_rlock(void)
{
    mps_object *r;
    CHECK_RC(mps_rlock_create(NULL, &r), 0);
    void *l = mps_object_lock(r);
    kill_child(child(hold_rlock, mps_object_name(r)));
    CHECK_RC(mps_rlock_acquire(l, 10LL * 1000000000), -EOWNERDEAD);
    uint32_t n;
    CHECK_RC(mps_rlock_count(l, &n), 0);
    CHECK(n == 1); /* the dead holder's count is not ours */
    CHECK_RC(mps_lock_consistent(l), 0);
    CHECK_RC(mps_rlock_release(l), 0);
    CHECK_RC(mps_rlock_acquire(l, 0), 0);
    CHECK_RC(mps_rlock_release(l), 0);
    CHECK_RC(mps_object_unlink(r), 0);
    CHECK_RC(mps_object_close(r), 0);
}

static void wait_barrier(const char *name, int fd)
{
    mps_object *b;
    CHECK_RC(mps_barrier_open(name, &b), 0);
    ready(fd);
    mps_barrier_wait(b, -1, NULL, NULL, NULL);
}

static void test_barrier(void)
{
    mps_object *b;
    CHECK_RC(mps_barrier_create(NULL, 3, &b), 0);
    pid_t pid = child(wait_barrier, mps_object_name(b));
    unsigned n = 0;
    while (n == 0)
        CHECK_RC(mps_barrier_n_waiting(b, &n), 0);
    kill_child(pid);
    CHECK_RC(mps_barrier_wait(b, 10LL * 1000000000, NULL, NULL, NULL), -EPIPE);
    CHECK_RC(mps_barrier_reset(b), 0);
    CHECK_RC(mps_object_unlink(b), 0);
    CHECK_RC(mps_object_close(b), 0);
}

/* wait_once forks a child that waits at barrier b once and exits with 0
 * if its round completed, 1 if it broke, 2 otherwise; it returns once the
 * child waits. */
static pid_t wait_once(mps_object *b)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int err = mps_barrier_wait(b, -1, NULL, NULL, NULL);
        _exit(err == 0 ? 0 : err == -EPIPE ? 1 : 2);
    }
    unsigned n = 0;
    while (n == 0)
        CHECK_RC(mps_barrier_n_waiting(b, &n), 0);
    return pid;
}

/* rounds completes n rounds of the two-party barrier b with a forked
 * partner. */
static void rounds(mps_object *b, int n)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        for (int i = 0; i < n; i++)
            if (mps_barrier_wait(b, -1, NULL, NULL, NULL) != 0)
                _exit(1);
        _exit(0);
    }
    for (int i = 0; i < n; i++)
        CHECK_RC(mps_barrier_wait(b, 10LL * 1000000000, NULL, NULL, NULL), 0);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* test_barrier_stopped stops a waiting party (SIGSTOP) while its round
 * ends one way and later rounds the other: once continued, it reports how
 * its own round ended. */
static void test_barrier_stopped(void)
{
    mps_object *b;
    CHECK_RC(mps_barrier_create(NULL, 2, &b), 0);
    for (int c = 0; c < 4; c++) {
        pid_t pid = wait_once(b);
        int status;
        CHECK(kill(pid, SIGSTOP) == 0);
        CHECK(waitpid(pid, &status, WUNTRACED) == pid && WIFSTOPPED(status));
        int completed = c >= 2; /* cases 2 and 3: the round completes */
        if (completed)
            CHECK_RC(mps_barrier_wait(b, 10LL * 1000000000, NULL, NULL, NULL), 0);
        else
            CHECK_RC(mps_barrier_reset(b), 0);
        if (c % 2 == 0)
            rounds(b, 70); /* past the 64 generations the bits remember */
        else if (completed)
            CHECK_RC(mps_barrier_reset(b), 0);
        else
            rounds(b, 1);
        CHECK(kill(pid, SIGCONT) == 0);
        CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == (completed ? 0 : 1));
        CHECK_RC(mps_barrier_reset(b), 0);
    }
    CHECK_RC(mps_object_unlink(b), 0);
    CHECK_RC(mps_object_close(b), 0);
}

static void hold_lock(const char *name, int fd)
{
    mps_object *b;
    CHECK_RC(mps_barrier_open(name, &b), 0);
    CHECK_RC(mps_lock_acquire(mps_object_lock(b), -1), 0);
    ready(fd);
}

/* test_barrier_holder_killed: a process dies holding the barrier's
 * internal lock (as a party does before it counts itself in).  While it
 * lives, a wait that times out waiting for the lock leaves the barrier
 * alone; once it is killed, the party waiting meanwhile gets -EPIPE
 * instead of waiting for ever.  A corrupt parties word changes nothing:
 * the payload's size says how many parties there are, and a reset
 * rewrites the word. */
static void test_barrier_holder_killed(void)
{
    mps_object *b;
    CHECK_RC(mps_barrier_create(NULL, 3, &b), 0);
    pid_t waiter = wait_once(b);
    pid_t holder = child(hold_lock, mps_object_name(b));
    CHECK_RC(mps_barrier_wait(b, 50 * 1000000LL, NULL, NULL, NULL), -ETIMEDOUT);
    int broken;
    unsigned n;
    CHECK_RC(mps_barrier_broken(b, &broken), 0);
    CHECK_RC(mps_barrier_n_waiting(b, &n), 0);
    CHECK(!broken && n == 1);
    kill_child(holder);
    int status;
    alarm(30); /* a waiter that never notices would hang the test */
    CHECK(waitpid(waiter, &status, 0) == waiter && WIFEXITED(status) && WEXITSTATUS(status) == 1);
    alarm(0);
    CHECK_RC(mps_barrier_reset(b), 0);

    uint32_t *parties_word = (uint32_t *)((unsigned char *)mps_object_payload(b) + MPS_BARRIER_OFF_PARTIES);
    *parties_word = 0;
    mps_object *o;
    unsigned parties;
    CHECK_RC(mps_barrier_open(mps_object_name(b), &o), 0);
    CHECK_RC(mps_barrier_parties(o, &parties), 0);
    CHECK(parties == 3);
    CHECK_RC(mps_barrier_reset(o), 0);
    CHECK(*parties_word == 3);
    CHECK_RC(mps_object_close(o), 0);
    CHECK_RC(mps_object_unlink(b), 0);
    CHECK_RC(mps_object_close(b), 0);
}

static void wait_cond(const char *name, int fd)
{
    mps_cond *c;
    CHECK_RC(mps_cond_open(name, &c), 0);
    CHECK_RC(mps_cond_acquire(c, -1), 0);
    ready(fd); /* the parent takes the lock only once this waits */
    mps_cond_wait(c, -1);
}

static void test_condition(void)
{
    mps_cond *c;
    CHECK_RC(mps_cond_create(NULL, NULL, &c), 0);
    pid_t pid = child(wait_cond, mps_cond_name(c));
    CHECK_RC(mps_cond_acquire(c, -1), 0);
    kill_child(pid);
    /* The only waiter is dead: notify counts it, and a wait of ours then
     * times out rather than taking the token left for it (a waiter that
     * came after a notification never takes its tokens). */
    CHECK_RC(mps_cond_notify(c, 1), 0);
    CHECK_RC(mps_cond_wait(c, 1000000), -ETIMEDOUT);
    CHECK_RC(mps_cond_release(c), 0);
    CHECK_RC(mps_cond_unlink(c), 0);
    CHECK_RC(mps_cond_close(c), 0);
}

struct big {
    int64_t a, b;
};

static void hold_value(const char *name, int fd)
{
    mps_object *v;
    CHECK_RC(mps_object_open(name, MPS_KIND_VALUE, &v), 0);
    CHECK_RC(mps_rlock_acquire(mps_object_lock(v), -1), 0);
    ready(fd);
}

static void test_value(void)
{
    struct mps_object_spec spec = {
        .kind = MPS_KIND_VALUE, .format = "T{q:a:q:b:}", .count = 1, .elem_size = 16, .with_lock = 1};
    mps_object *v;
    CHECK_RC(mps_object_create(NULL, &spec, NULL, NULL, &v), 0);
    kill_child(child(hold_value, mps_object_name(v)));
    /* A store takes the dead holder's lock over, and leaves it usable. */
    struct big x = {1, 2}, y;
    CHECK_RC(mps_value_store(v, 0, &x, sizeof x), 0);
    CHECK_RC(mps_rlock_acquire(mps_object_lock(v), 0), 0);
    CHECK_RC(mps_value_load(v, 0, &y, sizeof y), 0);
    CHECK(y.a == 1 && y.b == 2);
    CHECK_RC(mps_rlock_release(mps_object_lock(v)), 0);
    CHECK_RC(mps_object_unlink(v), 0);
    CHECK_RC(mps_object_close(v), 0);
}

static void wait_sem(const char *name, int fd)
{
    mps_object *s;
    CHECK_RC(mps_sem_open(name, &s), 0);
    ready(fd);
    mps_sem_acquire(s, -1);
}

static void test_semaphore(void)
{
    mps_object *s;
    CHECK_RC(mps_sem_create(NULL, 0, &s), 0);
    kill_child(child(wait_sem, mps_object_name(s)));
    /* A unit released after the waiter died is not lost with it. */
    CHECK_RC(mps_sem_release(s), 0);
    CHECK_RC(mps_sem_try(s), 0);
    CHECK_RC(mps_object_unlink(s), 0);
    CHECK_RC(mps_object_close(s), 0);
}

int main(void)
{
    test_rlock();
    test_barrier();
    test_barrier_stopped();
    test_barrier_holder_killed();
    test_condition();
    test_value();
    test_semaphore();
    return 0;
}
