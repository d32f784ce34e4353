/* shm.c - shared memory segments in /dev/shm. */
#ifndef MPS_USE_SYSTEM_LIB
#define _GNU_SOURCE /* linkat AT_EMPTY_PATH, O_TMPFILE */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpsync_impl.h"

struct mps_shm {
    void *data;
    size_t size;
    char name[MPS_NAME_MAX + 1];
};

/* mps__track_fd registers a segment or object this process made or opened, unless
 * it was made untracked (MPS_UNTRACKED_MODE): then whoever opens it leaves
 * it out of the tracker. */
MPS_HIDDEN int mps__track_fd(int fd, const char *name, uint64_t *was)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    if (st.st_mode & MPS_UNTRACKED_MODE)
        return 0;
    return mps__track(name, (uint64_t)st.st_ino, was);
}

MPS_HIDDEN int mps__publish(int fd, int random, const char *prefix, char *name)
{
    for (int try = 0;; try++) {
        int err = random ? mps__random_name(prefix, name) : 0;
        if (err != 0)
            return err;
        uint64_t was = 0;
        int tracked = mps__track_fd(fd, name, &was);
        if (tracked < 0)
            return tracked;
        char dst[MPS_PATH_MAX];
        mps__shm_path(name, dst);
        /* In one step where the kernel allows it (CAP_DAC_READ_SEARCH);
         * else through /proc/self/fd/N, which needs no privilege. */
        err = linkat(fd, "", AT_FDCWD, dst, AT_EMPTY_PATH) == 0 ? 0 : -errno;
        if (err == -ENOENT || err == -EPERM) {
            char src[32];
            snprintf(src, sizeof src, "/proc/self/fd/%d", fd);
            err = linkat(AT_FDCWD, src, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
        }
        if (err != 0)
            mps__untrack(name, tracked, was);
        if (err != -EEXIST || !random || try == MPS_RANDOM_NAME_TRIES)
            return err;
    }
}

/* shm_create is mps_shm_create, and with reserve mps_shm_create_reserved. */
static int shm_create(const char *name, size_t size, unsigned int mode, int reserve,
                      mps_shm **out)
{
    if (out == NULL || size == 0 || size > (size_t)INT64_MAX || (mode & ~07777u) != 0)
        return -EINVAL;
    if (mode == 0)
        mode = 0600;
    mps_shm *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    int random = name == NULL || name[0] == '\0';
    int err = random ? 0 : mps__check_name(name, s->name);
    int fd = err != 0 ? err : mps__open_retry(MPS_SHM_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC, (mode_t)mode);
    if (fd < 0) {
        free(s);
        return fd;
    }
    if (reserve) {
        err = mps__allocate(fd, size);
    } else {
        err = mps__check_room(fd, size);
        if (err == 0 && ftruncate(fd, (off_t)size) != 0)
            err = -errno;
    }
    if (err == 0)
        err = mps__map_fd(fd, size, &s->data);
    if (err == 0 && (err = mps__publish(fd, random, MPS_SHM_RANDOM_PREFIX, s->name)) != 0)
        munmap(s->data, size);
    close(fd); /* frees the file, and what a reservation took, if it got no name */
    if (err != 0) {
        free(s);
        return err;
    }
    s->size = size;
    *out = s;
    return 0;
}

MPS_API int mps_shm_create(const char *name, size_t size, unsigned int mode,
                           mps_shm **out)
{
    return shm_create(name, size, mode, 0, out);
}

MPS_API int mps_shm_create_reserved(const char *name, size_t size, unsigned int mode,
                                    mps_shm **out)
{
    return shm_create(name, size, mode, 1, out);
}

MPS_API int mps_shm_open(const char *name, mps_shm **out)
{
    if (out == NULL)
        return -EINVAL;
    mps_shm *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    int err = mps__check_name(name, s->name);
    if (err != 0) {
        free(s);
        return err;
    }
    char path[MPS_PATH_MAX];
    mps__shm_path(s->name, path);
    int fd = mps__open_retry(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) {
        free(s);
        return fd;
    }
    struct stat st;
    if (fstat(fd, &st) != 0)
        err = -errno;
    else if (!S_ISREG(st.st_mode) || st.st_size <= 0)
        err = -EINVAL;
    else
        err = mps__map_fd(fd, (size_t)st.st_size, &s->data);
    if (err == 0) {
        /* Registered, then the name must still lead to the file: the
         * tracker sets a name aside before its last look at the registries
         * and its unlink, so this registration is either seen by that look
         * or the name is gone already, and the open fails as if it came a
         * moment later. */
        uint64_t was = 0;
        int tracked = mps__track_fd(fd, s->name, &was);
        struct stat now;
        err = tracked < 0 ? tracked : tracked == 2 ? 0 /* listed for this file since before the open */
              : lstat(path, &now) != 0 || now.st_ino != st.st_ino ? -ENOENT : 0;
        if (err == -ENOENT)
            mps__untrack(s->name, tracked, was);
        if (err != 0)
            munmap(s->data, (size_t)st.st_size);
    }
    close(fd);
    if (err != 0) {
        free(s);
        return err;
    }
    s->size = (size_t)st.st_size;
    *out = s;
    return 0;
}

MPS_API const char *mps_shm_name(const mps_shm *shm) { return shm->name; }

MPS_API size_t mps_shm_size(const mps_shm *shm) { return shm->size; }

MPS_API void *mps_shm_data(const mps_shm *shm) { return shm->data; }

MPS_API int mps_shm_close(mps_shm *shm)
{
    if (shm == NULL)
        return 0;
    int err = munmap(shm->data, shm->size) != 0 ? -errno : 0;
    free(shm);
    return err;
}

MPS_HIDDEN void mps__shm_forget(mps_shm *shm) { free(shm); }

MPS_API int mps_shm_unlink(const char *name)
{
    char clean[MPS_NAME_MAX + 1];
    int err = mps__check_name(name, clean);
    if (err != 0)
        return err;
    char path[MPS_PATH_MAX];
    mps__shm_path(clean, path);
    if (unlink(path) != 0)
        return -errno;
    mps__forget(clean);
    return 0;
}

#endif /* MPS_USE_SYSTEM_LIB */
