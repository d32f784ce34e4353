// Package shm creates and opens shared memory segments: files in /dev/shm
// mapped into every process that uses them, the Go counterpart of Python's
// multiprocessing.shared_memory.SharedMemory.
//
// Import path: github.com/mpsync/mpsync/shm.
//
// # Basics
//
// One process creates a segment, with a name of its choosing or a random
// one, and others open it by name. Python (SharedMemory(name)), C programs
// using libmpsync (mps_shm_open) or plain shm_open(3) can open the same
// segment: a segment is just a file in /dev/shm, with no header.
//
//	seg, err := shm.Create("", 4096) // random name, e.g. "psm_3f9c…"
//	defer seg.Unlink()               // remove the name, once, anywhere
//	defer seg.Close()                // unmap it from this process
//	copy(seg.Bytes(), "hello")
//
//	other, err := shm.Open(seg.Name()) // in another process
//
// Anonymous segments (NewAnonymous) have no name at all, so nothing can be
// left behind in /dev/shm; they reach a child process as a file descriptor
// (File, exec.Cmd.ExtraFiles, FromFile).
//
// Segments are tracked: once every process that created or opened one is
// gone — even killed with SIGKILL — and no one unlinked it, mpsync's
// resource tracker unlinks it (see package resourcetracker). Untracked
// opts a segment out, to outlive its creator: it marks the file, so no
// one who opens it later registers it either.
//
// The first Create or Open of a process gives it an identity, a registry
// file "mps-reg-…" in /dev/shm (see package resourcetracker), and makes
// sure the user's tracker runs: a Go program re-runs its own binary with
// MPSYNC_TRACKER_ROLE=1, in which role this package's init serves as the
// tracker instead of running main. It logs to $MPSYNC_TRACKER_LOG
// (default $TMPDIR/mpsync-tracker-<uid>.log); MPSYNC_NO_TRACKER=1 turns
// tracking off. With /dev/shm full, that first call fails with an error
// matching [syscall.ENOSPC].
//
// # Arenas
//
// Every segment is a file and a mapping of its own, which is right for a
// few large objects and wrong for many small ones: the kernel allows a
// process vm.max_map_count mappings (65,530 by default), and a Lock or a
// Value that takes a file takes a 4 KiB page of /dev/shm too. An arena
// (NewArena) is one segment that holds many mpsync objects of every kind
// — Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier,
// Value, Array, structs, char arrays — created in it with the In options
// of packages semaphore and ctypes, with no system call each:
//
//	a, err := shm.NewArena("buckets", 64<<20)
//	l, err := semaphore.NewLock(semaphore.In(a), semaphore.WithName("row7"))
//	v, err := ctypes.NewValue[int64](0, ctypes.In(a)) // anonymous
//
//	l2, err := semaphore.OpenLock("buckets/row7") // in another process
//	v2, err := ctypes.OpenValue[int64](v.Name())   // "buckets/#2a40.1"
//
// An object in an arena is named "<arena>/<name>" (object names never
// contain '/', so the form is unambiguous) or, if anonymous, by the
// handle Name returns, "<arena>/#<offset>.<generation>" in hex. A handle
// of an object that was freed, even if its memory now holds another
// object, is an error matching [fs.ErrNotExist], never the wrong object.
// Open functions take either form; a process maps each arena once,
// however many of its objects it opens. Objects behave as standalone
// ones do: robust locks, cancellation, type checks as strict (a Value
// opened as a Lock, or a Value[int64] as a Value[int32], is a type
// mismatch naming both), and everything read from the arena checked
// before use. A Lock takes about 100 bytes of shared memory, a Value[int64]
// 48, 64 with a short name.
//
// Lifetimes: the arena is one tracked object (the tracker unlinks it once
// every process that used it is gone). Its objects live until they are
// freed — Unlink of an object in an arena frees it, and its memory is
// reused for objects of the same size class — or until the arena goes.
// Close of an object's handle only releases the handle.
//
// Allocation: blocks come in size classes (16-byte steps to 512 bytes,
// then eight classes per doubling), carved from the arena in order and
// kept on a free list per class once freed; freed space is not merged
// into larger blocks. Names are found through a hash table in the arena
// (O(1) expected; MaxNames sizes it). Every change to the allocator's
// state is made under the arena's robust lock and announced first in a
// small journal in the arena, so a process killed at any instant (even
// with SIGKILL) leaves the arena consistent: the next process to take the
// lock replays the journal — an allocation in progress is undone, a free
// in progress finished. Such a kill loses nothing but what the victim
// held; Check walks the arena and proves it.
//
// Size: an arena never grows. Its size is fixed by NewArena; its pages
// are allocated in /dev/shm a MiB at a time before the allocator hands
// them out (or all at once with [Reserve]), so a full /dev/shm is an
// error matching [syscall.ENOSPC] from the creation of an object, never
// a SIGBUS. A full arena is an error matching [ErrArenaFull] that names
// the arena, its size and what was asked. The layout is documented in
// csrc/mpsync.h ("Arenas"). libmpsync creates, opens and (since 0.5)
// frees arenas' objects on the same layout (mps_arena_create,
// mps_arena_object_create, every mps_*_create and mps_*_open on
// "<arena>/<name>" or a handle, mps_arena_free and mps_object_unlink, with
// the same journal), and so does the Python package (mpsync.Arena, arena=
// on every class of the family and of sharedctypes, unlink()): a block
// freed in one language is reused by the next object of its class made
// in any.
//
// # Many standalone objects
//
// Before a process runs out of mappings, Create and Open (and every
// constructor of a standalone object) return an error matching
// [ErrMapLimit] and [syscall.ENOMEM] that names vm.max_map_count and
// points at arenas, rather than letting the next mapping fail somewhere
// in the Go runtime, which cannot survive that. The check keeps a
// sixteenth of the limit (at least 1024 mappings) for the rest of the
// process: the Go heap, cgo and libraries. It counts the mappings shm
// holds, and when the count reaches the budget it recounts from
// /proc/self/maps before refusing.
//
// # Errors
//
// Errors match the standard sentinels with errors.Is: a name that exists
// [fs.ErrExist], a missing one [fs.ErrNotExist], another user's segment
// [fs.ErrPermission], a bad argument [fs.ErrInvalid] (the message says
// which argument and why), and use after Close [ErrClosed].
//
// # Caveats
//
//   - Close and Unlink are separate. Close unmaps in this process; Unlink
//     removes the name for everyone. A segment that is closed everywhere
//     but never unlinked stays in /dev/shm (and in memory) until reboot.
//   - A Segment forgotten without Close is released by the garbage
//     collector, but only its descriptor if Bytes was ever called: a view
//     may still be in use, so the mapping stays.
//   - Views from Bytes are valid until Close. After Close they read zeros
//     and lose writes, but never crash the process.
//   - A segment's file can be shrunk by any process that may write it
//     (ftruncate). ReadAt and WriteAt of the pages that lost their memory
//     then return ErrTruncated; touching them through a view from Bytes
//     raises SIGBUS, which kills the process.
//   - A segment is sparse unless created with Reserve (or WithInit): its
//     pages are taken from /dev/shm when first written. Create refuses a
//     size larger than the room left in /dev/shm, but that check cannot
//     keep the room, so filling /dev/shm from elsewhere can still make a
//     later first touch of a page fail with SIGBUS, as with any tmpfs
//     mapping. With Reserve, a full /dev/shm is an error from Create
//     matching [syscall.ENOSPC] instead.
//   - Mappings use golang.org/x/sys/unix directly rather than mmap-go,
//     which needs an *os.File per mapping (an extra fcntl and epoll
//     registration attempt on every Create and Open) and cannot replace a
//     range in place, as Close does to keep stale views safe. The short
//     calls of Create, Open, Close and Unlink skip the scheduler's
//     hand-off (see internal/fastsys), which brings them level with C.
package shm
