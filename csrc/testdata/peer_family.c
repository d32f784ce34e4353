/* peer_family.c - a C process on the sync family, for the cross-language
 * tests of package semaphore, built against libmpsync through pkg-config.
 * The Go helper "xpeer" (semaphore/xlang_test.go) takes the same
 * arguments and speaks the same lines, so that a test runs each party in
 * either language.  Line protocol as the test harness's helpers
 * ("proctest: ready", then orders on stdin).  Results are named: ok,
 * ownerdead, broken, timeout, overflow, or the error's text.
 *
 *   create KIND [N]          make a KIND (sem N, bsem N, event, cond, cond-lock
 *                            (on a new Lock), barrier N, rlock, array N: int64),
 *                            say "name NAME"; on "unlink", unlink what it
 *                            made and say "unlinked"
 *   sem-count S SEG N        on "go", N times: take S, add 1 to the int64
 *                            SEG[0], release; say "done"
 *   sem-hold S               take S, say "held", wait for EOF
 *   sem-wait S               say "waiting", take S, say "acquired"
 *   sem-release S            release S once, say "release RESULT"
 *   event-wait E             say "waiting", wait for E, say "event RESULT"
 *   event-set E              on "go", set E; say "done"
 *   cond-wait C SEG K        on "go", K times: under C's lock wait for
 *                            SEG[0] > 0, take one (SEG[0]--, SEG[1]++); say
 *                            "done"
 *   cond-notify C SEG K      on "go", K times: under C's lock SEG[0]++ and
 *                            notify one (odd rounds: all); say "done"
 *   cond-wait1 C             take C's lock, say "waiting", wait, say
 *                            "woken RESULT", release
 *   cond-notify1 C N         under C's lock notify N; say "done"
 *   barrier-rounds B SEG R   on "go", R waits on B; the action adds 1 to
 *                            SEG[0], each party its index to SEG[1]; say
 *                            "done"
 *   barrier-once B           say "waiting", wait once, say "barrier RESULT"
 *   rlock-hold L             take RLock L twice, say "held", wait for EOF
 *   rlock-acquire L          take L (20 s at most), say "acquired RESULT",
 *                            repair and release it
 *   array-count A N          on "go", N times: add 1 to element 0 of the
 *                            int64 array A atomically, and to element 1
 *                            under A's lock; say "done"
 *   array-hold A             take A's lock, say "held", wait for EOF
 *   array-acquire A          as rlock-acquire, on A's lock */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpsync.h>

static const int64_t forever = -1, twenty_s = 20LL * 1000 * 1000 * 1000;

static void die(const char *what, int rc)
{
    fprintf(stderr, "peer_family: %s: %s\n", what, mps_strerror(rc));
    exit(1);
}

