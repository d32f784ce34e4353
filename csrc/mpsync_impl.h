/*
 * mpsync_impl.h - private declarations of libmpsync.  Not installed.
 *
 * Internal functions that are not static carry the prefix mps__ (two
 * underscores) and hidden visibility, so they never leave the shared
 * library; public functions are marked MPS_API.  The few internal
 * functions that mpsync's Go door (package csrc) calls are marked MPS_DOOR
 * instead: a Go program built with the tag mpsync_system_lib calls them in
 * the installed libmpsync.so, which exports them in the version node
 * MPSYNC_PRIVATE_<MAJOR>.<MINOR> (see mpsync.map) and nowhere else.  They
 * are not API: they change between releases without notice, and the node
 * named after the release makes a Go program built against one release
 * refuse, at load time, a library of another.
 */
#ifndef MPSYNC_IMPL_H
#define MPSYNC_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The library defines the functions the header's inline fast paths
 * stand in front of. */
#define MPS_NO_INLINE 1
#include "mpsync.h"

#define MPS_API __attribute__((visibility("default")))
#define MPS_HIDDEN __attribute__((visibility("hidden")))
#define MPS_DOOR __attribute__((visibility("default")))

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

/* struct mps__arena_block is an object found in an arena: its layout
 * (offsets from the block's start), memory and size, and whether its lock
 * area is the compact one. */
struct mps__arena_block {
    struct mps_object_info info;
    unsigned char *mem;
    uint64_t size;
    int compact;
    uint64_t off; /* the block's offset in the arena */
    uint32_t gen; /* and its generation */
};

/* mps__arena_split splits an arena-qualified name, "arena/object" (an
 * optional leading '/'), copying the arena's name into arena_name
 * (MPS_NAME_MAX + 1 bytes); returns 0 if name is not one. */
MPS_HIDDEN int mps__arena_split(const char *name, char *arena_name, const char **object);

/* mps__arena_find opens the arena called arena_name (one more user of
 * this process's mapping, stored in *arena) and finds object in it, a
 * name or a handle "#<off>.<gen>".  Returns 0, -ENOENT, -EINVAL (a bad
 * object name), -EBADMSG, or mps_arena_open's errors. */
MPS_HIDDEN int mps__arena_find(const char *arena_name, const char *object, mps_arena **arena,
                               struct mps__arena_block *blk);

/* mps__arena_alloc makes an object as spec says in arena a, named name
 * (NULL or "": anonymous), under the allocator's lock and journaled as
 * Go's arena does: a block is taken and zeroed, described in *blk, init
 * (if not NULL) fills its lock area and payload, and it is published,
 * then named.  *off and *gen make its handle.  Values and Arrays get the
 * compact lock area.  Returns 0, -EEXIST, -ENOSPC (the arena, its name
 * table or its type table is full), -EINVAL, -EBADMSG, init's error. */
MPS_HIDDEN int mps__arena_alloc(mps_arena *a, const char *name, const struct mps_object_spec *spec,
                                int (*init)(struct mps__arena_block *blk, void *arg), void *arg,
                                struct mps__arena_block *blk, uint64_t *off, uint32_t *gen);

/* mps__arena_free frees the object at off with generation gen in arena
 * a, as Go's Heap.Free does (journal op 2): its name is deleted and its
 * block goes first on its class's free list.  Returns 0, -ENOENT (no
 * ready object of that generation there: freed already), -EBADMSG (a
 * corrupt block), or the errors of taking the allocator's lock. */
MPS_HIDDEN int mps__arena_free(mps_arena *a, uint64_t off, uint32_t gen);

/* mps__arena_retain counts one more user of an open arena. */
MPS_HIDDEN void mps__arena_retain(mps_arena *a);

/* mps__object_compact reports whether obj's lock area is an arena's
 * compact one (no inspection times: see mps__crlock_acquire). */
MPS_HIDDEN int mps__object_compact(const mps_object *obj);

/* mps__kind_tag returns the tag of a kind used in random object names. */
MPS_DOOR const char *mps__kind_tag(int kind);

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
 * result of mps__track (and its *was), or the error of fstat. */
MPS_HIDDEN int mps__track_fd(int fd, const char *name, uint64_t *was);

