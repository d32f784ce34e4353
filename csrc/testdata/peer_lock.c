/* peer_lock.c - a C process on an mpsync Lock, for the semaphore tests,
 * built against libmpsync through pkg-config.  Line protocol as the test
 * harness's helpers ("proctest: ready", then orders on stdin).
 *
 *   peer_lock count LOCK SEGMENT N   on an order line, add 1 N times to the
 *                                    int64 at offset 0 of SEGMENT under
 *                                    LOCK; print "done"
 *   peer_lock hold LOCK              take LOCK, print "locked", then spin
 *                                    in the critical section until killed
 *   peer_lock acquire LOCK           take LOCK (waiting up to 20 s), print
 *                                    "acquired RC" with mps_lock_acquire's
 *                                    result, release it */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpsync.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "peer_lock: %s: %s\n", what, mps_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    mps_object *o;
    int rc = mps_object_open(argv[2], MPS_KIND_LOCK, &o);
    if (rc != 0)
        return fail("mps_object_open", rc);
    void *lock = mps_object_lock(o);
    char line[64];
    if (strcmp(argv[1], "count") == 0 && argc == 5) {
        mps_shm *seg;
        if ((rc = mps_shm_open(argv[3], &seg)) != 0)
            return fail("mps_shm_open", rc);
        volatile int64_t *counter = mps_shm_data(seg);
        long n = atol(argv[4]);
        printf("proctest: ready\n");
        fflush(stdout);
        if (fgets(line, sizeof line, stdin) == NULL)
            return 1;
        for (long i = 0; i < n; i++) {
            if ((rc = mps_lock_acquire(lock, -1)) != 0)
                return fail("mps_lock_acquire", rc);
            *counter = *counter + 1;
            if ((rc = mps_lock_release(lock)) != 0)
                return fail("mps_lock_release", rc);
        }
        printf("done\n");
        mps_shm_close(seg);
    } else if (strcmp(argv[1], "hold") == 0) {
        printf("proctest: ready\n");
        fflush(stdout);
        rc = mps_lock_acquire(lock, -1);
        if (rc != 0 && rc != -EOWNERDEAD)
            return fail("mps_lock_acquire", rc);
        printf("locked\n");
        fflush(stdout);
        for (volatile long spin = 0;; spin++)
            ;
    } else if (strcmp(argv[1], "acquire") == 0) {
        printf("proctest: ready\n");
        fflush(stdout);
        rc = mps_lock_acquire(lock, 20LL * 1000 * 1000 * 1000);
        printf("acquired %d\n", rc);
        if (rc == -EOWNERDEAD)
            mps_lock_consistent(lock);
        if (rc == 0 || rc == -EOWNERDEAD)
            mps_lock_release(lock);
    } else {
        return 2;
    }
    fflush(stdout);
    mps_object_close(o);
    return 0;
}
