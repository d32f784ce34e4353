/* test_lock.c: objects and the robust lock - threads, a forked child that
 * dies holding the lock, timeouts, and bad input. */
#include "check.h"
#include "mpsync.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct mps_object_spec lock_spec = {.kind = MPS_KIND_LOCK, .format = "", .with_lock = 1};

static void *lock_of(mps_object *o) { return mps_object_lock(o); }

static long counter;

static void *add(void *lock)
{
    for (int i = 0; i < 100000; i++) {
        CHECK_RC(mps_lock_acquire(lock, -1), 0);
        counter++;
        CHECK_RC(mps_lock_release(lock), 0);
    }
    return NULL;
}

/* take_and_give acquires and releases lock once, waiting if need be. */
static void *take_and_give(void *lock)
{
    CHECK_RC(mps_lock_acquire(lock, -1), 0);
    CHECK_RC(mps_lock_release(lock), 0);
    return NULL;
}

/* The waiters bit of a lock word (mpsync.h, "Robust process-shared
 * locks"). */
#define WAITERS (1ull << 31)

static uint64_t word_of(void *lock) { return __atomic_load_n((uint64_t *)lock, __ATOMIC_SEQ_CST); }

/* since_of reads the lock area's since field: when the holder took the
 * lock, stamped on contended acquisitions and takeovers only. */
static int64_t since_of(void *lock) { return __atomic_load_n((int64_t *)lock + 3, __ATOMIC_SEQ_CST); }

/* check_waiters_alone: a word of the waiters bit alone, which a release
 * by subtraction leaves when a waiter set the bit after the releaser
 * looked, is a free lock; the acquirer keeps the bit, so its release
 * wakes whoever sleeps and empties the word. */
static void check_waiters_alone(void *l)
{
    uint64_t self = *mps__identity_word();
    for (int64_t timeout = -1; timeout <= 0; timeout++) {
        __atomic_store_n((uint64_t *)l, WAITERS, __ATOMIC_SEQ_CST);
        CHECK(mps_lock_owner(l) == 0);
        CHECK_RC(mps_lock_acquire(l, timeout), 0);
        CHECK(word_of(l) == (self | WAITERS));
        CHECK_RC(mps_lock_acquire(l, 0), -EBUSY);
        CHECK_RC(mps_lock_release(l), 0);
        CHECK(word_of(l) == 0);
    }

    /* The race itself: a thread waits (it set the bit and sleeps), the
     * holder subtracts its identity as a release that looked before the
     * bit came does, and wakes it with mps__lock_wake. */
    CHECK_RC(mps_lock_acquire(l, 0), 0);
    pthread_t t;
    pthread_create(&t, NULL, take_and_give, l);
    while (!(word_of(l) & WAITERS))
        usleep(1000);
    CHECK(__atomic_fetch_sub((uint64_t *)l, self, __ATOMIC_SEQ_CST) == (self | WAITERS));
    CHECK(word_of(l) == WAITERS && mps_lock_owner(l) == 0);
    mps__lock_wake(l);
    pthread_join(t, NULL);
    CHECK(word_of(l) == 0);
}

static int init_seen;

static int mark_init(mps_object *o, void *arg)
{
    (void)arg;
    /* Not yet reachable by name: our caller has no name to give us. */
    init_seen = mps_object_info(o)->kind == MPS_KIND_LOCK;
    return 0;
}

static int refuse_init(mps_object *o, void *arg)
{
    (void)o;
    (void)arg;
    return -ECANCELED;
}

/* hold_and_die forks a child that takes the lock and is then killed.  The
 * child has an identity of its own (fork without exec): the parent does
 * not own the lock it holds, and sees its pid as the holder. */
static void hold_and_die(const char *name, void *l)
{
    int ready[2];
    CHECK(pipe(ready) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        mps_object *o;
        if (mps_object_open(name, MPS_KIND_LOCK, &o) != 0 || mps_lock_acquire(mps_object_lock(o), -1) != 0)
            _exit(3);
        CHECK(write(ready[1], "x", 1) == 1);
        for (;;)
            pause();
    }
    char c;
    CHECK(read(ready[0], &c, 1) == 1);
    CHECK_RC(mps_lock_release(l), -EPERM);
    CHECK(mps_lock_owner(l) == (int)pid);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(ready[0]);
    close(ready[1]);
}

