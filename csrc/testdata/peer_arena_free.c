/* peer_arena_free.c - frees and makes objects in an arena Go made, for
 * ctypes' TestArenaFreeAcrossLanguages.
 *
 *   peer_arena_free ARENA
 *       reads commands, one a line, and answers each with one line:
 *         free X    mps_arena_free of X (a name or "#<off>.<gen>"):
 *                   "freed", or "error <errno number>"
 *         unlink X  mps_object_open of "ARENA/X", then mps_object_unlink:
 *                   the same answers
 *         make N    N anonymous int64 Values (7): their handles, one a
 *                   line, then "made N"
 *         lock X    a Lock called X, or an anonymous int64 Value (7)
 *         value X   called X, "-" for anonymous: "made <its name>", or
 *                   "error <errno number>"
 *   peer_arena_free ARENA churn PREFIX
 *       until a line arrives on stdin: make a Lock "PREFIX-<n>" and an
 *       Array of 1 + n % 40 int64s "PREFIX-<n>-a", then free both (the
 *       Lock by mps_object_unlink, the Array by mps_arena_free), so that
 *       it holds at most two objects at any instant; then "stopped". */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpsync.h"

static int set_seven(mps_object *obj, void *arg)
{
    (void)arg;
    int64_t seven = 7;
    memcpy(mps_object_payload(obj), &seven, sizeof seven);
    return 0;
}

static const struct mps_object_spec value_spec = {.kind = MPS_KIND_VALUE, .format = "q", .count = 1,
                                                  .elem_size = 8, .elem_align = 8, .with_lock = 1};
static const struct mps_object_spec lock_spec = {.kind = MPS_KIND_LOCK, .format = "", .with_lock = 1};

static int answer(int rc)
{
    if (rc == 0)
        printf("freed\n");
    else
        printf("error %d\n", -rc);
    return fflush(stdout);
}

static int serve(mps_arena *a)
{
    char line[512], name[600];
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "free ", 5) == 0) {
            answer(mps_arena_free(a, line + 5));
        } else if (strncmp(line, "unlink ", 7) == 0) {
            mps_object *o;
            snprintf(name, sizeof name, "%s/%s", mps_arena_name(a), line + 7);
            int rc = mps_object_open(name, 0, &o);
            if (rc == 0) {
                rc = mps_object_unlink(o);
                mps_object_close(o);
            }
            answer(rc);
        } else if (strncmp(line, "lock ", 5) == 0 || strncmp(line, "value ", 6) == 0) {
            int lock = line[0] == 'l';
            const char *what = line + (lock ? 5 : 6);
            mps_object *o;
            int rc = mps_arena_object_create(a, strcmp(what, "-") == 0 ? NULL : what, lock ? &lock_spec : &value_spec,
                                             lock ? NULL : set_seven, NULL, &o);
            if (rc == 0) {
                printf("made %s\n", mps_object_name(o));
                mps_object_close(o);
            } else {
                printf("error %d\n", -rc);
            }
            fflush(stdout);
        } else if (strncmp(line, "make ", 5) == 0) {
            long n = atol(line + 5);
            for (long i = 0; i < n; i++) {
                mps_object *v;
                int rc = mps_arena_object_create(a, NULL, &value_spec, set_seven, NULL, &v);
                if (rc != 0) {
                    printf("make: %s\n", strerror(-rc));
                    return 1;
                }
                printf("%s\n", mps_object_name(v));
                mps_object_close(v);
            }
            printf("made %ld\n", n);
            fflush(stdout);
        } else {
            printf("unknown command %s\n", line);
            return 1;
        }
    }
    return 0;
}

static volatile int stop;

static void *watch_stdin(void *arg)
{
    (void)arg;
    char line[64];
    if (fgets(line, sizeof line, stdin) != NULL)
        __atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static int churn(mps_arena *a, const char *prefix)
{
    pthread_t t;
    if (pthread_create(&t, NULL, watch_stdin, NULL) != 0)
        return 1;
    char name[300];
    for (long n = 0; !__atomic_load_n(&stop, __ATOMIC_SEQ_CST); n++) {
        mps_object *l, *v;
        snprintf(name, sizeof name, "%s-%ld", prefix, n);
        int rc = mps_arena_object_create(a, name, &lock_spec, NULL, NULL, &l);
        if (rc != 0) {
            printf("create %s: %s\n", name, strerror(-rc));
            return 1;
        }
        struct mps_object_spec array = value_spec;
        array.kind = MPS_KIND_ARRAY;
        array.count = 1 + (uint64_t)(n % 40);
        snprintf(name, sizeof name, "%s-%ld-a", prefix, n);
        if ((rc = mps_arena_object_create(a, name, &array, NULL, NULL, &v)) != 0) {
            printf("create %s: %s\n", name, strerror(-rc));
            return 1;
        }
        if ((rc = mps_object_unlink(l)) != 0 || (rc = mps_arena_free(a, name)) != 0) {
            printf("free: %s\n", strerror(-rc));
            return 1;
        }
        mps_object_close(l);
        mps_object_close(v);
    }
    pthread_join(t, NULL);
    printf("stopped\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2 && !(argc == 4 && strcmp(argv[2], "churn") == 0)) {
        fprintf(stderr, "usage: peer_arena_free ARENA [churn PREFIX]\n");
        return 2;
    }
    mps_arena *a;
    int rc = mps_arena_open(argv[1], &a);
    if (rc != 0) {
        printf("mps_arena_open: %s\n", strerror(-rc));
        return 1;
    }
    printf("proctest: ready\n");
    fflush(stdout);
    rc = argc == 2 ? serve(a) : churn(a, argv[3]);
    mps_arena_close(a);
    return rc;
}
