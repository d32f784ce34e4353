package resourcetracker

import (
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/robust"
	"github.com/mpsync/mpsync/internal/semword"
	"github.com/mpsync/mpsync/internal/tracker/server"
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
	// Untracked reports an object made untracked: the tracker never
	// unlinks it.
	Untracked bool
	// LockOwner is the process holding the object's lock (nil: free or no
	// lock); LockOwnerDead that it took the lock over from a holder that
	// died and has not repaired the state yet.
	LockOwner     *User
	LockOwnerDead bool
	// LockHeldSince is when the holder took the lock, if it took it
	// contended (uncontended acquisitions are one CAS and stamp nothing);
	// LockWaitedSince is when the earliest waiter still waiting began.
	// Zero when unknown.
	LockHeldSince, LockWaitedSince time.Time
	// SemValue is a named semaphore's value.
	SemValue int
	// Held reports whether some process that this one's /proc shows has
	// it open or mapped now.
	Held bool
}

// User is a process that created or opened an object, or holds its lock.
type User struct {
	// Pid is the process's pid in its own pid namespace, which may not be
	// this process's (OtherNamespace): then it names nothing here.
	Pid            int
	OtherNamespace bool
	// Alive is asked of the kernel (the process's registry lock), so it is
	// right whatever pid namespace the process runs in.
	Alive bool
}

// Stale reports whether no live process uses the object: none of its
// registered users is alive and no process holds it.
func (o *Object) Stale() bool {
	if o.Held || len(o.Users) == 0 || o.Untracked {
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
	ourNS := pidNamespace()
	type owner struct {
		u   User
		ino uint64 // the inode it registered; 0 unknown
	}
	owners := map[string][]owner{}
	for _, r := range server.Registries() {
		u := User{Pid: r.Pid, Alive: r.Alive, OtherNamespace: r.PidNS != ourNS}
		for _, e := range r.Entries {
			owners[e.Name] = append(owners[e.Name], owner{u, e.Ino})
		}
	}
	held := proc.HeldInodes(names.Dir)
	var out []Object
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, csrc.RegPrefix) || strings.HasPrefix(name, csrc.TrkPrefix) {
			continue
		}
		o, ino, ok := describe(name, ourNS)
		if !ok && len(owners[name]) == 0 && !names.Ours(name) {
			continue // not ours
		}
		o.Name = name
		for _, w := range owners[name] {
			// A process that used another file under this name (since
			// unlinked and made anew) is no user of this one.
			if w.ino == 0 || ino == 0 || w.ino == ino {
				o.Users = append(o.Users, w.u)
			}
		}
		o.Held = ino != 0 && held[ino]
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// pidNamespace returns the inode of this process's pid namespace.
func pidNamespace() uint64 {
	var st unix.Stat_t
	if unix.Stat("/proc/self/ns/pid", &st) != nil {
		return 0
	}
	return st.Ino
}

// describe reads what an entry is, mapping it read-only, and returns its
// inode.
func describe(name string, ourNS uint64) (Object, uint64, bool) {
	o := Object{Kind: "segment"}
	fd, err := unix.Open(names.Dir+name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return o, 0, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return o, 0, false
	}
	o.Size = st.Size
	o.Untracked = st.Mode&csrc.UntrackedMode != 0
	if st.Size <= 0 {
		return o, st.Ino, false
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return o, st.Ino, false
	}
	defer unix.Munmap(mem)
	if strings.HasPrefix(name, "sem.") {
		if sem, ok := semword.Inspect(mem); ok {
			o.Kind = "named semaphore"
			o.SemValue = sem.Value
			return o, st.Ino, true
		}
	}
	info, err := csrc.ValidateHeader(mem)
	if err != nil {
		return o, st.Ino, false
	}
	o.Kind, o.Format, o.Count = csrc.KindName(info.Kind), info.Format, info.Count
	if info.LockOffset != 0 {
		ls := robust.Inspect(mem[info.LockOffset : info.LockOffset+robust.AreaSize])
		if ls.Owner != 0 {
			o.LockOwner = &User{Pid: proc.PidOf(ls.Owner), Alive: proc.Alive(ls.Owner)}
			o.LockOwner.OtherNamespace = ownerNamespace(ls.Owner) != ourNS
			o.LockOwnerDead = ls.Dead
			o.LockHeldSince, o.LockWaitedSince = ls.HeldSince, ls.WaitedSince
		}
	}
	return o, st.Ino, true
}

// ownerNamespace returns the pid namespace recorded in id's registry, 0
// if unknown.
func ownerNamespace(id uint64) uint64 {
	for _, r := range server.Registries() {
		if r.ID == id {
			return r.PidNS
		}
	}
	return 0
}

// RemoveStale unlinks the entries that List reports stale — ones whose
// registered users are all gone and that no process holds — and returns
// their names, then removes the registries of dead processes and the
// files of dead trackers ("mps-trk-…", whose tracker was killed). The
// tracker does this by itself; this is for when no tracker ran (all users
// killed with no mpsync process starting since).
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
	for _, r := range server.Registries() {
		if !r.Alive && unix.Unlink(names.Dir+r.File) == nil {
			removed = append(removed, r.File)
		}
	}
	ents, err := os.ReadDir(names.Dir)
	if err != nil {
		return removed, err
	}
	for _, e := range ents {
		if server.DeadTracker(e.Name()) && unix.Unlink(names.Dir+e.Name()) == nil {
			removed = append(removed, e.Name())
		}
	}
	return removed, nil
}