int main(void)
{
    mps_object *o, *again;
    CHECK_RC(mps_object_create(NULL, &lock_spec, mark_init, NULL, &o), 0);
    CHECK(init_seen);
    const char *name = mps_object_name(o);
    CHECK(strncmp(name, "mps_lock_", 9) == 0 && strlen(name) == 9 + 16);
    CHECK_RC(mps_object_open(name, MPS_KIND_LOCK, &again), 0);
    CHECK(mps_object_lock(again) != NULL);
    mps_object *wrong = NULL;
    CHECK_RC(mps_object_open(name, MPS_KIND_EVENT, &wrong), -EMEDIUMTYPE);
    CHECK_RC(mps_object_create(name, &lock_spec, NULL, NULL, &wrong), -EEXIST);
    CHECK_RC(mps_object_create("mps-test-c-refused", &lock_spec, refuse_init, NULL, &wrong), -ECANCELED);
    CHECK_RC(mps_object_open("mps-test-c-refused", 0, &wrong), -ENOENT);
    CHECK(wrong == NULL);

    /* Two threads of one process, and two handles (one under
     * ThreadSanitizer, which tracks memory by address: two mappings of
     * one lock would be two locks to it). */
    pthread_t t1, t2;
    pthread_create(&t1, NULL, add, lock_of(o));
#ifdef __SANITIZE_THREAD__
    pthread_create(&t2, NULL, add, lock_of(o));
#else
    pthread_create(&t2, NULL, add, lock_of(again));
#endif
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK(counter == 200000);

    void *l = lock_of(o);
    CHECK_RC(mps_lock_release(l), -EPERM);
    CHECK_RC(mps_lock_acquire(l, 0), 0);
    CHECK(mps_lock_owner(l) == (int)getpid());
    CHECK_RC(mps_lock_acquire(l, 0), -EBUSY);
    CHECK_RC(mps_lock_acquire(l, 20 * 1000 * 1000), -ETIMEDOUT);
    CHECK_RC(mps_lock_consistent(l), -EPERM);
    CHECK_RC(mps_lock_release(l), 0);
    CHECK(mps_lock_owner(l) == 0);

    /* The header's inline fast paths (unless MPS_NO_INLINE) and the
     * library's functions take and release the same lock the same way. */
    CHECK_RC((mps_lock_acquire)(l, 0), 0);
    CHECK_RC(mps_lock_acquire(l, 0), -EBUSY);
    CHECK_RC(mps_lock_release(l), 0);
    CHECK_RC(mps_lock_acquire(l, 0), 0);
    CHECK_RC((mps_lock_acquire)(l, 0), -EBUSY);
    CHECK(*(const uint64_t *)l == *mps__identity_word() && *mps__identity_word() != 0);
    CHECK_RC((mps_lock_release)(l), 0);
    CHECK(*(const uint64_t *)l == 0);

    check_waiters_alone(l);

    /* The owner dies: the next acquirer recovers the lock. */
    hold_and_die(name, l);
    CHECK_RC(mps_lock_acquire(l, -1), -EOWNERDEAD);
    CHECK(since_of(l) != 0); /* the takeover's time */
    CHECK_RC(mps_lock_consistent(l), 0);
    CHECK_RC(mps_lock_release(l), 0);
    CHECK(word_of(l) == 0 && since_of(l) == 0); /* not left for the next holder */
    hold_and_die(name, l);
    CHECK_RC(mps_lock_acquire(l, 0), -EOWNERDEAD);
    CHECK_RC(mps_lock_consistent(l), 0);
    CHECK_RC(mps_lock_release(l), 0);
    CHECK(word_of(l) == 0 && since_of(l) == 0);
    hold_and_die(name, l);
    CHECK_RC(mps_lock_acquire(l, 0), -EOWNERDEAD);
    CHECK_RC(mps_lock_release(l), -ENOTRECOVERABLE);
    CHECK_RC(mps_lock_acquire(l, -1), -ENOTRECOVERABLE);
    CHECK_RC(mps_lock_acquire(l, 0), -ENOTRECOVERABLE);

    CHECK_RC(mps_lock_acquire(NULL, 0), -EINVAL);
    CHECK_RC(mps_object_close(again), 0);
    CHECK_RC(mps_shm_unlink(name), 0);
    CHECK_RC(mps_object_close(o), 0);
    return 0;
}
