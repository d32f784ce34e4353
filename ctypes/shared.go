package ctypes

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/goid"
	"github.com/mpsync/mpsync/internal/handle"
	"github.com/mpsync/mpsync/internal/object"
	"github.com/mpsync/mpsync/internal/robust"
	"github.com/mpsync/mpsync/shm"
)

// Option configures the creation (or, for WithLock, the opening) of a
// Value or Array.
type Option func(options) options

type options struct {
	name      string
	untracked bool
	raw       bool
	lock      sync.Locker
	initial   any
	arena     *shm.Arena
}

// WithName gives a new object a chosen name instead of a random one
// ("mps_value_…", "mps_array_…"). Creation is exclusive.
func WithName(name string) Option { return func(o options) options { o.name = name; return o } }

// Untracked keeps a new object out of the resource tracker, so that it
// outlives its creator even when no other process uses it; by default,
// once every process that created or opened it is gone, it is unlinked.
func Untracked() Option { return func(o options) options { o.untracked = true; return o } }

// Unsynchronized makes an object without the embedded lock, as the Raw
// constructors do.
func Unsynchronized() Option { return func(o options) options { o.raw = true; return o } }

// WithLock uses l instead of an embedded lock: Lock and Unlock lock l, and
// the object is created without a lock of its own. l is this handle's
// alone; other processes pass their handle of the same lock (a
// semaphore.Lock or RLock opened by name) when they open the object. With a
// caller's lock, Get and Set of values too large to be atomic do not lock:
// hold l around them.
func WithLock(l sync.Locker) Option { return func(o options) options { o.lock = l; return o } }

// Initial sets the initial elements of a new Array: a []T whose length
// must equal the array's.
func Initial(values any) Option { return func(o options) options { o.initial = values; return o } }

// In creates the Value or Array inside the arena a (see shm.NewArena)
// instead of as a segment of its own: no file, no mapping and no system
// call of its own; a synchronized Value[int64] takes 48 bytes of shared
// memory, named (with a name of up to 8 bytes) or not, plus its share of
// the name table. Its lock is the compact one (the lock word and one word
// for the recursion owner and count, which counts up to 65,535 recursive
// holds; mpsync-ls shows no hold times). With
// WithName it is named in the arena (1 to 251 bytes, no '/', not starting
// with '#') and opened from any process as "<arena>/<name>"; without,
// Name returns its handle, "<arena>/#<offset>.<generation>", which opens
// it the same way. Elements may be aligned to at most 16 bytes, and an
// Array holds at most 2^32-1 of them. Unlink frees the object and its
// memory is reused: another process must not use it after that (opening
// a freed object's name or handle is an error matching fs.ErrNotExist,
// but a handle already open is not told). Untracked has no effect: the
// arena is tracked as a whole.
func In(a *shm.Arena) Option { return func(o options) options { o.arena = a; return o } }

func applyOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		o = opt(o)
	}
	return o
}

// shared is what Value and Array have in common: n elements of T in the
// payload of an mpsync object, with an optional lock.
type shared[T any] struct {
	obj  *object.Object
	h    handle.Handle
	elem *element // shared by every handle of T
	n    int
	user sync.Locker // a caller's lock, or nil
	core
	// What obj and core.lock point at in an arena object's handle: held
	// here, they cost a million arena objects no allocations of their own.
	ownObj  object.Object
	ownLock robust.Lock
}

// core is the part of shared that Value's fast paths touch. It is not
// generic, so that Get and Set stay small enough to be inlined into their
// callers: a generic slow path would not be.
type core struct {
	word4 *uint32        // the first element, if elements are 4 bytes
	base  unsafe.Pointer // the first element
	size  uintptr        // bytes per element
	lock  *robust.Lock   // the embedded lock, or nil
}

// loadAt copies the element at elem to dst: atomically for 1, 2, 4 and 8
// bytes (aligned accesses of 1 and 2 bytes are single-copy atomic), under
// the lock (recursively, so inside Lock it does not deadlock) for larger
// elements; see lockedBig for a lock whose holder died.
//
//go:noinline
func (c *core) loadAt(elem, dst unsafe.Pointer) {
	switch c.size {
	case 8:
		*(*uint64)(dst) = atomic.LoadUint64((*uint64)(elem))
		return
	case 4:
		*(*uint32)(dst) = atomic.LoadUint32((*uint32)(elem))
		return
	case 2:
		*(*uint16)(dst) = *(*uint16)(elem)
		return
	case 1:
		*(*uint8)(dst) = *(*uint8)(elem)
		return
	}
	defer c.lockedBig("ctypes.Value.Get (or ctypes.Array.At)")()
	copy(unsafe.Slice((*byte)(dst), c.size), unsafe.Slice((*byte)(elem), c.size))
}

