package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/fastsys"
	"github.com/mpsync/mpsync/internal/names"
)

// Registry is what a process's registry says (layout in mpsync.h), read
// as untrusted input: its owner may be buggy, or may have died halfway
// through a write.
type Registry struct {
	File    string // the /dev/shm entry, "mps-reg-<16 hex digits>"
	ID      uint64
	Pid     int    // in the owner's pid namespace
	PidNS   uint64 // inode of the owner's pid namespace, 0 unknown
	Started time.Time
	Alive   bool    // the owner's liveness lock is held
	Entries []Entry // the names it lists; nil if its header is unreadable
}

// Entry is one name a registry lists.
type Entry struct {
	Name string
	Ino  uint64 // the file's inode when registered; 0 unknown
}

// errBadRegistry is returned by Parse for bytes that are no registry.
var errBadRegistry = errors.New("mpsync tracker: not a registry, or a corrupt one")

// Parse decodes a registry from data: its header and as many slots as
// data holds (a truncated registry yields the slots that fit). Entries
// that are not complete, well-formed names are skipped. It never panics,
// whatever data holds.
func Parse(data []byte) (Registry, error) {
	var r Registry
	if len(data) < csrc.RegOffStarted+8 || string(data[:8]) != csrc.RegMagic {
		return r, errBadRegistry
	}
	le := binary.NativeEndian
	r.ID = le.Uint64(data[csrc.RegOffID:])
	high := le.Uint32(data[csrc.RegOffHigh:])
	r.Pid = int(le.Uint32(data[csrc.RegOffPid:]) & 0x7fffffff)
	r.PidNS = le.Uint64(data[csrc.RegOffPidNS:])
	if ns := int64(le.Uint64(data[csrc.RegOffStarted:])); ns > 0 {
		r.Started = time.Unix(0, ns)
	}
	if high > csrc.RegSlots || r.ID&^uint64(csrc.IDMask) != 0 {
		return r, errBadRegistry
	}
	r.Entries = []Entry{}
	for i := 1; i < int(high); i++ {
		off := csrc.RegHeaderSize + i*csrc.RegSlotSize
		if off+csrc.RegSlotSize > len(data) {
			break
		}
		slot := data[off : off+csrc.RegSlotSize]
		if le.Uint32(slot) != 1 {
			continue
		}
		name := slot[csrc.RegSlotOffName:]
		end := bytes.IndexByte(name, 0)
		if end <= 0 {
			continue
		}
		n := string(name[:end])
		if clean, err := names.Check("tracker", n); err != nil || clean != n {
			continue
		}
		r.Entries = append(r.Entries, Entry{Name: n, Ino: le.Uint64(slot[csrc.RegSlotOffIno:])})
	}
	return r, nil
}

// readRegistry reads the registry open as fd with pread, never mapping
// it: a file truncated or grown meanwhile gives short or extra bytes, not
// a fault. The header is read first, then, with entries, the slots below
// its high mark (without, Entries is nil).
func readRegistry(fd int, entries bool) (Registry, error) {
	head := make([]byte, csrc.RegHeaderSize)
	n, err := fastsys.Pread(fd, head, 0)
	if err != nil {
		return Registry{}, err
	}
	r, err := Parse(head[:n])
	if !entries {
		r.Entries = nil
		return r, err
	}
	if err != nil || n < csrc.RegHeaderSize {
		return r, err
	}
	high := int(binary.NativeEndian.Uint32(head[csrc.RegOffHigh:]))
	data := make([]byte, csrc.RegHeaderSize+high*csrc.RegSlotSize)
	copy(data, head)
	m, err := fastsys.Pread(fd, data[csrc.RegHeaderSize:], csrc.RegHeaderSize)
	if err != nil {
		m = 0
	}
	return Parse(data[:csrc.RegHeaderSize+m])
}

// registryID returns the identity a registry entry name carries.
func registryID(entry string) (uint64, bool) {
	return hexSuffix(entry, csrc.RegPrefix)
}

// hexSuffix parses prefix followed by exactly 16 lower-case hex digits.
func hexSuffix(entry, prefix string) (uint64, bool) {
	rest, ok := strings.CutPrefix(entry, prefix)
	if !ok || len(rest) != 16 || strings.ToLower(rest) != rest {
		return 0, false
	}
	v, err := strconv.ParseUint(rest, 16, 64)
	return v, err == nil
}

// trackerLives reports, for entry a tracker's file of this user
// ("mps-trk-<16 hex digits>"), whether that tracker runs: it holds the
// file's lock as long as it lives. ok is false for any other entry.
func trackerLives(entry string) (alive, ok bool) {
	if _, ok := hexSuffix(entry, csrc.TrkPrefix); !ok {
		return false, false
	}
	fd, _ := ownFile(entry)
	if fd < 0 {
		return false, false
	}
	defer fastsys.Close(fd, true)
	held, err := csrc.AliveLock(fd)
	return held, err == nil
}

// DeadTracker reports whether entry is a tracker's file of this user
// whose tracker is gone: a tracker's sweep removes it, and so does
// resourcetracker.RemoveStale when no tracker runs.
func DeadTracker(entry string) bool {
	alive, ok := trackerLives(entry)
	return ok && !alive
}

// ownFile opens /dev/shm/entry, a regular file of this user, for reading
// and writing (file locks need it); -1 if it is not one. Close it with
// fastsys.Close(fd, true): a registry or tracker file is small, and
// dropping the last reference to one frees little.
//
// What a sweep does with the files of /dev/shm, when nobody died, is done
// with raw system calls (package fastsys): ordinary ones would wake the
// Go runtime's monitor thread, about fifty context switches per sweep of
// an idle tracker.
func ownFile(entry string) (int, unix.Stat_t) {
	var st unix.Stat_t
	fd, err := fastsys.Open(names.Dir, entry, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return -1, st
	}
	if fastsys.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != uint32(os.Getuid()) {
		fastsys.Close(fd, true)
		return -1, st
	}
	return fd, st
}

// Registries reads every registry of this user in /dev/shm, with whether
// its owner lives. Unreadable ones are listed with no entries.
func Registries() []Registry { return registries(true) }

// registryHeads is Registries without the entries (Entries nil): what a
// sweep needs to know whether anyone died, without reading, for every
// live process, every name it lists.
func registryHeads() []Registry { return registries(false) }

func registries(entries bool) []Registry {
	ents, _ := fastsys.ReadDirNames(names.Dir)
	var out []Registry
	for _, e := range ents {
		id, ok := registryID(e)
		if !ok {
			continue
		}
		fd, _ := ownFile(e)
		if fd < 0 {
			continue
		}
		r, _ := readRegistry(fd, entries)
		alive, err := csrc.AliveLock(fd)
		fastsys.Close(fd, true)
		r.File, r.ID, r.Alive = e, id, alive || err != nil
		out = append(out, r)
	}
	return out
}
