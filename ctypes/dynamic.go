package ctypes

import (
	"fmt"
	"math"
	"reflect"
	"unicode/utf8"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/object"
)

// Dynamic values and arrays are chosen by typecode at run time, as in
// Python's multiprocessing.Value('i', 7): for code that learns types from
// elsewhere (a protocol, a config, another language). Their elements go in
// and out as Go values of the typecode's type (int32 for 'i', float64 for
// 'd', Char for 'c', ...); Set accepts any Go number that fits.

// DynValue is a Value whose type was given as a typecode.
type DynValue struct{ dynValue }

// DynArray is an Array whose type was given as a typecode.
type DynArray struct{ dynArray }

// dynObject is the part of a Value or Array that does not depend on T.
type dynObject interface {
	Lock()
	Unlock()
	Name() string
	Format() string
	Synchronized() bool
	Close() error
	Unlink() error
}

// dynValue is a Value[T] seen through its typecode: anyValue[T].
type dynValue interface {
	dynObject
	getAny() any
	setAny(x any) error
}

// dynArray is an Array[T] seen through its typecode: anyArray[T].
type dynArray interface {
	dynObject
	Len() int
	atAny(i int) (any, error)
	setAny(i int, x any) error
}

// ValueOf creates a synchronized Value of typecode code holding init, as
// multiprocessing.Value(code, init). init may be any Go number (or bool,
// byte string of one byte for 'c', one-character string for 'u') that the
// typecode can hold; anything else, or a value out of range, is an error.
// An unknown typecode is an error matching [fs.ErrInvalid].
func ValueOf(code string, init any, opts ...Option) (*DynValue, error) {
	const op = "ctypes.ValueOf"
	tc, err := lookupCode(op, code)
	if err != nil {
		return nil, err
	}
	v, err := tc.kind.newValue(op, tc, init, opts)
	if err != nil {
		return nil, err
	}
	return &DynValue{v}, nil
}

// ArrayOf creates a synchronized Array of typecode code, as
// multiprocessing.Array(code, sizeOrInit): an int is the length (zero
// elements), a slice gives the elements (each converted as for ValueOf),
// and for 'c' a []byte or string, for 'u' a string. An unknown typecode
// is an error matching [fs.ErrInvalid].
func ArrayOf(code string, sizeOrInit any, opts ...Option) (*DynArray, error) {
	const op = "ctypes.ArrayOf"
	tc, err := lookupCode(op, code)
	if err != nil {
		return nil, err
	}
	a, err := tc.kind.newArray(op, tc, sizeOrInit, opts)
	if err != nil {
		return nil, err
	}
	return &DynArray{a}, nil
}

// OpenDynValue opens the Value called name with the type its header
// records, which must be a typecode ([ErrTypeMismatch] if not).
func OpenDynValue(name string) (*DynValue, error) {
	const op = "ctypes.OpenDynValue"
	obj, tc, err := openRecorded(op, name, csrc.KindValue)
	if err != nil {
		return nil, err
	}
	v, err := tc.kind.openValue(op, name, tc, obj)
	if err != nil {
		return nil, err
	}
	return &DynValue{v}, nil
}

// OpenDynArray opens the Array called name with the type its header
// records, which must be a typecode ([ErrTypeMismatch] if not).
func OpenDynArray(name string) (*DynArray, error) {
	const op = "ctypes.OpenDynArray"
	obj, tc, err := openRecorded(op, name, csrc.KindArray)
	if err != nil {
		return nil, err
	}
	a, err := tc.kind.openArray(op, name, tc, obj)
	if err != nil {
		return nil, err
	}
	return &DynArray{a}, nil
}

// Get returns the value as the typecode's Go type.
func (d *DynValue) Get() any { return d.getAny() }

// Set stores x, converted to the typecode's type; a value of another kind
// or out of range is an error.
func (d *DynValue) Set(x any) error { return d.setAny(x) }

// Len returns the number of elements.
func (d *DynArray) Len() int { return d.dynArray.Len() }

// At returns element i as the typecode's Go type.
func (d *DynArray) At(i int) (any, error) { return d.atAny(i) }

// Set stores x as element i, converted as for DynValue.Set.
func (d *DynArray) Set(i int, x any) error { return d.setAny(i, x) }

// openRecorded opens the object called name, of kind, and returns it with
// the typecode its header records; a format that is not a typecode is
// [ErrTypeMismatch].
func openRecorded(op, name string, kind int) (*object.Object, *typecode, error) {
	obj, err := object.Open(op, name, kind)
	if err != nil {
		return nil, nil, err
	}
	tc, err := lookupCode(op, obj.Info.Format)
	if err != nil {
		format := obj.Info.Format
		obj.Close()
		return nil, nil, fmt.Errorf("%s %s: holds %q, not a typecode: %w", op, name, format, errs.ErrTypeMismatch)
	}
	return obj, tc, nil
}

// goKind makes the DynValues and DynArrays of one Go type: kind[T] in the
// row of each typecode whose Go type is T.
type goKind interface {
	newValue(op string, tc *typecode, init any, opts []Option) (dynValue, error)
	openValue(op, name string, tc *typecode, obj *object.Object) (dynValue, error)
	newArray(op string, tc *typecode, sizeOrInit any, opts []Option) (dynArray, error)
	openArray(op, name string, tc *typecode, obj *object.Object) (dynArray, error)
}