/* mps__publish gives the anonymous file fd (made with O_TMPFILE and
 * complete) its name: a random one, prefix + 16 hex digits, if random,
 * else name.  It registers the name with the tracker first, so that a
 * process killed at any instant leaves no name its registry does not
 * list, then links it, failing with -EEXIST if the name is taken (a random
 * one is drawn again, a few times).  Returns 0 or -errno. */
MPS_HIDDEN int mps__publish(int fd, int random, const char *prefix, char *name);

/* ---- process identity (proc.c; see mpsync.h) ---- */

/* mps__self_id is this process's identity, 0 until made (and again in a
 * child after fork).  The lock's fast paths read it directly; everything
 * else asks mps__self (registry.c), which makes it. */
MPS_HIDDEN extern uint64_t mps__self_id;

/* mps__identity returns this process's identity, making it (and its
 * registry) on first use, and sets *made when this call made it.  Returns
 * 0, or -ENOSPC (no room in /dev/shm) or another -errno; a failure is
 * retried on the next call.  The rest of the library asks mps__self
 * (registry.c), which also has a tracker watch a new identity. */
MPS_HIDDEN int mps__identity(uint64_t *id, int *made);

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
MPS_DOOR int mps__alive_lock(int fd, int set);

/* mps__alive reports whether the process of identity id lives: its
 * registry's liveness lock is held.  When that cannot be told (the
 * registry cannot be opened for another reason than its absence), it is
 * taken to be alive. */
MPS_DOOR int mps__alive(uint64_t id);

/* mps__pid_of returns the pid recorded in id's registry (in the owner's
 * pid namespace), or 0. */
MPS_DOOR int mps__pid_of(uint64_t id);

/* ---- the tracker's client (registry.c) ---- */

/* mps__track registers name (a /dev/shm entry) in this process's
 * registry; ino is its inode.  mps__forget removes it, once the name is
 * unlinked.  Both do nothing when tracking is off (MPSYNC_NO_TRACKER).
 * mps__track returns 1 (a new entry), 2 (listed already for this very
 * inode), 3 (listed for another inode, now this one: *was, unless NULL,
 * receives the other), 0 (tracking off, or the registry full), -ENOSPC
 * when the registry's next page cannot be given room, or the error of
 * mps__self. */
MPS_DOOR int mps__track(const char *name, uint64_t ino, uint64_t *was);
MPS_DOOR void mps__forget(const char *name);

/* mps__untrack undoes a registration whose create or open then failed:
 * tracked is what mps__track returned, was what it gave back.  A new
 * entry is removed; an entry that named another inode (this process's
 * mapping of an earlier file of that name, say, when a create of the name
 * failed with EEXIST) names it again. */
MPS_DOOR void mps__untrack(const char *name, int tracked, uint64_t was);

/* mps__track_generation returns the address of a counter that grows
 * whenever an entry leaves this process's registry or changes its inode
 * (mps__forget, mps__track of a listed name with another inode, a fork's
 * child starting afresh).  While it stands still, an entry seen listed
 * stays listed: the Go door reads it, without a call into C, to know that
 * a name it saw registered for an inode still is (a segment opened again).
 * Since version 0.10. */
MPS_DOOR const uint64_t *mps__track_generation(void);

/* mps__tracker_find connects to a live tracker of this user published in
 * /dev/shm (skipping the entry except, if not NULL), introducing this
 * process as id (0: a probe), and copies the tracker's entry name into
 * found (32 bytes) if not NULL.  Returns the connection or -ENOENT. */
MPS_DOOR int mps__tracker_find(const char *except, uint64_t id, char *found);

/* mps__self returns this process's identity (mps__identity), and on
 * the call that makes it connects it to a tracker, starting one if none
 * runs, unless tracking is off.  Returns 0 or mps__identity's error. */
MPS_DOOR int mps__self(uint64_t *id);

/* mps__self_word is mps__self's identity, or 0 if it cannot be made. */
MPS_HIDDEN uint64_t mps__self_word(void);

/* mps__set_tracker_exe makes this program's own binary, run with
 * MPSYNC_TRACKER_ROLE=1, the tracker it starts (Go programs). */
