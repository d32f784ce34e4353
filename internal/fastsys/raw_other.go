//go:build !amd64

package fastsys

import "golang.org/x/sys/unix"

// raw is unix.RawSyscall6 where no assembly is written for it. It must
// not split its stack: the callers pass pointers to their own stack
// frames as uintptr, which a stack move would leave behind; the heap
// objects they pass they use after the call, which keeps them alive.
//
//go:nosplit
func raw(trap, a1, a2, a3, a4, a5, a6 uintptr) (uintptr, unix.Errno) {
	r, _, e := unix.RawSyscall6(trap, a1, a2, a3, a4, a5, a6)
	return r, e
}