// storeAt copies src into the element at elem, as loadAt reads it.
//
//go:noinline
func (c *core) storeAt(elem, src unsafe.Pointer) {
	switch c.size {
	case 8:
		atomic.StoreUint64((*uint64)(elem), *(*uint64)(src))
		return
	case 4:
		atomic.StoreUint32((*uint32)(elem), *(*uint32)(src))
		return
	case 2:
		*(*uint16)(elem) = *(*uint16)(src)
		return
	case 1:
		*(*uint8)(elem) = *(*uint8)(src)
		return
	}
	defer c.lockedBig("ctypes.Value.Set (or ctypes.Array.Set)")()
	copy(unsafe.Slice((*byte)(elem), c.size), unsafe.Slice((*byte)(src), c.size))
}

// loadFirst and storeFirst are loadAt and storeAt on the first element,
// with one argument less: Value's Get and Set call them and must stay
// small enough to inline.
//
//go:noinline
func (c *core) loadFirst(dst unsafe.Pointer) { c.loadAt(c.base, dst) }

//go:noinline
func (c *core) storeFirst(src unsafe.Pointer) { c.storeAt(c.base, src) }

// lockedBig takes the embedded lock, if any, for the calling goroutine,
// recursively, and returns its release; the caller copies one element in
// between. It never lets the copy happen without the lock:
//
//   - If the holder died, the lock is taken over, and the release marks it
//     consistent before unlocking, as Lock does: the element was copied
//     whole under the lock, and releasing without MarkConsistent would
//     make the lock unusable for everyone (ErrNotRecoverable).
//   - If the lock cannot be taken (it is not recoverable), it panics,
//     naming op, as Lock does: Get and Set have no error to return.
func (c *core) lockedBig(op string) func() {
	if c.lock == nil {
		return func() {}
	}
	g := goid.Current()
	switch err := c.lock.LockRecursive(context.Background(), g); {
	case errors.Is(err, errs.ErrOwnerDead):
		return func() {
			c.lock.MarkConsistent()
			c.lock.UnlockRecursive(g)
		}
	case err != nil:
		panic(op + ": " + err.Error())
	}
	return func() { c.lock.UnlockRecursive(g) }
}

// create makes the object for n elements of T, holding a copy of init
// (n elements) or zeros (init empty).
func (s *shared[T]) create(op string, kind, n int, o options, init []T) error {
	e, err := describe(op, reflect.TypeFor[T]())
	if err != nil {
		return err
	}
	spec := csrc.ObjectSpec{Kind: kind, Format: e.format, Count: uint64(n), ElemSize: uint64(e.size),
		ElemAlign: uint32(e.align), WithLock: !o.raw && o.lock == nil}
	var obj *object.Object
	if o.arena != nil {
		// The spec, the closure and init stay on the stack here: a
		// million creations in an arena allocate only their handles.
		obj, err = object.CreateIn(op, o.arena, o.name, &spec, &s.ownObj, func(obj *object.Object) error {
			copyElements(obj.Payload(), init)
			return nil
		})
	} else {
		// This closure escapes (package shm keeps it): it gets copies.
		standalone, elems := spec, slices.Clone(init)
		obj, err = object.Create(op, o.name, &standalone, o.untracked, func(obj *object.Object) error {
			copyElements(obj.Payload(), elems)
			return nil
		})
	}
	if err != nil {
		return err
	}
	s.attach(obj, e, o)
	return nil
}

// copyElements copies elems to the start of payload.
func copyElements[T any](payload []byte, elems []T) {
	if len(elems) > 0 {
		copy(unsafe.Slice((*T)(unsafe.Pointer(&payload[0])), len(elems)), elems)
	}
}

