package cdll

/*
#include <stdint.h>
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// mpsCdllCallback is the Go side of every callback's trampoline (cdll.c).
// A handle deleted by a concurrent Free is treated as a freed callback.
//
//export mpsCdllCallback
func mpsCdllCallback(handle C.uintptr_t, ret unsafe.Pointer, args *unsafe.Pointer) {
	cb, ok := lookup(cgo.Handle(handle))
	if !ok {
		clear(unsafe.Slice((*byte)(ret), 8))
		return
	}
	cb.invoke(ret, args)
}

func lookup(h cgo.Handle) (cb *Callback, ok bool) {
	defer func() {
		if recover() != nil {
			cb, ok = nil, false
		}
	}()
	cb, ok = h.Value().(*Callback)
	return cb, ok && !cb.freed.Load()
}
