/*
 * mpsync.h - libmpsync, cross-process shared memory and synchronization.
 *
 * libmpsync is the C half of mpsync (https://github.com/mpsync/mpsync).
 * Go programs compile the same sources in through cgo; C programs link
 * libmpsync.so.0 (pkg-config name "mpsync"); any language with a C FFI can
 * load it.  Objects are named, live in /dev/shm, and have one byte layout
 * for every language, described in this header.
 *
 * Conventions, for every function below:
 *   - The prefix is mps_ for functions and MPS_ for macros and constants.
 *   - A function returns 0 on success or a negative errno value on failure
 *     (-EINVAL, -ENOENT, ...).  errno is never read by the caller and its
 *     value after a call is unspecified.
 *   - Results come back through out-parameters; an out-parameter is written
 *     only on success.
 *   - EINTR is retried inside the library; it is never returned.
 *   - Names follow Python's multiprocessing rules: "name" and "/name" mean
 *     the same object; accessors return the name without the slash.
 *
 * Process identity: every process that uses mpsync is named by a random
 * identity, not by its pid (see "Process identity and the registry"
 * below): locks record their owner by it, and whether the owner lives is
 * asked of the kernel through a file lock, so it is right across pid
 * namespaces (containers sharing /dev/shm), pid reuse, exec and fork.  A
 * child made by fork without exec gets an identity of its own.
 *
 * Resource tracking: segments and objects this library creates or opens
 * are listed in the process's registry, so that the user's mpsync
 * resource tracker unlinks them once every process that used them is
 * gone, even after a SIGKILL.  When no tracker runs, the first
 * registration starts one: the mpsync-tracker command, from
 * $MPSYNC_TRACKER, beside the installed library, or found in PATH
 * (nothing happens if it is not installed; the registry waits for the
 * next tracker).  A process never removes its own registry, not even at
 * exit (other threads may hold locks while exit runs): a tracker does,
 * once the process is gone.  Set MPSYNC_NO_TRACKER=1 to turn tracking
 * off.  (MPSYNC_TEST_CRASH_AT is for tests only: a process SIGKILLs
 * itself at that step of an arena allocation or free, such as
 * "alloc: announced", to check the journal's recovery.)
 *
 * Thread safety: functions are safe to call from any thread.  One handle
 * (mps_shm, mps_object, mps_cond) may be used from several threads at once
 * - the synchronization objects below are meant to be - but closing it
 * must not race with other uses of the same handle.
 *
 * The synchronization family (locks, recursive locks, semaphores, events,
 * conditions, barriers) and typed access to values and arrays follow the
 * same layouts and algorithms as Go's packages semaphore and ctypes: Go,
 * C and Python processes use one object together.  Timeouts are in
 * nanoseconds: < 0 waits forever, 0 only tries, > 0 waits at most that
 * long (CLOCK_MONOTONIC).  A wait sleeps on a shared futex in slices and
 * checks, when a slice ends, whether the processes it waits for live.
 * Each operation of the family checks the handle it is given: -EINVAL for
 * NULL, -EMEDIUMTYPE for an object of another kind, -EBADMSG for one whose
 * payload or lock area is too small for its kind (possible only for a
 * handle from mps_object_open; the family's open functions refuse it).
 */
#ifndef MPSYNC_H
#define MPSYNC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version of this header.  MAJOR is the soname (libmpsync.so.MAJOR);
 * MINOR grows with each release that adds functions or changes a layout or
 * the library's private functions: 0.2 added mps_shm_create_reserved, 0.3
 * the rest of the family (semaphores, recursive locks, events, conditions,
 * barriers, typed values), 0.4 arenas, 0.5 freeing objects in arenas
 * (mps_arena_free; mps_object_unlink frees one), 0.6 to 0.9 changed the
 * lock word and the arena and object layouts (see MPS_LAYOUT_VERSION and
 * MPS_ARENA_VERSION), 0.10 a private function of the tracker's client. */
#define MPS_VERSION_MAJOR 0
#define MPS_VERSION_MINOR 10

/* mps_version returns the library's version as MAJOR * 1000 + MINOR, so a
 * program can check at run time that the library it loaded is at least the
 * one it was compiled against:
 *     mps_version() >= MPS_VERSION_MAJOR * 1000 + MPS_VERSION_MINOR. */
int mps_version(void);

/* mps_strerror returns a static, human-readable description of a negative
 * errno value returned by this library (it also accepts positive values).
 * The string must not be freed. */
const char *mps_strerror(int err);

/* ------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------ */

/* MPS_NAME_MAX is the longest name accepted, in bytes, without the leading
 * slash and without the terminating NUL.  It is NAME_MAX (255) less the
 * four bytes of the "sem." prefix glibc puts before semaphore names, so
 * that every mpsync name is valid for every kind of object. */
#define MPS_NAME_MAX 251

/* MPS_SHM_RANDOM_PREFIX starts every random segment name: "psm_" followed by
 * 16 lower-case hex digits (64 random bits), like CPython's SharedMemory
 * names but with twice the randomness. */
#define MPS_SHM_RANDOM_PREFIX "psm_"

/* ------------------------------------------------------------------------
 * Shared memory segments
 *
 * A segment is a file in /dev/shm mapped MAP_SHARED.  It is byte-compatible
 * with Python's multiprocessing.shared_memory.SharedMemory and with
 * shm_open(3): any of them can open a segment another one created.
 * ------------------------------------------------------------------------ */

/* mps_shm is an open, mapped segment.  It is opaque; use the accessors. */
typedef struct mps_shm mps_shm;

/* mps_shm_create creates a new segment of size bytes and maps it.
 *
 * name: NULL or "" for a random name (MPS_SHM_RANDOM_PREFIX + 16 hex
 *       digits); otherwise 1..MPS_NAME_MAX bytes, an optional leading '/',
 *       no other '/', not starting with MPS_REG_PREFIX, MPS_TRK_PREFIX or
 *       MPS_REAP_PREFIX (the tracker's own files).
 * size: > 0.  The memory starts zeroed.
 * mode: permission bits for the new file; 0 means 0600.
 * out:  receives the handle; free it with mps_shm_close.
 *
 * Creation is exclusive: the file is made anonymous (O_TMPFILE), sized,
 * mapped and registered with the tracker, then linked under its name
 * (-EEXIST if taken), so a process killed at any instant leaves no name its
 * registry does not list.  The segment is sparse: /dev/shm gives it memory page by page, as each page is first
 * written, by any process.  Should /dev/shm be full by then (Docker's
 * default is 64 MB), the write kills the process with SIGBUS.
 * mps_shm_create checks that /dev/shm has room for size bytes (-ENOSPC if
 * not), but others may take the room afterwards; mps_shm_create_reserved
 * allocates every page at once instead.  A failed create leaves nothing in
 * /dev/shm.
 * Returns 0, or -EINVAL (bad name, size or mode), -ENAMETOOLONG, -EEXIST
 * (the name exists), -EACCES, -ENOSPC or -ENOMEM (the system cannot provide
 * size bytes), -EMFILE, or another errno of open/ftruncate/mmap. */
int mps_shm_create(const char *name, size_t size, unsigned int mode,
                   mps_shm **out);

/* mps_shm_create_reserved is mps_shm_create, except that the segment's
 * memory is allocated in /dev/shm (fallocate) before it returns, rather
 * than page by page as it is first written: a /dev/shm without room for it
 * is -ENOSPC here, with nothing left behind, and no write to the segment,
 * in any process, can ever fault for want of room.  The memory is taken,
 * and zeroed, up front.  Since version 0.2.
 * Returns what mps_shm_create returns, and the errnos of fallocate. */
int mps_shm_create_reserved(const char *name, size_t size, unsigned int mode,
                            mps_shm **out);

/* mps_shm_open opens and maps an existing segment by name.  Its size is the
 * size it was created with (not rounded to pages).
 * Returns 0, or -EINVAL (bad name, or a segment of size 0), -ENAMETOOLONG,
 * -ENOENT (no such segment), -EACCES (another user's segment), -EMFILE,
 * -ENOMEM, or another errno of open/fstat/mmap. */
int mps_shm_open(const char *name, mps_shm **out);

/* mps_shm_name returns the segment's name without the leading slash.  The
 * string belongs to the handle and is valid until mps_shm_close. */
const char *mps_shm_name(const mps_shm *shm);

/* mps_shm_size returns the segment's size in bytes. */
size_t mps_shm_size(const mps_shm *shm);

/* mps_shm_data returns the address of the mapping, valid until
 * mps_shm_close. */
void *mps_shm_data(const mps_shm *shm);

/* mps_shm_close unmaps the segment and frees the handle.  The segment
 * itself stays until it is unlinked.  NULL is accepted and ignored.
 * Returns 0, or the errno of munmap (the handle is freed regardless). */
int mps_shm_close(mps_shm *shm);

/* mps_shm_unlink removes the segment's name; mappings that exist stay
 * valid until they are closed.
 * Returns 0, or -EINVAL, -ENAMETOOLONG, -ENOENT (already unlinked),
 * -EACCES. */
int mps_shm_unlink(const char *name);

