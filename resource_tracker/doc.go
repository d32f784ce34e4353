// Package resourcetracker is mpsync's resource tracker, seen from the
// outside: once every process that created or opened a named mpsync
// object (segment, named semaphore, lock, value, ...) is gone — exited or
// killed with SIGKILL — the tracker unlinks the object, and it never
// unlinks one that a live process still uses, even a program that opened
// it without mpsync.
//
// Import path: github.com/mpsync/mpsync/resource_tracker.
//
// Nothing needs setting up: a Go program using mpsync starts the tracker
// when it first creates or opens an object (re-running its own binary in
// the tracker role), and the tracker exits by itself a few seconds after
// the last process it watched. Opt an object out with shm.Untracked(),
// semaphore.Untracked() or ctypes.Untracked() to let it outlive its
// creator.
//
// # How it works
//
// Each process has a random identity and a registry file
// "mps-reg-<16 hex digits>" in /dev/shm, on which it holds a file lock
// (F_OFD_SETLK) that the kernel drops when it dies: whether a process
// lives is asked of the kernel, so it is right across pid namespaces
// (containers sharing /dev/shm), pid reuse, exec and fork. The registry
// lists the names the process created or opened, with their inodes:
// registering is a write to memory, nothing lost to a SIGKILL a moment
// later, and unlinking an object removes its entry.
//
// The tracker, one per user (per network namespace), is reached through
// a file "mps-trk-<random>" of its user's in /dev/shm and the abstract
// socket of the same name; clients accept it only if both are their
// user's, and it accepts only its user. Each client stays connected. The
// tracker sleeps until a connection ends, then, for each dead registry,
// unlinks every name it lists unless a live registry lists it, the name
// now holds another file (another inode), the file is untracked, or a
// process it can see in /proc has it open or mapped (programs that use it
// without mpsync; retried later). Then it removes the registry, however
// broken: registries are read with pread as untrusted input. A sweep
// catches what connections cannot tell: every 5 s while a live registry's
// owner is not connected or a name is still held, every 60 s otherwise
// (skipped while no name has come, gone or moved in /dev/shm). When the
// tracker dies, a Go client starts another at once (a C client at its
// next registration); the new one finds every registry again.
//
// # The tracker role
//
// A Go program using mpsync is its own tracker: it re-runs its own binary
// with MPSYNC_TRACKER_ROLE=1, and mpsync's package init then serves as
// the tracker instead of running main (in a session of its own, stdio on
// /dev/null, SIGINT, SIGTERM and SIGHUP ignored). C programs start the
// mpsync-tracker command instead. Environment:
//
//   - MPSYNC_TRACKER_ROLE=1: be the tracker (set by the client that starts it).
//   - MPSYNC_TRACKER_LOG: the tracker's log file, one line per name it
//     unlinks; default $TMPDIR/mpsync-tracker-<uid>.log (LogPath).
//   - MPSYNC_TRACKER: the tracker command a C program starts.
//   - MPSYNC_NO_TRACKER=1: this process tracks nothing and contacts no
//     tracker. Its identity still exists (locks need it), and its
//     registry stays after it exits until a later tracker, or
//     RemoveStale, removes it.
//
// # Caveats
//
//   - A process that closes an object but never unlinks it keeps it
//     registered until it exits; then, if no one else uses it, it goes.
//   - A process that uses an object without mpsync is seen only if the
//     tracker's /proc shows it (same pid namespace).
//   - Before it unlinks a name, the tracker moves it aside (an atomic
//     rename), checks the moved file's inode and the live registries once
//     more, and puts it back if anyone uses it: a process opening the name
//     at that instant either is seen, or finds the name gone and fails as
//     if it came a moment later (fs.ErrNotExist).
package resourcetracker

import "github.com/mpsync/mpsync/internal/tracker/server"

// Running returns the pid of this user's tracker, or 0 if none runs.
func Running() int { return server.Running() }

// LogPath returns the file where the tracker logs the names it unlinks.
func LogPath() string { return server.LogPath() }
