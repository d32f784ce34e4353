// Package tracker is the resource tracker's client, linked into every Go
// program that uses mpsync; the tracker itself is package
// internal/tracker/server.
//
// The client's work is done by libmpsync (csrc/registry.c), the same code
// C programs run: each name a process creates or opens is listed in the
// process's registry (the file behind its identity, see package proc), and
// the process keeps a connection to its user's tracker, starting one when
// none runs, as soon as it has an identity. Its end tells the tracker the
// instant the process dies. A Go program starts its own binary in the
// tracker role (MPSYNC_TRACKER_ROLE=1; this package's init then serves
// instead of running main), and a goroutine (package csrc) waits for the
// connection to end, so that when the tracker dies the program starts
// another at once.
package tracker

import (
	"os"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/tracker/server"
)

// envRole makes a process the tracker.
const envRole = "MPSYNC_TRACKER_ROLE"

func init() {
	if os.Getenv(envRole) == "1" {
		// Serve on a goroutine of its own: during init the main goroutine
		// is locked to the main thread, and every wake-up of it would be
		// a hand-off between threads.
		go func() { os.Exit(server.Serve()) }()
		select {}
	}
	if exe, err := os.Executable(); err == nil {
		csrc.SetTrackerExe(exe)
	}
}

// Track registers name, a /dev/shm entry this process just made or
// opened, whose fstat gave ino and mode: the tracker unlinks it once every
// process that registered it is gone. A file whose mode carries
// csrc.UntrackedMode is never registered. Track reports whether it added
// an entry (not if listed already, untracked, or tracking is off) and
// whether this process had it listed already for this very file, and
// what the create or open undoes with Undo should it then fail; it fails
// only when the registry has no room (an error matching syscall.ENOSPC).
func Track(name string, ino uint64, mode uint32) (csrc.Tracked, error) {
	return csrc.Track(name, ino, mode&csrc.UntrackedMode != 0)
}

// Forget removes name from this process's registry: it was unlinked, so
// there is nothing left for the tracker to clean.
func Forget(name string) { csrc.Forget(name) }