MPS_DOOR void mps__set_tracker_exe(const char *exe);

/* mps__tracker_watch blocks until the tracker connection ends, then
 * connects again, starting a tracker if none runs.  Returns 0, -ENOENT if
 * no tracker could be reached, or -ENOTCONN if this process does not
 * track (tracking off, or nothing registered yet).  For a watcher thread. */
MPS_DOOR int mps__tracker_watch(void);


/* ---- the lock area (lock.c), as mpsync.h describes it ---- */

/* Bits of the lock word beside the owner's identity. */
#define MPS__LOCK_DEAD_BIT (1ull << 30)
#define MPS__LOCK_WAITERS_BIT (1ull << 31)

/* struct mps__lock_area is the start of the MPS_LOCK_AREA_SIZE bytes; Go's
 * internal/robust is checked against it.  The compact form of an arena's
 * values and arrays (MPS_ARENA_COMPACT_LOCK bytes) is the word and rec:
 * the recursive owner's token in rec's low MPS__REC_TOKEN_BITS bits and
 * its count in the high 16, where the full form has pad and count. */
struct mps__lock_area {
    uint64_t word;
    union {
        struct {
            uint32_t pad;
            uint32_t count;
        };
        uint64_t rec; /* compact only */
    };
    uint64_t owner;
    int64_t since; /* when the holder took it (Unix ns), 0 unknown */
    int64_t wait;  /* when the earliest sleeping waiter began, 0 none */
};
_Static_assert(sizeof(struct mps__lock_area) <= MPS_LOCK_AREA_SIZE, "lock area");
_Static_assert(offsetof(struct mps__lock_area, rec) + 8 == MPS_ARENA_COMPACT_LOCK, "compact lock area");
#define MPS__REC_TOKEN_BITS 48
#define MPS__REC_COUNT_MAX 0xffff

/* ---- waiting (lock.c), shared by every kind ---- */

/* mps__now_ns returns CLOCK_MONOTONIC in ns. */
MPS_HIDDEN int64_t mps__now_ns(void);

/* mps__wall_ns returns CLOCK_REALTIME in ns. */
MPS_HIDDEN int64_t mps__wall_ns(void);

/* mps__deadline turns a timeout of the API (< 0 forever, 0 only try, > 0
 * ns) into an absolute CLOCK_MONOTONIC deadline, 0 meaning none. */
MPS_HIDDEN int64_t mps__deadline(int64_t timeout_ns);

/* mps__futex_sleep is one slice of a sliced wait: it sleeps on the shared
 * futex word while *word == val, for at most slice_ns and at most until
 * deadline (0: none).  It returns 0 when woken, -EAGAIN (*word was not
 * val), -EINTR or -ETIMEDOUT (the slice ended: look again), or
 * -ETIMEDOUT without sleeping once the deadline has passed: callers tell
 * the two apart with mps__expired. */
MPS_HIDDEN int mps__futex_sleep(uint32_t *word, uint32_t val, int64_t slice_ns, int64_t deadline);

/* mps__expired reports whether deadline (0: none) has passed. */
MPS_HIDDEN int mps__expired(int64_t deadline);

/* mps__futex_wake wakes at most n sleepers on the shared futex word. */
MPS_HIDDEN void mps__futex_wake(uint32_t *word, int n);

/* MPS__BUSY_NS is how long a waiter looks at a word with no system call
 * (pausing between looks) before it sleeps (mps__spin).  A peer running
 * on the other core answers within a fraction of a microsecond, but a
 * hand-over in a ping-pong can take longer than that: a waiter that
 * sleeps too soon pays a wake (several microseconds in a VM) on every
 * hand-over.  A count of looks measured no time (1000 bare looks took
 * 0.5-1.4 us); a time does.  Go's waiters look for 5 us (futex.BusySpin),
 * then give the process's other goroutines 200 turns, 20-40 us in all
 * before they sleep; the C spin-then-futex peers of the bench look about
 * 20 us.  Measured with bench/peers/c/mpsync_c, 5 interleaved runs each,
 * median ns: pingpong 561 -> 81, barrier 2296 -> 294, event 358 -> 70
 * for 5 us -> 20 us (5 us slept through many hand-overs). */
