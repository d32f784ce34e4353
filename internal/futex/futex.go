// Package futex waits on and wakes 32-bit words in shared memory, across
// processes: the futexes here are never FUTEX_PRIVATE, so the kernel keys
// them by the mapped file and offset, not by the address.
package futex

import (
	"context"
	"runtime"
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

// Spin is how long a waiter looks at a word before it sleeps on it: for
// up to BusySpin with a CPU pause between looks, for a waker on another
// core that is often close behind (a hand-over between two spinning cores
// takes a fraction of a microsecond), then Tries rounds of
// runtime.Gosched, for a waker that needs this process's other goroutines
// or a core.
type Spin struct{ Tries int }

// BusySpin is how long Spin.Until looks with only a CPU pause between
// looks, before its turns to other goroutines; C's waiters, which have no
// such turns, look for 20 µs (MPS__BUSY_NS in csrc), about as long as
// both together.
const BusySpin = 5 * time.Microsecond

// Until reports whether done() became true within the spin.
func (s Spin) Until(done func() bool) bool {
	if Busy(BusySpin, done) {
		return true
	}
	for range s.Tries {
		if done() {
			return true
		}
		runtime.Gosched()
	}
	return done()
}

// Busy looks at done for about d, with a CPU pause between looks, and
// reports whether done() became true. It reads the clock every 32 looks
// only (32 pauses take about a microsecond), the first time after the
// first 32: a wait that ends sooner never reads it.
func Busy(d time.Duration, done func() bool) bool {
	var start time.Time
	for i := 1; ; i++ {
		if done() {
			return true
		}
		pause()
		if i%32 == 0 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) >= d {
				return false
			}
		}
	}
}

// MaxBackoff is the most pauses BusyBackoff makes between two looks
// (about a microsecond here); C's contended lock backs off the same way
// (LOCK_MAX_PAUSES in csrc/lock.c).
const MaxBackoff = 64

// BusyBackoff looks at done for about d, pausing 1, 2, 4 … up to
// MaxBackoff times between looks, and reports whether done() became true.
// It is Busy for a lock word: every look pulls the word's cache line away
// from the holder, whose release and next acquire then wait for it, and a
// waiter that takes the lock the instant it is free moves the line, and
// the data it guards, to its own core on every hand-over. Measured on W3
// (processes incrementing a shared counter under one lock, 3 interleaved
// runs each): 2 processes 35-38 M/s looking every pause, 51-53 backing
// off; 4 processes on 2 cores 38-42 and 45-53.
func BusyBackoff(d time.Duration, done func() bool) bool {
	end := time.Now().Add(d)
	for pauses := 1; ; pauses = min(2*pauses, MaxBackoff) {
		if done() {
			return true
		}
		for range pauses {
			pause()
		}
		if !time.Now().Before(end) {
			return false
		}
	}
}

// Sleeper sleeps on a word in slices, so that a waiter notices, within a
// slice, what no wake tells it: its context ending, its handle closed,
// the process it waits for dead.
type Sleeper struct {
	Slice       time.Duration // the slice when the context cannot end (no Done channel)
	CancelSlice time.Duration // the slice when it can
}

// For returns the slice Wait sleeps for under ctx: CancelSlice if ctx can
// end, Slice if it cannot.
func (s Sleeper) For(ctx context.Context) time.Duration {
	if ctx.Done() != nil {
		return s.CancelSlice
	}
	return s.Slice
}

// Wait sleeps while addr holds val. It returns nil once addr holds another
// value; ctx's error once ctx ends (context.DeadlineExceeded at its
// deadline, to the slice); or the error of check, which, if not nil, runs
// after every sleep and is told whether the sleep ended by a timeout
// (rather than a wake or a changed value).
func (s Sleeper) Wait(ctx context.Context, addr *atomic.Uint32, val uint32, check func(timedOut bool) error) error {
	slice := s.For(ctx)
	deadline, hasDeadline := ctx.Deadline()
	for addr.Load() == val {
		if err := ctx.Err(); err != nil {
			return err
		}
		wait := slice
		if hasDeadline {
			if wait = min(wait, time.Until(deadline)); wait <= 0 {
				return context.DeadlineExceeded
			}
		}
		timedOut := Wait(addr, val, wait) == unix.ETIMEDOUT
		if check != nil {
			if err := check(timedOut); err != nil {
				return err
			}
		}
	}
	return nil
}
