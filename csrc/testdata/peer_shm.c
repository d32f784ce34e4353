/* peer_shm.c - the C side of the shm cross-language tests, built against
 * libmpsync through pkg-config.  It speaks the test harness's line
 * protocol: "proctest: ready" when set up, then orders on stdin.
 *
 *   peer_shm attach NAME   open NAME, expect "from-go" at 0, write "from-c"
 *                          at 100, print "written"
 *   peer_shm create SIZE   create a segment, write "from-c" at 0, print its
 *                          name; on an order line expect "from-go" at 100,
 *                          print "ok", close and unlink */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpsync.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "peer_shm: %s: %s\n", what, mps_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    mps_shm *s;
    int rc;
    char line[64];
    if (argc != 3)
        return 2;
    if (strcmp(argv[1], "attach") == 0) {
        if ((rc = mps_shm_open(argv[2], &s)) != 0)
            return fail("mps_shm_open", rc);
        char *p = mps_shm_data(s);
        printf("proctest: ready\n");
        fflush(stdout);
        if (memcmp(p, "from-go", 7) != 0)
            return fail("expected from-go at 0", 0);
        memcpy(p + 100, "from-c", 6);
        printf("written %zu\n", mps_shm_size(s));
        mps_shm_close(s);
        return 0;
    }
    if ((rc = mps_shm_create(NULL, (size_t)atol(argv[2]), 0, &s)) != 0)
        return fail("mps_shm_create", rc);
    char *p = mps_shm_data(s);
    memcpy(p, "from-c", 6);
    printf("proctest: ready\n%s\n", mps_shm_name(s));
    fflush(stdout);
    if (fgets(line, sizeof line, stdin) == NULL)
        return fail("no order", 0);
    if (memcmp(p + 100, "from-go", 7) != 0)
        return fail("expected from-go at 100", 0);
    printf("ok\n");
    fflush(stdout);
    char name[MPS_NAME_MAX + 1];
    strcpy(name, mps_shm_name(s));
    mps_shm_close(s);
    if ((rc = mps_shm_unlink(name)) != 0)
        return fail("mps_shm_unlink", rc);
    return 0;
}
