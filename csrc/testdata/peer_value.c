/* peer_value.c - a C process on Go-made ctypes objects, for the ctypes
 * tests, built against libmpsync through pkg-config.
 *
 *   peer_value VALUE POINTS CHARS   VALUE holds an int ('i'), POINTS an
 *       array of T{d:X:d:Y:}, CHARS a 'c' array.  Prints what it reads
 *       ("value N", "points X,Y ...", "chars S"), then adds 1 to VALUE
 *       under its lock, sets point 0 to (10, 20), and prints "written". */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mpsync.h>

struct point {
    double x, y;
};

static int fail(const char *what, int rc)
{
    fprintf(stderr, "peer_value: %s: %s\n", what, mps_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    mps_object *v, *p, *c;
    int rc;
    if (argc != 4)
        return 2;
    if ((rc = mps_object_open(argv[1], MPS_KIND_VALUE, &v)) != 0)
        return fail("open value", rc);
    if ((rc = mps_object_open(argv[2], MPS_KIND_ARRAY, &p)) != 0)
        return fail("open points", rc);
    if ((rc = mps_object_open(argv[3], MPS_KIND_ARRAY, &c)) != 0)
        return fail("open chars", rc);
    if (strcmp(mps_object_format(v), "i") != 0 || strcmp(mps_object_format(p), "T{d:X:d:Y:}") != 0 ||
        mps_object_elem_size(p) != sizeof(struct point) || strcmp(mps_object_format(c), "c") != 0)
        return fail("unexpected formats", -EPROTO);

    int *value = mps_object_payload(v);
    struct point *pts = mps_object_payload(p);
    char *chars = mps_object_payload(c);
    printf("proctest: ready\nvalue %d\npoints", *value);
    for (uint64_t i = 0; i < mps_object_count(p); i++)
        printf(" %g,%g", pts[i].x, pts[i].y);
    printf("\nchars %.*s\n", (int)mps_object_count(c), chars);

    void *lock = mps_object_lock(v);
    if ((rc = mps_lock_acquire(lock, -1)) != 0)
        return fail("acquire", rc);
    *value = *value + 1;
    mps_lock_release(lock);
    pts[0].x = 10;
    pts[0].y = 20;
    printf("written\n");
    mps_object_close(v);
    mps_object_close(p);
    mps_object_close(c);
    return 0;
}
