package cdll

/*
#include <stdlib.h>
#include <string.h>
#include "cdll.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"reflect"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/mpsync/mpsync/internal/errs"
)

// Callback is a Go function made callable from C through a C function
// pointer (a libffi closure), from any thread: threads Go created and
// threads it did not. Pass it as a Pointer argument, or hand out Pointer().
//
// A panic in the function does not unwind through C: the call returns
// zero to C, and the panic becomes an error — returned by the Call that
// passed the callback, and by Err. After Free the function pointer stays
// safe to call: it returns zero and counts the call (StaleCalls), and Err
// reports it.
type Callback struct {
	fn     reflect.Value
	ret    Type
	args   []Type
	cif    *C.ffi_cif
	c      *C.struct_cdll_callback
	handle cgo.Handle

	state   *callbackState
	freed   atomic.Bool
	freeOne sync.Once
}

// callbackState is what a callback has to report: its first panic not yet
// reported and its calls after Free. Like the C half, it outlives Free.
type callbackState struct {
	mu     sync.Mutex
	err    error
	stale0 int64 // stale calls already reported
	c      *C.struct_cdll_callback
}

// callbackStates maps each callback's C function pointer to its state, so
// that Call finds the states of the callbacks among its arguments by their
// slots: reaching them through the arguments themselves would make every
// argument of every Call escape to the heap.
var callbackStates sync.Map // uintptr → *callbackState

// NewCallback makes fn callable from C with the declared signature. fn
// must be a func whose parameters and result have the Go types of ret and
// args (int32 for Int32, float64 for Double, unsafe.Pointer for Pointer,
// string for CString; no result for Void); anything else is an error
// naming the mismatch.
func NewCallback(fn any, ret Type, args ...Type) (*Callback, error) {
	const op = "cdll.NewCallback"
	fv := reflect.ValueOf(fn)
	if fv.Kind() != reflect.Func || fv.IsNil() {
		return nil, errs.Invalid(op, "fn", "%T is not a func", fn)
	}
	ft := fv.Type()
	if ft.NumIn() != len(args) {
		return nil, errs.Invalid(op, "fn", "%v takes %d arguments, the signature %d", ft, ft.NumIn(), len(args))
	}
	for i, t := range args {
		if !t.valid() || t == Void || ft.In(i) != goType(t) {
			return nil, errs.Invalid(op, "fn", "argument %d of %v is %v, the signature says %v (Go %v)", i, ft, ft.In(i), t, goType(t))
		}
	}
	switch {
	case !ret.valid():
		return nil, errs.Invalid(op, "ret", "unsupported result type")
	case ret == Void && ft.NumOut() != 0, ret != Void && (ft.NumOut() != 1 || ft.Out(0) != goType(ret)):
		return nil, errs.Invalid(op, "fn", "%v does not return %v (Go %v)", ft, ret, goType(ret))
	case ret.isCString():
		return nil, errs.Invalid(op, "ret", "a callback cannot return a CString: who would free it?")
	}
	kinds := make([]uint8, len(args)+1)
	for i, t := range args {
		kinds[i] = t.kind
	}
	cif := C.cdll_prep(C.int(ret.kind), (*C.uint8_t)(unsafe.Pointer(&kinds[0])), C.int(len(args)), 0, 0)
	if cif == nil {
		return nil, fmt.Errorf("%s: libffi could not prepare the signature: %w", op, ErrSignature)
	}
	cb := &Callback{fn: fv, ret: ret, args: append([]Type(nil), args...), cif: cif}
	cb.handle = cgo.NewHandle(cb)
	cb.c = C.cdll_callback_new(cif, C.uintptr_t(cb.handle))
	if cb.c == nil {
		cb.handle.Delete()
		C.cdll_free_cif(cif)
		return nil, fmt.Errorf("%s: libffi could not allocate a closure: %w", op, ErrSignature)
	}
	cb.state = &callbackState{c: cb.c}
	callbackStates.Store(uintptr(cb.Pointer()), cb.state)
	return cb, nil
}

// goType is the Go type a callback uses for a C type.
func goType(t Type) reflect.Type {
	if t.isCString() {
		return reflect.TypeFor[string]()
	}
	return reflect.TypeOf(decodeValue(t, 0))
}

// Pointer returns the C function pointer.
func (cb *Callback) Pointer() unsafe.Pointer { return cb.c.code }

// Free releases the Go function. The C function pointer stays valid:
// calls through it return zero and are counted, instead of crashing.
func (cb *Callback) Free() {
	cb.freeOne.Do(func() {
		cb.freed.Store(true)
		C.cdll_callback_free(cb.c)
		cb.handle.Delete()
	})
}

// StaleCalls returns how many calls arrived after Free.
func (cb *Callback) StaleCalls() int64 { return int64(C.int64_t(cb.c.stale_calls)) }

// Err returns, once, the error of a panic in the callback (or of calls
// after Free) not yet returned by a Call.
func (cb *Callback) Err() error { return cb.state.take() }

func (st *callbackState) take() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	err := st.err
	st.err = nil
	if n := int64(C.int64_t(st.c.stale_calls)); n > st.stale0 {
		err = errors.Join(err, fmt.Errorf("cdll: callback called %d times after Free: %w", n-st.stale0, ErrFreed))
		st.stale0 = n
	}
	return err
}

// invoke runs the Go function for a call from C: args points to the
// argument values, ret to the result's memory.
func (cb *Callback) invoke(ret unsafe.Pointer, args *unsafe.Pointer) {
	in := make([]reflect.Value, len(cb.args))
	argv := unsafe.Slice(args, len(cb.args))
	for i, t := range cb.args {
		var slot uint64
		C.memcpy(unsafe.Pointer(&slot), argv[i], C.size_t(t.size))
		in[i] = reflect.ValueOf(decodeValue(t, extend(t, slot)))
	}
	// libffi wants integral results widened to a full ffi_arg.
	clear(unsafe.Slice((*byte)(ret), 8))
	defer func() {
		if r := recover(); r != nil {
			st := cb.state
			st.mu.Lock()
			if st.err == nil {
				st.err = fmt.Errorf("cdll: callback panicked: %v: %w", r, ErrCallbackPanic)
			}
			st.mu.Unlock()
		}
	}()
	out := cb.fn.Call(in)
	if cb.ret == Void {
		return
	}
	v, _ := encode(cb.ret, out[0].Interface())
	v = extend(cb.ret, v)
	if cb.ret.kind == C.CDLL_FLOAT {
		*(*uint32)(ret) = uint32(v)
		return
	}
	*(*uint64)(ret) = v
}
