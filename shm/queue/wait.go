package queue

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/internal/futex"
)

// sleeper sleeps a waiter in slices, after which it looks again at its
// context and at the processes it waits for, which may have died without
// waking it: 5 ms when the context can end, 20 ms when it cannot. The
// slice bounds how long a dead writer's or reader's slot goes unnoticed
// by a waiting get or put.
var sleeper = futex.Sleeper{Slice: 20 * time.Millisecond, CancelSlice: 5 * time.Millisecond}

// errLook ends a sleep a slice after the waiter last looked for dead
// holders; await turns it into its timedOut.
var errLook = errors.New("queue: a slice has passed")

// spinTries is how many times a waiter looks at the queue before it
// sleeps in the kernel: a peer on another core is usually a fraction of a
// microsecond away, and waking from a sleep costs tens of microseconds.
// Between two looks it yields to other processes (sched_yield), and every
// eighth time to the other goroutines of its own: on a busy machine the
// peer it waits for may need this core. Measured on the round trip
// through two queues with the machine loaded: 3-7 µs, against 10-13 µs
// alternating the two yields and 40-75 µs yielding to goroutines only.
const spinTries = 100

// busyTries is how many times a waiter looks at the queue, with no system
// call between looks, before it yields: a few microseconds. A peer that is
// running on the other core answers within a fraction of a microsecond,
// and a sched_yield costs more than that (microseconds, once another
// process takes the core), so the round trip through two queues and a
// producer meeting a full queue do best looking without yielding first.
// Measured with W13 (medians of 3 runs, load 4-9 on 2 cores): 1 → 1
// process 9.1 M messages/s, round trip 3.8 µs, against 6.1 M/s and 11.6
// µs with yields only.
const busyTries = 1000

// signal is an event count in shared memory: sleepers set wait to 1 and
// sleep on seq (a futex word); a process that changes what they wait for
// calls notify, which bumps seq and wakes them all if wait was set. A
// dead sleeper costs at most one needless wake-up.
type signal struct {
	seq, wait *atomic.Uint32
	// gate lets one goroutine per handle sleep in the kernel; the
	// others of this process wait for it here, so waiting goroutines cost
	// no OS thread each.
	gate chan struct{}
}

// notify wakes the sleepers, if any. It costs one load when there are
// none.
func (s *signal) notify() {
	if s.wait.Load() != 0 && s.wait.Swap(0) != 0 {
		s.seq.Add(1)
		futex.Wake(s.seq, futex.MaxWake)
	}
}

// waiter is one blocking call's state across its waits.
type waiter struct {
	started bool
	spun    bool
	slice   time.Duration
	looked  time.Time // when the caller last looked for dead holders, or began
}

// await waits until ready reports true, s is notified, or one sleep slice
// passes, whichever is first; first, once per call, it spins briefly. It
// reports whether a slice has passed since the call began or last got
// true (the cue to look for dead holders: wake-ups for other reasons,
// such as later messages, must not put that off), or ctx's error once
// ctx has ended.
func (w *waiter) await(ctx context.Context, s *signal, ready func() bool) (timedOut bool, err error) {
	if !w.started {
		w.started = true
		w.slice = sleeper.For(ctx)
		w.looked = time.Now()
	}
	if !w.spun {
		w.spun = true
		for range busyTries {
			if ready() {
				return false, nil
			}
		}
		for i := range spinTries {
			if ready() {
				return false, nil
			}
			if i%8 == 7 {
				runtime.Gosched()
			} else {
				unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
			}
		}
	}
	select {
	case s.gate <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.gate }()
	// Announce the sleep before the last look: a notify after that look
	// finds wait set and bumps seq, so the sleep below ends at once.
	seq := s.seq.Load()
	s.wait.Store(1)
	if ready() {
		return false, nil
	}
	err = sleeper.Wait(ctx, s.seq, seq, func(bool) error {
		if time.Since(w.looked) >= w.slice {
			return errLook
		}
		return nil
	})
	if err != nil && err != errLook {
		return false, err
	}
	if time.Since(w.looked) < w.slice {
		return false, nil
	}
	w.looked = time.Now()
	return true, nil
}