type kind[T any] struct{}

// anyValue is a Value[T] whose elements go in and out as any, converted
// for typecode tc.
type anyValue[T any] struct {
	*Value[T]
	tc *typecode
}

func (v anyValue[T]) getAny() any { return v.Get() }

func (v anyValue[T]) setAny(x any) error {
	t, err := convert[T]("ctypes.DynValue.Set", v.tc, x)
	if err != nil {
		return err
	}
	v.Set(t)
	return nil
}

// anyArray is an Array[T] whose elements go in and out as any, converted
// for typecode tc.
type anyArray[T any] struct {
	*Array[T]
	tc *typecode
}

func (a anyArray[T]) atAny(i int) (any, error) { return a.At(i) }

func (a anyArray[T]) setAny(i int, x any) error {
	t, err := convert[T]("ctypes.DynArray.Set", a.tc, x)
	if err != nil {
		return err
	}
	return a.Set(i, t)
}

func (kind[T]) newValue(op string, tc *typecode, init any, opts []Option) (dynValue, error) {
	t, err := convert[T](op, tc, init)
	if err != nil {
		return nil, err
	}
	v, err := NewValue(t, opts...)
	if err != nil {
		return nil, err
	}
	return anyValue[T]{v, tc}, nil
}

func (kind[T]) openValue(op, name string, tc *typecode, obj *object.Object) (dynValue, error) {
	v, err := adoptValue[T](op, name, obj, options{})
	if err != nil {
		return nil, err
	}
	return anyValue[T]{v, tc}, nil
}

func (kind[T]) newArray(op string, tc *typecode, sizeOrInit any, opts []Option) (dynArray, error) {
	if n, ok := sizeOrInit.(int); ok {
		a, err := NewArray[T](n, opts...)
		if err != nil {
			return nil, err
		}
		return anyArray[T]{a, tc}, nil
	}
	if s, ok := sizeOrInit.(string); ok {
		switch tc.code {
		case 'c':
			sizeOrInit = []byte(s)
		case 'u':
			sizeOrInit = []rune(s)
		}
	}
	rv := reflect.ValueOf(sizeOrInit)
	if rv.Kind() != reflect.Slice {
		return nil, errs.Invalid(op, "sizeOrInit", "%T: want an int size or a slice of elements", sizeOrInit)
	}
	xs := make([]T, rv.Len())
	for i := range xs {
		t, err := convert[T](op, tc, rv.Index(i).Interface())
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		xs[i] = t
	}
	a, err := NewArrayFrom(xs, opts...)
	if err != nil {
		return nil, err
	}
	return anyArray[T]{a, tc}, nil
}

func (kind[T]) openArray(op, name string, tc *typecode, obj *object.Object) (dynArray, error) {
	a, err := adoptArray[T](op, name, obj, options{})
	if err != nil {
		return nil, err
	}
	return anyArray[T]{a, tc}, nil
}

// convert turns a Go value into T, the type of typecode tc, refusing other
// kinds and values out of range.
func convert[T any](op string, tc *typecode, x any) (T, error) {
	var zero T
	bad := func(why string) (T, error) {
		return zero, errs.Invalid(op, "value", "%v (%T) for typecode %q (%s): %s", x, x, string(tc.code), tc.ctype, why)
	}
	var out reflect.Value
	rv := reflect.ValueOf(x)
	switch tc.class {
	case '?':
		if rv.Kind() != reflect.Bool {
			return bad("want a bool")
		}
		out = rv
	case 'c', 'w':
		if s, ok := x.(string); ok {
			r, n := utf8.DecodeRuneInString(s)
			if n == 0 || n != len(s) {
				return bad("want one character")
			}
			rv = reflect.ValueOf(int64(r))
		}
		if b, ok := x.([]byte); ok {
			if len(b) != 1 {
				return bad("want one byte")
			}
			rv = reflect.ValueOf(int64(b[0]))
		}
		fallthrough
	case 'i', 'u':
		if !fitsInteger(rv, tc) {
			if rv.CanInt() || rv.CanUint() {
				return bad("out of range")
			}
			return bad("want an integer")
		}
		out = rv
	case 'f':
		switch rv.Kind() {
		case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		default:
			return bad("want a number")
		}
		if tc.size == 4 && rv.CanFloat() && math.Abs(rv.Float()) > math.MaxFloat32 && !math.IsInf(rv.Float(), 0) {
			return bad("out of range for a float")
		}
		out = rv
	}
	return out.Convert(reflect.TypeFor[T]()).Interface().(T), nil
}

// fitsInteger reports whether rv is an integer within the range of the
// integer typecode tc (Char counts as unsigned, WChar as signed).
func fitsInteger(rv reflect.Value, tc *typecode) bool {
	bits := tc.size * 8
	signed := tc.class == 'i' || tc.class == 'w'
	switch {
	case rv.CanInt():
		n := rv.Int()
		if signed {
			return bits == 64 || n >= -1<<(bits-1) && n < 1<<(bits-1)
		}
		return n >= 0 && (bits == 64 || n < 1<<bits)
	case rv.CanUint():
		u := rv.Uint()
		if signed {
			return u < 1<<(bits-1)
		}
		return bits == 64 || u < 1<<bits
	}
	return false
}
