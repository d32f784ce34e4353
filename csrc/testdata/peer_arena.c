/* peer_arena.c - opens, from C, the objects TestArenaFromC made in an
 * arena: peer_arena ARENA N HANDLE.  For i < N, Value "ARENA/v<i>" (an
 * int64 with its compact lock) must hold 3i+1 and gets -(3i+1), written
 * under its lock; Lock "ARENA/l<i>" is taken and released.  HANDLE is an
 * anonymous Value (int64, 7), set to 8.  Event "ARENA/event" is set.
 * Prints "checked N objects O names M" or the first mismatch. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpsync.h"

static void die(const char *what, const char *name, int rc)
{
    printf("%s %s: %s\n", what, name, strerror(-rc));
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: peer_arena ARENA N HANDLE\n");
        return 2;
    }
    const char *arena = argv[1];
    long n = atol(argv[2]);
    char name[512];
    int rc;
    printf("proctest: ready\n");
    /* Holding the arena keeps it mapped while objects open and close. */
    mps_arena *a;
    if ((rc = mps_arena_open(arena, &a)) != 0)
        die("mps_arena_open", arena, rc);
    for (long i = 0; i < n; i++) {
        mps_object *v, *l;
        snprintf(name, sizeof name, "%s/v%ld", arena, i);
        if ((rc = mps_value_open(name, &v)) != 0)
            die("mps_value_open", name, rc);
        int64_t got, want = 3 * i + 1, neg = -want;
        if ((rc = mps_value_load(v, 0, &got, sizeof got)) != 0)
            die("mps_value_load", name, rc);
        if (got != want) {
            printf("%s = %lld, want %lld\n", name, (long long)got, (long long)want);
            return 1;
        }
        if ((rc = mps_value_write(v, 0, 1, &neg)) != 0)
            die("mps_value_write", name, rc);
        mps_object_close(v);
        snprintf(name, sizeof name, "%s/l%ld", arena, i);
        if ((rc = mps_lock_open(name, &l)) != 0)
            die("mps_lock_open", name, rc);
        if ((rc = mps_lock_acquire(mps_object_lock(l), -1)) != 0)
            die("mps_lock_acquire", name, rc);
        if ((rc = mps_lock_release(mps_object_lock(l))) != 0)
            die("mps_lock_release", name, rc);
        mps_object_close(l);
    }
    mps_object *h, *e;
    if ((rc = mps_value_open(argv[3], &h)) != 0)
        die("mps_value_open", argv[3], rc);
    int64_t got, eight = 8;
    if ((rc = mps_value_load(h, 0, &got, sizeof got)) != 0 || got != 7) {
        printf("%s = %lld (%d), want 7\n", argv[3], (long long)got, rc);
        return 1;
    }
    mps_value_store(h, 0, &eight, sizeof eight);
    mps_object_close(h);
    snprintf(name, sizeof name, "%s/event", arena);
    if ((rc = mps_event_open(name, &e)) != 0)
        die("mps_event_open", name, rc);
    mps_event_set(e);
    mps_object_close(e);

    struct mps_arena_stats st;
    if ((rc = mps_arena_stats(a, &st)) != 0)
        die("mps_arena_stats", arena, rc);
    printf("checked %ld objects %llu names %u\n", n, (unsigned long long)st.objects, st.names);
    mps_arena_close(a);
    return 0;
}