/* ------------------------------------------------------------------------
 * The object header
 *
 * Every mpsync object (locks, semaphores, events, values, arrays, ...)
 * lives in a segment that starts with this 64-byte header.  All fields are
 * native-endian (little-endian on the supported platforms).
 *
 *   off size field           meaning
 *     0   4  magic           MPS_MAGIC, the bytes "MPSY"
 *     4   4  state           MPS_STATE_*; written last with a release store
 *     8   2  version         MPS_LAYOUT_VERSION
 *    10   2  kind            MPS_KIND_*
 *    12   4  header_size     bytes of header; >= 64, a multiple of 8
 *    16   8  count           number of payload elements
 *    24   8  elem_size       bytes per element
 *    32   8  payload_offset  from the start of the object
 *    40   8  payload_size    count * elem_size
 *    48   4  format_offset   of the element format, a NUL-terminated string
 *    52   4  format_len      bytes of format, without the NUL (<= 255)
 *    56   4  lock_offset     of the embedded MPS_LOCK_AREA_SIZE-byte lock
 *                            area, 0 if the object has none
 *    60   4  flags           reserved, 0
 *
 * The format is a Python struct-style description of one element ("i",
 * "d", "T{d:x:d:y:}", ...), printable ASCII.  Regions (header, lock area,
 * format, payload) never overlap and all lie inside the mapping; offsets of
 * the lock area and payload are multiples of 8.
 *
 * Publication: a creator writes every field with state MPS_STATE_INIT, and
 * sets MPS_STATE_READY last (mps_header_publish).  Openers validate with
 * mps_header_validate, which refuses anything that is not READY, so no one
 * ever uses a half-initialised object.
 * ------------------------------------------------------------------------ */

#define MPS_MAGIC 0x5953504Du /* bytes 'M' 'P' 'S' 'Y' in memory order */
#define MPS_LAYOUT_VERSION 5 /* 2: lock owners are identities, not pids; 3: a
                              * barrier layout withdrawn before release; 4:
                              * barriers record how each generation ended;
                              * 5: a lock word of the waiters bit alone is
                              * free (the release by subtraction) */
#define MPS_HEADER_SIZE 64
#define MPS_FORMAT_MAX 255
#define MPS_LOCK_AREA_SIZE 64

/* Values of the state word. */
#define MPS_STATE_EMPTY 0 /* fresh zeroed memory */
#define MPS_STATE_INIT 1  /* the creator is filling it in */
#define MPS_STATE_READY 2 /* complete; safe to use */

/* Kinds of object.  The numbers are part of the layout and never change. */
#define MPS_KIND_LOCK 1
#define MPS_KIND_RLOCK 2
#define MPS_KIND_SEMAPHORE 3
#define MPS_KIND_BOUNDED_SEMAPHORE 4
#define MPS_KIND_CONDITION 5
#define MPS_KIND_EVENT 6
#define MPS_KIND_BARRIER 7
#define MPS_KIND_VALUE 8
#define MPS_KIND_ARRAY 9
#define MPS_KIND_QUEUE 10 /* a message queue; layout under "Queues" below */
#define MPS_KIND_ARENA 11 /* one segment holding many objects; see "Arenas" */
#define MPS_KIND_MAX 11

/* struct mps_header is the header as laid out in memory (see above). */
struct mps_header {
    uint32_t magic;
    uint32_t state;
    uint16_t version;
    uint16_t kind;
    uint32_t header_size;
    uint64_t count;
    uint64_t elem_size;
    uint64_t payload_offset;
    uint64_t payload_size;
    uint32_t format_offset;
    uint32_t format_len;
    uint32_t lock_offset;
    uint32_t flags;
};

/* struct mps_object_spec describes an object to lay out. */
struct mps_object_spec {
    uint16_t kind;        /* MPS_KIND_* */
    const char *format;   /* element format, printable ASCII, may be "" */
    uint64_t count;       /* elements in the payload */
    uint64_t elem_size;   /* bytes per element; 0 only if count is 0 */
    uint32_t elem_align;  /* payload alignment: 1..4096, a power of two;
                             0 means 8 */
    int with_lock;        /* nonzero: reserve an embedded lock area */
};

/* struct mps_object_info is what mps_header_validate found; every field is
 * checked against the mapping, and format is a private copy. */
struct mps_object_info {
    uint16_t kind;
    uint16_t version;
    uint32_t header_size;
    uint64_t count;
    uint64_t elem_size;
    uint64_t payload_offset;
    uint64_t payload_size;
    uint32_t lock_offset; /* 0: no lock area */
    char format[MPS_FORMAT_MAX + 1];
};

/* mps_object_size computes the bytes a segment needs to hold the object
 * spec describes.  Returns 0, or -EINVAL (a bad field; kind unknown,
 * format too long or not printable, elem_align not a power of two, elem_size
 * 0 with count > 0) or -EOVERFLOW (the size does not fit in 63 bits). */
int mps_object_size(const struct mps_object_spec *spec, uint64_t *size);

/* mps_header_init lays out the object spec describes at base, a mapping of
 * map_size bytes (at least mps_object_size bytes, zeroed), leaving it in
 * state MPS_STATE_INIT: the caller then initialises the payload and lock
 * area and calls mps_header_publish.  On success *info describes the
 * layout.  Returns 0, or the errors of mps_object_size, or -ENOSPC if
 * map_size is too small. */
int mps_header_init(void *base, size_t map_size,
                    const struct mps_object_spec *spec,
                    struct mps_object_info *info);

/* mps_header_publish marks the object at base ready (a release store of
 * MPS_STATE_READY), after which openers accept it.  Returns 0. */
int mps_header_publish(void *base);

/* mps_header_validate checks the object header at base, a mapping of
 * map_size bytes written by another process and therefore untrusted.  Each
 * field is read once; every offset and length is checked against map_size
 * with overflow-safe arithmetic.  On success *info holds the checked values.
 *
 * Returns 0, or:
 *   -EBADMSG          not an mpsync object, or a header that is corrupt
 *                     (bad magic, sizes out of range, overlapping regions,
 *                     format not printable ASCII)
 *   -EAGAIN           the object is not published yet (state not READY)
 *   -EPROTONOSUPPORT  a layout version or flags this library does not know
 *   -EINVAL           base is NULL or info is NULL */
int mps_header_validate(const void *base, size_t map_size,
                        struct mps_object_info *info);

/* mps_kind_name returns the name of a kind ("lock", "value", ...) or
 * "unknown". */
const char *mps_kind_name(int kind);

/* ------------------------------------------------------------------------
 * Objects
 *
 * An object is a segment that starts with the header above.  Creation
 * publishes atomically: the segment is built without a name and linked
 * under its name only when complete, so openers never see it half-made.
 * Random object names are "mps_" + a kind tag ("lock", "sem", "event", ...)
 * + "_" + 16 hex digits.
 * ------------------------------------------------------------------------ */

/* mps_object is an open object.  It is opaque; use the accessors. */
typedef struct mps_object mps_object;

/* mps_object_create creates an object laid out as spec says, under name
 * (NULL or "" for a random one), with a zeroed lock area and payload.  If
 * init is not NULL it is called with the object and arg before the object
 * gets its name; a nonzero (negative errno) result aborts the creation and
 * is returned.  Creation is exclusive.  The whole object is allocated in
 * /dev/shm (as by mps_shm_create_reserved) before anything is written to
 * it: a full /dev/shm is -ENOSPC, never SIGBUS, and leaves nothing behind.
 * An arena-qualified name, "arena/name" (or "arena/" for an anonymous
 * object), makes the object in that arena instead, as
 * mps_arena_object_create does (and returns its errors, and those of
 * mps_arena_open); so does every mps_*_create function of the family
 * below (since version 0.5).
 * Returns 0, or the errors of mps_object_size and mps_shm_create_reserved,
 * or -EEXIST, or init's result. */
int mps_object_create(const char *name, const struct mps_object_spec *spec,
                      int (*init)(mps_object *obj, void *arg), void *arg,
                      mps_object **out);

/* mps_object_open opens the object called name and validates its header
 * (see mps_header_validate).  If kind is not 0, an object of another kind is
 * refused with -EMEDIUMTYPE.
 * Returns 0, or the errors of mps_shm_open and mps_header_validate (an
 * object still being made by a creator that does not publish atomically is
 * waited for briefly, then -EAGAIN), or -EMEDIUMTYPE. */
int mps_object_open(const char *name, int kind, mps_object **out);

/* mps_object_info returns the validated layout; valid until close. */
const struct mps_object_info *mps_object_info(const mps_object *obj);

/* mps_object_name returns the name without a slash; valid until close. */
const char *mps_object_name(const mps_object *obj);

/* mps_object_format returns the element format (a typecode such as "i", or
 * a struct format such as "T{d:x:d:y:}"); valid until close. */
const char *mps_object_format(const mps_object *obj);

/* mps_object_count returns the number of payload elements. */
uint64_t mps_object_count(const mps_object *obj);

/* mps_object_elem_size returns the size of one payload element in bytes. */
uint64_t mps_object_elem_size(const mps_object *obj);

/* mps_object_payload returns the address of the payload. */
void *mps_object_payload(const mps_object *obj);

/* mps_object_lock returns the address of the lock area, or NULL if the
 * object has none.  Pass it to the mps_lock_* functions, except for a
 * Value or Array in an arena (a compact lock area, which the mps_value_*
 * functions lock themselves). */
void *mps_object_lock(const mps_object *obj);

/* mps_object_close unmaps the object and frees the handle (not the object:
 * unlink it with mps_object_unlink).  NULL is accepted.  Returns 0 or the
 * errno of munmap.  This closes every kind of object below but a
 * condition (mps_cond_close). */
