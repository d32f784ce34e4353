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
