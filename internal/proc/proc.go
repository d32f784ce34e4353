// Package proc names processes for lock ownership and resource tracking.
//
// A process is named by a random identity, not by its pid (pids mean
// nothing across pid namespaces and are reused): the identity names the
// process's registry file in /dev/shm, on which the process holds an
// open-file-description lock for its whole life. The kernel drops that
// lock the instant the process dies, so liveness is asked of the kernel
// and is right for any two processes that share /dev/shm, whichever
// /proc they see. The identity and its registry are made by libmpsync
// (csrc/proc.c), so Go and C code in one process share them; the layout
// is in mpsync.h.
package proc

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/csrc"
)

// IDMask selects the identity in a lock word; bits 30 and 31 carry the
// lock's flags.
const IDMask = csrc.IDMask

var self atomic.Uint64

// Self returns this process's identity, making it on first use. It fails
// only then, when /dev/shm has no room for the registry (an error
// matching syscall.ENOSPC) or no file can be made there.
func Self() (uint64, error) {
	if id := self.Load(); id != 0 {
		return id, nil
	}
	return selfSlow()
}

func selfSlow() (uint64, error) {
	id, err := csrc.Self()
	if err != nil {
		return 0, fmt.Errorf("mpsync: making this process's identity (its registry in /dev/shm): %w", err)
	}
	self.Store(id)
	return id, nil
}

// Is reports whether the lock word w names this process as its owner.
func Is(w uint64) bool {
	id := self.Load()
	return id != 0 && w&IDMask == id
}

// Alive reports whether the process named in w (a lock word or an
// identity) lives. When that cannot be told, it is taken to be alive.
func Alive(w uint64) bool { return Is(w) || csrc.Alive(w&IDMask) }

// PidOf returns the pid that the process named in w recorded when it made
// its identity, as its own pid namespace numbers it, or 0 if its registry
// is gone. For display only.
func PidOf(w uint64) int { return csrc.PidOf(w & IDMask) }

// HeldInodes returns the inodes of the files in dir (a path ending in "/")
// that some process other than this one, among those this process's
// /proc shows, has open or mapped: one pass over /proc. Inodes, not
// paths, so that files published with O_TMPFILE (whose maps show
// "/dev/shm/#N (deleted)") count too.
func HeldInodes(dir string) map[uint64]bool {
	var st unix.Stat_t
	if unix.Stat(dir, &st) != nil {
		return nil
	}
	dev := st.Dev
	held := map[uint64]bool{}
	selfPid := strconv.Itoa(os.Getpid())
	procs, _ := os.ReadDir("/proc")
	for _, pd := range procs {
		pid := pd.Name()
		if pid == selfPid || pid[0] < '0' || pid[0] > '9' {
			continue
		}
		if maps, err := os.ReadFile("/proc/" + pid + "/maps"); err == nil {
			for _, line := range bytes.Split(maps, []byte("\n")) {
				if ino, ok := mapsInode(line, dev); ok {
					held[ino] = true
				}
			}
		}
		fds, _ := os.ReadDir("/proc/" + pid + "/fd")
		for _, fd := range fds {
			if unix.Stat("/proc/"+pid+"/fd/"+fd.Name(), &st) == nil && st.Dev == dev {
				held[st.Ino] = true
			}
		}
	}
	return held
}

// mapsInode returns the inode of a /proc/PID/maps line mapping a file of
// device dev: "addr perms offset major:minor inode path".
func mapsInode(line []byte, dev uint64) (uint64, bool) {
	f := bytes.Fields(line)
	if len(f) < 6 {
		return 0, false
	}
	majmin := bytes.SplitN(f[3], []byte(":"), 2)
	if len(majmin) != 2 {
		return 0, false
	}
	major, err1 := strconv.ParseUint(string(majmin[0]), 16, 32)
	minor, err2 := strconv.ParseUint(string(majmin[1]), 16, 32)
	ino, err3 := strconv.ParseUint(string(f[4]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || unix.Mkdev(uint32(major), uint32(minor)) != dev {
		return 0, false
	}
	return ino, true
}

// MustSelf returns this process's identity for a caller that holds a lock
// (so the identity exists already).
func MustSelf() uint64 {
	id, err := Self()
	if err != nil {
		panic("mpsync: identity lost while holding a lock: " + err.Error())
	}
	return id
}