int mps_object_close(mps_object *obj);

/* mps_object_unlink removes the object's name, as mps_shm_unlink does:
 * processes that have it open keep using it.  Call it once, in one
 * process.  Since version 0.3.  An object in an arena is freed instead
 * (since version 0.5; before, -EOPNOTSUPP), as mps_arena_free does: its
 * name goes at once and its block is reused by the next object of its
 * size class made in any process, so every handle to it, here or
 * elsewhere, must be closed before then (Go's Unlink of an arena object
 * is the same free).
 * Returns 0, or -EINVAL (obj is NULL), -ENOENT (already unlinked or
 * freed), -EACCES, and for an object in an arena the errors of
 * mps_arena_free. */
int mps_object_unlink(const mps_object *obj);

/* ------------------------------------------------------------------------
 * Arenas
 *
 * An arena is one segment holding many objects (Go: shm.NewArena,
 * semaphore.In, ctypes.In).  This library opens arenas (mps_arena_open,
 * below) and the objects in them: every mps_*_open function, and
 * mps_object_open, accepts an arena-qualified name "arena/name" or a
 * handle "arena/#<off>.<gen>"; mps_arena_create makes arenas,
 * mps_arena_object_create (or any mps_*_create given "arena/name") objects
 * in them, and mps_arena_free (or mps_object_unlink) frees them.  All
 * offsets are native-endian (little-endian) and every field is untrusted
 * input.
 *
 * The segment starts with the object header above, kind MPS_KIND_ARENA,
 * count = segment size - MPS_ARENA_CTL, elem_size 1, format "", whose lock
 * area (at 64) is the allocator's robust lock and whose payload starts at
 * MPS_ARENA_CTL (4096) with the control block (offsets from it; "abs" =
 * from the start of the segment):
 *
 *   off size field
 *     0   8  magic      MPS_ARENA_MAGIC (the bytes "MPSARENA")
 *     8   4  version    MPS_ARENA_VERSION
 *    12   4  classes    MPS_ARENA_CLASSES
 *    16   8  size       of the segment
 *    24   4  name_slots slots of the name table, a power of two
 *    28   4  type_slots entries of the type table (MPS_ARENA_TYPES)
 *    32   8  names_off  abs offset of the name table
 *    40   8  types_off  abs offset of the type table
 *    48   8  heap_start abs offset of the first block (page aligned)
 *    56   8  heap_end   the segment's size rounded down to 16
 *    64   8  bump       next never-used byte of the heap
 *    72   8  reserved   the heap is fallocated below this
 *    80   8  objects    live blocks
 *    88   8  used       bytes of live blocks
 *    96   4  names      live names
 *   100   4  types      type table entries in use
 *   104   4  recovered  lock takeovers from dead holders
 *   128  64  journal    (below)
 *   192 8*classes       free list heads (abs offsets; 0 empty)
 * types_off = MPS_ARENA_CTL + 2176 (192 + 8 * classes, rounded up to 64);
 * names_off = types_off + 272 * type_slots, rounded up to 64; heap_start =
 * names_off + 4 * name_slots, rounded up to 4096.
 *
 * Size classes: 16, 32, ..., 512 bytes (classes 0..31), then eight per
 * doubling: class 32 + 8k + j (j = 0..7) is 512 * 2^k * (1 + (j+1)/8), up
 * to 64 GiB.  Blocks are 16-byte aligned, carved at bump and, once freed,
 * kept on their class's free list; never split or merged.  A block:
 *
 *   off size field
 *     0   4  gen    generation, +1 on every allocation (never 0 when live)
 *     4   4  meta   state (bits 0-7: 0 unused, 1 free, 2 being made,
 *                   3 ready; written last, release), class (8-15), kind
 *                   (16-23, MPS_KIND_*), name length (24-31, 0 anonymous)
 *     8   4  count  payload elements      | free block: 8 bytes, abs
 *    12   2  type   type table index      | offset of the next free one
 *    14   2  flags  bit 0: lock area; bit 1: compact lock area
 *    16      name   (no NUL), padded to 8 bytes
 *            lock   64 bytes (MPS_LOCK_AREA_SIZE), or 16 if compact: the
 *                   lock word (8), then one recursion word (8): the
 *                   recursive owner's token in its low 48 bits (a thread
 *                   or goroutine token of the owning process; thread
 *                   tokens are user-space addresses, below 2^47), the
 *                   count in its high 16 (at most 65535 holds: one more
 *                   is -EAGAIN); no times.  Values and arrays use the
 *                   compact one, every other kind the full one.  The
 *                   mps_lock_* functions write the times (offsets 24 and
 *                   32) and the mps_rlock_* ones count at 12 and own at
 *                   16, so they must not be given a compact area: a C
 *                   implementation keeps the times in process memory, as
 *                   Go does.
 *            payload, aligned to the type's alignment (at most 16).
 * A type entry (272 bytes): elem_size (8), align (4), format length (4),
 * format (256, NUL padded).  Entries are appended, never changed.
 * Name table: 4-byte slots, open addressing with linear probing from the
 * 64-bit FNV-1a hash of the name (slot = hash & (name_slots - 1)): 0 empty,
 * 1 deleted, else the block's abs offset / 16 in the low S bits and the
 * name's tag above them, where S = the bit length of (heap_end - 1) / 16
 * (22 at 64 MiB; 32, no tag, for the largest arena, 64 GiB) and the tag
 * is the hash's high 32 bits shifted left by S (the bits that fit in 32).
 * A lookup compares the name of a slot's block only when the slot's tag
 * is the name's.  Full at 3/4 of the slots.  (Version 2 had no tags.)
 * Names are 1..251 bytes, without '/' or NUL, not starting with '#'.
 *
 * Names outside: "arena/name" opens a named object; an anonymous one has
 * the handle "arena/#<abs offset>.<gen>" (lower-case hex), valid while
 * the block is ready with that generation.
 *
 * Every change is made holding the robust lock and announced in the
 * journal (at control block offset 128) before its first write:
 *     0 op (4: 0 none, 1 alloc, 2 free), 4 class (4), 8 off (8), 16 prev
 *     (8: alloc, the free head or bump before; free, the head before), 24
 *     next (8: the popped block's next), 32 slot + 1 (4; 0 none), 36 the
 *     slot's old value (4), 40 objects (8), 48 used (8), 56 names (4), 60
 *     from bump (4).
 * A holder that takes the lock with -EOWNERDEAD, or finds op != 0, first
 * undoes an alloc (restore the slot, names, bump or free head, counters;
 * zero the block but its gen; free blocks keep their class and next) or
 * finishes a free (slot deleted, block free with next = prev, head = off,
 * counters), then clears op and marks the lock consistent.  Steps take
 * their values from the journal, so a replay cut short is replayed again.
 * ------------------------------------------------------------------------ */

#define MPS_ARENA_CTL 4096
#define MPS_ARENA_MAGIC 0x414e45524153504dull /* the bytes "MPSARENA" */
#define MPS_ARENA_VERSION 4 /* 3: tagged name slots; 4: lock words as in MPS_LAYOUT_VERSION 5 */
#define MPS_ARENA_CLASSES 248
#define MPS_ARENA_TYPES 256
#define MPS_ARENA_BLOCK_HEADER 16
#define MPS_ARENA_COMPACT_LOCK 16
#define MPS_ARENA_NAME_MAX 251

/* mps_arena is an arena mapped in this process.  It is opaque. */
typedef struct mps_arena mps_arena;

/* mps_arena_open maps the arena called name, or counts one more user of
 * this process's mapping of it (every object opened in an arena is one
 * too): one mapping per arena and process.  Returns 0, or the errors of
 * mps_shm_open, -EMEDIUMTYPE (not an arena), -EBADMSG (a corrupt control
 * block), -EPROTONOSUPPORT (another MPS_ARENA_VERSION), -EINVAL, -ENOMEM.
 * Since version 0.4. */
int mps_arena_open(const char *name, mps_arena **out);

/* mps_arena_create creates an arena of size bytes (fixed: it never
 * grows; all of it is allocated in /dev/shm at once, so a full /dev/shm is
 * -ENOSPC now, never SIGBUS later) with a name table for max_names names
 * (at least 64 slots), named name (NULL or "": a random "mps_arena_"
 * name), and maps it as mps_arena_open does.  Returns 0, -EINVAL (size
 * below the tables and a page of heap, or above 64 GiB), or the errors
 * of mps_object_create.  Since version 0.4. */
int mps_arena_create(const char *name, uint64_t size, uint32_t max_names, mps_arena **out);

/* mps_arena_close drops one user; the last one unmaps the arena.  NULL is
 * accepted.  Returns 0 or the errno of munmap.  Since version 0.4. */
int mps_arena_close(mps_arena *arena);

/* mps_arena_unlink removes the arena's name (as mps_shm_unlink does):
 * later opens in this process map whatever then has the name.  Returns
 * 0 or the errors of mps_shm_unlink.  Since version 0.4. */
int mps_arena_unlink(const char *name);

/* mps_arena_name returns the arena's name (no leading '/'); valid until
 * close.  Since version 0.4. */
const char *mps_arena_name(const mps_arena *arena);

