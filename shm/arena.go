package shm

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/internal/arena"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/names"
)

// ErrArenaFull is returned when an arena has no room left for an object
// (or its name table for a name). It matches [syscall.ENOSPC]; the
// message names the arena, its size and what was asked.
var ErrArenaFull = errs.ErrArenaFull

// ErrMapLimit is returned by Create, Open and the constructors of every
// standalone object when one more mapping would bring the process too
// near the kernel's limit (vm.max_map_count): see "Many objects" in the
// package doc. It matches [syscall.ENOMEM].
var ErrMapLimit = errs.ErrMapLimit

// ArenaPrefix starts the random names of arenas: "mps_arena_" and 16 hex
// digits.
const ArenaPrefix = names.ObjectPrefix + "arena_"

// Arena is one segment holding many mpsync objects: locks, semaphores,
// events, conditions, barriers, values and arrays, created in it with the
// In options of packages semaphore and ctypes and opened from any
// process by "arena/object" names. See "Arenas" in the package doc.
//
// An Arena is safe for concurrent use by multiple goroutines.
type Arena struct {
	h      *arena.Heap
	closed atomic.Bool
}

// ArenaStats counts an arena's use; see [Arena.Stats].
type ArenaStats = arena.Stats

// MaxNames sets how many named objects an arena can hold at once (its
// name table is sized for them when it is created). The default is one
// name per 128 bytes of arena. Anonymous objects need no name. Only
// NewArena takes it; Create ignores it.
func MaxNames(n int) Option { return func(o *options) { o.names = n } }

// NewArena creates an arena of size bytes (4 KiB to 64 GiB; it never
// grows) under name ("" for a random name, "mps_arena_" and 16 hex
// digits), and maps it. It takes the options of Create: [WithMode],
// [Untracked] and [Reserve] (allocate the whole arena in /dev/shm now;
// by default its heap is allocated a MiB at a time as objects need it),
// and [MaxNames]. The arena is tracked as one object: once every process
// that used it is gone, the tracker unlinks it, objects and all.
//
// The arena's tables (about 80 KiB, plus 4 bytes per name slot) come out
// of size; the rest holds objects.
func NewArena(name string, size int, opts ...Option) (*Arena, error) {
	const op = "shm.NewArena"
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.init != nil || o.prefix != "" {
		return nil, errs.Invalid(op, "opts", "WithInit and RandomPrefix are for Create")
	}
	if o.names < 0 {
		return nil, errs.Invalid(op, "MaxNames", "%d: must not be negative", o.names)
	}
	if size <= 0 {
		return nil, errs.Invalid(op, "size", "%d: must be positive", size)
	}
	if o.names == 0 {
		o.names = size / 128
	}
	slots := arena.SlotsFor(o.names)
	if min := arena.MinSize(slots); uint64(size) < min || size > 1<<36 {
		return nil, errs.Invalid(op, "size", "%d: an arena with room for %d names takes %d bytes to 64 GiB", size, o.names, min)
	}
	if name == "" {
		opts = append(opts, RandomPrefix(ArenaPrefix))
	}
	seg, err := Create(name, size, opts...)
	if err != nil {
		return nil, errs.Relabel(op, err)
	}
	h, err := attach(seg, func(mem []byte, reserve func(off, n int64) error) error {
		return arena.Format(mem, slots, reserve)
	})
	if err != nil {
		seg.Unlink()
		return nil, fmt.Errorf("%s %s: %w", op, seg.Name(), err)
	}
	arena.Register(h)
	return &Arena{h: h}, nil
}

// OpenArena opens the arena called name, created by NewArena in any
// process. A segment that is not an arena matches ErrTypeMismatch (of
// packages semaphore and ctypes); a damaged one matches [fs.ErrInvalid].
// The arena is mapped once per process however many handles and objects
// of it are open: while this process has the arena called name mapped,
// OpenArena and opens of "name/..." use that mapping without looking at
// /dev/shm again, even if another process has meanwhile unlinked the name
// and made a new arena under it (Unlink in this process forgets the
// mapping at once).
func OpenArena(name string) (*Arena, error) {
	const op = "shm.OpenArena"
	clean, err := names.Check(op, name)
	if err != nil {
		return nil, err
	}
	h, err := arena.Acquire(clean)
	if err != nil {
		return nil, errs.Relabel(op, err)
	}
	return &Arena{h: h}, nil
}

