package semaphore_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

// words views a shared segment as int64 words.
func words(seg *shm.Segment) []int64 {
	return unsafe.Slice((*int64)(unsafe.Pointer(&seg.Bytes()[0])), seg.Size()/8)
}

func openSeg(h *proctest.Helper, name string) *shm.Segment {
	seg, err := shm.Open(name)
	if err != nil {
		h.Fatalf("shm.Open: %v", err)
	}
	return seg
}

func init() {
	// produce puts items 1..args[4] into a 2-slot ring in segment args[3],
	// with semaphores empty=args[0], full=args[1] and lock args[2].
	proctest.Register("produce", func(h *proctest.Helper) {
		empty, err1 := semaphore.OpenSemaphore(h.Args[0])
		full, err2 := semaphore.OpenSemaphore(h.Args[1])
		mu, err3 := semaphore.OpenLock(h.Args[2])
		if err := errors.Join(err1, err2, err3); err != nil {
			h.Fatalf("open: %v", err)
		}
		w := words(openSeg(h, h.Args[3]))
		n, _ := strconv.Atoi(h.Args[4])
		h.Ready()
		ctx := context.Background()
		for item := 1; item <= n; item++ {
			if err := empty.Acquire(ctx); err != nil {
				h.Fatalf("empty.Acquire: %v", err)
			}
			mu.Lock()
			w[w[2]%2] = int64(item) // w[2] is the write index
			w[2]++
			mu.Unlock()
			if err := full.Release(); err != nil {
				h.Fatalf("full.Release: %v", err)
			}
		}
		h.Printf("produced")
	})
	// cond-wait waits on condition args[0]; the shared counter w[0]
	// counts wake-ups. With args[2] == "for" it waits for w[1] >= 5.
	proctest.Register("cond-wait", func(h *proctest.Helper) {
		c, err := semaphore.OpenCondition(h.Args[0])
		if err != nil {
			h.Fatalf("OpenCondition: %v", err)
		}
		w := words(openSeg(h, h.Args[1]))
		h.Ready()
		c.Lock()
		h.Printf("waiting") // still holding the lock: Wait releases it
		if h.Args[2] == "for" {
			ok, err := c.WaitFor(context.Background(), func() bool { return w[1] >= 5 })
			h.Printf("predicate %v %v", ok, err)
		} else if err := c.Wait(context.Background()); err != nil {
			h.Fatalf("Wait: %v", err)
		}
		w[0]++
		c.Unlock()
		h.Printf("woken")
	})
	// event-wait waits for event args[0] and says what Wait returned.
	proctest.Register("event-wait", func(h *proctest.Helper) {
		e, err := semaphore.OpenEvent(h.Args[0])
		if err != nil {
			h.Fatalf("OpenEvent: %v", err)
		}
		h.Ready()
		ok, err := e.Wait(context.Background())
		h.Printf("event %v %v", ok, err)
	})
	// barrier-rounds waits on barrier args[0] args[2] times; its action
	// counts rounds in w[0], and w[1] sums the arrival indices.
	proctest.Register("barrier-rounds", func(h *proctest.Helper) {
		b, err := semaphore.OpenBarrier(h.Args[0])
		if err != nil {
			h.Fatalf("OpenBarrier: %v", err)
		}
		w := words(openSeg(h, h.Args[1]))
		b.SetAction(func() error { w[0]++; return nil })
		rounds, _ := strconv.Atoi(h.Args[2])
		h.Ready()
		for range rounds {
			i, err := b.Wait(context.Background())
			if err != nil {
				h.Fatalf("Wait: %v", err)
			}
			atomic.AddInt64(&w[1], int64(i))
		}
		h.Printf("rounds done")
	})
	// barrier-once waits on barrier args[0] once, with a timeout of
	// args[1] (0: none), and says what Wait returned.
	proctest.Register("barrier-once", func(h *proctest.Helper) {
		b, err := semaphore.OpenBarrier(h.Args[0])
		if err != nil {
			h.Fatalf("OpenBarrier: %v", err)
		}
		ctx := context.Background()
		if d, _ := time.ParseDuration(h.Args[1]); d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		h.Ready()
		h.Printf("waiting")
		_, err = b.Wait(ctx)
		h.Printf("barrier %s", errName(err))
	})
	// barrier-stuck-action waits on barrier args[0] once, with an action
	// that says "in action" and never returns.
	proctest.Register("barrier-stuck-action", func(h *proctest.Helper) {
		b, err := semaphore.OpenBarrier(h.Args[0])
		if err != nil {
			h.Fatalf("OpenBarrier: %v", err)
		}
		b.SetAction(func() error {
			h.Printf("in action")
			select {}
		})
		h.Ready()
		_, err = b.Wait(context.Background())
		h.Printf("barrier %s", errName(err))
	})
	// sem-release opens semaphore args[0], releases it once, and says its
	// maximum and how Release ended.
	proctest.Register("sem-release", func(h *proctest.Helper) {
		s, err := semaphore.OpenSemaphore(h.Args[0])
		if err != nil {
			h.Fatalf("OpenSemaphore: %v", err)
		}
		h.Ready()
		switch err := s.Release(); {
		case errors.Is(err, semaphore.ErrTooManyReleases):
			h.Printf("max %d release too many", s.MaxValue())
		default:
			h.Printf("max %d release %v", s.MaxValue(), err)
		}
	})
	// rlock-hold takes RLock args[0] twice and holds it until told.
	proctest.Register("rlock-hold", func(h *proctest.Helper) {
		r, err := semaphore.OpenRLock(h.Args[0])
		if err != nil {
			h.Fatalf("OpenRLock: %v", err)
		}
		h.Ready()
		r.Lock()
		r.Lock()
		h.Printf("held")
		h.ReadLine()
		r.Unlock()
		r.Unlock()
		h.Printf("released")
	})
}