// adopt checks that obj, the object called name just opened, holds
// elements of T, and attaches it; it closes obj if not.
func (s *shared[T]) adopt(op, name string, obj *object.Object, o options) error {
	e, err := describe(op, reflect.TypeFor[T]())
	if err != nil {
		obj.Close()
		return err
	}
	info := obj.Info
	if canonicalFormat(info.Format) != canonicalFormat(e.format) || info.ElemSize != uint64(e.size) {
		obj.Close()
		return fmt.Errorf("%s %s: it holds %q (%d-byte elements), not %v %q (%d bytes): %w",
			op, name, info.Format, info.ElemSize, reflect.TypeFor[T](), e.format, e.size, errs.ErrTypeMismatch)
	}
	if info.PayloadOffset%uint64(e.align) != 0 || info.Count > uint64(maxLen) {
		obj.Close()
		return fmt.Errorf("%s %s: payload misaligned or too long: %w", op, name, errs.ErrCorrupt)
	}
	s.attach(obj, e, o)
	return nil
}

const maxLen = int(^uint(0) >> 2)

func (s *shared[T]) attach(obj *object.Object, e *element, o options) {
	s.obj, s.elem, s.n, s.user = obj, e, int(obj.Info.Count), o.lock
	s.h.Res = obj
	if s.n > 0 {
		s.base = unsafe.Pointer(&obj.Payload()[0])
	} else {
		s.base = unsafe.Pointer(&zeroElement)
	}
	s.size = e.size
	if e.size == 4 && s.n > 0 {
		s.word4 = (*uint32)(s.base)
	}
	if area := obj.LockArea(); area != nil && o.lock == nil {
		s.ownLock.Init(area)
		s.lock = &s.ownLock
	}
}

var zeroElement [64]byte

// at returns the address of element i (unchecked).
func (s *shared[T]) at(i int) *T { return (*T)(unsafe.Add(s.base, uintptr(i)*s.elem.size)) }

// load reads element p (see core.loadAt).
func (s *shared[T]) load(p *T) (x T) {
	s.loadAt(unsafe.Pointer(p), unsafe.Pointer(&x))
	return x
}

// store writes element p (see core.storeAt).
func (s *shared[T]) store(p *T, v T) { s.storeAt(unsafe.Pointer(p), unsafe.Pointer(&v)) }

// errNotNumeric is returned by Add and CompareAndSwap on types they do not
// support.
func (s *shared[T]) errNotNumeric(op string) error {
	return errs.Invalid(op, "type", "%v: atomic arithmetic needs a number (or Char, WChar)", reflect.TypeFor[T]())
}

// add adds delta to element p atomically and returns the new value.
func (s *shared[T]) add(op string, p *T, delta T) (T, error) {
	tc := s.elem.code
	if tc == nil || tc.class == '?' {
		var zero T
		return zero, s.errNotNumeric(op)
	}
	for {
		old := s.load(p)
		var next T
		switch tc.class {
		case 'f':
			if tc.size == 8 {
				*(*float64)(unsafe.Pointer(&next)) = *(*float64)(unsafe.Pointer(&old)) + *(*float64)(unsafe.Pointer(&delta))
			} else {
				*(*float32)(unsafe.Pointer(&next)) = *(*float32)(unsafe.Pointer(&old)) + *(*float32)(unsafe.Pointer(&delta))
			}
		default: // two's complement addition is the same for signed and unsigned
			next = fromBits[T](bitsOf(old)+bitsOf(delta), tc.size)
		}
		if ok, _ := s.cas(p, old, next); ok {
			return next, nil
		}
	}
}

// cas compares element p's bits with old and, if equal, stores new.
func (s *shared[T]) cas(p *T, old, new T) (bool, error) {
	switch s.elem.size {
	case 8:
		return atomic.CompareAndSwapUint64((*uint64)(unsafe.Pointer(p)), bitsOf(old), bitsOf(new)), nil
	case 4:
		return atomic.CompareAndSwapUint32((*uint32)(unsafe.Pointer(p)), uint32(bitsOf(old)), uint32(bitsOf(new))), nil
	case 1, 2:
		// Compare-and-swap the aligned 32-bit word holding the element
		// (little-endian), leaving its neighbours as they are.
		addr := uintptr(unsafe.Pointer(p))
		word := (*uint32)(unsafe.Add(unsafe.Pointer(p), -int(addr&3)))
		shift := (addr & 3) * 8
		mask := uint32(1)<<(s.elem.size*8) - 1
		for {
			w := atomic.LoadUint32(word)
			if (w>>shift)&mask != uint32(bitsOf(old))&mask {
				return false, nil
			}
			nw := w&^(mask<<shift) | (uint32(bitsOf(new))&mask)<<shift
			if atomic.CompareAndSwapUint32(word, w, nw) {
				return true, nil
			}
		}
	}
	return false, s.errNotNumeric("CompareAndSwap")
}

