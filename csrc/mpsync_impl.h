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

/* MPS_RANDOM_NAME_TRIES bounds the retries of an exclusive create under a
 * random name: a collision of 64 random bits is astronomically unlikely,
 * a few retries make it practically impossible. */
#define MPS_RANDOM_NAME_TRIES 8

/* mps__reserve allocates len bytes of fd's file from off (fallocate, the
 * size unchanged when the range lies inside it), so that touching them
 * cannot fault for want of room.  Returns 0, -ENOSPC or another -errno. */
MPS_HIDDEN int mps__reserve(int fd, size_t off, size_t len);

/* MPS_UNTRACKED_MODE marks a file that the resource tracker must never
 * unlink: the sticky bit, meaningless on a regular file, set by a creator
 * that asked for an untracked object.  Openers do not register such a
 * file, and the tracker leaves it alone. */
#define MPS_UNTRACKED_MODE 01000

/* mps__track_fd registers the file fd, just made or opened under name,
 * with its inode, unless it carries MPS_UNTRACKED_MODE.  Returns 0 or the
 * result of mps__track, or the error of fstat. */
MPS_HIDDEN int mps__track_fd(int fd, const char *name);

/* mps__publish gives the anonymous file fd (made with O_TMPFILE and
 * complete) its name: a random one, prefix + 16 hex digits, if random,
 * else name.  It registers the name with the tracker first, so that a
 * process killed at any instant leaves no name its registry does not
 * list, then links it, failing with -EEXIST if the name is taken (a random
 * one is drawn again, a few times).  Returns 0 or -errno. */
MPS_HIDDEN int mps__publish(int fd, int random, const char *prefix, char *name);

/* ---- process identity (proc.c; see mpsync.h) ---- */

/* mps__self returns this process's identity, making it (and its
 * registry) on first use.  Returns 0, or -ENOSPC (no room in /dev/shm) or
 * another -errno; a failure is retried on the next call. */
MPS_HIDDEN int mps__self(uint64_t *id);

/* mps__self_word is mps__self's identity, or 0 if it cannot be made. */
MPS_HIDDEN uint64_t mps__self_word(void);

/* mps__self_registry returns this process's registry mapping
 * (MPS_REG_SIZE bytes) and, if fd is not NULL, its descriptor; NULL if
 * the identity cannot be made. */
MPS_HIDDEN unsigned char *mps__self_registry(int *fd);

/* mps__registry_path writes the registry path of identity id into out
 * (MPS_PATH_MAX bytes). */
MPS_HIDDEN void mps__registry_path(uint64_t id, char *out);

/* mps__alive_lock sets (set != 0) the liveness lock on fd, returning 0 or
 * -errno, or tests whether another open file description holds it,
 * returning 1 (held), 0 (free) or -errno. */
MPS_HIDDEN int mps__alive_lock(int fd, int set);

/* mps__alive reports whether the process of identity id lives: its
 * registry's liveness lock is held.  When that cannot be told (the
 * registry cannot be opened for another reason than its absence), it is
 * taken to be alive. */
MPS_HIDDEN int mps__alive(uint64_t id);

/* mps__pid_of returns the pid recorded in id's registry (in the owner's
 * pid namespace), or 0. */
MPS_HIDDEN int mps__pid_of(uint64_t id);

/* ---- the tracker's client (registry.c) ---- */

/* mps__track registers name (a /dev/shm entry) in this process's
 * registry; ino is its inode.  mps__forget removes it, once the name is
 * unlinked.  Both do nothing when tracking is off (MPSYNC_NO_TRACKER).
 * mps__track returns 1 (a new entry), 2 (listed already for this very
 * inode), 0 (listed for another inode, now updated; tracking off; or the
 * registry full), -ENOSPC when the registry's next page cannot be
 * given room, or the error of mps__self. */
MPS_HIDDEN int mps__track(const char *name, uint64_t ino);
MPS_HIDDEN void mps__forget(const char *name);

/* mps__tracker_find connects to a live tracker of this user published in
 * /dev/shm (skipping the entry except, if not NULL), introducing this
 * process as id (0: a probe), and copies the tracker's entry name into
 * found (32 bytes) if not NULL.  Returns the connection or -ENOENT. */
MPS_HIDDEN int mps__tracker_find(const char *except, uint64_t id, char *found);

/* mps__tracker_join connects the new identity id to a tracker, starting
 * one if none runs, unless tracking is off. */
MPS_HIDDEN void mps__tracker_join(uint64_t id);

/* mps__set_tracker_exe makes this program's own binary, run with
 * MPSYNC_TRACKER_ROLE=1, the tracker it starts (Go programs). */
MPS_HIDDEN void mps__set_tracker_exe(const char *exe);

/* mps__tracker_watch blocks until the tracker connection ends, then
 * connects again, starting a tracker if none runs.  Returns 0, -ENOENT if
 * no tracker could be reached, or -ENOTCONN if this process does not
 * track (tracking off, or nothing registered yet).  For a watcher thread. */
MPS_HIDDEN int mps__tracker_watch(void);

#endif /* MPSYNC_IMPL_H */
