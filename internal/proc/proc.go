// Package proc identifies processes for lock ownership: a pid together
// with a tag derived from the process's start time, so that a pid reused
// by a new process is never mistaken for the old owner.
package proc

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Self is this process's identity, read once at start-up.
var Self = func() ID {
	pid := os.Getpid()
	tag, _, err := stat(pid)
	if err != nil {
		panic("mpsync: cannot read /proc/self/stat: " + err.Error())
	}
	return ID{Pid: uint32(pid), Tag: tag}
}()

// ID is a process identity as stored in shared lock words.
type ID struct {
	Pid uint32
	Tag uint32 // low 32 bits of the start time in clock ticks since boot
}

// Word packs the identity as the 64-bit lock word of mpsync.h: pid in the
// low half, tag in the high half.
func (id ID) Word() uint64 { return uint64(id.Pid) | uint64(id.Tag)<<32 }

// FromWord unpacks a lock word, ignoring flag bits above PidMask.
func FromWord(w uint64) ID { return ID{Pid: uint32(w) & PidMask, Tag: uint32(w >> 32)} }

// PidMask selects the pid in a lock word's low half; Linux pids are below
// 2^22, and bits 30 and 31 carry flags.
const PidMask = 1<<30 - 1

// Alive reports whether the process id is still running: it exists, is
// not a zombie, and started at the time the tag records. When /proc cannot
// tell (it is hidden from us), the process is taken to be alive.
func Alive(id ID) bool {
	if id == Self {
		return true
	}
	tag, state, err := stat(int(id.Pid))
	if err != nil {
		if os.IsNotExist(err) || err == syscall.ESRCH {
			return false
		}
		return true
	}
	return tag == id.Tag && state != 'Z' && state != 'X' && state != 'x'
}

// stat reads /proc/pid/stat and returns the start-time tag and the state.
func stat(pid int) (tag uint32, state byte, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// "pid (comm) state ppid …": comm may hold spaces and parentheses, so
	// the fields start after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return 0, 0, syscall.EINVAL
	}
	fields := bytes.Fields(data[i+1:])
	// fields[0] is field 3 (state); field 22 (starttime) is fields[19].
	if len(fields) < 20 {
		return 0, 0, syscall.EINVAL
	}
	start, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return 0, 0, err
	}
	return uint32(start), fields[0][0], nil
}

// HeldByOther reports whether a process other than this one has the file
// at path open or mapped, as /proc shows it.
func HeldByOther(path string) bool {
	self := strconv.Itoa(os.Getpid())
	procs, _ := os.ReadDir("/proc")
	for _, pd := range procs {
		pid := pd.Name()
		if pid == self || pid[0] < '0' || pid[0] > '9' {
			continue
		}
		if maps, err := os.ReadFile("/proc/" + pid + "/maps"); err == nil && bytes.Contains(maps, []byte(path+"\n")) {
			return true
		}
		fds, _ := os.ReadDir("/proc/" + pid + "/fd")
		for _, fd := range fds {
			if target, err := os.Readlink("/proc/" + pid + "/fd/" + fd.Name()); err == nil && target == path {
				return true
			}
		}
	}
	return false
}

// HeldUnder returns the files under dir (a path ending in "/") that some
// process other than this one has open or mapped: one pass over /proc.
func HeldUnder(dir string) map[string]bool {
	held := map[string]bool{}
	self := strconv.Itoa(os.Getpid())
	procs, _ := os.ReadDir("/proc")
	for _, pd := range procs {
		pid := pd.Name()
		if pid == self || pid[0] < '0' || pid[0] > '9' {
			continue
		}
		if maps, err := os.ReadFile("/proc/" + pid + "/maps"); err == nil {
			for _, line := range bytes.Split(maps, []byte("\n")) {
				if i := bytes.Index(line, []byte(dir)); i >= 0 {
					held[string(bytes.TrimSuffix(line[i:], []byte(" (deleted)")))] = true
				}
			}
		}
		fds, _ := os.ReadDir("/proc/" + pid + "/fd")
		for _, fd := range fds {
			if target, err := os.Readlink("/proc/" + pid + "/fd/" + fd.Name()); err == nil && strings.HasPrefix(target, dir) {
				held[target] = true
			}
		}
	}
	return held
}
