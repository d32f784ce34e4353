package ctypes

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/object"
)

// Array is a fixed number of T in shared memory, like
// multiprocessing.Array; T is as for Value. A synchronized Array (the
// default) has a robust, goroutine-recursive lock: At and Set of elements
// of 1, 2, 4 or 8 bytes are atomic, larger ones take the lock, and so do
// CopyTo and CopyFrom, with Value's rules when a holder of the lock died.
// Slice gives direct access without any locking.
//
// An Array must not be copied after first use; it is safe for concurrent
// use.
type Array[T any] struct {
	shared[T]
}

// NewArray creates a synchronized Array of n zero elements (or the
// elements of the Initial option, whose length must be n).
func NewArray[T any](n int, opts ...Option) (*Array[T], error) {
	const op = "ctypes.NewArray"
	if n < 0 {
		return nil, errs.Invalid(op, "n", "%d: must not be negative", n)
	}
	o := applyOptions(opts)
	var init []T
	if o.initial != nil {
		xs, ok := o.initial.([]T)
		if !ok {
			return nil, errs.Invalid(op, "Initial", "%T is not a []%v", o.initial, reflect.TypeFor[T]())
		}
		if len(xs) != n {
			return nil, errs.Invalid(op, "Initial", "%d elements for an array of %d", len(xs), n)
		}
		init = xs
	}
	a := &Array[T]{}
	err := a.create(op, csrc.KindArray, n, o, init)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// NewArrayFrom creates a synchronized Array holding a copy of xs.
func NewArrayFrom[T any](xs []T, opts ...Option) (*Array[T], error) {
	return NewArray[T](len(xs), append(opts, Initial(xs))...)
}

// NewRawArray creates an Array of n zero elements without a lock
// (multiprocessing.RawArray).
func NewRawArray[T any](n int, opts ...Option) (*Array[T], error) {
	return NewArray[T](n, append(opts, Unsynchronized())...)
}

// OpenArray opens the Array called name, which must hold T elements.
func OpenArray[T any](name string, opts ...Option) (*Array[T], error) {
	const op = "ctypes.OpenArray"
	obj, err := object.Open(op, name, csrc.KindArray)
	if err != nil {
		return nil, err
	}
	return adoptArray[T](op, name, obj, applyOptions(opts))
}

// adoptArray makes the Array of obj, the object called name just opened,
// which must hold T elements; it closes obj if not.
func adoptArray[T any](op, name string, obj *object.Object, o options) (*Array[T], error) {
	a := &Array[T]{}
	if err := a.adopt(op, name, obj, o); err != nil {
		return nil, err
	}
	return a, nil
}

// Len returns the number of elements.
func (a *Array[T]) Len() int { return a.n }

func (a *Array[T]) index(op string, i int) error {
	if i < 0 || i >= a.n {
		return errs.Invalid(op, "index", "%d is out of range for an array of %d", i, a.n)
	}
	return nil
}

// At returns element i (a copy); an index out of range is an error
// matching fs.ErrInvalid.
func (a *Array[T]) At(i int) (T, error) {
	if err := a.index("ctypes.Array.At", i); err != nil {
		var zero T
		return zero, err
	}
	return a.load(a.at(i)), nil
}

// Set stores x as element i.
func (a *Array[T]) Set(i int, x T) error {
	if err := a.index("ctypes.Array.Set", i); err != nil {
		return err
	}
	a.store(a.at(i), x)
	return nil
}

// Add adds delta to element i atomically and returns the new value; see
// Value.Add.
func (a *Array[T]) Add(i int, delta T) (T, error) {
	if err := a.index("ctypes.Array.Add", i); err != nil {
		var zero T
		return zero, err
	}
	return a.add("ctypes.Array.Add", a.at(i), delta)
}

// CompareAndSwap is Value.CompareAndSwap for element i.
func (a *Array[T]) CompareAndSwap(i int, old, new T) (bool, error) {
	if err := a.index("ctypes.Array.CompareAndSwap", i); err != nil {
		return false, err
	}
	return a.cas(a.at(i), old, new)
}

// Slice returns the elements as a slice: a view of the shared memory, not
// a copy, with no locking — hold the lock, or use atomics, to coordinate.
// The view is valid until Close; after Close it reads zeros and loses
// writes, but does not crash.
func (a *Array[T]) Slice() []T { return unsafe.Slice((*T)(a.base), a.n) }

// CopyTo copies the elements into dst (as many as fit) under the lock, if
// any, and returns how many it copied.
func (a *Array[T]) CopyTo(dst []T) int {
	n := min(len(dst), a.n)
	defer a.locked()()
	bulkCopy(unsafe.Pointer(unsafe.SliceData(dst)), a.base, uintptr(n)*a.elem.size)
	return n
}

// CopyFrom copies src into the array under the lock, if any. A src longer
// than the array is an error and copies nothing.
func (a *Array[T]) CopyFrom(src []T) error {
	if len(src) > a.n {
		return errs.Invalid("ctypes.Array.CopyFrom", "src", "%d elements for an array of %d", len(src), a.n)
	}
	defer a.locked()()
	bulkCopy(a.base, unsafe.Pointer(unsafe.SliceData(src)), uintptr(len(src))*a.elem.size)
	return nil
}

// bulkThreshold is the size from which bulkCopy hands a copy to C.
const bulkThreshold = 64 << 10

// bulkCopy copies n bytes; large blocks go to the C library's memmove,
// which is faster than Go's copy on them (see csrc.Memmove).
func bulkCopy(dst, src unsafe.Pointer, n uintptr) {
	if n >= bulkThreshold {
		csrc.Memmove(dst, src, n)
		return
	}
	if n > 0 {
		copy(unsafe.Slice((*byte)(dst), n), unsafe.Slice((*byte)(src), n))
	}
}

// locked takes the embedded lock, if any, and returns its release.
func (a *Array[T]) locked() func() {
	if a.lock == nil {
		return func() {}
	}
	a.Lock()
	return a.Unlock
}

// String describes the array for logs.
func (a *Array[T]) String() string {
	return fmt.Sprintf("ctypes.Array[%v](%s, %d × %q)", reflect.TypeFor[T](), a.Name(), a.n, a.Format())
}
