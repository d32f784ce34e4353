/* test_shm.c: segments - create, open, sizes, names and every bad input. */
#include "check.h"
#include "mpsync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* registry_ino returns the inode this process's registry lists name with,
 * 0 if it does not list it (or tracking is off: MPSYNC_NO_TRACKER). */
static uint64_t registry_ino(const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "/dev/shm/" MPS_REG_PREFIX "%016llx", (unsigned long long)*mps__identity_word());
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    uint32_t high = 0;
    uint64_t ino = 0;
    CHECK(pread(fd, &high, 4, MPS_REG_OFF_HIGH) == 4);
    for (uint32_t i = 1; i < high && ino == 0; i++) {
        unsigned char slot[MPS_REG_SLOT_SIZE];
        CHECK(pread(fd, slot, sizeof slot, MPS_REG_HEADER_SIZE + (off_t)i * MPS_REG_SLOT_SIZE) == sizeof slot);
        if (*(uint32_t *)slot == 1 && strcmp((char *)slot + MPS_REG_SLOT_OFF_NAME, name) == 0)
            memcpy(&ino, slot + MPS_REG_SLOT_OFF_INO, 8);
    }
    close(fd);
    return ino;
}

static void test_roundtrip(void)
{
    mps_shm *a, *b;
    CHECK_RC(mps_shm_create(NULL, 1000, 0, &a), 0);
    const char *name = mps_shm_name(a);
    CHECK(strncmp(name, MPS_SHM_RANDOM_PREFIX, 4) == 0);
    CHECK(strlen(name) == 4 + 16);
    CHECK(mps_shm_size(a) == 1000);
    memcpy(mps_shm_data(a), "hello", 5);

    /* Open by name, with and without the slash: same bytes, exact size. */
    char slashed[64];
    snprintf(slashed, sizeof slashed, "/%s", name);
    CHECK_RC(mps_shm_open(slashed, &b), 0);
    CHECK(strcmp(mps_shm_name(b), name) == 0);
    CHECK(mps_shm_size(b) == 1000);
    CHECK(memcmp(mps_shm_data(b), "hello", 5) == 0);
    ((char *)mps_shm_data(b))[999] = 'z';
    CHECK(((char *)mps_shm_data(a))[999] == 'z');

    /* A file of mode 0600. */
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    CHECK(access(path, F_OK) == 0);

    /* A create of the name that fails leaves the registry naming the file
     * this process maps, not the discarded attempt's. */
    struct stat st;
    CHECK(stat(path, &st) == 0);
    int tracked = getenv("MPSYNC_NO_TRACKER") == NULL;
    CHECK(!tracked || registry_ino(name) == (uint64_t)st.st_ino);
    mps_shm *c = NULL;
    CHECK_RC(mps_shm_create(name, 10, 0, &c), -EEXIST);
    CHECK(c == NULL);
    CHECK(!tracked || registry_ino(name) == (uint64_t)st.st_ino);
    CHECK_RC(mps_shm_close(b), 0);
    CHECK_RC(mps_shm_unlink(name), 0);
    CHECK_RC(mps_shm_unlink(name), -ENOENT);
    /* The mapping outlives the name. */
    CHECK(((char *)mps_shm_data(a))[0] == 'h');
    CHECK_RC(mps_shm_close(a), 0);
    CHECK_RC(mps_shm_close(NULL), 0);
}

static void test_bad_input(void)
{
    mps_shm *s = NULL;
    char long_name[MPS_NAME_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';

    CHECK_RC(mps_shm_create("mps-test-c-zero", 0, 0, &s), -EINVAL);
    CHECK_RC(mps_shm_create("a/b", 10, 0, &s), -EINVAL);
    CHECK_RC(mps_shm_create("/", 10, 0, &s), -EINVAL);
    CHECK_RC(mps_shm_create("..", 10, 0, &s), -EINVAL);
    CHECK_RC(mps_shm_create(long_name, 10, 0, &s), -ENAMETOOLONG);
    CHECK_RC(mps_shm_create("mps-test-c-mode", 10, 010000, &s), -EINVAL);
    CHECK_RC(mps_shm_create("mps-test-c-out", 10, 0, NULL), -EINVAL);
    /* More than /dev/shm can hold. */
    CHECK_RC(mps_shm_create(NULL, (size_t)1 << 60, 0, &s), -ENOSPC);
    CHECK_RC(mps_shm_open(NULL, &s), -EINVAL);
    CHECK_RC(mps_shm_open("", &s), -EINVAL);
    CHECK_RC(mps_shm_open("mps-test-c-missing", &s), -ENOENT);
    CHECK_RC(mps_shm_open(long_name, &s), -ENAMETOOLONG);
    CHECK_RC(mps_shm_unlink("a/b"), -EINVAL);
    CHECK(s == NULL);
    /* Nothing was left behind by the failed creates. */
    CHECK(access("/dev/shm/mps-test-c-zero", F_OK) != 0);
    CHECK(access("/dev/shm/mps-test-c-mode", F_OK) != 0);

    /* A segment of size 0 made by someone else cannot be mapped. */
    FILE *f = fopen("/dev/shm/mps-test-c-empty", "wx");
    CHECK(f != NULL);
    fclose(f);
    CHECK_RC(mps_shm_open("mps-test-c-empty", &s), -EINVAL);
    CHECK_RC(mps_shm_unlink("mps-test-c-empty"), 0);
}

int main(void)
{
    test_roundtrip();
    test_bad_input();
    return 0;
}
