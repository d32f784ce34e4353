package ctypes

import (
	"sync/atomic"
	"unsafe"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/object"
)

// Value is one T in shared memory, like multiprocessing.Value: created in
// one process, opened by name in others (Go, C through libmpsync, Python
// through the mpsync package in csrc/python).
//
// T is a number, bool, Char, WChar, a fixed-size array of those, or a
// struct of them laid out as C would lay it out (structs.HostLayout is
// recommended); Go int, pointers, slices, strings, maps, interfaces,
// channels and funcs are refused.
//
// A Value made by NewValue carries a robust lock (see package semaphore):
// Get and Set are atomic for values of 1, 2, 4 or 8 bytes and take the
// lock otherwise, and the lock is recursive for the goroutine that holds
// it, so the classic pattern needs no other care:
//
//	v.Lock()
//	v.Set(v.Get() + 1)
//	v.Unlock()
//
// When a process dies holding the lock, Acquire reports it: it returns
// [ErrOwnerDead] with the lock held; repair the value, call
// [Value.MarkConsistent], then [Value.Release]. Lock, Get and Set cannot return errors,
// so when they find the holder dead they take the lock over and mark it
// consistent themselves (Get and Set after their copy, made whole under
// the lock: after a Set the value is whole again, but a Get may return
// what the dead holder left half-written). To be told, hold the lock with
// Acquire around Get and Set; inside it they only count a recursion. A
// lock that is not recoverable ([ErrNotRecoverable]: released after
// [ErrOwnerDead] without [Value.MarkConsistent]) makes Lock, and Get and Set of
// values that take the lock, panic: they never copy without the lock.
//
// Add and CompareAndSwap are lock-free for numbers. A Value must not be
// copied after first use; it is safe for concurrent use.
type Value[T any] struct {
	fast4 *uint32 // = core.word4, one field away so that Get inlines
	shared[T]
}

// NewValue creates a synchronized Value holding init.
func NewValue[T any](init T, opts ...Option) (*Value[T], error) {
	v := &Value[T]{}
	err := v.create("ctypes.NewValue", csrc.KindValue, 1, applyOptions(opts), unsafe.Slice(&init, 1))
	if err != nil {
		return nil, err
	}
	v.fast4 = v.word4
	return v, nil
}

// NewRawValue creates a Value without a lock (multiprocessing.RawValue):
// Get and Set of values too large to be atomic are then unsynchronized.
func NewRawValue[T any](init T, opts ...Option) (*Value[T], error) {
	return NewValue(init, append(opts, Unsynchronized())...)
}

// OpenValue opens the Value called name, which must hold a T: another
// format is [ErrTypeMismatch], naming both. Options other than WithLock are
// ignored.
func OpenValue[T any](name string, opts ...Option) (*Value[T], error) {
	const op = "ctypes.OpenValue"
	obj, err := object.Open(op, name, csrc.KindValue)
	if err != nil {
		return nil, err
	}
	return adoptValue[T](op, name, obj, applyOptions(opts))
}

// adoptValue makes the Value of obj, the object called name just opened,
// which must hold a T; it closes obj if not.
func adoptValue[T any](op, name string, obj *object.Object, o options) (*Value[T], error) {
	v := &Value[T]{}
	if err := v.adopt(op, name, obj, o); err != nil {
		return nil, err
	}
	v.fast4 = v.word4
	return v, nil
}

// Get returns the value (a copy).
func (v *Value[T]) Get() T {
	if v.fast4 == nil {
		return v.getOther()
	}
	// The common case, inlined. The compiler keeps u in a register
	// (reinterpreting it, as math.Float32frombits does), where a store
	// into a T through a pointer made the caller's loop write and read its
	// stack.
	u := atomic.LoadUint32(v.fast4)
	return *(*T)(unsafe.Pointer(&u))
}

// getOther is Get for values of other than 4 bytes.
//
//go:noinline
func (v *Value[T]) getOther() (x T) {
	v.loadFirst(unsafe.Pointer(&x))
	return x
}

// Set stores x.
func (v *Value[T]) Set(x T) {
	if v.fast4 == nil {
		v.storeFirst(unsafe.Pointer(&x))
		return
	}
	atomic.StoreUint32(v.fast4, *(*uint32)(unsafe.Pointer(&x)))
}

// Add adds delta atomically, without the lock, and returns the new value.
// Integers wrap around; it fails for types other than numbers, Char and
// WChar.
func (v *Value[T]) Add(delta T) (T, error) { return v.add("ctypes.Value.Add", v.at(0), delta) }

// CompareAndSwap stores new if the value's bits equal old's, atomically,
// and reports whether it did. It fails for values of other than 1, 2, 4
// or 8 bytes.
func (v *Value[T]) CompareAndSwap(old, new T) (bool, error) { return v.cas(v.at(0), old, new) }
