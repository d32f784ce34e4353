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
// Each process lists the names it uses in a registry of its own, a sparse
// segment "mps-reg-<pid>-<start>" in /dev/shm: registering is a write to
// memory (no message, nothing lost to a SIGKILL a moment later), and
// unlinking an object removes its entry. The tracker, one per user, finds
// the registries, notices when their owners are gone (pid and start time:
// a reused pid is not mistaken for the owner; a zombie is gone), and for
// each name still listed unlinks it unless another live registry lists it
// or a live process has it open or mapped. It logs each name it unlinks
// (LogPath). It accepts connections only from its own user; clients stay
// connected, and when the tracker dies the next of them starts another,
// which finds every registry again.
//
// # Caveats
//
//   - C programs linking libmpsync list their objects in registries of
//     their own ("-c" suffix) and start the mpsync-tracker command
//     ($MPSYNC_TRACKER, or found in PATH) when no tracker runs; without it
//     their registries wait for the next tracker. At a normal exit with no
//     tracker around, a C program removes its registry.
//   - A process that closes an object but never unlinks it keeps it
//     registered until it exits; then, if no one else uses it, it goes.
package resourcetracker

import "github.com/mpsync/mpsync/internal/tracker/server"

// Running returns the pid of this user's tracker, or 0 if none runs.
func Running() int { return server.Running() }

// LogPath returns the file where the tracker logs the names it unlinks.
func LogPath() string { return server.LogPath() }
