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
type DynValue struct {
	dynObject
	get func() any
	set func(x any) error
}

// DynArray is an Array whose type was given as a typecode.
type DynArray struct {
	dynObject
	n   int
	at  func(i int) (any, error)
	put func(i int, x any) error
}

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

// ValueOf creates a synchronized Value of typecode code holding init, as
// multiprocessing.Value(code, init). init may be any Go number (or bool,
// byte string of one byte for 'c', one-character string for 'u') that the
// typecode can hold; anything else, or a value out of range, is an error.
func ValueOf(code string, init any, opts ...Option) (*DynValue, error) {
	const op = "ctypes.ValueOf"
	tc, err := lookupCode(op, code)
	if err != nil {
		return nil, err
	}
	return dynValueFor(tc, func(v any) (dynValueOps, error) { return v.(valueMaker).makeValue(op, init, opts) })
}

// ArrayOf creates a synchronized Array of typecode code, as
// multiprocessing.Array(code, sizeOrInit): an int is the length (zero
// elements), a slice gives the elements (each converted as for ValueOf),
// and for 'c' a []byte or string, for 'u' a string.
func ArrayOf(code string, sizeOrInit any, opts ...Option) (*DynArray, error) {
	const op = "ctypes.ArrayOf"
	tc, err := lookupCode(op, code)
	if err != nil {
		return nil, err
	}
	return dynArrayFor(tc, func(v any) (dynArrayOps, error) { return v.(arrayMaker).makeArray(op, tc, sizeOrInit, opts) })
}

// OpenDynValue opens the Value called name with the type its header
// records, which must be a typecode.
func OpenDynValue(name string) (*DynValue, error) {
	tc, err := recordedCode("ctypes.OpenDynValue", name)
	if err != nil {
		return nil, err
	}
	return dynValueFor(tc, func(v any) (dynValueOps, error) { return v.(valueMaker).openValue(name) })
}

// OpenDynArray opens the Array called name with the type its header
// records, which must be a typecode.
func OpenDynArray(name string) (*DynArray, error) {
	tc, err := recordedCode("ctypes.OpenDynArray", name)
	if err != nil {
		return nil, err
	}
	return dynArrayFor(tc, func(v any) (dynArrayOps, error) { return v.(arrayMaker).openArray(name) })
}

// Get returns the value as the typecode's Go type.
func (d *DynValue) Get() any { return d.get() }

// Set stores x, converted to the typecode's type; a value of another kind
// or out of range is an error.
func (d *DynValue) Set(x any) error { return d.set(x) }

// Len returns the number of elements.
func (d *DynArray) Len() int { return d.n }

// At returns element i as the typecode's Go type.
func (d *DynArray) At(i int) (any, error) { return d.at(i) }

// Set stores x as element i, converted as for DynValue.Set.
func (d *DynArray) Set(i int, x any) error { return d.put(i, x) }

// The generic plumbing: one instance per typecode's Go type.

type dynValueOps struct {
	obj dynObject
	get func() any
	set func(any) error
}

type dynArrayOps struct {
	obj dynObject
	n   int
	at  func(int) (any, error)
	put func(int, any) error
}

type valueMaker interface {
	makeValue(op string, init any, opts []Option) (dynValueOps, error)
	openValue(name string) (dynValueOps, error)
}

type arrayMaker interface {
	makeArray(op string, tc *typecode, sizeOrInit any, opts []Option) (dynArrayOps, error)
	openArray(name string) (dynArrayOps, error)
}

type maker[T any] struct{ tc *typecode }

// makerFor returns the maker of tc's Go type.
func makerFor(tc *typecode) any {
	switch tc.code {
	case 'c':
		return maker[Char]{tc}
	case 'u':
		return maker[WChar]{tc}
	case 'b':
		return maker[int8]{tc}
	case 'B':
		return maker[uint8]{tc}
	case 'h':
		return maker[int16]{tc}
	case 'H':
		return maker[uint16]{tc}
	case 'i':
		return maker[int32]{tc}
	case 'I':
		return maker[uint32]{tc}
	case 'l', 'q':
		return maker[int64]{tc}
	case 'L', 'Q':
		return maker[uint64]{tc}
	case 'f':
		return maker[float32]{tc}
	case 'd':
		return maker[float64]{tc}
	}
	return maker[bool]{tc}
}