#define MPS__BUSY_NS 20000

/* MPS__LOCK_BUSY_NS is how long a contended lock acquirer looks at the
 * word with no system call before it yields: a holder is most often in a
 * critical section of well under a microsecond on the other core (Go's
 * robust lock: busySpin). */
#define MPS__LOCK_BUSY_NS 1000

/* mps__busy looks at done(arg) for up to busy_ns with a CPU pause between
 * looks and no system call: 1 as soon as done(arg) returns nonzero, 0 if
 * it never did. */
MPS_HIDDEN int mps__busy(int (*done)(void *arg), void *arg, int64_t busy_ns);

/* mps__spin waits briefly for done(arg), a waiter's look before it sleeps:
 * mps__busy for MPS__BUSY_NS.  It returns 1 as soon as done(arg) returns
 * nonzero, 0 if it never did: the caller then sleeps in the kernel.  It
 * never calls sched_yield: two processes that hand a word back and forth
 * while sharing one core keep sharing it as long as they yield to each
 * other (the scheduler does not move a task that runs often), each
 * hand-over costing a whole busy look, while the other core idles; a
 * sleeper's wake-up lets the scheduler place it afresh.  Measured on W2
 * from C, 25 runs: with 100 yields after the look, 10 runs had the two
 * processes share a core for much of the run (2-3x slower); with none, 3. */
MPS_HIDDEN int mps__spin(int (*done)(void *arg), void *arg);

/* mps__lock_held reports whether this process holds the lock in the lock
 * area lock. */
MPS_HIDDEN int mps__lock_held(const void *lock);

/* mps__lock_holder_died reports whether the lock in the lock area lock is
 * held by a process that died (and nobody has taken it over yet). */
MPS_HIDDEN int mps__lock_holder_died(const void *lock);

/* mps__thread_token names the calling thread as a recursive lock's owner
 * (the "owner" field of the lock area): nonzero, unique among the live
 * threads of the process. */
MPS_HIDDEN uint64_t mps__thread_token(void);

/* mps__crlock_acquire and mps__crlock_release are mps_rlock_acquire and
 * mps_rlock_release on a compact lock area (an arena's Values and Arrays:
 * the first 24 bytes of a lock area, without the times at 24 and 32,
 * which are never written). */
MPS_HIDDEN int mps__crlock_acquire(void *lock, int64_t timeout_ns);
MPS_HIDDEN int mps__crlock_release(void *lock);

/* mps__rlock_release_all releases every recursive hold of the calling
 * thread on the lock at once, storing how many there were in *n, for a
 * condition's wait; mps__rlock_restore_all takes the lock back (waiting
 * forever) with that count.  Results as mps_rlock_release and
 * mps_rlock_acquire. */
MPS_HIDDEN int mps__rlock_release_all(void *lock, uint32_t *n);
MPS_HIDDEN int mps__rlock_restore_all(void *lock, uint32_t n);

/* mps__family_open opens name as kind (or, if kind2 is not 0, as kind2),
 * and checks that it has at least min_payload bytes of payload and, if
 * with_lock, a lock area: the header is untrusted.  Returns 0 or the
 * errors of mps_object_open, or -EBADMSG. */
MPS_HIDDEN int mps__family_open(const char *name, int kind, int kind2, uint64_t min_payload, int with_lock,
                                mps_object **out);

/* mps__family_check checks a handle before an operation of kind (or
 * kind2): -EINVAL for NULL, -EMEDIUMTYPE for another kind, -EBADMSG for a
 * payload or lock area too small; 0 if it is fit. */
MPS_HIDDEN int mps__family_check(const mps_object *o, int kind, int kind2, uint64_t min_payload, int with_lock);

/* mps__family_create creates an object of kind with a payload of payload
 * bytes (8-byte aligned) and, if with_lock, a lock area; init, if not
 * NULL, fills the payload before the object gets its name. */
MPS_HIDDEN int mps__family_create(const char *name, int kind, uint64_t payload, int with_lock,
                                  int (*init)(mps_object *obj, void *arg), void *arg, mps_object **out);

#endif /* MPSYNC_IMPL_H */