// errName names the errors the barrier tests expect.
func errName(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, semaphore.ErrBroken):
		return "broken"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return err.Error()
}

// newBarrier makes a barrier for parties parties that the test removes
// at its end.
func newBarrier(t *testing.T, parties int) *semaphore.Barrier {
	t.Helper()
	b, err := semaphore.NewBarrier(parties, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Close()
		b.Unlink()
	})
	return b
}

// awaitWaiting returns once n parties wait at b.
func awaitWaiting(b *semaphore.Barrier, n int) {
	for b.NWaiting() < n {
		time.Sleep(time.Millisecond)
	}
}

func TestRLock(t *testing.T) {
	r, err := semaphore.NewRLock()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Unlink()
	defer r.Close()
	ctx := t.Context()
	for range 3 {
		if err := r.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if held, n := r.HeldByMe(); !held || n != 3 {
		t.Errorf("HeldByMe = %v, %d; want true, 3", held, n)
	}
	other := make(chan error)
	go func() {
		ok, err := r.TryAcquire()
		if ok {
			err = errors.New("another goroutine acquired a held RLock")
		}
		if e := r.Release(); !errors.Is(e, semaphore.ErrNotOwner) {
			err = errors.Join(err, fmt.Errorf("Release by a non-owner goroutine: %v", e))
		}
		other <- err
	}()
	if err := <-other; err != nil {
		t.Error(err)
	}
	for range 3 {
		if err := r.Release(); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Release(); !errors.Is(err, semaphore.ErrNotOwner) {
		t.Errorf("Release of a free RLock: %v, want ErrNotOwner", err)
	}

	// Across processes: the helper's hold excludes us.
	p := proctest.Start(t, "rlock-hold", r.Name())
	p.Expect("held")
	if ok, err := r.TryAcquire(); ok || err != nil {
		t.Errorf("TryAcquire while another process holds it = %v, %v", ok, err)
	}
	p.Send("release")
	p.Expect("released")
	if ok, err := r.TryAcquire(); !ok || err != nil {
		t.Errorf("TryAcquire after the other process released = %v, %v", ok, err)
	}
	r.Unlock()
}

// TestProducerConsumer is the classic bounded buffer across two processes:
// semaphores empty (2) and full (0) and a Lock around a 2-slot ring in a
// shared segment. Every item arrives exactly once, in order.
func TestProducerConsumer(t *testing.T) {
	const items = 10000
	empty, err := semaphore.NewSemaphore(2)
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Unlink()
	defer empty.Close()
	full, err := semaphore.NewSemaphore(0)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Unlink()
	defer full.Close()
	mu := newLock(t)
	seg := newSegment(t, 32)
	w := words(seg) // w[0], w[1]: the ring; w[2]: write index; w[3]: read index

	p := proctest.Start(t, "produce", empty.Name(), full.Name(), mu.Name(), seg.Name(), strconv.Itoa(items))
	ctx := t.Context()
	for want := int64(1); want <= items; want++ {
		if err := full.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := w[w[3]%2]
		w[3]++
		mu.Unlock()
		if err := empty.Release(); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("received %d, want %d", got, want)
		}
	}
	p.Expect("produced")
	if v, _ := empty.Value(); v != 2 {
		t.Errorf("empty = %d at the end, want 2", v)
	}
}

func TestSemaphore(t *testing.T) {
	for _, bad := range []int{-1, semaphore.ValueMax + 1} {
		if _, err := semaphore.NewSemaphore(bad); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("NewSemaphore(%d): %v, want fs.ErrInvalid", bad, err)
		}
	}
	if _, err := semaphore.NewBoundedSemaphore(-1); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("NewBoundedSemaphore(-1): %v, want fs.ErrInvalid", err)
	}
	b, err := semaphore.NewBoundedSemaphore(2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Unlink()
	defer b.Close()
	if err := b.Release(); !errors.Is(err, semaphore.ErrTooManyReleases) {
		t.Errorf("over-release: %v, want ErrTooManyReleases", err)
	}
	again, err := semaphore.OpenSemaphore(b.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.MaxValue() != 2 {
		t.Errorf("opened bounded semaphore has max %d, want 2", again.MaxValue())
	}
	ctx := t.Context()
	again.Acquire(ctx)
	b.Acquire(ctx)
	if ok, _ := b.TryAcquire(); ok {
		t.Errorf("TryAcquire at 0 succeeded")
	}
	if v, _ := b.Value(); v != 0 {
		t.Errorf("Value = %d, want 0", v)
	}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := b.Acquire(tctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Acquire at 0 with a deadline: %v", err)
	}
	b.Release()
	again.Release()
	if err := b.Release(); !errors.Is(err, semaphore.ErrTooManyReleases) {
		t.Errorf("over-release after use: %v", err)
	}
}

// TestBoundedSemaphoreZero: as in Python, BoundedSemaphore(0) exists; it
// can never be acquired, and every release, in this process or another,
// is ErrTooManyReleases.
func TestBoundedSemaphoreZero(t *testing.T) {
	b, err := semaphore.NewBoundedSemaphore(0)
	if err != nil {
		t.Fatalf("NewBoundedSemaphore(0): %v", err)
	}
	defer b.Unlink()
	defer b.Close()
	if b.MaxValue() != 0 {
		t.Errorf("MaxValue = %d, want 0", b.MaxValue())
	}
	if ok, err := b.TryAcquire(); ok || err != nil {
		t.Errorf("TryAcquire = %v, %v; want false, nil", ok, err)
	}
	if err := b.Release(); !errors.Is(err, semaphore.ErrTooManyReleases) {
		t.Errorf("Release: %v, want ErrTooManyReleases", err)
	}
	proctest.Start(t, "sem-release", b.Name()).Expect("max 0 release too many")
	if v, err := b.Value(); v != 0 || err != nil {
		t.Errorf("Value = %d, %v after refused releases, want 0", v, err)
	}
}

func TestEvent(t *testing.T) {
	e, err := semaphore.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Unlink()
	defer e.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if ok, err := e.Wait(ctx); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait on a clear event = %v, %v; want false, DeadlineExceeded", ok, err)
	}
	var ps []*proctest.Proc
	for range 3 {
		ps = append(ps, proctest.Start(t, "event-wait", e.Name()))
	}
	time.Sleep(20 * time.Millisecond) // let them reach the futex; not required for correctness
	if e.IsSet() {
		t.Fatal("IsSet before Set")
	}
	if err := e.Set(); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		p.Expect("event true <nil>")
	}
	if ok, err := e.Wait(t.Context()); !ok || err != nil {
		t.Errorf("Wait on a set event = %v, %v", ok, err)
	}
	e.Clear()
	if e.IsSet() {
		t.Errorf("IsSet after Clear")
	}
}