func init() { arena.Opener = openHeap }

// openHeap maps the arena segment called name for package arena, waiting
// briefly for a creator that has not published it yet.
func openHeap(name string) (*arena.Heap, error) {
	seg, err := Open(name)
	if err != nil {
		return nil, err
	}
	var h *arena.Heap
	for wait := time.Millisecond; ; wait *= 2 {
		h, err = attach(seg, nil)
		if !errors.Is(err, syscall.EAGAIN) || wait > 100*time.Millisecond {
			break
		}
		time.Sleep(wait)
	}
	if errors.Is(err, syscall.EAGAIN) {
		err = errs.ErrNotReady
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return h, nil
}

// attach opens a descriptor for growing the arena in seg, formats the
// arena with format if it is not nil, and attaches a Heap. On failure seg
// is closed.
func attach(seg *Segment, format func(mem []byte, reserve func(off, n int64) error) error) (*arena.Heap, error) {
	f, err := seg.File()
	if err != nil {
		seg.Close()
		return nil, err
	}
	reserve := func(off, n int64) error {
		for {
			err := unix.Fallocate(int(f.Fd()), 0, off, n)
			if err != unix.EINTR {
				return err
			}
		}
	}
	closeAll := func() error { return errors.Join(f.Close(), seg.Close()) }
	if format != nil {
		err = format(seg.Bytes(), reserve)
	}
	var h *arena.Heap
	if err == nil {
		h, err = arena.Attach(seg.Name(), seg.Bytes(), reserve, closeAll)
	}
	if err != nil {
		closeAll()
		return nil, err
	}
	return h, nil
}

// fixArenaOp puts op in front of an error from Create or Open.

// Name returns the arena's name without a slash. An object in it is
// opened by "<name>/<object name>", or by its handle string.
func (a *Arena) Name() string { return a.h.Name() }

// Size returns the arena's size in bytes, as created.
func (a *Arena) Size() int { return len(a.h.Mem()) }

// Stats returns the arena's counters: bytes in use and free, objects and
// names. It reads them without the arena's lock, so while other processes
// allocate they may disagree slightly with each other.
func (a *Arena) Stats() ArenaStats { return a.h.Stats() }

// Check walks the whole arena under its lock and returns an error
// matching [fs.ErrInvalid] at the first inconsistency (a block, a free
// list, a name or a counter that disagrees with the rest), and the
// counters otherwise. It is for tests and inspection: it takes time in
// proportion to the arena's objects, while other processes wait.
func (a *Arena) Check() (ArenaStats, error) {
	if a.closed.Load() {
		return ArenaStats{}, ErrClosed
	}
	return a.h.Check("shm.Arena.Check")
}

// Close releases this handle. The mapping stays while objects of the
// arena are open in this process; the arena itself and its objects stay
// until it is unlinked. Close is idempotent.
func (a *Arena) Close() error {
	if a.closed.Swap(true) {
		return nil
	}
	return a.h.Release()
}

// Unlink removes the arena's name, so no one can open it or its objects
// by name any more; objects open anywhere keep working until closed. A
// second call matches [fs.ErrNotExist]. It works after Close.
func (a *Arena) Unlink() error {
	arena.Forget(a.h.Name())
	if err := Unlink(a.h.Name()); err != nil {
		return errs.Relabel("shm.Arena.Unlink", err)
	}
	return nil
}

// String describes the arena for logs.
func (a *Arena) String() string {
	st := a.h.Stats()
	return fmt.Sprintf("shm.Arena(%s, %d bytes, %d objects, %d bytes free)", a.h.Name(), st.Size, st.Objects, st.Free)
}
