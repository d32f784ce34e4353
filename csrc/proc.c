/* proc.c - process identity (see mpsync.h, "Process identity"): a random
 * identity per process, backed by its registry file in /dev/shm on which
 * the process holds an open-file-description lock for as long as it
 * lives.  Liveness is that lock, tested through the kernel, so it is exact
 * across pid namespaces, pid reuse, exec and fork.  It knows nothing of
 * the tracker: registry.c's mps__self, which the rest of the library
 * asks, has a tracker watch each identity this file makes. */
#ifndef MPS_USE_SYSTEM_LIB
#define _GNU_SOURCE /* O_TMPFILE, F_OFD_*, fallocate */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mpsync_impl.h"

static pthread_mutex_t self_mu = PTHREAD_MUTEX_INITIALIZER;
MPS_HIDDEN uint64_t mps__self_id; /* 0 until made; read lock-free */
static int self_fd = -1;      /* the registry, holding the liveness lock */
static unsigned char *self_reg; /* the registry, mapped */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A child made by fork (without exec) is another process: it drops its
 * parent's identity (closing its copy of the descriptor does not release
 * the parent's lock, which belongs to the shared description while the
 * parent keeps it open) and makes its own when it first needs one. */
static void child_after_fork(void)
{
    if (self_reg != NULL)
        munmap(self_reg, MPS_REG_SIZE);
    if (self_fd >= 0)
        close(self_fd);
    self_reg = NULL;
    self_fd = -1;
    __atomic_store_n(&mps__self_id, 0, __ATOMIC_RELAXED);
    pthread_mutex_init(&self_mu, NULL);
}

/* The registry is never removed by its owner, not even at exit: other
 * threads, and atexit handlers after ours, may still hold locks while
 * exit runs, and a missing registry reads as a dead owner.  A tracker, or
 * mpsync-ls -rm-stale, removes it once the lock is gone. */
static void install_atfork(void) { pthread_atfork(NULL, NULL, child_after_fork); }

MPS_HIDDEN void mps__registry_path(uint64_t id, char *out)
{
    snprintf(out, MPS_PATH_MAX, "%s%s%016llx", MPS_SHM_DIR, MPS_REG_PREFIX, (unsigned long long)id);
}

/* random_id draws an identity: 62 random bits, with the low 30 neither 0
 * nor all ones (MPS_LOCK_NOTRECOVERABLE). */
static int random_id(uint64_t *id)
{
    for (;;) {
        uint64_t r;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        r &= MPS_ID_MASK;
        uint64_t low = r & 0x3fffffffu;
        if (low != 0 && low != 0x3fffffffu) {
            *id = r;
            return 0;
        }
    }
}

MPS_DOOR int mps__alive_lock(int fd, int set)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = MPS_REG_ALIVE_BYTE, .l_len = 1};
    if (set)
        return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : -errno;
    if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
        return -errno;
    return fl.l_type != F_UNLCK;
}

static uint64_t pid_namespace(void)
{
    struct stat st;
    return stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* make_identity creates this process's registry: an anonymous file
 * (O_TMPFILE) that is locked, given room and a header, and only then
 * linked under its name, so that no one ever sees it unlocked while its
 * owner lives. */
static int make_identity(void)
{
    int fd = mps__open_retry(MPS_SHM_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return fd;
    int err = mps__alive_lock(fd, 1);
    if (err == 0 && ftruncate(fd, MPS_REG_SIZE) != 0)
        err = -errno;
    if (err == 0)
        err = mps__reserve(fd, 0, MPS_REG_HEADER_SIZE);
    void *p = MAP_FAILED;
    if (err == 0 && (p = mmap(NULL, MPS_REG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
        err = -errno;
    if (err != 0) {
        close(fd);
        return err;
    }
    unsigned char *reg = p;
    uint32_t pid = (uint32_t)getpid();
    uint64_t ns = pid_namespace();
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t started = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    memcpy(reg + MPS_REG_OFF_PID, &pid, 4);
    memcpy(reg + MPS_REG_OFF_PIDNS, &ns, 8);
    memcpy(reg + MPS_REG_OFF_STARTED, &started, 8);
    memcpy(reg, MPS_REG_MAGIC, 8);

    char src[32], path[MPS_PATH_MAX];
    snprintf(src, sizeof src, "/proc/self/fd/%d", fd);
    uint64_t id = 0;
    for (int try = 0; try < MPS_RANDOM_NAME_TRIES; try++) {
        if ((err = random_id(&id)) != 0)
            break;
        memcpy(reg + MPS_REG_OFF_ID, &id, 8);
        mps__registry_path(id, path);
        err = linkat(AT_FDCWD, src, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
        if (err != -EEXIST)
            break;
    }
    if (err != 0) {
        munmap(reg, MPS_REG_SIZE);
        close(fd);
        return err;
    }
    self_fd = fd;
    self_reg = reg;
    __atomic_store_n(&mps__self_id, id, __ATOMIC_RELEASE);
    return 0;
}

MPS_HIDDEN int mps__identity(uint64_t *id, int *made)
{
    uint64_t w = __atomic_load_n(&mps__self_id, __ATOMIC_ACQUIRE);
    if (w != 0) {
        *id = w;
        *made = 0;
        return 0;
    }
    pthread_once(&atfork_once, install_atfork);
    pthread_mutex_lock(&self_mu);
    *made = mps__self_id == 0;
    int err = *made ? make_identity() : 0;
    w = mps__self_id;
    pthread_mutex_unlock(&self_mu);
    if (err != 0) {
        *made = 0;
        return err;
    }
    *id = w;
    return 0;
}

MPS_API const uint64_t *mps__identity_word(void) { return &mps__self_id; }

MPS_HIDDEN unsigned char *mps__self_registry(int *fd)
{
    uint64_t id;
    int made;
    if (mps__identity(&id, &made) != 0)
        return NULL;
    if (fd != NULL)
        *fd = self_fd;
    return self_reg;
}

MPS_DOOR int mps__alive(uint64_t id)
{
    id &= MPS_ID_MASK;
    if (id == __atomic_load_n(&mps__self_id, __ATOMIC_RELAXED))
        return 1;
    char path[MPS_PATH_MAX];
    mps__registry_path(id, path);
    /* O_NONBLOCK: a FIFO planted under the name must not hang us. */
    int fd = mps__open_retry(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd < 0)
        return fd != -ENOENT; /* cannot tell: take it to be alive */
    struct stat st;
    int held = fstat(fd, &st) != 0 ? 1 : !S_ISREG(st.st_mode) ? 0 : mps__alive_lock(fd, 0);
    close(fd);
    return held != 0; /* held, or cannot tell; no registry is anything but a file */
}

MPS_DOOR int mps__pid_of(uint64_t id)
{
    char path[MPS_PATH_MAX];
    mps__registry_path(id & MPS_ID_MASK, path);
    int fd = mps__open_retry(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd < 0)
        return 0;
    uint32_t pid = 0;
    if (pread(fd, &pid, 4, MPS_REG_OFF_PID) != 4 || pid > 0x7fffffff)
        pid = 0;
    close(fd);
    return (int)pid;
}

#endif /* MPS_USE_SYSTEM_LIB */
