package semaphore

import (
	"context"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/futex"
	"github.com/mpsync/mpsync/internal/handle"
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
	noCopy   noCopy
	h        handle.Handle
	flag     *atomic.Uint32
	sleepers *atomic.Uint32
}

// NewEvent creates an event whose flag is down.
func NewEvent(opts ...Option) (*Event, error) {
	obj, err := create("semaphore.NewEvent", csrc.KindEvent, eventPayload, false, opts, nil, nil)
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
	return &Event{h: handle.Handle{Res: obj}, flag: (*atomic.Uint32)(p), sleepers: (*atomic.Uint32)(unsafe.Add(p, offSleepers))}
}

// Set raises the flag and wakes every waiter, in every process.
func (e *Event) Set() error {
	if err := e.h.Check(); err != nil {
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
	if err := e.h.Check(); err != nil {
		return err
	}
	e.flag.Store(0)
	return nil
}

// IsSet reports whether the flag is raised.
func (e *Event) IsSet() bool { return !e.h.Closed() && e.flag.Load() != 0 }

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
	if err := e.h.Check(); err != nil {
		return false, err
	}
	if waitSpin.Until(func() bool { return e.flag.Load() != 0 }) {
		return true, nil
	}
	e.sleepers.Add(1)
	defer e.sleepers.Add(^uint32(0))
	err := waitSleep.Wait(ctx, e.flag, 0, func(bool) error { return e.h.Check() })
	return err == nil, err
}

// Name returns the Event's name without a leading slash; pass it to OpenEvent
// in another process.
func (e *Event) Name() string { return e.h.Name() }

// Close releases this process's handle of e; the Event, and whether it is
// set, remain for other processes until it is unlinked. It is idempotent;
// methods called after Close return [ErrClosed].
func (e *Event) Close() error { return e.h.Close() }

// Unlink removes the Event's name so that no other process can open it;
// processes that have it open keep using it. Call it once, in one
// process; a second call returns an error matching fs.ErrNotExist. It
// works after Close.
func (e *Event) Unlink() error { return e.h.Unlink() }

// How the family's waiters wait: a short spin, then sleeps in slices
// (5 ms when the context can end, for a prompt return; else 50 ms, or
// 20 ms at a barrier, whose waiters also look for dead parties).
var (
	waitSpin     = futex.Spin{Tries: 200}
	waitSleep    = futex.Sleeper{Slice: 50 * time.Millisecond, CancelSlice: 5 * time.Millisecond}
	barrierSleep = futex.Sleeper{Slice: 20 * time.Millisecond, CancelSlice: 5 * time.Millisecond}
)
