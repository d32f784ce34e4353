/*
 * mpsync_impl.h - private declarations of libmpsync.  Not installed.
 *
 * Internal functions that are not static carry the prefix mps__ (two
 * underscores) and hidden visibility, so they never leave the shared
 * library; public functions are marked MPS_API.
 */
#ifndef MPSYNC_IMPL_H
#define MPSYNC_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mpsync.h"

#define MPS_API __attribute__((visibility("default")))
#define MPS_HIDDEN __attribute__((visibility("hidden")))

/* Where Linux keeps POSIX shared memory and named semaphores. */
#define MPS_SHM_DIR "/dev/shm/"

/* Room for MPS_SHM_DIR, a prefix such as "sem.", a name and a NUL. */
#define MPS_PATH_MAX (sizeof MPS_SHM_DIR + 4 + MPS_NAME_MAX + 1)

/* mps__check_name validates a user-supplied name (see mpsync.h, Names) and
 * copies it, without its leading slash, into out (MPS_NAME_MAX + 1 bytes).
 * Returns 0, -EINVAL or -ENAMETOOLONG. */
MPS_HIDDEN int mps__check_name(const char *name, char *out);

/* mps__random_name writes prefix followed by 16 random lower-case hex
 * digits into out (MPS_NAME_MAX + 1 bytes).  Returns 0 or -errno of
 * getrandom. */
MPS_HIDDEN int mps__random_name(const char *prefix, char *out);

/* mps__shm_path writes MPS_SHM_DIR + name into out (MPS_PATH_MAX bytes). */
MPS_HIDDEN void mps__shm_path(const char *name, char *out);

/* mps__open_retry is open(2) retried on EINTR; it returns the fd or
 * -errno. */
MPS_HIDDEN int mps__open_retry(const char *path, int flags, mode_t mode);

/* mps__check_room returns -ENOSPC if the file system of fd cannot hold
 * size more bytes. */
MPS_HIDDEN int mps__check_room(int fd, size_t size);

/* mps__allocate gives the new, empty file fd size bytes allocated in its
 * file system now (fallocate(2) mode 0, which also sets the file's size),
 * so that writing to them can never fault with SIGBUS for want of room.
 * Sizes above 1 MiB are first checked with mps__check_room.  EINTR is
 * retried.  Returns 0, -ENOSPC, or another -errno of fstatfs or fallocate;
 * on failure the file may hold part of the range: the caller discards it. */
MPS_HIDDEN int mps__allocate(int fd, size_t size);

/* mps__map_fd maps size bytes of fd shared, read-write. */
MPS_HIDDEN int mps__map_fd(int fd, size_t size, void **data);

/* mps__shm_forget frees a segment handle but keeps its mapping, whose
 * address and size the caller has taken over. */
MPS_HIDDEN void mps__shm_forget(mps_shm *shm);

/* mps__kind_tag returns the tag of a kind used in random object names. */
MPS_HIDDEN const char *mps__kind_tag(int kind);

/* mps__self_word returns this process's lock identity: pid | tag << 32. */
MPS_HIDDEN uint64_t mps__self_word(void);

/* mps__alive reports whether the process of a lock identity runs: it
 * exists, is no zombie, and has the start-time tag recorded. */
MPS_HIDDEN int mps__alive(uint64_t id);

/* mps__track registers name (a /dev/shm entry) in this process's
 * resource-tracker registry; ino is its inode, or 0. mps__forget removes
 * it, once the name is unlinked. Both do nothing when tracking is off
 * (MPSYNC_NO_TRACKER) or the registry cannot be made. */
MPS_HIDDEN void mps__track(const char *name, uint64_t ino);
MPS_HIDDEN void mps__forget(const char *name);

#endif /* MPSYNC_IMPL_H */
