package cdll

/*
#cgo pkg-config: libffi
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "cdll.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/mpsync/mpsync/internal/errs"
)

// Type is a C type in a function's signature.
type Type struct {
	kind uint8
	name string
	size uintptr
}

// String returns the C name of the type.
func (t Type) String() string {
	if t.name == "" {
		return "invalid type"
	}
	return t.name
}

// The C types of signatures. Integer types of every size, float, double,
// pointers, NUL-terminated strings (copied in for the call), and void for
// results.
var (
	Void    = Type{C.CDLL_VOID, "void", 0}
	Int8    = Type{C.CDLL_INT8, "int8_t", 1}
	Uint8   = Type{C.CDLL_UINT8, "uint8_t", 1}
	Int16   = Type{C.CDLL_INT16, "int16_t", 2}
	Uint16  = Type{C.CDLL_UINT16, "uint16_t", 2}
	Int32   = Type{C.CDLL_INT32, "int32_t", 4}
	Uint32  = Type{C.CDLL_UINT32, "uint32_t", 4}
	Int64   = Type{C.CDLL_INT64, "int64_t", 8}
	Uint64  = Type{C.CDLL_UINT64, "uint64_t", 8}
	Float   = Type{C.CDLL_FLOAT, "float", 4}
	Double  = Type{C.CDLL_DOUBLE, "double", 8}
	Pointer = Type{C.CDLL_POINTER, "void *", 8}
	// CString is a const char * argument made from a Go string: copied
	// into C memory, NUL-terminated, for the duration of the call. As a
	// result type it reads the returned string (NULL gives "").
	CString = Type{C.CDLL_POINTER, "const char *", 8}

	// Aliases with Linux (LP64) sizes.
	Char      = Int8
	UChar     = Uint8
	Short     = Int16
	UShort    = Uint16
	Int       = Int32
	UInt      = Uint32
	Long      = Int64
	ULong     = Uint64
	LongLong  = Int64
	ULongLong = Uint64
	SizeT     = Uint64
	SSizeT    = Int64
	Bool      = Uint8
)

func (t Type) valid() bool     { return t.name != "" }
func (t Type) isFloat() bool   { return t.kind == C.CDLL_FLOAT || t.kind == C.CDLL_DOUBLE }
func (t Type) isCString() bool { return t == CString }
func (t Type) signed() bool {
	return t.kind == C.CDLL_INT8 || t.kind == C.CDLL_INT16 || t.kind == C.CDLL_INT32 || t.kind == C.CDLL_INT64
}

// Library is a loaded C dynamic library.
type Library struct {
	path   string
	handle unsafe.Pointer
	mu     sync.Mutex
	closed bool
}

// LoadLibrary loads the dynamic library at path (dlopen with RTLD_NOW,
// found as dlopen finds it: a path with a slash is a file, a bare name is
// searched for). A library that cannot be loaded is an error quoting
// dlerror.
func LoadLibrary(path string) (*Library, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var cerr *C.char
	h := C.cdll_open(cpath, &cerr)
	if h == nil {
		return nil, fmt.Errorf("cdll.LoadLibrary %s: %w", path, takeError(cerr, ErrLoad))
	}
	return &Library{path: path, handle: h}, nil
}

// takeError turns a dlerror message from C into an error wrapping base.
func takeError(cerr *C.char, base error) error {
	defer C.free(unsafe.Pointer(cerr))
	return &dlError{msg: C.GoString(cerr), base: base}
}

type dlError struct {
	msg  string
	base error
}

func (e *dlError) Error() string { return "dlerror: " + e.msg }
func (e *dlError) Unwrap() error { return e.base }

// Symbol returns the address of the symbol name, or an error quoting
// dlerror.
func (l *Library) Symbol(name string) (unsafe.Pointer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errs.ErrClosed
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var cerr *C.char
	p := C.cdll_sym(l.handle, cname, &cerr)
	if p == nil {
		return nil, fmt.Errorf("cdll: symbol %s in %s: %w", name, l.path, takeError(cerr, ErrSymbol))
	}
	return p, nil
}

// Func looks up the function name and declares its signature: the result
// type (Void for none) and the argument types. The signature is prepared
// once; calls reuse it.
func (l *Library) Func(name string, ret Type, args ...Type) (*Func, error) {
	p, err := l.Symbol(name)
	if err != nil {
		return nil, err
	}
	return newFunc(name, p, ret, args, -1)
}

// VariadicFunc looks up a variadic function (such as snprintf) and
// declares one shape of call: the fixed argument types and the types of
// the variadic arguments that follow. Variadic arguments are promoted as
// in C: use Double rather than Float, and Int32 or wider integers.
func (l *Library) VariadicFunc(name string, ret Type, fixed []Type, variadic ...Type) (*Func, error) {
	p, err := l.Symbol(name)
	if err != nil {
		return nil, err
	}
	for i, t := range variadic {
		if t == Float || t.valid() && !t.isFloat() && t.size < 4 {
			return nil, errs.Invalid("cdll.VariadicFunc", "variadic", "argument %d is %v: C promotes variadic arguments, declare double or a type of 4 bytes or more", len(fixed)+i, t)
		}
	}
	return newFunc(name, p, ret, append(append([]Type(nil), fixed...), variadic...), len(fixed))
}

// FuncAt declares the signature of the C function at address fn, for
// function pointers that C code hands out. A nil fn is an error.
func FuncAt(fn unsafe.Pointer, ret Type, args ...Type) (*Func, error) {
	if fn == nil {
		return nil, errs.Invalid("cdll.FuncAt", "fn", "nil function pointer")
	}
	return newFunc(fmt.Sprintf("function at %p", fn), fn, ret, args, -1)
}

// Close unloads the library (dlclose). Funcs looked up in it must not be
// called afterwards.
func (l *Library) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var cerr *C.char
	if C.cdll_close(l.handle, &cerr) != 0 {
		return takeError(cerr, ErrLoad)
	}
	return nil
}

// Func is a C function with a declared signature. It may be called from
// any number of goroutines at once: calls take no lock of ours, need no
// LockOSThread, and a call blocked in C blocks only its own goroutine.
//
// Calls go through libffi, prepared once per Func. Signatures of at most
// six integer or pointer arguments with an integer, pointer or void result
// (not variadic) are called directly instead on x86-64 and arm64, whose
// calling conventions pass all of those in general registers: what libffi
// would do, without its ~20 ns of interpretation per call.
//
// A call during which the kernel's timer ticked (1–10 ms) ends with
// runtime.Gosched, so that goroutines spending their time in long C calls
// keep the Go scheduler's cooperation (see call); short calls yield at
// most once per tick, whatever their number.
type Func struct {
	name string
	fn   unsafe.Pointer
	cif  *C.ffi_cif
	ret  Type
	args []Type
	// direct: the signature is at most six integer or pointer arguments
	// and an integer, pointer or void result, not variadic; such calls
	// skip libffi's interpretation (see cdll_direct).
	direct bool
}

// directCalls reports whether this architecture passes every integer and
// pointer argument in a general register (x86-64 System V, AArch64).
const directCalls = runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64"

func newFunc(name string, fn unsafe.Pointer, ret Type, args []Type, nfixed int) (*Func, error) {
	const op = "cdll.Func"
	if !ret.valid() {
		return nil, errs.Invalid(op, "result", "%s: unsupported type (use the cdll type values)", name)
	}
	kinds := make([]uint8, len(args)+1)
	for i, t := range args {
		if !t.valid() || t == Void {
			return nil, errs.Invalid(op, "args", "%s: argument %d: %v is not an argument type", name, i, t)
		}
		kinds[i] = t.kind
	}
	variadic := nfixed >= 0
	cif := C.cdll_prep(C.int(ret.kind), (*C.uint8_t)(unsafe.Pointer(&kinds[0])), C.int(len(args)), C.int(max(nfixed, 0)), boolInt(variadic))
	if cif == nil {
		return nil, fmt.Errorf("%s %s: libffi could not prepare the signature: %w", op, name, ErrSignature)
	}
	f := &Func{name: name, fn: fn, cif: cif, ret: ret, args: append([]Type(nil), args...)}
	f.direct = directCalls && !variadic && len(args) <= 6 && !ret.isFloat()
	for _, t := range args {
		f.direct = f.direct && !t.isFloat()
	}
	runtime.AddCleanup(f, func(cif *C.ffi_cif) { C.cdll_free_cif(cif) }, cif)
	return f, nil
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Call calls the function with args converted to the declared argument
// types, and returns the result as the Go type of the result type (int32
// for Int32, float64 for Double, unsafe.Pointer for Pointer, string for
// CString, nil for Void).
//
// Arguments: any Go integer that fits an integer type (an error if it
// does not), any Go number for Float and Double, unsafe.Pointer, uintptr,
// nil or a *Callback for Pointer, a string for CString. A wrong count or
// kind is an error naming the argument; nothing is called. A callback
// passed as an argument that panics during the call makes Call return the
// panic as an error.
func (f *Func) Call(args ...any) (any, error) {
	if len(args) != len(f.args) {
		return nil, errs.Invalid("cdll.Call", "args", "%s takes %d arguments, got %d", f.name, len(f.args), len(args))
	}
	var slotsArr [6]uint64
	slots := slotsArr[:0]
	if len(args) > len(slotsArr) {
		slots = make([]uint64, 0, len(args))
	}
	var cstrs []unsafe.Pointer // C copies of string arguments, freed after the call
	for i, a := range args {
		t := f.args[i]
		if t.isCString() {
			s, ok := a.(string)
			if !ok {
				freeAll(cstrs)
				return nil, f.badArg(i, a, "want a string")
			}
			cs := unsafe.Pointer(C.CString(s))
			cstrs = append(cstrs, cs)
			slots = append(slots, uint64(uintptr(cs)))
			continue
		}
		v, err := encode(t, a)
		if err != nil {
			freeAll(cstrs)
			return nil, f.badArg(i, a, err.Error())
		}
		slots = append(slots, v)
	}
	r := f.call(slots)
	freeAll(cstrs)
	var cbErr error
	for i, a := range args {
		if _, ok := a.(*Callback); ok {
			if st, ok := callbackStates.Load(uintptr(slots[i])); ok {
				cbErr = errors.Join(cbErr, st.(*callbackState).take())
			}
		}
	}
	return f.decode(r), cbErr
}

func freeAll(ps []unsafe.Pointer) {
	for _, p := range ps {
		C.free(p)
	}
}

// CallRaw is Call without conversions, for hot loops: each argument is a
// 64-bit slot holding the argument's bits (integers as themselves, floats
// as math.Float64bits or math.Float32bits, pointers as uintptr; CString
// arguments are not converted: pass a pointer to NUL-terminated C
// memory), and the result comes back the same way, integers sign- or
// zero-extended. Only the count is checked. It allocates nothing.
func (f *Func) CallRaw(args ...uint64) (uint64, error) {
	if len(args) != len(f.args) {
		return 0, errs.Invalid("cdll.CallRaw", "args", "%s takes %d arguments, got %d", f.name, len(f.args), len(args))
	}
	return extend(f.ret, f.call(args)), nil
}

// call makes the C call. Up to six slots travel by value, so that the
// caller's slots never escape to the heap; more are copied to a slice of
// their own for C to read.
//
// A call during which the kernel's coarse clock ticked (it steps every
// 1–10 ms) ends with runtime.Gosched. The Go runtime counts a goroutine as
// overdue for preemption when it has not passed through the scheduler for
// 10 ms, and a goroutine that goes from one long C call straight into the
// next never does; from then on the runtime's monitor takes its P away at
// the start of every call and wakes threads to hand it on, which cost 5–15%
// of the CPU with two goroutines in C on two cores. One yield per tick
// (not per call: ~85 ns) keeps the goroutine counted as rescheduled.
func (f *Func) call(slots []uint64) uint64 {
	var r C.struct_cdll_ret
	switch a := [6]uint64{}; {
	case len(slots) > len(a):
		r = callMany(f, append([]uint64(nil), slots...))
	case f.direct:
		copy(a[:], slots)
		r = C.cdll_direct(C.uintptr_t(uintptr(f.fn)), C.uint64_t(a[0]), C.uint64_t(a[1]), C.uint64_t(a[2]), C.uint64_t(a[3]), C.uint64_t(a[4]), C.uint64_t(a[5]))
	default:
		copy(a[:], slots)
		r = C.cdll_call(C.uintptr_t(uintptr(unsafe.Pointer(f.cif))), C.uintptr_t(uintptr(f.fn)), C.int(len(slots)), C.uint64_t(a[0]), C.uint64_t(a[1]), C.uint64_t(a[2]), C.uint64_t(a[3]), C.uint64_t(a[4]), C.uint64_t(a[5]))
	}
	if r.ticked != 0 {
		tickYields.Add(1)
		runtime.Gosched()
	}
	return uint64(r.slot)
}

// tickYields counts the calls that ended with a yield; tests read it.
var tickYields atomic.Int64

func callMany(f *Func, slots []uint64) C.struct_cdll_ret {
	return C.cdll_calln(C.uintptr_t(uintptr(unsafe.Pointer(f.cif))), C.uintptr_t(uintptr(f.fn)), C.int(len(slots)), (*C.uint64_t)(unsafe.Pointer(&slots[0])))
}

func (f *Func) badArg(i int, a any, why string) error {
	return errs.Invalid("cdll.Call", "args", "%s argument %d is %s, declared %v: %s", f.name, i, describe(a), f.args[i], why)
}

// describe renders an argument as "value (type)" for an error message
// without handing it to fmt, which would make every argument of every
// Call escape to the heap.
func describe(a any) string {
	var v string
	switch x := a.(type) {
	case nil:
		return "nil"
	case string:
		v = strconv.Quote(x)
	default:
		rv := reflect.ValueOf(a)
		switch {
		case rv.CanInt():
			v = strconv.FormatInt(rv.Int(), 10)
		case rv.CanUint():
			v = strconv.FormatUint(rv.Uint(), 10)
		case rv.CanFloat():
			v = strconv.FormatFloat(rv.Float(), 'g', -1, 64)
		case rv.Kind() == reflect.Bool:
			v = strconv.FormatBool(rv.Bool())
		default:
			return "a " + reflect.TypeOf(a).String()
		}
	}
	return v + " (" + reflect.TypeOf(a).String() + ")"
}

// extend sign- or zero-extends an integer of type t in a slot (libffi
// leaves the bits above its size unspecified).
func extend(t Type, r uint64) uint64 {
	if t.isFloat() || t.size == 8 || t.size == 0 {
		return r
	}
	shift := 64 - 8*t.size
	if t.signed() {
		return uint64(int64(r<<shift) >> shift)
	}
	return r << shift >> shift
}

func (f *Func) decode(r uint64) any {
	return decodeValue(f.ret, extend(f.ret, r))
}

// decodeValue turns a slot into the Go value of type t.
func decodeValue(t Type, r uint64) any {
	switch t.kind {
	case C.CDLL_VOID:
		return nil
	case C.CDLL_INT8:
		return int8(r)
	case C.CDLL_UINT8:
		return uint8(r)
	case C.CDLL_INT16:
		return int16(r)
	case C.CDLL_UINT16:
		return uint16(r)
	case C.CDLL_INT32:
		return int32(r)
	case C.CDLL_UINT32:
		return uint32(r)
	case C.CDLL_INT64:
		return int64(r)
	case C.CDLL_UINT64:
		return r
	case C.CDLL_FLOAT:
		return math.Float32frombits(uint32(r))
	case C.CDLL_DOUBLE:
		return math.Float64frombits(r)
	}
	p := *(*unsafe.Pointer)(unsafe.Pointer(&r))
	if t.isCString() {
		if p == nil {
			return ""
		}
		return C.GoString((*C.char)(p))
	}
	return p
}

// errRange and errNotInt are encode's complaints about integers.
var (
	errRange  = errors.New("out of range")
	errNotInt = errors.New("want an integer")
)

// encodeInt range-checks a signed integer for the integer type t.
func encodeInt(t Type, n int64) (uint64, error) {
	if t.isFloat() {
		return encode(t, float64(n))
	}
	if t.kind == C.CDLL_POINTER {
		return 0, errors.New("want unsafe.Pointer, uintptr, nil or *Callback")
	}
	bits := 8 * t.size
	if t.signed() {
		if bits < 64 && (n < -1<<(bits-1) || n >= 1<<(bits-1)) {
			return 0, errRange
		}
	} else if n < 0 || bits < 64 && n >= 1<<bits {
		return 0, errRange
	}
	return uint64(n), nil
}

// encode turns a Go value into the slot of type t, refusing other kinds
// and values out of range.
func encode(t Type, a any) (uint64, error) {
	if t.kind == C.CDLL_POINTER {
		switch p := a.(type) {
		case nil:
			return 0, nil
		case unsafe.Pointer:
			return uint64(uintptr(p)), nil
		case uintptr:
			return uint64(p), nil
		case *Callback:
			return uint64(uintptr(p.Pointer())), nil
		}
		return 0, errors.New("want unsafe.Pointer, uintptr, nil or *Callback")
	}
	switch x := a.(type) { // the common cases, without reflection
	case int:
		return encodeInt(t, int64(x))
	case int32:
		return encodeInt(t, int64(x))
	case int64:
		return encodeInt(t, x)
	case float64:
		if t.kind == C.CDLL_DOUBLE {
			return math.Float64bits(x), nil
		}
	}
	rv := reflect.ValueOf(a)
	if t.isFloat() {
		var x float64
		switch {
		case rv.CanFloat():
			x = rv.Float()
		case rv.CanInt():
			x = float64(rv.Int())
		case rv.CanUint():
			x = float64(rv.Uint())
		default:
			return 0, errors.New("want a number")
		}
		if t.kind == C.CDLL_FLOAT {
			if math.Abs(x) > math.MaxFloat32 && !math.IsInf(x, 0) {
				return 0, errors.New("out of range for a float")
			}
			return uint64(math.Float32bits(float32(x))), nil
		}
		return math.Float64bits(x), nil
	}
	bits := 8 * t.size
	switch {
	case rv.CanInt():
		return encodeInt(t, rv.Int())
	case rv.CanUint():
		u := rv.Uint()
		if t.signed() && u >= 1<<(bits-1) || !t.signed() && bits < 64 && u >= 1<<bits {
			return 0, errors.New("out of range")
		}
		return u, nil
	case rv.Kind() == reflect.Bool && t == Bool:
		if rv.Bool() {
			return 1, nil
		}
		return 0, nil
	}
	return 0, errors.New("want an integer")
}