/* struct mps_arena_stats is a snapshot of an arena's control block. */
struct mps_arena_stats {
    uint64_t size;       /* of the segment */
    uint64_t heap;       /* bytes of heap */
    uint64_t bump;       /* bytes of heap ever carved into blocks */
    uint64_t objects;    /* live objects */
    uint64_t used;       /* bytes of their blocks */
    uint32_t names;      /* live names */
    uint32_t name_slots; /* slots of the name table (full at 3/4) */
    uint32_t types;      /* type table entries in use */
    uint32_t recovered;  /* allocator lock takeovers from dead holders */
};

/* mps_arena_object_create makes an object as spec says (see
 * mps_object_create) in the arena: a block taken under the allocator's
 * robust lock and journaled, so that a creator killed at any instant
 * leaves the arena consistent.  name NULL or "" makes an anonymous object,
 * whose mps_object_name is its handle "arena/#<off>.<gen>"; otherwise the
 * name is "arena/name".  init (if not NULL) fills the lock area and
 * payload before the object can be opened.  Values and Arrays get the
 * compact lock area (lock it with mps_value_acquire), every other kind the
 * full one.  The object keeps the arena mapped until closed.  Returns 0,
 * -EEXIST (the name is taken), -ENOSPC (the arena, its name table or its
 * type table is full), -EINVAL (a bad spec or name: an arena aligns to at
 * most 16 bytes and holds up to 2^32-1 elements), -ENAMETOOLONG,
 * -EBADMSG (a corrupt arena), -ENOMEM, or init's error.  Since version
 * 0.4. */
int mps_arena_object_create(mps_arena *arena, const char *name, const struct mps_object_spec *spec,
                            int (*init)(mps_object *obj, void *arg), void *arg, mps_object **out);

/* mps_arena_free frees the object called object in the arena: a name, or
 * an anonymous object's handle "#<off>.<gen>" (without the arena's name).
 * Under the allocator's robust lock and announced in the journal first
 * (op 2, free), as Go's free is, so that a process killed at any instant
 * leaves the arena consistent (the next holder finishes the free): the
 * name is deleted from the name table (a deletion mark, emptied when the
 * slot after it is empty), the block's state becomes free (its generation
 * is kept, so stale handles fail; the next allocation bumps it) and it
 * goes first on its size class's free list, for the next object of that
 * class from any process, C or Go.  Handles to the object still open
 * anywhere must not be used afterwards.  Returns 0, -EINVAL (arena or
 * object NULL, or object not a valid name or handle), -ENOENT (no such
 * object, or freed already), -EBADMSG (a corrupt arena), -ENOTRECOVERABLE
 * (the allocator's lock is unusable), or, the first time the process
 * takes a lock, the error of making its identity (-ENOSPC: /dev/shm is
 * full).  Since version 0.5. */
int mps_arena_free(mps_arena *arena, const char *object);

/* mps_arena_stats fills *stats, read without the lock (the counts may be
 * mid-change).  Returns 0 or -EINVAL.  Since version 0.4. */
int mps_arena_stats(const mps_arena *arena, struct mps_arena_stats *stats);

/* ------------------------------------------------------------------------
 * Process identity and the registry
 *
 * A process's identity is a random 64-bit word with bits 30 and 31 clear
 * (MPS_ID_MASK), whose low 30 bits are neither 0 nor all ones.  It names
 * the process's registry, /dev/shm/mps-reg-<identity as 16 lower-case hex
 * digits>, a file of MPS_REG_SIZE bytes (sparse; pages are allocated
 * before they are written) mode 0600.  The process holds an
 * open-file-description write lock (fcntl F_OFD_SETLK) on byte
 * MPS_REG_ALIVE_BYTE for its whole life: the kernel drops it the instant
 * the process dies, and anyone who shares /dev/shm tests it with
 * F_OFD_GETLK.  The file is made with O_TMPFILE, locked and filled in,
 * and only then linked under its name, so it is never seen unlocked while
 * its owner lives.  A registry whose lock is free belongs to a dead
 * process, whatever its contents.
 *
 * Header (MPS_REG_HEADER_SIZE bytes):
 *   off size field
 *     0   8  magic    MPS_REG_MAGIC
 *     8   8  id       the identity
 *    16   4  high     one past the highest slot ever used
 *    20   4  pid      in the owner's pid namespace (for display only)
 *    24   8  pidns    inode of the owner's /proc/self/ns/pid, 0 unknown
 *    32   8  started  CLOCK_REALTIME ns when the identity was made
 * Slots (MPS_REG_SLOTS of MPS_REG_SLOT_SIZE bytes after the header; slot
 * 0 unused), one per name the process created or opened:
 *     0   4  state    1 used, 0 free; written last with a release store
 *     4   4  reserved
 *     8   8  ino      the file's inode when registered
 *    16 256  name     the /dev/shm entry, NUL-terminated
 *
 * The tracker publishes itself as /dev/shm/mps-trk-<16 hex digits>, a
 * file it holds the same liveness lock on, and listens on the abstract
 * Unix socket of the same name; clients accept it only if it is theirs
 * (the file's owner and SO_PEERCRED), connect, and send their identity
 * (8 bytes).  Their connection ending tells the tracker they died.
 * ------------------------------------------------------------------------ */

#define MPS_ID_MASK 0xffffffff3fffffffull
#define MPS_REG_PREFIX "mps-reg-"
#define MPS_TRK_PREFIX "mps-trk-"
#define MPS_REAP_PREFIX "mps-reap-" /* a name the tracker is reaping */
#define MPS_REG_MAGIC "MPSREG2" /* with its NUL, 8 bytes */
#define MPS_REG_ALIVE_BYTE 0
#define MPS_REG_HEADER_SIZE 4096
#define MPS_REG_OFF_ID 8
#define MPS_REG_OFF_HIGH 16
#define MPS_REG_OFF_PID 20
#define MPS_REG_OFF_PIDNS 24
#define MPS_REG_OFF_STARTED 32
#define MPS_REG_SLOT_SIZE 272
#define MPS_REG_SLOT_OFF_INO 8
#define MPS_REG_SLOT_OFF_NAME 16
#define MPS_REG_NAME_MAX 256 /* with the NUL */
#define MPS_REG_SLOTS 65536
#define MPS_REG_SIZE ((size_t)MPS_REG_HEADER_SIZE + (size_t)MPS_REG_SLOT_SIZE * MPS_REG_SLOTS)

/* ------------------------------------------------------------------------
 * Robust process-shared locks
 *
 * The lock area (MPS_LOCK_AREA_SIZE bytes at an object's lock_offset):
 *
 *   off size field
 *     0   8  word   one 64-bit word: the owner's identity (see
 *                   "Process identity"), with
 *                     bit   30   the owner died; not yet marked consistent
 *                     bit   31   waiters: someone may sleep on the futex
 *                   The lock is free when the identity part (MPS_ID_MASK)
 *                   is 0: the word is 0, or the waiters bit alone (left
 *                   by a release racing a new waiter, see below); an
 *                   acquirer keeps the waiters bit.  The low 32 bits are
 *                   the futex word (shared, not FUTEX_PRIVATE).
 *                   MPS_LOCK_NOTRECOVERABLE marks a lock that can never be
 *                   used again.
 *    12   4  count  recursion count (recursive locks only)
 *    16   8  owner  recursion owner token (a thread or goroutine), 0 if none
 *    24   8  since  when the holder took the lock (CLOCK_REALTIME ns), 0 if
 *                   unknown: stamped only on contended acquisitions and
 *                   takeovers, cleared by their (slow-path) release
 *    32   8  wait   when the earliest waiter still sleeping began, 0 if none
 *    40  24  reserved, 0
 *
 * The owner of a lock is a process, never a thread: any thread of the
 * owning process may release it.  Acquiring a free lock is one
 * compare-and-swap (0 to the identity).  Releasing one whose word is the
 * identity alone is one atomic subtraction of the identity, which cannot
 * fail (cheaper than a compare-and-swap): the word becomes 0, or, if a
 * waiter set the waiters bit between the releaser's look and its
 * subtraction, the waiters bit alone, and the releaser wakes one sleeper.
 * Every other change of the word is a compare-and-swap: only the waiters
 * bit may be set in a live owner's word by anyone else.  A waiter sleeps
 * on the futex in slices and checks, on each timeout, that the owner is
 * alive (its registry's liveness lock is held); if the owner died it
 * takes the lock over and gets -EOWNERDEAD: the lock is then held, its
 * state must be repaired and mps_lock_consistent called, or the next
 * release makes the lock unrecoverable (-ENOTRECOVERABLE for everyone).
 * Go (package semaphore) implements the same algorithm; both contend on
 * one lock.
 * ------------------------------------------------------------------------ */

#define MPS_LOCK_NOTRECOVERABLE 0x3fffffffu /* the whole word */

/* mps_lock_acquire acquires the lock in the lock area lock.
 * timeout_ns < 0 waits forever, 0 only tries, > 0 waits at most that long.
 * Returns 0 (held), -EOWNERDEAD (held; the previous owner died),
 * -ENOTRECOVERABLE, -EBUSY (timeout_ns == 0 and the lock is taken),
 * -ETIMEDOUT, -EINVAL (lock is NULL or misaligned), or, the first time a
 * process locks, the error of making its identity (-ENOSPC: /dev/shm is
 * full). */
int mps_lock_acquire(void *lock, int64_t timeout_ns);

/* mps_lock_release releases the lock, which this process must hold.
 * Returns 0, -EPERM (this process does not hold it), or -ENOTRECOVERABLE
 * (it was taken with -EOWNERDEAD and not marked consistent: it is released
 * and unusable from now on). */
