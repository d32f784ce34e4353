// Package tracker is mpsync's resource tracker: it makes sure that once
// every process that used a named object is gone, the object is unlinked,
// and that an object still used by a live process never is.
//
// # How it works
//
// Every process keeps a registry: a sparse segment in /dev/shm named
// "mps-reg-<pid>-<tag>" (tag: the low 32 bits of its start time) listing
// the names it created or opened. Registering is a write to shared memory,
// not a message, so it costs nanoseconds and cannot be lost when the
// process is killed a moment later. Unlink removes the entry.
//
// A tracker process (one per user, started on demand by the first process
// that registers: the program re-runs its own binary in the tracker role)
// watches the registries' owners. When an owner is gone — exited, killed,
// or a zombie — the tracker takes each name still in its registry and, if
// no live registry lists it and no live process has it open or mapped
// (/proc, which also covers programs that do not use mpsync), unlinks it,
// logging one line. Then it removes the registry. A name whose file has
// been replaced since (another inode) is left alone.
//
// The tracker holds an abstract Unix socket as its singleton lock and
// accepts only processes of its own user. Clients keep a connection to it;
// when the tracker dies, they start a new one, which finds every registry
// in /dev/shm again: nothing is lost. It exits on its own a few seconds
// after the last registry is gone.
package tracker

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proc"
)

// Registry layout.
const (
	regMagic    = "MPSREG1\x00"
	regHeader   = 4096
	regSlot     = 272 // state uint32, pad, inode uint64, name [256]
	regSlots    = 65536
	regSize     = regHeader + regSlot*regSlots
	regPrefix   = "mps-reg-"
	slotUsed    = 1
	offSlotIno  = 8
	offSlotName = 16
	offHighMark = 16 // in the header: uint32, one past the highest slot ever used
)

// envDisable turns tracking off in a process (for debugging and for
// processes that must leave no trace of their own).
const envDisable = "MPSYNC_NO_TRACKER"

// registry is this process's registry, mapped.
type registry struct {
	mem    []byte
	mu     sync.Mutex
	free   []int32            // free slot indices, lowest last
	byName map[string][]int32 // names to their slot
}

var (
	regOnce sync.Once
	reg     *registry // nil if tracking is off or the registry failed
)

// RegistryName returns the registry file name of a process identity.
func RegistryName(id proc.ID) string {
	return fmt.Sprintf("%s%d-%d", regPrefix, id.Pid, id.Tag)
}

func openRegistry() {
	if os.Getenv(envDisable) != "" || os.Getenv(envRole) != "" {
		return
	}
	path := names.Dir + RegistryName(proc.Self)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if unix.Ftruncate(fd, regSize) != nil {
		unix.Unlink(path)
		return
	}
	mem, err := unix.Mmap(fd, 0, regSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Unlink(path)
		return
	}
	binary.NativeEndian.PutUint64(mem[8:16], proc.Self.Word())
	copy(mem, regMagic) // last: the header is complete
	r := &registry{mem: mem, byName: map[string][]int32{}}
	for i := int32(regSlots - 1); i >= 1; i-- {
		r.free = append(r.free, i)
	}
	reg = r
	// A tracker must be watching before the first object is handed out:
	// a process killed right after creating one must still be cleaned
	// up after.
	c := ensureTracker()
	go keepTracker(c)
}

func (r *registry) state(i int32) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&r.mem[regHeader+int(i)*regSlot]))
}

// highMark bounds the tracker's scans of the registry.
func (r *registry) highMark() *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&r.mem[offHighMark]))
}

// Track registers name (a /dev/shm entry: a segment, "sem.x", an object)
// as used by this process. ino is the file's inode, if known (0 if not),
// so that the tracker never unlinks a different file that took the name
// later.
func Track(name string, ino uint64) {
	regOnce.Do(openRegistry)
	r := reg
	if r == nil || len(name) >= 256 || strings.HasPrefix(name, regPrefix) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.byName[name]) > 0 {
		return // one entry per name is enough: Close keeps it
	}
	if len(r.free) == 0 {
		return // full: this object goes untracked
	}
	i := r.free[len(r.free)-1]
	r.free = r.free[:len(r.free)-1]
	off := regHeader + int(i)*regSlot
	*(*uint64)(unsafe.Pointer(&r.mem[off+offSlotIno])) = ino
	n := copy(r.mem[off+offSlotName:off+regSlot-1], name)
	r.mem[off+offSlotName+n] = 0
	r.state(i).Store(slotUsed) // last: the entry is complete
	if hm := r.highMark(); uint32(i) >= hm.Load() {
		hm.Store(uint32(i) + 1)
	}
	r.byName[name] = append(r.byName[name], i)
}

// Forget removes every registration of name by this process: the name was
// unlinked, so there is nothing left for the tracker to clean.
func Forget(name string) {
	r := reg
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, i := range r.byName[name] {
		r.state(i).Store(0)
		r.free = append(r.free, i)
	}
	delete(r.byName, name)
}

// TrackerPid returns the pid of this user's running tracker, or 0.
func TrackerPid() int {
	ents, _ := os.ReadDir("/proc")
	want := []byte(envRole + "=1\x00")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && bytes.Contains(env, want) {
			var st unix.Stat_t
			if unix.Stat("/proc/"+e.Name(), &st) == nil && st.Uid == uint32(os.Getuid()) {
				return pid
			}
		}
	}
	return 0
}
