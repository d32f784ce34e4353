package resourcetracker

import (
	"encoding/binary"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/tracker"
)

// Object describes an entry of /dev/shm as mpsync sees it.
type Object struct {
	Name string // the /dev/shm entry ("sem.x" for a named semaphore)
	Kind string // "segment", "named semaphore", or an mpsync kind ("lock", "value", ...)
	Size int64  // bytes
	// Format and Count describe an mpsync object's elements.
	Format string
	Count  uint64
	// Users are the processes whose tracker registries list the object;
	// Alive says which of them still run.
	Users []User
	// LockOwner is the pid holding the object's lock (0: free or no
	// lock); LockOwnerDead that the holder died without its state being
	// repaired.
	LockOwner     int
	LockOwnerDead bool
	// LockHeldSince is when the holder took the lock, if it took it
	// contended (uncontended acquisitions are one CAS and stamp nothing);
	// LockWaitedSince is when the earliest waiter still waiting began.
	// Zero when unknown.
	LockHeldSince, LockWaitedSince time.Time
	// SemValue is a named semaphore's value.
	SemValue int
	// Held reports whether some process has it open or mapped now.
	Held bool
}

// User is a process that created or opened an object.
type User struct {
	Pid   int
	Alive bool
}

// Stale reports whether no live process uses the object: none of its
// registered users is alive and no process holds it.
func (o *Object) Stale() bool {
	if o.Held || len(o.Users) == 0 {
		return false
	}
	for _, u := range o.Users {
		if u.Alive {
			return false
		}
	}
	return true
}

// List describes the mpsync entries of /dev/shm (segments, named
// semaphores and objects that some registry lists, and every mpsync
// object), sorted by name. It only reads: nothing is opened for writing
// or registered.
func List() ([]Object, error) {
	ents, err := os.ReadDir(names.Dir)
	if err != nil {
		return nil, err
	}
	owners := tracker.Owners()
	held := proc.HeldUnder(names.Dir)
	var out []Object
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, "mps-reg-") {
			continue
		}
		o, ok := describe(name)
		if !ok && len(owners[name]) == 0 && !names.Ours(name) {
			continue // not ours
		}
		o.Name = name
		for _, id := range owners[name] {
			o.Users = append(o.Users, User{Pid: int(id.Pid), Alive: proc.Alive(id)})
		}
		o.Held = held[names.Dir+name]
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// describe reads what an entry is, mapping it read-only.
func describe(name string) (Object, bool) {
	o := Object{Kind: "segment"}
	fd, err := unix.Open(names.Dir+name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return o, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return o, false
	}
	o.Size = st.Size
	if st.Size <= 0 {
		return o, false
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return o, false
	}
	defer unix.Munmap(mem)
	if strings.HasPrefix(name, "sem.") && st.Size == 32 {
		o.Kind = "named semaphore"
		o.SemValue = int(binary.NativeEndian.Uint32(mem))
		return o, true
	}
	info, err := csrc.ValidateHeader(mem)
	if err != nil {
		return o, false
	}
	o.Kind, o.Format, o.Count = csrc.KindName(info.Kind), info.Format, info.Count
	if info.LockOffset != 0 {
		w := binary.NativeEndian.Uint64(mem[info.LockOffset:])
		if pid := int(w & proc.PidMask); pid != proc.PidMask && pid != 0 {
			o.LockOwner = pid
			o.LockOwnerDead = w&(1<<30) != 0
			o.LockHeldSince = unixNano(int64(binary.NativeEndian.Uint64(mem[info.LockOffset+24:])))
			o.LockWaitedSince = unixNano(int64(binary.NativeEndian.Uint64(mem[info.LockOffset+32:])))
		}
	}
	return o, true
}

func unixNano(ns int64) time.Time {
	if ns <= 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// RemoveStale unlinks the entries that List reports stale — ones whose
// registered users are all gone and that no process holds — and returns
// their names. The tracker does this by itself; this is for when no
// tracker ran (all users killed with no mpsync process starting since).
func RemoveStale() ([]string, error) {
	objs, err := List()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, o := range objs {
		if o.Stale() && unix.Unlink(names.Dir+o.Name) == nil {
			removed = append(removed, o.Name)
		}
	}
	return removed, nil
}
