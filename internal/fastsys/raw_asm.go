//go:build amd64

package fastsys

import "golang.org/x/sys/unix"

// raw makes the system call trap with six arguments, as
// unix.RawSyscall6 does but in one short function of this package's own:
// that one goes through three layers of wrappers in three places of the
// binary, and where every system call empties the TLB (as on the
// virtual machines the benchmarks run on), each of them costs a page walk
// on the way back. A segment's create went about 2-6% faster with it. As
// for any function written in assembly, a pointer converted to uintptr in
// the call's argument list stays valid until the call returns.
func raw(trap, a1, a2, a3, a4, a5, a6 uintptr) (r uintptr, errno unix.Errno)