func dynValueFor(tc *typecode, make func(any) (dynValueOps, error)) (*DynValue, error) {
	ops, err := make(makerFor(tc))
	if err != nil {
		return nil, err
	}
	return &DynValue{dynObject: ops.obj, get: ops.get, set: ops.set}, nil
}

func dynArrayFor(tc *typecode, make func(any) (dynArrayOps, error)) (*DynArray, error) {
	ops, err := make(makerFor(tc))
	if err != nil {
		return nil, err
	}
	return &DynArray{dynObject: ops.obj, n: ops.n, at: ops.at, put: ops.put}, nil
}

func (m maker[T]) valueOps(v *Value[T]) dynValueOps {
	return dynValueOps{obj: v, get: func() any { return v.Get() }, set: func(x any) error {
		t, err := convert[T]("ctypes.DynValue.Set", m.tc, x)
		if err == nil {
			v.Set(t)
		}
		return err
	}}
}

func (m maker[T]) makeValue(op string, init any, opts []Option) (dynValueOps, error) {
	t, err := convert[T](op, m.tc, init)
	if err != nil {
		return dynValueOps{}, err
	}
	v, err := NewValue(t, opts...)
	if err != nil {
		return dynValueOps{}, err
	}
	return m.valueOps(v), nil
}

func (m maker[T]) openValue(name string) (dynValueOps, error) {
	v, err := OpenValue[T](name)
	if err != nil {
		return dynValueOps{}, err
	}
	return m.valueOps(v), nil
}

func (m maker[T]) arrayOps(a *Array[T]) dynArrayOps {
	return dynArrayOps{obj: a, n: a.Len(),
		at: func(i int) (any, error) { return a.At(i) },
		put: func(i int, x any) error {
			t, err := convert[T]("ctypes.DynArray.Set", m.tc, x)
			if err != nil {
				return err
			}
			return a.Set(i, t)
		}}
}

func (m maker[T]) makeArray(op string, tc *typecode, sizeOrInit any, opts []Option) (dynArrayOps, error) {
	var xs []T
	switch init := sizeOrInit.(type) {
	case int:
		a, err := NewArray[T](init, opts...)
		if err != nil {
			return dynArrayOps{}, err
		}
		return m.arrayOps(a), nil
	case string:
		if tc.code == 'c' {
			sizeOrInit = []byte(init)
		} else if tc.code == 'u' {
			sizeOrInit = []rune(init)
		}
	}
	rv := reflect.ValueOf(sizeOrInit)
	if rv.Kind() != reflect.Slice {
		return dynArrayOps{}, errs.Invalid(op, "sizeOrInit", "%T: want an int size or a slice of elements", sizeOrInit)
	}
	for i := range rv.Len() {
		t, err := convert[T](op, tc, rv.Index(i).Interface())
		if err != nil {
			return dynArrayOps{}, fmt.Errorf("element %d: %w", i, err)
		}
		xs = append(xs, t)
	}
	a, err := NewArrayFrom(xs, opts...)
	if err != nil {
		return dynArrayOps{}, err
	}
	return m.arrayOps(a), nil
}

func (m maker[T]) openArray(name string) (dynArrayOps, error) {
	a, err := OpenArray[T](name)
	if err != nil {
		return dynArrayOps{}, err
	}
	return m.arrayOps(a), nil
}

// recordedCode returns the typecode that the header of object name
// records.
func recordedCode(op, name string) (*typecode, error) {
	obj, err := object.Open(op, name, csrc.KindValue, csrc.KindArray)
	if err != nil {
		return nil, err
	}
	format := obj.Info.Format
	obj.Close()
	tc, err := lookupCode(op, format)
	if err != nil {
		return nil, fmt.Errorf("%s %s: holds %q, not a typecode: %w", op, name, format, errs.ErrTypeMismatch)
	}
	return tc, nil
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