int mps_lock_release(void *lock);

/* mps__identity_word returns the address of the word that holds this
 * process's identity, 0 until the library makes it (and again in a child
 * made by fork, until it needs one): for the inline fast paths below, not
 * for other use.  Since version 0.6. */
const uint64_t *mps__identity_word(void);

/* mps__lock_wake wakes one waiter of the lock area lock, after the inline
 * release below left the waiters bit alone in its word: for that fast
 * path, not for other use.  Since version 0.9. */
void mps__lock_wake(void *lock);

/* Unless MPS_NO_INLINE is defined, mps_lock_acquire and mps_lock_release
 * are macros for inline functions that take a free lock (one
 * compare-and-swap, 0 to the identity) and release one nobody waits for
 * (one atomic subtraction, see "Robust process-shared locks") in the
 * caller, and otherwise call the library's functions: an uncontended lock
 * then costs no call into the shared library.  Taking their address, or
 * (mps_lock_acquire)(...), gets the library's functions, which behave the
 * same.  Since version 0.6; the release subtracts since version 0.9. */
#if defined(__GNUC__) && !defined(MPS_NO_INLINE)
static inline uint64_t mps__identity_inline(void)
{
    static const uint64_t *word; /* one per translation unit */
    const uint64_t *w = __atomic_load_n(&word, __ATOMIC_RELAXED);
    if (w == NULL) {
        w = mps__identity_word();
        __atomic_store_n(&word, w, __ATOMIC_RELAXED);
    }
    return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

static inline int mps__lock_acquire_inline(void *lock, int64_t timeout_ns)
{
    uint64_t self = mps__identity_inline(), free_word = 0;
    if (self != 0 && lock != NULL && (uintptr_t)lock % 8 == 0 &&
        __atomic_compare_exchange_n((uint64_t *)lock, &free_word, self, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return 0;
    return (mps_lock_acquire)(lock, timeout_ns);
}

static inline int mps__lock_release_inline(void *lock)
{
    uint64_t held = mps__identity_inline();
    if (held != 0 && lock != NULL && __atomic_load_n((uint64_t *)lock, __ATOMIC_RELAXED) == held) {
        if (__atomic_fetch_sub((uint64_t *)lock, held, __ATOMIC_SEQ_CST) != held)
            mps__lock_wake(lock);
        return 0;
    }
    return (mps_lock_release)(lock);
}

#define mps_lock_acquire(lock, timeout_ns) mps__lock_acquire_inline(lock, timeout_ns)
#define mps_lock_release(lock) mps__lock_release_inline(lock)
#endif

/* mps_lock_consistent marks the state protected by a lock taken with
 * -EOWNERDEAD repaired.  Returns 0 or -EPERM. */
int mps_lock_consistent(void *lock);

/* mps_lock_create creates an unlocked Lock (an object of kind
 * MPS_KIND_LOCK with a lock area), under name (NULL or "" for a random
 * "mps_lock_" name), as Go's semaphore.NewLock does; mps_lock_open opens
 * one by name, made in any language.  Use the lock through
 * mps_object_lock(obj); close with mps_object_close, unlink with
 * mps_object_unlink.  Since version 0.3.
 * Returns 0, or the errors of mps_object_create / mps_object_open, or
 * -EMEDIUMTYPE (name is another kind of object), -EBADMSG (no lock area). */
int mps_lock_create(const char *name, mps_object **out);
int mps_lock_open(const char *name, mps_object **out);

/* mps_lock_owner returns the pid of the lock's holder as its registry
 * records it (in the holder's pid namespace, which may not be the
 * caller's), or 0 if the lock is free, unrecoverable, or its holder's
 * registry is gone.  For display: the answer may be stale at once. */
int mps_lock_owner(const void *lock);

/* ------------------------------------------------------------------------
 * Recursive locks (RLock)
 *
 * An RLock (MPS_KIND_RLOCK) is the robust lock above, with the count and
 * owner fields of its lock area in use: the thread that holds it may
 * acquire it again and must release it as many times; other threads, of
 * this process or another, wait.  In C the owner is the calling thread
 * (in Go, the goroutine).  Owner death is as for the lock: -EOWNERDEAD
 * with the lock held (count 1), then mps_lock_consistent.  The embedded
 * lock of a Value or Array is used the same way (mps_object_lock), which
 * is what lets mps_value_load and mps_value_store of large elements run
 * inside it.  Since version 0.3.
 * ------------------------------------------------------------------------ */

/* mps_rlock_create and mps_rlock_open are mps_lock_create and
 * mps_lock_open for an RLock ("mps_rlock_" names). */
int mps_rlock_create(const char *name, mps_object **out);
int mps_rlock_open(const char *name, mps_object **out);

/* mps_rlock_acquire acquires the recursive lock in the lock area lock for
 * the calling thread, or counts one more acquisition if it holds it
 * already.  timeout_ns as for mps_lock_acquire.
 * Returns 0, or what mps_lock_acquire returns (-EOWNERDEAD: held, count
 * 1; -EBUSY, -ETIMEDOUT, -ENOTRECOVERABLE, -EINVAL), or -EAGAIN (the
 * count would overflow). */
int mps_rlock_acquire(void *lock, int64_t timeout_ns);

/* mps_rlock_release undoes one mps_rlock_acquire of the calling thread;
 * the lock is free once the count reaches zero.
 * Returns 0, -EPERM (the calling thread does not hold it), -EINVAL, or
 * -ENOTRECOVERABLE (see mps_lock_release). */
int mps_rlock_release(void *lock);

/* mps_rlock_count stores in *count how many times the calling thread holds
 * the lock (0: it does not).  Returns 0 or -EINVAL. */
int mps_rlock_count(const void *lock, uint32_t *count);

/* ------------------------------------------------------------------------
 * Semaphores
 *
 * A Semaphore (MPS_KIND_SEMAPHORE) or BoundedSemaphore
 * (MPS_KIND_BOUNDED_SEMAPHORE) has a payload of MPS_SEM_PAYLOAD bytes:
 *
 *   off size field
 *     0  32  a glibc sem_t (64-bit glibc >= 2.21): one 64-bit word whose
 *            low half is the value (and the futex word, shared) and whose
 *            high half counts the sleeping waiters; at offset 8 the int32
 *            MPS_SEM_SHARED; the rest 0
 *    32   4  max   the value a release may not exceed: MPS_SEM_VALUE_MAX,
 *                  or a BoundedSemaphore's initial value (may be 0)
 *    36   4  reserved, 0
 *
 * Acquiring takes one unit with a compare-and-swap, after a short spin a
 * waiter adds itself to the high half and sleeps on the value in slices;
 * releasing adds one unit and wakes one sleeper if the high half is not
 * 0.  The sem_t can also be used with sem_wait and sem_post.  A
 * semaphore has no owner: a process that dies after acquiring simply
 * never releases, as with POSIX semaphores.  Close with mps_object_close,
 * unlink with mps_object_unlink.  Since version 0.3.
 * ------------------------------------------------------------------------ */

#define MPS_SEM_PAYLOAD 40
#define MPS_SEM_OFF_PRIVATE 8
#define MPS_SEM_OFF_MAX 32
#define MPS_SEM_SHARED 128 /* glibc's value for a process-shared sem_t */
#define MPS_SEM_VALUE_MAX 0x7fffffff /* SEM_VALUE_MAX */

/* mps_sem_create creates a semaphore with initial value value (at most
 * MPS_SEM_VALUE_MAX) that may be released up to MPS_SEM_VALUE_MAX;
 * mps_bsem_create a BoundedSemaphore that refuses a release above value
 * (a value of 0 is allowed, as in Python: it can never be acquired).
 * Random names start "mps_sem_" and "mps_bsem_".
 * Returns 0, or -EINVAL (value too large), or the errors of
 * mps_object_create. */
int mps_sem_create(const char *name, unsigned int value, mps_object **out);
int mps_bsem_create(const char *name, unsigned int value, mps_object **out);

/* mps_sem_open opens a Semaphore or BoundedSemaphore by name.
 * Returns 0, or the errors of mps_object_open, -EMEDIUMTYPE (another
 * kind), -EBADMSG (payload too small, or a maximum out of range). */
int mps_sem_open(const char *name, mps_object **out);

/* mps_sem_acquire takes one unit, waiting while the value is 0:
 * timeout_ns < 0 waits forever, 0 only tries, > 0 waits at most that
 * long.  Returns 0, -EAGAIN (timeout_ns == 0 and the value is 0),
 * -ETIMEDOUT, -EINVAL (sem is NULL), -EMEDIUMTYPE (not a semaphore). */
int mps_sem_acquire(mps_object *sem, int64_t timeout_ns);

/* mps_sem_try is mps_sem_acquire(sem, 0). */
int mps_sem_try(mps_object *sem);

/* mps_sem_release returns one unit, waking a waiter.  Returns 0,
 * -EOVERFLOW (the value is already at its maximum: nothing changes),
 * -EINVAL, -EMEDIUMTYPE. */
int mps_sem_release(mps_object *sem);

/* mps_sem_value stores the current value in *value (stale at once);
 * mps_sem_max the maximum.  Return 0, -EINVAL, -EMEDIUMTYPE. */
int mps_sem_value(const mps_object *sem, unsigned int *value);
int mps_sem_max(const mps_object *sem, unsigned int *max);

/* ------------------------------------------------------------------------
 * Events
 *
 * An Event (MPS_KIND_EVENT) has a payload of MPS_EVENT_PAYLOAD bytes:
 *
 *   off size field
 *     0   4  flag      0 down, 1 raised; the futex word (shared)
 *     4   4  sleepers  processes that may sleep on the flag
 *
 * Set swaps the flag to 1 and, if it was 0 and someone may sleep, wakes
 * every sleeper; a waiter spins briefly, then counts itself in sleepers
 * and sleeps on the flag in slices.  Close with mps_object_close, unlink
 * with mps_object_unlink.  Since version 0.3.
 * ------------------------------------------------------------------------ */

#define MPS_EVENT_PAYLOAD 8
#define MPS_EVENT_OFF_SLEEPERS 4

/* mps_event_create creates an event whose flag is down ("mps_event_"
 * names); mps_event_open opens one.  Errors as for mps_sem_create and
 * mps_sem_open. */
int mps_event_create(const char *name, mps_object **out);
int mps_event_open(const char *name, mps_object **out);

/* mps_event_set raises the flag and wakes every waiter, in every process;
 * mps_event_clear lowers it.  Return 0, -EINVAL, -EMEDIUMTYPE. */
int mps_event_set(mps_object *event);
int mps_event_clear(mps_object *event);

/* mps_event_is_set stores 1 in *set if the flag is raised, else 0.
 * Returns 0, -EINVAL, -EMEDIUMTYPE. */
int mps_event_is_set(const mps_object *event, int *set);

/* mps_event_wait waits until the flag is raised (at once if it is);
 * timeout_ns as for mps_sem_acquire.  Returns 0 (raised), -ETIMEDOUT
 * (also for timeout_ns == 0 and the flag down), -EINVAL, -EMEDIUMTYPE. */
int mps_event_wait(mps_object *event, int64_t timeout_ns);

/* ------------------------------------------------------------------------
 * Conditions
 *
 * A Condition (MPS_KIND_CONDITION) names its lock, a Lock or an RLock,
 * and keeps four counters (no table of waiters: any number may wait); a
 * payload of MPS_COND_PAYLOAD bytes:
 *
 *   off size field
 *     0   4  kind       of the lock: MPS_KIND_LOCK or MPS_KIND_RLOCK
 *     4   4  format     MPS_COND_FORMAT (an earlier layout's table of
 *                       128 waiter slots had 128 here: -EPROTONOSUPPORT)
 *     8   4  seq        bumped by every notification; the futex waiters
 *                       sleep on (shared)
 *    12   4  flags      MPS_COND_IMPLICIT_LOCK: the lock was made for the
 *                       condition (unlinked with it)
 *    16 256  lock name  NUL-terminated
 *   272   4  next       the next ticket
 *   276   4  bound      next at the latest notification: tickets older
 *                       than this may take tokens
 *   280   4  waiting    waiters neither notified nor gone (the dead too)
 *   284   4  tokens     notifications not yet taken
 *
 * Under the lock a waiter takes ticket next++ and counts itself in
 * waiting, then releases the lock (every recursion of an RLock) and, in
 * slices, reads seq, tries to take a token (a compare-and-swap on tokens,
 * without the lock, only while bound is after its ticket: a waiter that
 * came after the latest notification never takes its tokens) and sleeps on
 * seq; it takes the lock back (with the same recursion count), has a last
 * try at a token, and if it has none uncounts itself from waiting.
 * Notify(n) under the lock moves k = min(n, waiting) from waiting to
 * tokens, sets bound to next, bumps seq and wakes k sleepers.  A waiter
 * that died is never told apart: it stays in waiting until a notification
 * counts it, and the token it then adds is taken by a live waiter (at most
 * one spurious wake-up later), so no notification is lost to it.  A count
 * above MPS_COND_COUNT_MAX is garbage.  Since version 0.3.
 * ------------------------------------------------------------------------ */

#define MPS_COND_PAYLOAD 288
#define MPS_COND_OFF_KIND 0
#define MPS_COND_OFF_FORMAT 4
#define MPS_COND_OFF_SEQ 8
#define MPS_COND_OFF_FLAGS 12
#define MPS_COND_OFF_LOCK_NAME 16
#define MPS_COND_LOCK_NAME_SIZE 256
#define MPS_COND_OFF_NEXT 272
#define MPS_COND_OFF_BOUND 276
#define MPS_COND_OFF_WAITING 280
#define MPS_COND_OFF_TOKENS 284
#define MPS_COND_FORMAT 2
#define MPS_COND_IMPLICIT_LOCK 1
#define MPS_COND_COUNT_MAX 0x7fffffff

/* mps_cond is an open condition with its lock.  It is opaque. */
typedef struct mps_cond mps_cond;

/* mps_cond_create creates a condition on lock, an open Lock or RLock
 * object that other processes can open too and that must stay open while
 * the condition is (the condition does not close it).  A NULL lock makes
 * a new RLock for the condition, as in Python, which mps_cond_close
 * closes and mps_cond_unlink unlinks; made in an arena ("arena/name"),
 * that RLock is an anonymous object of the same arena, as Go makes it.
 * Random names start "mps_cond_".
 * Returns 0, or -EINVAL (out is NULL, or lock is not a Lock or RLock),
 * or the errors of mps_object_create. */
int mps_cond_create(const char *name, mps_object *lock, mps_cond **out);

/* mps_cond_open opens the condition called name, and its lock.
 * Returns 0, or the errors of mps_object_open and mps_lock_open, or
 * -EMEDIUMTYPE, or -EBADMSG (a corrupt payload). */
int mps_cond_open(const char *name, mps_cond **out);

/* mps_cond_name returns the condition's name; valid until close. */
const char *mps_cond_name(const mps_cond *cond);

/* mps_cond_lock returns the condition's lock object; valid until close. */
mps_object *mps_cond_lock(const mps_cond *cond);

/* mps_cond_acquire and mps_cond_release take and release the condition's
 * lock: mps_lock_* for a Lock, mps_rlock_* for an RLock; results are
 * theirs. */
int mps_cond_acquire(mps_cond *cond, int64_t timeout_ns);
int mps_cond_release(mps_cond *cond);

/* mps_cond_wait releases the lock, waits until notified or timeout_ns
 * ends (as for mps_sem_acquire; 0 does not wait), and takes the lock back
 * before it returns, always.  The caller must hold the lock (for an RLock,
 * the calling thread).  A notification only says that the state may have
 * changed: wait in a loop that re-checks it, or use mps_cond_wait_for.
 * Any number of threads, in any number of processes, may wait at once.
 * Returns 0 (notified), -ETIMEDOUT, -EPERM (the lock is not held),
 * -EOWNERDEAD (a holder of the lock died while this one waited: the lock
 * is held, repair and call mps_lock_consistent), -ENOTRECOVERABLE (the
 * lock is unusable; not held), -EBADMSG (another process wrote garbage
 * into the counters, now reset to zero; the lock is held), -EINVAL. */
int mps_cond_wait(mps_cond *cond, int64_t timeout_ns);

/* mps_cond_wait_for waits, as mps_cond_wait does, until pred(arg) returns
 * nonzero, checking it first and after every wake-up, with the lock held;
 * timeout_ns bounds the whole wait.  Returns 0 (pred is true), -ETIMEDOUT
 * (pred still false at the end), or mps_cond_wait's other errors (after
 * -EOWNERDEAD the lock is held; pred was not called again). */
int mps_cond_wait_for(mps_cond *cond, int (*pred)(void *arg), void *arg, int64_t timeout_ns);

/* mps_cond_notify wakes up to n of the threads waiting when it is called
 * (not necessarily the oldest), in any process; waiters that died are not
 * counted.  mps_cond_notify_all wakes every waiter.  The woken return once
 * they can take the lock back.  The caller must hold the lock.  Return 0,
 * -EPERM, -EINVAL, -EBADMSG (garbage in the counters, now reset to zero:
 * threads still sleeping wake on a later notification). */
int mps_cond_notify(mps_cond *cond, unsigned int n);
int mps_cond_notify_all(mps_cond *cond);

/* mps_cond_close closes the condition, and its lock if the condition
 * opened or made it, and frees the handle.  NULL is accepted.  Returns 0
 * or the errno of munmap. */
int mps_cond_close(mps_cond *cond);

/* mps_cond_unlink removes the condition's name, and its lock's if the lock
 * was made for it (a NULL lock at creation, in any language).  Returns 0
 * or the errors of mps_object_unlink. */
int mps_cond_unlink(const mps_cond *cond);

/* ------------------------------------------------------------------------
 * Barriers
 *
 * A Barrier (MPS_KIND_BARRIER) has a lock area guarding a payload of
 * MPS_BARRIER_OFF_WAITERS + 8 * parties bytes:
 *
 *   off size field
 *     0   4  parties   1..MPS_BARRIER_PARTIES_MAX, for display: the
 *                      payload's size is what says it (a reset rewrites
 *                      this word)
 *     4   4  broken    1 once broken, until a reset
 *     8   4  count     parties waiting in this generation
 *    12   4  gen       the generation; the futex waiters sleep on (shared)
 *    16   4  last_broken the last generation that a break or a reset
 *                      ended (starts at 0xffffffff: none)
 *    20   4  sleepers  processes that may sleep on gen
 *    24   8  ok_bits   bit g % 64 set: generation g completed (for the 64
 *                      generations before the current one)
 *    32 8*parties      the identity of each waiting party, by arrival
 *
 * Under the lock a party records its identity, then counts itself in
 * (waiters read the count, then the identities below it); the last to
 * arrive runs the
 * action, sets its generation's bit in ok_bits, zeroes the count and moves
 * gen on, waking everyone; the others sleep on gen in slices, checking
 * that the waiting parties live.  Breaking (and resetting) clears the
 * generation's bit, records it in last_broken, zeroes the count and moves
 * gen on.  A party whose generation moved on reads how it ended from its
 * bit while gen is at most 64 past it; further behind, its generation
 * completed if it is after last_broken, and is reported broken otherwise
 * (a party stopped for 64 rounds that also saw a break cannot know).  A
 * holder of the lock that died breaks the barrier: the next to lock it,
 * or a waiter that finds the holder dead when a slice ends.
 * Close with mps_object_close, unlink with mps_object_unlink.  Since
 * version 0.3.
 * ------------------------------------------------------------------------ */

#define MPS_BARRIER_OFF_PARTIES 0
#define MPS_BARRIER_OFF_BROKEN 4
#define MPS_BARRIER_OFF_COUNT 8
#define MPS_BARRIER_OFF_GEN 12
#define MPS_BARRIER_OFF_LAST_BROKEN 16
#define MPS_BARRIER_OFF_SLEEPERS 20
#define MPS_BARRIER_OFF_OK_BITS 24
#define MPS_BARRIER_OFF_WAITERS 32
#define MPS_BARRIER_PARTIES_MAX 65536

/* mps_barrier_create creates a barrier for parties parties ("mps_barrier_"
 * names); mps_barrier_open opens one.  Errors as for mps_sem_create
 * (-EINVAL: parties out of range) and mps_sem_open. */
int mps_barrier_create(const char *name, unsigned int parties, mps_object **out);
int mps_barrier_open(const char *name, mps_object **out);

/* mps_barrier_wait waits until every party has called it, and stores this
 * party's arrival index, 0 for the first to parties - 1 for the last, in
 * *index (if not NULL).  The last party to arrive runs action(arg), if
 * action is not NULL, before anyone is released (each party passes its
 * own; the last one's runs).  timeout_ns: < 0 forever, > 0 at most that
 * long, 0 not at all (only the last party passes).  The timeout bounds
 * the wait for the internal lock too (0: no bound, as the last party
 * waits for no one).
 * A barrier breaks - its waiters, and every later wait until
 * mps_barrier_reset, get -EPIPE - on mps_barrier_abort (and reset, for the
 * parties waiting then), on a party's timeout, when the action fails, and
 * when a waiting party's process dies or a process dies holding the
 * internal lock.
 * Returns 0; -EPIPE (broken); -ETIMEDOUT (this party's timeout ended: the
 * barrier is broken for the others; or it ended before this party got the
 * internal lock, which another process held: it did not arrive, and the
 * barrier is left as it was); the action's nonzero result, which
 * should be a negative errno (a positive one becomes -ECANCELED: the
 * barrier is broken); -EBADMSG (another process corrupted the arrival
 * count: the barrier is broken, reset repairs it); -ENOTRECOVERABLE (the
 * internal lock is unusable: the barrier can never work again); -EINVAL,
 * -EMEDIUMTYPE. */
int mps_barrier_wait(mps_object *barrier, int64_t timeout_ns, int (*action)(void *arg), void *arg,
                     unsigned int *index);

/* mps_barrier_abort breaks the barrier.  mps_barrier_reset returns it to
 * its first state; parties waiting get -EPIPE.  Return 0,
 * -ENOTRECOVERABLE, -EINVAL, -EMEDIUMTYPE, -EBADMSG. */
int mps_barrier_abort(mps_object *barrier);
int mps_barrier_reset(mps_object *barrier);

/* mps_barrier_parties stores the number of parties, mps_barrier_n_waiting
 * the number waiting now (at most parties), mps_barrier_broken 1 if the
 * barrier is broken (else 0).  Return 0, -EINVAL, -EMEDIUMTYPE, -EBADMSG
 * (parties corrupt). */
int mps_barrier_parties(const mps_object *barrier, unsigned int *parties);
int mps_barrier_n_waiting(const mps_object *barrier, unsigned int *n);
int mps_barrier_broken(const mps_object *barrier, int *broken);

/* ------------------------------------------------------------------------
 * Values and arrays
 *
 * A Value (MPS_KIND_VALUE, one element) or Array (MPS_KIND_ARRAY) holds
 * count elements of elem_size bytes in its payload, described by its
 * format (a typecode such as "i" or "d", or a struct format), with an
 * embedded lock unless it was made raw.  Elements of 1, 2, 4 and 8 bytes
 * are loaded and stored atomically; larger ones, and bulk copies, take the
 * embedded lock, recursively for the calling thread (so they work inside
 * mps_rlock_acquire(mps_object_lock(obj), ...)); a holder found dead is
 * taken over and the lock marked consistent after the copy, as Go's Get
 * and Set do.  Hold the lock with mps_rlock_acquire to be told of a dead
 * holder (-EOWNERDEAD) instead.  Since version 0.3.
 *
 * Every function takes the element size the caller expects, size, which
 * must equal the object's elem_size (-EINVAL otherwise), and returns
 * -EINVAL for a NULL argument or an index out of range, -EMEDIUMTYPE for
 * an object that is neither a Value nor an Array, and, when it takes the
 * lock, -ENOTRECOVERABLE for a lock that is unusable (nothing copied).
 * ------------------------------------------------------------------------ */

/* mps_value_create creates a Value holding one zeroed element of
 * typecode, one of Python's ctypes typecodes with their Linux sizes: c b B
 * ? (1 byte), h H (2), u i I f (4), l L q Q d (8); mps_array_create an
 * Array of count of them ("mps_value_" and "mps_array_" names).  with_lock
 * nonzero gives the object an embedded lock (Go's NewValue and NewArray),
 * 0 none (RawValue, RawArray).  Struct elements: mps_object_create with
 * MPS_KIND_VALUE or MPS_KIND_ARRAY and the struct's format.
 * Returns 0, or -EINVAL (not a typecode), or the errors of
 * mps_object_create. */
int mps_value_create(const char *name, const char *typecode, int with_lock, mps_object **out);
int mps_array_create(const char *name, const char *typecode, uint64_t count, int with_lock, mps_object **out);

/* mps_value_open and mps_array_open open a Value or an Array by name, made
 * in any language; check its format with mps_object_format and its element
 * size with mps_object_elem_size.  Return 0, or the errors of
 * mps_object_open, or -EMEDIUMTYPE. */
int mps_value_open(const char *name, mps_object **out);
int mps_array_open(const char *name, mps_object **out);

/* mps_value_load copies element index to out. */
int mps_value_load(const mps_object *obj, uint64_t index, void *out, size_t size);

/* mps_value_store copies in into element index. */
int mps_value_store(mps_object *obj, uint64_t index, const void *in, size_t size);

/* mps_value_add adds *delta to element index atomically, without the
 * lock, and stores the new value in *result if result is not NULL.
 * Integers (typecodes b B h H i I l L q Q, and c and u) wrap around;
 * 'f' and 'd' add as float and double.  Returns 0, or -EOPNOTSUPP for
 * other formats (bool, structs). */
int mps_value_add(mps_object *obj, uint64_t index, const void *delta, void *result, size_t size);

/* mps_value_cas compares element index's bits with *expected and, if
 * equal, stores *desired, atomically, and stores 1 in *swapped if it did
 * (else 0).  Returns 0, or -EOPNOTSUPP for elements of other than 1, 2, 4
 * or 8 bytes. */
int mps_value_cas(mps_object *obj, uint64_t index, const void *expected, const void *desired, size_t size,
                  int *swapped);

/* mps_value_read copies count elements from element first into out;
 * mps_value_write copies count elements from in into the object from
 * element first; both under the lock, if the object has one.  Return 0 or
 * -EINVAL (the range does not fit the object). */
int mps_value_read(const mps_object *obj, uint64_t first, uint64_t count, void *out);
int mps_value_write(mps_object *obj, uint64_t first, uint64_t count, const void *in);

/* mps_value_acquire takes the lock of a Value or Array, recursively for
 * the calling thread, as the functions above do: a full lock area, or the
 * compact one of an object in an arena (never give that to the mps_lock_*
 * functions).  timeout_ns as for mps_lock_acquire.  mps_value_release
 * undoes one acquire.  Return as mps_rlock_acquire and mps_rlock_release
 * do, or -EINVAL (no lock), -EMEDIUMTYPE.  Since version 0.4. */
int mps_value_acquire(mps_object *obj, int64_t timeout_ns);
int mps_value_release(mps_object *obj);

/* ------------------------------------------------------------------------
 * Queues
 *
 * A queue (MPS_KIND_QUEUE) is a bounded multi-producer, multi-consumer
 * ring of capacity fixed-size slots, each holding one message of at most
 * max_msg bytes, in one object: count 1, elem_size the whole payload, an
 * empty format, no header lock area, payload aligned to 64 bytes.  Go's
 * package shm/queue implements it; its documentation describes the
 * protocol in full.  The payload starts with a control block of
 * MPS_QUEUE_CTRL_SIZE bytes (all 64-bit words are positions or counts that
 * only grow):
 *
 *   off size field
 *     0   8  capacity     slots, 1..MPS_QUEUE_MAX_CAPACITY
 *     8   8  max_msg      bytes per message at most, 1..MPS_QUEUE_MAX_MSG
 *    16   8  stride       bytes per slot: MPS_QUEUE_SLOT_DATA + max_msg
 *                         rounded up to a multiple of 64
 *    24   4  closed       1 once closed for writing (under the put lock)
 *    64  64  put_lock     a robust lock area: producers' critical section
 *   128   8  tail         next position to put (under the put lock)
 *   136   8  lost_put     messages lost by dead readers (under the put lock)
 *   144   8  jput_pos     the put side's journal: a position,
 *   152   8  jput_lost    the lost_put it sets,
 *   160   4  jput_valid   1 while the journal holds an unfinished repair
 *   192  64  get_lock     a robust lock area: consumers' critical section
 *   256   8  head         next position to get (under the get lock)
 *   264   8  lost_get     messages lost by dead writers (under the get lock)
 *   272   8  jget_pos     the get side's journal, as the put side's
 *   280   8  jget_lost
 *   288   4  jget_valid
 *   320   8  done         task_done calls so far
 *   384   4  data_seq     futex: bumped when a message may have arrived
 *   388   4  data_wait    1 when someone may sleep on data_seq
 *   448   4  space_seq    futex: bumped when a slot may have been freed
 *   452   4  space_wait
 *   456   4  tasks_seq    futex: bumped when tasks may have been done
 *   460   4  tasks_wait
 *
 * Slot i (0 <= i < capacity) starts at MPS_QUEUE_CTRL_SIZE + i * stride:
 *
 *     0   8  seq     4p: free for the put of position p (p % capacity == i);
 *                    4p + 1: holds the message of position p;
 *                    4p + 2: position p is being given up (its writer
 *                    or reader died); the slot starts with seq = 4i
 *     8   8  holder  identity | MPS_QUEUE_WRITER once a put has taken
 *                    the slot (tail moved past it), until a get takes it:
 *                    then identity | MPS_QUEUE_READER (head moved past it)
 *    16   4  len     message length, <= max_msg
 *    24      data
 *
 * A put of position p = tail takes the put lock, checks that slot
 * p % capacity has seq == 4p, records itself as writer, advances tail,
 * releases the lock, copies the message in and sets seq = 4p + 1.  A get
 * of position p = head takes the get lock, checks that the slot has
 * seq == 4p + 1, records itself as reader, advances head, releases the
 * lock, copies the message out and sets seq = 4(p + capacity).  A slot
 * whose writer died (seq 4p at the head) is skipped by a get, one whose
 * reader died (seq 4p + 1 behind the head) freed by a put, each counted in
 * lost_get or lost_put: the side's journal is written first (position, new
 * lost count, valid = 1), then seq moves by compare-and-swap to 4p + 2,
 * the count is stored, head advances (a skip), seq becomes
 * 4(p + capacity), and valid returns to 0.  The next holder of a lock
 * taken back from a dead process replays a valid journal the same way.
 * Sleepers set *_wait to 1 and sleep on *_seq; whoever changes the state
 * bumps *_seq and wakes them when it swaps *_wait back to 0.
 * ------------------------------------------------------------------------ */

#define MPS_QUEUE_CTRL_SIZE 512
#define MPS_QUEUE_SLOT_DATA 24
#define MPS_QUEUE_MAX_CAPACITY (1u << 30)
#define MPS_QUEUE_MAX_MSG 0x7fffffffu
#define MPS_QUEUE_WRITER (1ull << 30) /* holder tag bits */
#define MPS_QUEUE_READER (1ull << 31)

/* mps_queue is an open queue.  It is opaque; use the functions below.  A
 * handle may be used from several threads at once, except that
 * mps_queue_close must not race with other uses.  Since version 0.3.
 *
 * Timeouts (timeout_ns): < 0 waits as long as it takes, 0 never waits
 * (-EAGAIN when the queue is full, or empty), > 0 waits at most that
 * long (-ETIMEDOUT).  Every call that puts or gets may also return the
 * error of making this process's identity (-ENOSPC: /dev/shm is full).  A process killed at any instant loses at most the
 * message it was putting or getting; the others go on within one sleep
 * slice (20 ms), and mps_queue_lost counts such messages. */
typedef struct mps_queue mps_queue;

/* mps_queue_slot is a slot taken for writing in place (mps_queue_reserve:
 * len is the room, max_msg bytes) or a message read in place
 * (mps_queue_receive: len is its length).  data points into the shared
 * mapping; pos identifies the slot to mps_queue_commit or
 * mps_queue_release. */
struct mps_queue_slot {
    void *data;
    size_t len;
    uint64_t pos;
};

/* mps_queue_create creates a queue of capacity messages (1 ..
 * MPS_QUEUE_MAX_CAPACITY) of at most max_msg bytes each (1 ..
 * MPS_QUEUE_MAX_MSG) under name (NULL or "" for a random one,
 * "mps_queue_" + 16 hex digits), allocated whole in /dev/shm.  A queue is
 * always a standalone object: its slots are 64-byte aligned, finer than an
 * arena's 16, so an arena-qualified name ("arena/name") is -EINVAL.
 * Returns 0, -EINVAL, -EOVERFLOW (too large), or the errors of
 * mps_object_create. */
int mps_queue_create(const char *name, uint64_t capacity, uint64_t max_msg, mps_queue **out);

/* mps_queue_open opens the queue called name.  Returns 0, the errors of
 * mps_object_open (-EMEDIUMTYPE: another kind of object), or -EBADMSG (a
 * shape that does not match the object's size). */
int mps_queue_open(const char *name, mps_queue **out);

/* mps_queue_close unmaps the queue and frees the handle (unlink the queue
 * with mps_shm_unlink).  NULL is accepted.  Returns 0 or munmap's errno. */
int mps_queue_close(mps_queue *q);

/* mps_queue_name returns the name without a slash; valid until close. */
const char *mps_queue_name(const mps_queue *q);

/* mps_queue_capacity and mps_queue_max_msg return the queue's shape. */
uint64_t mps_queue_capacity(const mps_queue *q);
uint64_t mps_queue_max_msg(const mps_queue *q);

/* mps_queue_len returns the number of messages put and not yet taken by a
 * get (possibly stale at once, like Python's qsize). */
uint64_t mps_queue_len(const mps_queue *q);

/* mps_queue_put copies len bytes (<= max_msg; 0 is a message) into the
 * queue.  Returns 0, -EMSGSIZE (len over the maximum), -EPIPE (closed for
 * writing), -EAGAIN, -ETIMEDOUT, or -EINVAL. */
int mps_queue_put(mps_queue *q, const void *msg, size_t len, int64_t timeout_ns);

/* mps_queue_get takes the message at the head into buf (size bytes) and
 * stores its length in *len.  Returns 0, -EPIPE (closed for writing and
 * drained: the end), -EMSGSIZE (longer than size: it stays in the queue),
 * -EBADMSG (a slot holds a length over the maximum), -EAGAIN,
 * -ETIMEDOUT, or -EINVAL. */
int mps_queue_get(mps_queue *q, void *buf, size_t size, size_t *len, int64_t timeout_ns);

/* mps_queue_reserve takes the next slot for a put, to be written in place
 * through slot->data and published with mps_queue_commit, which must
 * follow (gets wait for it, in order).  Returns what mps_queue_put does,
 * but never -EMSGSIZE. */
int mps_queue_reserve(mps_queue *q, int64_t timeout_ns, struct mps_queue_slot *slot);

/* mps_queue_commit publishes the first len bytes of a reserved slot.
 * Returns 0, -EINVAL (len over the maximum), or -EALREADY (committed
 * already). */
int mps_queue_commit(mps_queue *q, const struct mps_queue_slot *slot, size_t len);

/* mps_queue_receive takes the message at the head for reading in place,
 * until mps_queue_release gives its slot back.  Returns what
 * mps_queue_get does, but never -EMSGSIZE. */
int mps_queue_receive(mps_queue *q, int64_t timeout_ns, struct mps_queue_slot *slot);

/* mps_queue_release gives a received message's slot back.  Returns 0 or
 * -EALREADY (released already). */
int mps_queue_release(mps_queue *q, const struct mps_queue_slot *slot);

/* mps_queue_close_write closes the queue for writing, for every process:
 * puts fail with -EPIPE, gets return -EPIPE once the queue is drained.
 * Returns 0, or the errors of mps_lock_acquire. */
int mps_queue_close_write(mps_queue *q);

/* mps_queue_write_closed returns 1 if the queue is closed for writing,
 * else 0. */
int mps_queue_write_closed(const mps_queue *q);

/* mps_queue_task_done marks one message taken from the queue processed
 * (JoinableQueue.task_done).  Returns 0 or -ERANGE (called more times
 * than messages were put; lost messages count as done). */
int mps_queue_task_done(mps_queue *q);

/* mps_queue_join waits until every message put was marked done or lost.
 * Returns 0, -EAGAIN, or -ETIMEDOUT. */
int mps_queue_join(mps_queue *q, int64_t timeout_ns);

/* mps_queue_lost stores in *lost the number of messages lost because the
 * process putting or getting them died, after freeing the slots of dead
 * readers no put has needed since.  Returns 0 or the errors of
 * mps_lock_acquire. */
int mps_queue_lost(mps_queue *q, uint64_t *lost);

#ifdef __cplusplus
}
#endif

#endif /* MPSYNC_H */
