// Package cdll loads C dynamic libraries and calls their functions, the
// counterpart of Python's ctypes.CDLL, through libffi exactly as ctypes
// does — but from as many goroutines at once as you like: there is no
// global lock, no LockOSThread, and a call blocked in C blocks only its
// goroutine. Where CPython's threads share one core except inside ctypes
// calls (and not at all in Python callbacks), Go calls and Go callbacks
// run in parallel on every core: two goroutines in long C calls on two
// cores do twice the work of one (benchmark W10).
//
// Import path: github.com/mpsync/mpsync/ctypes/cdll.
//
// # Basics
//
//	lib, err := cdll.LoadLibrary("libm.so.6")
//	pow, err := lib.Func("pow", cdll.Double, cdll.Double, cdll.Double)
//	r, err := pow.Call(2.0, 10.0) // r.(float64) == 1024
//
// Signatures declare C types (Int32, Double, Pointer, CString, ...;
// VariadicFunc for printf-like functions). Call checks the count and
// kind of every argument and converts it; CallRaw takes 64-bit slots and
// allocates nothing, for hot loops. Go functions become C function
// pointers with NewCallback, callable from any C thread.
//
// libmpsync itself is such a library: see csrc/mpsync.h and the README for
// using mpsync objects from C and from Python's ctypes.
//
// # Caveats
//
//   - A wrong signature is undefined behaviour in C, as with ctypes: cdll
//     checks Go arguments against the declaration, not the declaration
//     against the library.
//   - Pointers to Go memory may be passed only for the duration of a call
//     and must not hold Go pointers (the cgo rules).
//   - A callback's C trampoline is never freed, so that a stale function
//     pointer is caught rather than crashing; each costs a few dozen bytes.
package cdll
