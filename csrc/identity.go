//go:build cgo

package csrc

/*
#cgo noescape mps__track
#cgo nocallback mps__track
#cgo noescape mps__forget
#cgo nocallback mps__forget
#cgo noescape mps__untrack
#cgo nocallback mps__untrack
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include "mpsync_impl.h"
*/
import "C"

import (
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/internal/fastsys"
	"github.com/mpsync/mpsync/internal/names"
)

// Self returns this process's identity, making it (and its registry in
// /dev/shm) on first use. A full /dev/shm matches syscall.ENOSPC.
func Self() (uint64, error) {
	var id C.uint64_t
	if rc := C.mps__self(&id); rc != 0 {
		return 0, syscall.Errno(-rc)
	}
	watchTracker()
	return uint64(id), nil
}

var watchOnce sync.Once

// watchTracker keeps this process connected to a tracker for its whole
// life, once it has an identity: a goroutine waits, in C on a thread of
// its own, for the connection to end (the tracker died or retired) and
// connects again, starting a tracker if none runs. It ends at once when
// tracking is off.
func watchTracker() {
	watchOnce.Do(func() {
		go func() {
			for C.mps__tracker_watch() != -C.ENOTCONN {
			}
		}()
	})
}

// Alive reports whether the process of identity id lives (its registry's
// liveness lock is held); when that cannot be told it reports true.
func Alive(id uint64) bool { return C.mps__alive(C.uint64_t(id)) != 0 }

// AliveLock tests the liveness lock of the registry or tracker file open
// as fd: true held, false free, or an error. It is C's
// mps__alive_lock(fd, 0) made without a call into C or an ordinary system
// call (see package fastsys), for the tracker's periodic look.
func AliveLock(fd int) (bool, error) {
	fl := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: RegAliveByte, Len: 1}
	if err := fastsys.Fcntl(fd, unix.F_OFD_GETLK, unsafe.Pointer(&fl)); err != nil {
		return false, err
	}
	return fl.Type != unix.F_UNLCK, nil
}

// PidOf returns the pid recorded in the registry of identity id (in that
// process's pid namespace), or 0.
func PidOf(id uint64) int { return int(C.mps__pid_of(C.uint64_t(id))) }

// Track registers name, a /dev/shm entry with inode ino that this process
// made or opened, in its registry, unless untracked. What it did is
// returned for Undo, should the create or open then fail.
func Track(name string, ino uint64, untracked bool) (Tracked, error) {
	if untracked {
		return Tracked{}, nil
	}
	slot := &listed[listedSlot(name)]
	gen := atomic.LoadUint64(trackGeneration)
	if e := slot.Load(); e != nil && e.gen == gen && e.ino == ino && e.name == name {
		return Tracked{Had: true}, nil
	}
	var cname cName
	if !cname.set(name) {
		return Tracked{}, nil // longer than any registry slot: not a name of ours
	}
	var was C.uint64_t
	rc := C.mps__track(&cname[0], C.uint64_t(ino), &was)
	if rc < 0 {
		return Tracked{}, syscall.Errno(-rc)
	}
	if rc == 2 {
		slot.Store(&listedEntry{name: name, ino: ino, gen: gen})
	}
	watchTracker()
	return Tracked{Added: rc == 1, Had: rc == 2, name: name, rc: rc, was: was}, nil
}

// Tracked is what Track did.
type Tracked struct {
	Added bool // a new entry
	Had   bool // listed already for this very inode: the tracker has seen this process use the file since before the call

	name string
	rc   C.int      // mps__track's result
	was  C.uint64_t // the inode it replaced (rc 3)
}

// Undo undoes a registration whose create or open failed: a new entry is
// removed, and an entry that named another inode (this process's mapping
// of an earlier file of the name, when a create of the name then fails
// with EEXIST) names it again.
func (t Tracked) Undo() {
	var cname cName
	if t.rc > 0 && cname.set(t.name) {
		C.mps__untrack(&cname[0], t.rc, t.was)
	}
}

// listed remembers names that Track found listed already for their inode
// (a segment opened again), so that opening one once more need not call
// into C, which costs an open of a segment about a tenth of its time: an
// entry holds while the registry's generation (mps__track_generation) is
// the one read before the call that found the name listed, for until then
// no entry has left the registry or changed its inode. A small table by
// hash of the name; a collision only costs the call.
var listed [64]atomic.Pointer[listedEntry]

type listedEntry struct {
	name string
	ino  uint64 // never 0: mps__track reports 2 only for a known inode
	gen  uint64
}

// trackGeneration is the registry's generation, kept by C.
var trackGeneration = (*uint64)(unsafe.Pointer(C.mps__track_generation()))

// listedSlot is name's place in listed.
func listedSlot(name string) int { return int(names.Hash(name) % uint64(len(listed))) }

// Forget removes name from this process's registry.
func Forget(name string) {
	var cname cName
	if cname.set(name) {
		C.mps__forget(&cname[0])
	}
}

// cName is a NUL-terminated copy of a registry name on the caller's
// stack, sparing a C.CString allocation on every create, open and
// unlink.
type cName [RegNameMax]C.char

func (c *cName) set(name string) bool {
	if len(name) >= len(c) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c[i] = C.char(name[i])
	}
	c[len(name)] = 0
	return true
}

// SetTrackerExe makes exe, run with MPSYNC_TRACKER_ROLE=1, the tracker
// this process starts when none runs.
func SetTrackerExe(exe string) {
	cexe := C.CString(exe)
	defer C.free(unsafe.Pointer(cexe))
	C.mps__set_tracker_exe(cexe)
}

// FindTracker returns the file name of a live tracker of this user that
// accepts connections here ("mps-trk-…"), other than except, or "".
func FindTracker(except string) string {
	cexcept := C.CString(except)
	defer C.free(unsafe.Pointer(cexcept))
	var found [32]C.char
	fd := C.mps__tracker_find(cexcept, 0, &found[0])
	if fd < 0 {
		return ""
	}
	C.close(fd)
	return C.GoString(&found[0])
}
