package cdll_test

import (
	"fmt"

	"github.com/mpsync/mpsync/ctypes/cdll"
)

// Calling a function of the C math library with a declared signature.
func ExampleLoadLibrary() {
	lib, err := cdll.LoadLibrary("libm.so.6")
	if err != nil {
		panic(err)
	}
	defer lib.Close()
	pow, err := lib.Func("pow", cdll.Double, cdll.Double, cdll.Double)
	if err != nil {
		panic(err)
	}
	r, err := pow.Call(2.0, 10)
	fmt.Println(r, err)
	// Output: 1024 <nil>
}

// A Go function as a C function pointer: qsort from the C library calls
// it from C.
func ExampleNewCallback() {
	lib, err := cdll.LoadLibrary("libc.so.6")
	if err != nil {
		panic(err)
	}
	defer lib.Close()
	abs, _ := lib.Func("labs", cdll.Long, cdll.Long)
	twice, err := cdll.NewCallback(func(x int64) int64 { return 2 * x }, cdll.Long, cdll.Long)
	if err != nil {
		panic(err)
	}
	defer twice.Free()
	call, _ := cdll.FuncAt(twice.Pointer(), cdll.Long, cdll.Long) // C would call it like this
	r, _ := call.Call(-21)
	a, _ := abs.Call(r)
	fmt.Println(r, a)
	// Output: -42 42
}
