/* peer_arena_make.c - makes, from C, objects in an arena Go made, for
 * TestArenaMadeInC: peer_arena_make ARENA N.  For i < N, a Value
 * "c<i>" (int64, 5i+2, with its compact lock) and a Lock "k<i>"; then
 * an anonymous Value (int64, 11).  Prints "made N HANDLE". */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpsync.h"

static int set_value(mps_object *obj, void *arg)
{
    memcpy(mps_object_payload(obj), arg, sizeof(int64_t));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: peer_arena_make ARENA N\n");
        return 2;
    }
    printf("proctest: ready\n");
    long n = atol(argv[2]);
    mps_arena *a;
    int rc = mps_arena_open(argv[1], &a);
    if (rc != 0) {
        printf("mps_arena_open: %s\n", strerror(-rc));
        return 1;
    }
    struct mps_object_spec value = {.kind = MPS_KIND_VALUE, .format = "q", .count = 1, .elem_size = 8,
                                    .elem_align = 8, .with_lock = 1};
    struct mps_object_spec lock = {.kind = MPS_KIND_LOCK, .format = "", .with_lock = 1};
    char name[64];
    for (long i = 0; i < n; i++) {
        mps_object *v, *l;
        int64_t x = 5 * i + 2;
        snprintf(name, sizeof name, "c%ld", i);
        if ((rc = mps_arena_object_create(a, name, &value, set_value, &x, &v)) != 0) {
            printf("create %s: %s\n", name, strerror(-rc));
            return 1;
        }
        mps_object_close(v);
        snprintf(name, sizeof name, "k%ld", i);
        if ((rc = mps_arena_object_create(a, name, &lock, NULL, NULL, &l)) != 0) {
            printf("create %s: %s\n", name, strerror(-rc));
            return 1;
        }
        mps_object_close(l);
    }
    if ((rc = mps_arena_object_create(a, "c0", &lock, NULL, NULL, &(mps_object *){NULL})) != -EEXIST) {
        printf("create c0 again: %d, want -EEXIST\n", rc);
        return 1;
    }
    mps_object *h;
    int64_t eleven = 11;
    if ((rc = mps_arena_object_create(a, NULL, &value, set_value, &eleven, &h)) != 0) {
        printf("create anonymous: %s\n", strerror(-rc));
        return 1;
    }
    printf("made %ld %s\n", n, mps_object_name(h));
    mps_object_close(h);
    mps_arena_close(a);
    return 0;
}