// bitsOf returns the bits of a value of at most 8 bytes.
func bitsOf[T any](v T) uint64 {
	var b uint64
	size := unsafe.Sizeof(v)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&b)), 8)[:size], unsafe.Slice((*byte)(unsafe.Pointer(&v)), size))
	return b
}

// fromBits makes a T from the low size bytes of b.
func fromBits[T any](b uint64, size uintptr) T {
	var v T
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&v)), size), unsafe.Slice((*byte)(unsafe.Pointer(&b)), 8)[:size])
	return v
}

// Locking, shared by Value and Array.

// Lock locks the object's lock for the calling goroutine (recursively:
// Get and Set inside Lock do not deadlock). Like sync.Mutex.Lock it cannot
// report errors: if a holder died, it marks the lock consistent and
// returns holding it; use Acquire to be told. It panics on an object
// without a lock.
func (s *shared[T]) Lock() {
	switch {
	case s.user != nil:
		s.user.Lock()
	case s.lock == nil:
		panic("ctypes: Lock of an object without a lock (raw, or opened without WithLock)")
	default:
		if err := s.lock.LockRecursive(context.Background(), goid.Current()); errors.Is(err, errs.ErrOwnerDead) {
			s.lock.MarkConsistent()
		} else if err != nil {
			panic("ctypes: Lock: " + err.Error())
		}
	}
}

// Unlock unlocks the lock; it panics if the calling goroutine does not
// hold it.
func (s *shared[T]) Unlock() {
	switch {
	case s.user != nil:
		s.user.Unlock()
	case s.lock == nil:
		panic("ctypes: Unlock of an object without a lock")
	default:
		if err := s.lock.UnlockRecursive(goid.Current()); err != nil {
			panic("ctypes: Unlock: " + err.Error())
		}
	}
}

// Acquire locks the embedded lock, waiting as long as ctx allows. It
// returns [ErrOwnerDead], with the lock held, if the previous holder died:
// the value is intact as far as memory goes (it is still readable), but
// whatever invariant the holder was maintaining may be half-done; call
// MarkConsistent once it is repaired. It returns [ErrNotRecoverable] for a
// lock released after [ErrOwnerDead] without MarkConsistent. Get and Set
// inside Acquire only count a recursion, so they never hide a dead
// holder from the caller.
func (s *shared[T]) Acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.checkLock(); err != nil {
		return err
	}
	return s.lock.LockRecursive(ctx, goid.Current())
}

// Release undoes one Acquire (or Lock) by the calling goroutine.
func (s *shared[T]) Release() error {
	if err := s.checkLock(); err != nil {
		return err
	}
	return s.lock.UnlockRecursive(goid.Current())
}

// MarkConsistent declares repaired the state of a lock taken with
// [ErrOwnerDead].
func (s *shared[T]) MarkConsistent() error {
	if err := s.checkLock(); err != nil {
		return err
	}
	return s.lock.MarkConsistent()
}

func (s *shared[T]) checkLock() error {
	switch {
	case s.h.Closed():
		return errs.ErrClosed
	case s.lock == nil:
		return errs.Invalid("ctypes", "object", "%s has no embedded lock", s.Name())
	}
	return nil
}

// GetLock returns the object's lock as a sync.Locker (Python's
// get_lock()): the caller's lock given with WithLock, or the object itself
// for its embedded lock, or nil for an object without a lock.
func (s *shared[T]) GetLock() sync.Locker {
	switch {
	case s.user != nil:
		return s.user
	case s.lock != nil:
		return s
	}
	return nil
}

// Synchronized reports whether the object has an embedded lock.
func (s *shared[T]) Synchronized() bool { return s.lock != nil }

// Format returns the element format recorded in the object's header:
// a typecode ("i", "d", ...) or a struct format ("T{d:x:d:y:}").
func (s *shared[T]) Format() string { return s.obj.Info.Format }

// Name returns the object's name without a slash.
func (s *shared[T]) Name() string { return s.h.Name() }

// Close unmaps the object from this process; it is idempotent. Values
// read afterwards are zero and writes are lost, but nothing crashes.
func (s *shared[T]) Close() error { return s.h.Close() }

// Unlink removes the object's name; a second call matches fs.ErrNotExist.
func (s *shared[T]) Unlink() error { return s.h.Unlink() }