func TestCondition(t *testing.T) {
	c, err := semaphore.NewCondition(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Unlink()
	defer c.Close()
	seg := newSegment(t, 16)
	w := words(seg)

	if err := c.Notify(1); !errors.Is(err, semaphore.ErrNotOwner) {
		t.Errorf("Notify without the lock: %v, want ErrNotOwner", err)
	}
	if err := c.Wait(t.Context()); !errors.Is(err, semaphore.ErrNotOwner) {
		t.Errorf("Wait without the lock: %v, want ErrNotOwner", err)
	}

	// Three waiters; Notify(1) wakes one, NotifyAll the rest.
	var ps []*proctest.Proc
	for range 3 {
		p := proctest.Start(t, "cond-wait", c.Name(), seg.Name(), "plain")
		p.Expect("waiting")
		ps = append(ps, p)
	}
	c.Lock() // all three are now inside Wait
	if err := c.Notify(1); err != nil {
		t.Fatal(err)
	}
	c.Unlock()
	waitWoken(t, c, w, 1)
	time.Sleep(50 * time.Millisecond)
	c.Lock()
	if w[0] != 1 {
		t.Errorf("Notify(1) woke %d waiters", w[0])
	}
	c.NotifyAll()
	c.Unlock()
	waitWoken(t, c, w, 3)
	for _, p := range ps {
		p.Expect("woken")
	}

	// WaitFor with a predicate on shared state.
	p := proctest.Start(t, "cond-wait", c.Name(), seg.Name(), "for")
	p.Expect("waiting")
	for range 5 {
		c.Lock()
		w[1]++
		c.NotifyAll()
		c.Unlock()
	}
	p.Expect("predicate true <nil>")
	p.Expect("woken")

	// A waiter killed with SIGKILL does not swallow a notification.
	w[0] = 0
	dead := proctest.Start(t, "cond-wait", c.Name(), seg.Name(), "plain")
	dead.Expect("waiting")
	live := proctest.Start(t, "cond-wait", c.Name(), seg.Name(), "plain")
	live.Expect("waiting")
	dead.Kill()
	c.Lock()
	c.Notify(1) // the dead waiter is older, but skipped
	c.Unlock()
	live.Expect("woken")
}

// waitWoken waits until the shared wake-up count reaches n.
func waitWoken(t *testing.T, c *semaphore.Condition, w []int64, n int64) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		c.Lock()
		got := w[0]
		c.Unlock()
		if got >= n {
			return
		}
	}
	t.Fatalf("wake-ups never reached %d", n)
}

