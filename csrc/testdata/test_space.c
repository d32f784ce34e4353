/* test_space.c: a full /dev/shm is -ENOSPC, never SIGBUS, and a failed
 * create leaves nothing behind (DESIGN 9, "space before writes").
 *
 * The test makes a /dev/shm of its own, a 1 MiB tmpfs in a private mount
 * namespace, and fills it to the last page.  That needs root
 * (CAP_SYS_ADMIN); without it the test fails, saying so. */
#define _GNU_SOURCE /* unshare */
#include "check.h"
#include "mpsync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define FILL "/dev/shm/test-space-fill"

static size_t page;

static const struct mps_object_spec lock_spec = {.kind = MPS_KIND_LOCK, .format = "", .with_lock = 1};

/* private_shm mounts a fresh 1 MiB tmpfs on /dev/shm, seen by this process
 * alone. */
static void private_shm(void)
{
    if (unshare(CLONE_NEWNS) != 0) {
        fprintf(stderr, "test_space: unshare(CLONE_NEWNS): %s: this test needs root "
                        "(CAP_SYS_ADMIN) to mount a private /dev/shm\n", strerror(errno));
        exit(1);
    }
    CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    CHECK(mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") == 0);
}

/* room returns the free bytes of /dev/shm. */
static size_t room(void)
{
    struct statfs st;
    CHECK(statfs("/dev/shm", &st) == 0);
    return (size_t)st.f_bavail * (size_t)st.f_bsize;
}

/* entries counts the names in /dev/shm. */
static int entries(void)
{
    DIR *d = opendir("/dev/shm");
    CHECK(d != NULL);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* fill fills /dev/shm to its last page with the file FILL, then frees
 * leave bytes (whole pages) of it. */
static void fill(size_t leave)
{
    static char buf[1 << 16];
    CHECK(page <= sizeof buf);
    int fd = open(FILL, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    while (write(fd, buf, page) > 0)
        ;
    CHECK(errno == ENOSPC);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    CHECK(ftruncate(fd, st.st_size - (off_t)leave) == 0);
    close(fd);
    CHECK(room() == leave);
}

/* test_full: with no room at all, every create fails with -ENOSPC. */
static void test_full(void)
{
    fill(0);
    int n = entries();
    mps_shm *s = NULL;
    mps_object *o = NULL;
    /* A sparse segment: refused by the room check. */
    CHECK_RC(mps_shm_create(NULL, page, 0, &s), -ENOSPC);
    /* Reserved: refused by fallocate, or, above 1 MiB, by the room check. */
    CHECK_RC(mps_shm_create_reserved(NULL, page, 0, &s), -ENOSPC);
    CHECK_RC(mps_shm_create_reserved("mps-test-c-space", 1, 0, &s), -ENOSPC);
    CHECK_RC(mps_shm_create_reserved(NULL, (size_t)64 << 20, 0, &s), -ENOSPC);
    /* Objects: refused before their header is written. */
    CHECK_RC(mps_object_create(NULL, &lock_spec, NULL, NULL, &o), -ENOSPC);
    CHECK_RC(mps_object_create("mps-test-c-space", &lock_spec, NULL, NULL, &o), -ENOSPC);
    CHECK(s == NULL && o == NULL);
    CHECK(entries() == n);
    CHECK(room() == 0);
}

/* test_last_pages: with two pages free, three-page creates fail and give
 * back what they took; two pages fit, and can be written. */
static void test_last_pages(void)
{
    fill(2 * page);
    int n = entries();
    mps_shm *s = NULL;
    mps_object *o = NULL;
    CHECK_RC(mps_shm_create_reserved(NULL, 3 * page, 0, &s), -ENOSPC);
    struct mps_object_spec big = {.kind = MPS_KIND_ARRAY, .format = "d", .count = 3 * page / 8,
                                  .elem_size = 8, .with_lock = 1};
    CHECK_RC(mps_object_create(NULL, &big, NULL, NULL, &o), -ENOSPC);
    CHECK(s == NULL && o == NULL);
    CHECK(entries() == n);
    CHECK(room() == 2 * page);

    CHECK_RC(mps_shm_create_reserved(NULL, 2 * page, 0, &s), 0);
    CHECK(mps_shm_size(s) == 2 * page);
    CHECK(room() == 0);
    memset(mps_shm_data(s), 1, 2 * page);
    CHECK_RC(mps_shm_unlink(mps_shm_name(s)), 0);
    CHECK_RC(mps_shm_close(s), 0);
    CHECK(room() == 2 * page);

    CHECK_RC(mps_object_create(NULL, &lock_spec, NULL, NULL, &o), 0);
    CHECK_RC(mps_lock_acquire(mps_object_lock(o), 0), 0);
    CHECK_RC(mps_lock_release(mps_object_lock(o)), 0);
    CHECK_RC(mps_shm_unlink(mps_object_name(o)), 0);
    CHECK_RC(mps_object_close(o), 0);
    CHECK(entries() == n);
    CHECK(room() == 2 * page);
}

/* test_tracked_open: a forked child, tracked (it must make an identity of
 * its own, a registry), opens a segment in a full /dev/shm: -ENOSPC, no
 * crash, no registry left. */
static void test_tracked_open(void)
{
    mps_shm *s = NULL;
    CHECK_RC(mps_shm_create("mps-test-c-open", page, 0, &s), 0);
    CHECK_RC(mps_shm_close(s), 0);
    fill(0);
    int n = entries();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        unsetenv("MPSYNC_NO_TRACKER");
        _exit(mps_shm_open("mps-test-c-open", &s) == -ENOSPC ? 0 : 1);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(entries() == n);
    CHECK(unlink(FILL) == 0);
    CHECK_RC(mps_shm_unlink("mps-test-c-open"), 0);
}

int main(void)
{
    /* The cases measure the room the objects' own pages take: no registry
     * slots, no tracker file; the process's identity (a registry page) is
     * made once, by a first lock, before they count. */
    setenv("MPSYNC_NO_TRACKER", "1", 1);
    page = (size_t)sysconf(_SC_PAGESIZE);
    private_shm();
    static _Alignas(8) unsigned char area[MPS_LOCK_AREA_SIZE];
    CHECK_RC(mps_lock_acquire(area, 0), 0);
    CHECK_RC(mps_lock_release(area), 0);
    test_full();
    test_last_pages();
    CHECK(unlink(FILL) == 0);
    test_tracked_open();
    return 0;
}
