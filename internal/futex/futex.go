// Package futex waits on and wakes 32-bit words in shared memory, across
// processes: the futexes here are never FUTEX_PRIVATE, so the kernel keys
// them by the mapped file and offset, not by the address.
package futex

import (
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	_ "github.com/mpsync/mpsync/internal/platform" // Linux and cgo only
)

const (
	opWait = 0 // FUTEX_WAIT, shared
	opWake = 1 // FUTEX_WAKE, shared
)

// Wait sleeps while *addr == val, for at most timeout (which must be
// positive). It returns nil when woken, unix.EAGAIN if *addr was not val,
// unix.ETIMEDOUT, or unix.EINTR; all of them mean "look again". It blocks
// the calling OS thread, so it goes through the ordinary syscall path and
// the scheduler runs other goroutines meanwhile.
func Wait(addr *atomic.Uint32, val uint32, timeout time.Duration) error {
	ts := unix.NsecToTimespec(int64(timeout))
	_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), opWait, uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// Wake wakes at most n waiters on addr (all of them if n is MaxWake) and
// returns how many it woke. It never blocks.
func Wake(addr *atomic.Uint32, n int) int {
	r, _, _ := unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), opWake, uintptr(n), 0, 0, 0)
	return int(r)
}

// MaxWake wakes every waiter.
const MaxWake = 1<<31 - 1
