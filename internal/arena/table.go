package arena

import (
	"strconv"
	"strings"
	"sync"
)

// A process maps each arena once, however many of its objects it has
// open: the table holds the mapped arenas by name, each with a count of
// the handles using it, and unmaps one when its count drops to zero.
var (
	tableMu sync.Mutex
	table   = map[string]*Heap{}
)

// Opener maps the arena segment called name and attaches a Heap to it (see
// Attach). Package shm sets it: it owns segments.
var Opener func(name string) (*Heap, error)

// Acquire returns this process's Heap for the arena called name, mapping
// it if no handle has it mapped yet, and counts one more user; Release
// undoes it.
func Acquire(name string) (*Heap, error) {
	tableMu.Lock()
	if h := table[name]; h != nil {
		h.refs++
		tableMu.Unlock()
		return h, nil
	}
	tableMu.Unlock()
	h, err := Opener(name)
	if err != nil {
		return nil, err
	}
	tableMu.Lock()
	defer tableMu.Unlock()
	if other := table[name]; other != nil { // mapped meanwhile
		other.refs++
		h.close()
		return other, nil
	}
	h.refs = 1
	table[name] = h
	return h, nil
}

// Register enters a Heap this process has just created, with one user.
func Register(h *Heap) {
	tableMu.Lock()
	defer tableMu.Unlock()
	h.refs = 1
	table[h.name] = h
}

// Forget takes the arena called name out of the table (its name was
// unlinked): later Acquires map whatever then has the name. Users of the
// old mapping keep it until they release it.
func Forget(name string) {
	tableMu.Lock()
	defer tableMu.Unlock()
	delete(table, name)
}

// Retain counts one more user of a Heap still mapped, and reports
// whether it was.
func (h *Heap) Retain() bool {
	tableMu.Lock()
	defer tableMu.Unlock()
	if h.refs == 0 {
		return false
	}
	h.refs++
	return true
}

// Release drops one user; the last one unmaps the arena.
func (h *Heap) Release() error {
	tableMu.Lock()
	h.refs--
	last := h.refs == 0
	if last && table[h.name] == h {
		delete(table, h.name)
	}
	tableMu.Unlock()
	if !last {
		return nil
	}
	return h.close()
}

// Split splits an arena-qualified name, "arena/object" with an optional
// leading slash; ok is false for a name without a '/' after it.
func Split(q string) (arena, object string, ok bool) {
	return strings.Cut(strings.TrimPrefix(q, "/"), "/")
}

// ParseHandle parses the object part of a handle, "#<offset>.<gen>" in
// hex; ok is false if object is not one.
func ParseHandle(object string) (off uint64, gen uint32, ok bool) {
	rest, isHandle := strings.CutPrefix(object, "#")
	o, g, dot := strings.Cut(rest, ".")
	if !isHandle || !dot {
		return 0, 0, false
	}
	off, err1 := strconv.ParseUint(o, 16, 64)
	g64, err2 := strconv.ParseUint(g, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return off, uint32(g64), true
}
