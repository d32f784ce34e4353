package semaphore_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
)

func init() {
	// block holds lock args[0] (so others block on it) until killed.
	proctest.Register("block", func(h *proctest.Helper) {
		l, err := semaphore.OpenLock(h.Args[0])
		if err != nil {
			h.Fatalf("OpenLock: %v", err)
		}
		l.Lock()
		h.Ready()
		h.ReadLine()
	})
}

// closer is what every object of the package has.
type closer interface {
	Name() string
	Close() error
	Unlink() error
}

// TestCancelPromptly cancels every kind of blocking call from another
// goroutine while it waits, and expects it back quickly with
// context.Canceled and the object unchanged.
func TestCancelPromptly(t *testing.T) {
	l := newLock(t)
	proctest.Start(t, "block", l.Name()) // holds l
	r, _ := semaphore.NewRLock()
	s, _ := semaphore.NewSemaphore(0)
	e, _ := semaphore.NewEvent()
	c, _ := semaphore.NewCondition(nil)
	b, _ := semaphore.NewBarrier(2, nil)
	for _, o := range []closer{r, s, e, c, b} {
		t.Cleanup(func() { o.Close(); o.Unlink() })
	}
	holdR, released := make(chan struct{}), make(chan struct{})
	go func() { r.Lock(); <-holdR; r.Unlock(); close(released) }()
	defer func() { close(holdR); <-released }()
	for !isLocked(r) {
		time.Sleep(time.Millisecond)
	}

	calls := map[string]func(ctx context.Context) error{
		"Lock.Acquire":      l.Acquire,
		"RLock.Acquire":     r.Acquire,
		"Semaphore.Acquire": s.Acquire,
		"Event.Wait":        func(ctx context.Context) error { _, err := e.Wait(ctx); return err },
		"Condition.Wait": func(ctx context.Context) error {
			c.Lock()
			defer c.Unlock()
			return c.Wait(ctx)
		},
		"Barrier.Wait": func(ctx context.Context) error { _, err := b.Wait(ctx); return err },
	}
	for name, call := range calls {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(20*time.Millisecond, cancel)
		start := time.Now()
		err := call(ctx)
		if d := time.Since(start); !errors.Is(err, context.Canceled) || d > time.Second {
			t.Errorf("%s: %v after %v; want context.Canceled within milliseconds of 20ms", name, err, d)
		}
	}
	if v, _ := s.Value(); v != 0 {
		t.Errorf("cancelled Semaphore.Acquire changed the value to %d", v)
	}
	if !b.Broken() {
		t.Errorf("a cancelled Barrier.Wait did not break the barrier, as a timeout does in Python")
	}
}

func isLocked(r *semaphore.RLock) bool {
	ok, err := r.TryAcquire()
	if ok {
		r.Release()
	}
	return !ok && err == nil
}

// TestOpenErrors checks every Open function against a missing name, a bad
// name and an object of another kind.
func TestOpenErrors(t *testing.T) {
	ev, err := semaphore.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Unlink()
	defer ev.Close()
	lk := newLock(t)
	opens := map[string]func(string) error{
		"OpenLock":      func(n string) error { _, err := semaphore.OpenLock(n); return err },
		"OpenRLock":     func(n string) error { _, err := semaphore.OpenRLock(n); return err },
		"OpenSemaphore": func(n string) error { _, err := semaphore.OpenSemaphore(n); return err },
		"OpenCondition": func(n string) error { _, err := semaphore.OpenCondition(n); return err },
		"OpenBarrier":   func(n string) error { _, err := semaphore.OpenBarrier(n); return err },
		"OpenEvent":     func(n string) error { _, err := semaphore.OpenEvent(n); return err },
	}
	for name, open := range opens {
		if err := open("mps-test-missing"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s of a missing name: %v, want fs.ErrNotExist", name, err)
		}
		if err := open("a/b/c"); !errors.Is(err, fs.ErrInvalid) { // "a/b" is object b of arena a
			t.Errorf("%s of a bad name: %v, want fs.ErrInvalid", name, err)
		}
		other := ev.Name()
		if name == "OpenEvent" {
			other = lk.Name()
		}
		if err := open(other); !errors.Is(err, semaphore.ErrTypeMismatch) {
			t.Errorf("%s of another kind: %v, want ErrTypeMismatch", name, err)
		}
	}
	if _, err := semaphore.NewLock(semaphore.WithName(lk.Name())); !errors.Is(err, fs.ErrExist) {
		t.Errorf("NewLock with an existing name: %v, want fs.ErrExist", err)
	}
}

// TestUseAfterClose checks that every method of every type returns
// ErrClosed after Close, and nothing crashes.
func TestUseAfterClose(t *testing.T) {
	ctx := t.Context()
	r, _ := semaphore.NewRLock()
	s, _ := semaphore.NewSemaphore(1)
	e, _ := semaphore.NewEvent()
	c, _ := semaphore.NewCondition(nil)
	b, _ := semaphore.NewBarrier(2, nil)
	for _, o := range []closer{r, s, e, c, b} {
		o.Close()
		if err := o.Close(); err != nil {
			t.Errorf("second Close of %s: %v", o.Name(), err)
		}
		defer o.Unlink()
	}
	checks := map[string]error{
		"RLock.Acquire":     r.Acquire(ctx),
		"RLock.Release":     r.Release(),
		"Semaphore.Acquire": s.Acquire(ctx),
		"Semaphore.Release": s.Release(),
		"Event.Set":         e.Set(),
		"Event.Clear":       e.Clear(),
		"Condition.Notify":  c.Notify(1),
		"Condition.Wait":    c.Wait(ctx),
		"Barrier.Abort":     b.Abort(),
		"Barrier.Reset":     b.Reset(),
	}
	_, checks["Semaphore.Value"] = s.Value()
	_, checks["Event.Wait"] = e.Wait(ctx)
	_, checks["Barrier.Wait"] = b.Wait(ctx)
	for name, err := range checks {
		if !errors.Is(err, semaphore.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if e.IsSet() || b.Broken() || b.NWaiting() != 0 {
		t.Errorf("accessors after Close report state")
	}
}