#define MUST(call)                                                                                                     \
    do {                                                                                                               \
        int rc_ = (call);                                                                                              \
        if (rc_ != 0)                                                                                                  \
            die(#call, rc_);                                                                                           \
    } while (0)

static const char *result(int rc)
{
    switch (rc) {
    case 0: return "ok";
    case -EOWNERDEAD: return "ownerdead";
    case -EPIPE: return "broken";
    case -ETIMEDOUT: return "timeout";
    case -EOVERFLOW: return "overflow";
    }
    return mps_strerror(rc);
}

static void say(const char *fmt, const char *arg)
{
    printf(fmt, arg);
    putchar('\n');
    fflush(stdout);
}

static void ready(void) { say("%s", "proctest: ready"); }

/* order waits for the next line; EOF ends the peer. */
static void order(char *line, size_t n)
{
    if (fgets(line, (int)n, stdin) == NULL)
        exit(0);
    line[strcspn(line, "\n")] = '\0';
}

static void wait_go(void)
{
    char line[64];
    order(line, sizeof line);
}

static volatile int64_t *segment(const char *name)
{
    mps_shm *seg;
    MUST(mps_shm_open(name, &seg));
    return mps_shm_data(seg);
}

static int create(int argc, char **argv)
{
    const char *kind = argv[2];
    unsigned n = argc > 3 ? (unsigned)atol(argv[3]) : 0;
    mps_object *o = NULL, *lock = NULL;
    mps_cond *c = NULL;
    if (strcmp(kind, "sem") == 0)
        MUST(mps_sem_create(NULL, n, &o));
    else if (strcmp(kind, "bsem") == 0)
        MUST(mps_bsem_create(NULL, n, &o));
    else if (strcmp(kind, "event") == 0)
        MUST(mps_event_create(NULL, &o));
    else if (strcmp(kind, "barrier") == 0)
        MUST(mps_barrier_create(NULL, n, &o));
    else if (strcmp(kind, "rlock") == 0)
        MUST(mps_rlock_create(NULL, &o));
    else if (strcmp(kind, "cond") == 0)
        MUST(mps_cond_create(NULL, NULL, &c));
    else if (strcmp(kind, "cond-lock") == 0) {
        MUST(mps_lock_create(NULL, &lock));
        MUST(mps_cond_create(NULL, lock, &c));
    } else if (strcmp(kind, "array") == 0)
        MUST(mps_array_create(NULL, "q", n, 1, &o));
    else
        return 2;
    ready();
    say("name %s", c != NULL ? mps_cond_name(c) : mps_object_name(o));
    char line[64];
    order(line, sizeof line);
    if (c != NULL) {
        MUST(mps_cond_unlink(c));
        mps_cond_close(c);
    } else {
        MUST(mps_object_unlink(o));
        mps_object_close(o);
    }
    if (lock != NULL) {
        MUST(mps_object_unlink(lock));
        mps_object_close(lock);
    }
    say("%s", "unlinked");
    return 0;
}

static int has_item(void *w) { return ((volatile int64_t *)w)[0] > 0; }

static int count_round(void *w)
{
    ((volatile int64_t *)w)[0]++;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *op = argv[1], *name = argv[2];
    long n = argc > 4 ? atol(argv[4]) : argc > 3 ? atol(argv[3]) : 0;
    char line[64];
    mps_object *o;
    mps_cond *c;
    if (strcmp(op, "create") == 0)
        return create(argc, argv);

    if (strncmp(op, "sem-", 4) == 0) {
        MUST(mps_sem_open(name, &o));
        ready();
        if (strcmp(op, "sem-count") == 0) {
            volatile int64_t *w = segment(argv[3]);
            wait_go();
            for (long i = 0; i < n; i++) {
                MUST(mps_sem_acquire(o, forever));
                w[0] = w[0] + 1;
                MUST(mps_sem_release(o));
            }
            say("%s", "done");
        } else if (strcmp(op, "sem-hold") == 0) {
            MUST(mps_sem_acquire(o, forever));
            say("%s", "held");
            order(line, sizeof line);
        } else if (strcmp(op, "sem-release") == 0) {
            say("release %s", result(mps_sem_release(o)));
        } else {
            say("%s", "waiting");
            MUST(mps_sem_acquire(o, forever));
            say("%s", "acquired");
        }
    } else if (strncmp(op, "event-", 6) == 0) {
        MUST(mps_event_open(name, &o));
        ready();
        if (strcmp(op, "event-wait") == 0) {
            say("%s", "waiting");
            say("event %s", result(mps_event_wait(o, forever)));
        } else {
            wait_go();
            MUST(mps_event_set(o));
            say("%s", "done");
        }
    } else if (strncmp(op, "cond-", 5) == 0) {
        MUST(mps_cond_open(name, &c));
        ready();
        if (strcmp(op, "cond-wait1") == 0) {
            MUST(mps_cond_acquire(c, forever));
            say("%s", "waiting");
            say("woken %s", result(mps_cond_wait(c, forever)));
            MUST(mps_cond_release(c));
        } else if (strcmp(op, "cond-notify1") == 0) {
            MUST(mps_cond_acquire(c, forever));
            MUST(mps_cond_notify(c, (unsigned)n));
            MUST(mps_cond_release(c));
            say("%s", "done");
        } else {
            volatile int64_t *w = segment(argv[3]);
            int notify = strcmp(op, "cond-notify") == 0;
            wait_go();
            for (long i = 0; i < n; i++) {
                MUST(mps_cond_acquire(c, forever));
                if (notify) {
                    w[0]++;
                    MUST(i % 2 ? mps_cond_notify_all(c) : mps_cond_notify(c, 1));
                } else {
                    MUST(mps_cond_wait_for(c, has_item, (void *)w, forever));
                    w[0]--;
                    w[1]++;
                }
                MUST(mps_cond_release(c));
            }
            say("%s", "done");
        }
        mps_cond_close(c);
        return 0;
    } else if (strncmp(op, "barrier-", 8) == 0) {
        MUST(mps_barrier_open(name, &o));
        ready();
        if (strcmp(op, "barrier-once") == 0) {
            say("%s", "waiting");
            say("barrier %s", result(mps_barrier_wait(o, forever, NULL, NULL, NULL)));
        } else {
            volatile int64_t *w = segment(argv[3]);
            wait_go();
            for (long i = 0; i < n; i++) {
                unsigned idx;
                MUST(mps_barrier_wait(o, forever, count_round, (void *)w, &idx));
                __atomic_add_fetch(&w[1], idx, __ATOMIC_SEQ_CST);
            }
            say("%s", "done");
        }
    } else if (strncmp(op, "rlock-", 6) == 0 || strncmp(op, "array-", 6) == 0) {
        int array = op[0] == 'a';
        MUST(array ? mps_array_open(name, &o) : mps_rlock_open(name, &o));
        void *lock = mps_object_lock(o);
        ready();
        if (strcmp(op + 6, "hold") == 0) {
            MUST(mps_rlock_acquire(lock, forever));
            MUST(mps_rlock_acquire(lock, forever));
            say("%s", "held");
            order(line, sizeof line);
        } else if (strcmp(op + 6, "acquire") == 0) {
            int rc = mps_rlock_acquire(lock, twenty_s);
            say("acquired %s", result(rc));
            if (rc == -EOWNERDEAD)
                MUST(mps_lock_consistent(lock));
            if (rc == 0 || rc == -EOWNERDEAD)
                MUST(mps_rlock_release(lock));
        } else {
            wait_go();
            for (long i = 0; i < n; i++) {
                int64_t one = 1, v;
                MUST(mps_value_add(o, 0, &one, NULL, 8));
                MUST(mps_rlock_acquire(lock, forever));
                MUST(mps_value_load(o, 1, &v, 8));
                v++;
                MUST(mps_value_store(o, 1, &v, 8));
                MUST(mps_rlock_release(lock));
            }
            say("%s", "done");
        }
    } else {
        return 2;
    }
    mps_object_close(o);
    return 0;
}
