package semaphore

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/futex"
	"github.com/mpsync/mpsync/internal/object"
	"github.com/mpsync/mpsync/internal/race"
)

// Payload of an event: the flag (0 or 1, the futex word) and the number of
// processes that may sleep on it.
const (
	eventPayload = 8
	offSleepers  = 4
)

// Event is a flag shared between processes, like multiprocessing.Event:
// Set raises it and wakes every waiter, Clear lowers it, Wait waits until
// it is raised. It needs no lock: the flag is one shared word.
//
// An Event must not be copied after first use. It is safe for concurrent
// use.
type Event struct {
	noCopy noCopy
	handle
	flag     *atomic.Uint32
	sleepers *atomic.Uint32
}

// NewEvent creates an event whose flag is down.
func NewEvent(opts ...Option) (*Event, error) {
	obj, err := create("semaphore.NewEvent", csrc.KindEvent, eventPayload, false, opts, nil)
	if err != nil {
		return nil, err
	}
	return newEvent(obj), nil
}

// OpenEvent opens the Event called name.
func OpenEvent(name string) (*Event, error) {
	obj, err := open("semaphore.OpenEvent", name, eventPayload, false, csrc.KindEvent)
	if err != nil {
		return nil, err
	}
	return newEvent(obj), nil
}

func newEvent(obj *object.Object) *Event {
	p := unsafe.Pointer(&obj.Payload()[0])
	return &Event{handle: handle{obj: obj}, flag: (*atomic.Uint32)(p), sleepers: (*atomic.Uint32)(unsafe.Add(p, offSleepers))}
}

// Set raises the flag and wakes every waiter, in every process.
func (e *Event) Set() error {
	if err := e.check(); err != nil {
		return err
	}
	race.Release(unsafe.Pointer(e.flag))
	if e.flag.Swap(1) == 0 && e.sleepers.Load() != 0 {
		futex.Wake(e.flag, futex.MaxWake)
	}
	return nil
}

// Clear lowers the flag.
func (e *Event) Clear() error {
	if err := e.check(); err != nil {
		return err
	}
	e.flag.Store(0)
	return nil
}

// IsSet reports whether the flag is raised.
func (e *Event) IsSet() bool { return !e.closed.Load() && e.flag.Load() != 0 }

// Wait waits until the flag is raised or ctx ends, and reports whether
// the flag was raised: (true, nil), or (false, ctx's error) within a few
// milliseconds of ctx's end. If the flag is already raised it returns at
// once, whatever ctx.
func (e *Event) Wait(ctx context.Context) (bool, error) {
	ok, err := e.wait(ctx)
	if ok {
		race.Acquire(unsafe.Pointer(e.flag))
	}
	return ok, err
}

func (e *Event) wait(ctx context.Context) (bool, error) {
	if err := e.check(); err != nil {
		return false, err
	}
	if e.flag.Load() != 0 {
		return true, nil
	}
	// Spin briefly: a setter on another core is often close behind.
	for range 200 {
		runtime.Gosched()
		if e.flag.Load() != 0 {
			return true, nil
		}
	}
	slice := 50 * time.Millisecond
	if ctx.Done() != nil {
		slice = 5 * time.Millisecond
	}
	deadline, hasDeadline := ctx.Deadline()
	e.sleepers.Add(1)
	defer e.sleepers.Add(^uint32(0))
	for e.flag.Load() == 0 {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		wait := slice
		if hasDeadline {
			if wait = min(wait, time.Until(deadline)); wait <= 0 {
				return false, context.DeadlineExceeded
			}
		}
		futex.Wait(e.flag, 0, wait)
		if e.closed.Load() {
			return false, ErrClosed
		}
	}
	return true, nil
}