func TestBarrier(t *testing.T) {
	if _, err := semaphore.NewBarrier(0, nil); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("NewBarrier(0): %v, want fs.ErrInvalid", err)
	}
	seg := newSegment(t, 16)
	w := words(seg)
	b, err := semaphore.NewBarrier(3, func() error { w[0]++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer b.Unlink()
	defer b.Close()
	ctx := t.Context()

	// Three processes over many rounds: the action runs once per round,
	// and the arrival indices of a round are 0, 1 and 2.
	const rounds = 300
	p1 := proctest.Start(t, "barrier-rounds", b.Name(), seg.Name(), strconv.Itoa(rounds))
	p2 := proctest.Start(t, "barrier-rounds", b.Name(), seg.Name(), strconv.Itoa(rounds))
	for range rounds {
		i, err := b.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		atomic.AddInt64(&w[1], int64(i))
	}
	p1.Expect("rounds done")
	p2.Expect("rounds done")
	if w[0] != rounds || atomic.LoadInt64(&w[1]) != rounds*3 {
		t.Errorf("action ran %d times (want %d); indices sum to %d (want %d)", w[0], rounds, w[1], rounds*3)
	}

	// Abort breaks the waiters and later waits; Reset mends it.
	a1 := proctest.Start(t, "barrier-once", b.Name(), "0")
	a2 := proctest.Start(t, "barrier-once", b.Name(), "0")
	a1.Expect("waiting")
	a2.Expect("waiting")
	awaitWaiting(b, 2)
	b.Abort()
	a1.Expect("barrier broken")
	a2.Expect("barrier broken")
	if _, err := b.Wait(ctx); !errors.Is(err, semaphore.ErrBroken) || !b.Broken() {
		t.Errorf("Wait on an aborted barrier: %v, want ErrBroken", err)
	}
	b.Reset()
	if b.Broken() || b.NWaiting() != 0 {
		t.Errorf("after Reset: Broken %v, NWaiting %d", b.Broken(), b.NWaiting())
	}

	// A party whose wait times out breaks the barrier for the others.
	r1 := proctest.Start(t, "barrier-once", b.Name(), "0")
	r1.Expect("waiting")
	r2 := proctest.Start(t, "barrier-once", b.Name(), "50ms")
	r2.Expect("waiting")
	r2.Expect("barrier timeout")
	r1.Expect("barrier broken")
	b.Reset()

	// Reset while parties wait: they get ErrBroken.
	r3 := proctest.Start(t, "barrier-once", b.Name(), "0")
	r3.Expect("waiting")
	awaitWaiting(b, 1)
	b.Reset()
	r3.Expect("barrier broken")

	// A party killed while waiting breaks the barrier instead of hanging
	// the others.
	k := proctest.Start(t, "barrier-once", b.Name(), "0")
	k.Expect("waiting")
	awaitWaiting(b, 1)
	k.Kill()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := b.Wait(tctx); !errors.Is(err, semaphore.ErrBroken) {
		t.Errorf("Wait after a waiting party died: %v, want ErrBroken", err)
	}
}

// TestBarrierEndedContext: a party whose ctx has already ended breaks the
// barrier, unless it is the last to arrive (then the round completes, as
// in Python with a timeout of 0).
func TestBarrierEndedContext(t *testing.T) {
	b := newBarrier(t, 2)
	ended, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Wait(ended); !errors.Is(err, context.Canceled) || !b.Broken() {
		t.Errorf("first party with an ended ctx: %v (broken %v), want context.Canceled and broken", err, b.Broken())
	}
	if err := b.Reset(); err != nil {
		t.Fatal(err)
	}
	p := proctest.Start(t, "barrier-once", b.Name(), "0")
	p.Expect("waiting")
	awaitWaiting(b, 1)
	if i, err := b.Wait(ended); err != nil || i != 1 {
		t.Errorf("last party with an ended ctx: index %d, %v; want 1, nil", i, err)
	}
	p.Expect("barrier ok")
}

// TestBarrierStoppedParty stops a waiting party's process (SIGSTOP) while
// its round ends one way and later rounds end the other, then lets it go
// on: it must report how its own round ended, not how the latest did.
func TestBarrierStoppedParty(t *testing.T) {
	b := newBarrier(t, 2)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	// rounds completes n rounds with two parties of this process.
	rounds := func(n int) {
		done := make(chan error, 1)
		go func() {
			for range n {
				if _, err := b.Wait(ctx); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		for range n {
			if _, err := b.Wait(ctx); err != nil {
				t.Fatalf("a round after the stopped one: %v", err)
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("a round after the stopped one: %v", err)
		}
	}
	complete := func() {
		if _, err := b.Wait(ctx); err != nil {
			t.Fatalf("completing the stopped party's round: %v", err)
		}
	}
	reset := func() {
		if err := b.Reset(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name  string
		while func() // what happens while the party is stopped
		want  string
	}{
		{"reset, then a round", func() { reset(); rounds(1) }, "barrier broken"},
		{"reset, then 70 rounds", func() { reset(); rounds(70) }, "barrier broken"},
		{"completed, then reset", func() { complete(); reset() }, "barrier ok"},
		{"completed, then 70 rounds", func() { complete(); rounds(70) }, "barrier ok"},
	} {
		p := proctest.Start(t, "barrier-once", b.Name(), "0")
		p.Expect("waiting")
		awaitWaiting(b, 1)
		p.Stop()
		c.while()
		p.Continue()
		t.Logf("%s: expecting %q", c.name, c.want)
		p.Expect(c.want)
		reset()
	}
}

// TestBarrierReleaserKilled kills the last party of a round while it runs
// the action: the party waiting in that round, and one that arrived for
// the next round meanwhile (it waits for the release), get ErrBroken
// instead of hanging; Reset mends the barrier.
func TestBarrierReleaserKilled(t *testing.T) {
	b := newBarrier(t, 2)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	waiter := make(chan error, 1)
	go func() { _, err := b.Wait(ctx); waiter <- err }()
	awaitWaiting(b, 1)
	last := proctest.Start(t, "barrier-stuck-action", b.Name())
	last.Expect("in action")
	late := make(chan error, 1)
	go func() { _, err := b.Wait(ctx); late <- err }()
	select {
	case err := <-waiter:
		t.Fatalf("the waiter returned (%v) while the last party runs the action", err)
	case err := <-late:
		t.Fatalf("a party arriving during the action returned (%v) before the round ended", err)
	case <-time.After(100 * time.Millisecond):
	}
	last.Kill()
	for name, ch := range map[string]chan error{"waiting party": waiter, "late party": late} {
		if err := <-ch; !errors.Is(err, semaphore.ErrBroken) {
			t.Errorf("%s: Wait after the releasing party died: %v, want ErrBroken", name, err)
		}
	}
	if err := b.Reset(); err != nil {
		t.Fatal(err)
	}
	p := proctest.Start(t, "barrier-once", b.Name(), "0")
	p.Expect("waiting")
	if _, err := b.Wait(ctx); err != nil {
		t.Errorf("Wait after Reset: %v", err)
	}
	p.Expect("barrier ok")
}
