package semaphore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
)

// The cross-language tests: Go processes (the helper "xpeer") and C
// processes (csrc/testdata/peer_family.c) take the same arguments and
// speak the same lines, so each test runs its parties in both languages
// on one object, made once by Go and once by C.

// langs are the languages of a party.
var langs = []string{"go", "c"}

// other returns the language that is not lang.
func other(lang string) string {
	if lang == "go" {
		return "c"
	}
	return "go"
}

// party starts one party in lang, with peer_family's arguments.
func party(t *testing.T, lang string, args ...string) *proctest.Proc {
	t.Helper()
	if lang == "go" {
		return proctest.Start(t, "xpeer", args...)
	}
	p := proctest.Exec(t, cPeer(t, "testdata/peer_family.c"), args...)
	p.Start()
	return p
}

// made creates an object of kind (peer_family's create kinds) in lang and
// returns its name; it is unlinked when the test ends. A C creator lives
// as long as the test and unlinks what it made when told.
func made(t *testing.T, lang, kind string, n int) string {
	t.Helper()
	if lang == "c" {
		p := party(t, "c", "create", kind, strconv.Itoa(n))
		name, ok := strings.CutPrefix(p.Recv(), "name ")
		if !ok {
			t.Fatalf("C create %s: no name\n%s", kind, p.Stderr())
		}
		t.Cleanup(func() {
			p.Send("unlink")
			p.Expect("unlinked")
		})
		return name
	}
	type object interface {
		Name() string
		Close() error
		Unlink() error
	}
	var o object
	var err error
	switch kind {
	case "sem":
		o, err = semaphore.NewSemaphore(n)
	case "bsem":
		o, err = semaphore.NewBoundedSemaphore(n)
	case "event":
		o, err = semaphore.NewEvent()
	case "barrier":
		o, err = semaphore.NewBarrier(n, nil)
	case "rlock":
		o, err = semaphore.NewRLock()
	case "cond":
		o, err = semaphore.NewCondition(nil)
	case "cond-lock":
		var l *semaphore.Lock
		if l, err = semaphore.NewLock(); err == nil {
			t.Cleanup(func() { l.Close(); l.Unlink() })
			o, err = semaphore.NewCondition(l)
		}
	case "array":
		o, err = ctypes.NewArray[int64](n)
	default:
		t.Fatalf("made: no kind %q", kind)
	}
	if err != nil {
		t.Fatalf("creating a %s in Go: %v", kind, err)
	}
	t.Cleanup(func() { o.Close(); o.Unlink() })
	return o.Name()
}

// result names an error as peer_family does.
func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, semaphore.ErrOwnerDead):
		return "ownerdead"
	case errors.Is(err, semaphore.ErrBroken):
		return "broken"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, semaphore.ErrTooManyReleases):
		return "overflow"
	}
	return err.Error()
}

func init() {
	proctest.Register("xpeer", func(h *proctest.Helper) {
		if err := xpeer(h); err != nil {
			h.Fatalf("xpeer %s: %v", strings.Join(h.Args, " "), err)
		}
	})
}

// xpeer is peer_family.c in Go; see its comment for the operations.
func xpeer(h *proctest.Helper) error {
	op, name := h.Args[0], h.Args[1]
	n := 0
	if len(h.Args) > 2 {
		n, _ = strconv.Atoi(h.Args[len(h.Args)-1])
	}
	var w []int64
	if len(h.Args) == 4 {
		w = words(openSeg(h, h.Args[2]))
	}
	ctx := context.Background()
	say := h.Printf
	switch {
	case strings.HasPrefix(op, "sem-"):
		s, err := semaphore.OpenSemaphore(name)
		if err != nil {
			return err
		}
		h.Ready()
		switch op {
		case "sem-count":
			h.ReadLine()
			for range n {
				if err := s.Acquire(ctx); err != nil {
					return err
				}
				w[0]++
				if err := s.Release(); err != nil {
					return err
				}
			}
			say("done")
		case "sem-hold":
			if err := s.Acquire(ctx); err != nil {
				return err
			}
			say("held")
			h.ReadLine()
		case "sem-release":
			say("release %s", result(s.Release()))
		case "sem-wait":
			say("waiting")
			if err := s.Acquire(ctx); err != nil {
				return err
			}
			say("acquired")
		}
	case strings.HasPrefix(op, "event-"):
		e, err := semaphore.OpenEvent(name)
		if err != nil {
			return err
		}
		h.Ready()
		if op == "event-wait" {
			say("waiting")
			_, err := e.Wait(ctx)
			say("event %s", result(err))
		} else {
			h.ReadLine()
			if err := e.Set(); err != nil {
				return err
			}
			say("done")
		}
	case strings.HasPrefix(op, "cond-"):
		c, err := semaphore.OpenCondition(name)
		if err != nil {
			return err
		}
		h.Ready()
		switch op {
		case "cond-wait1":
			c.Lock()
			say("waiting")
			say("woken %s", result(c.Wait(ctx)))
			c.Unlock()
		case "cond-notify1":
			c.Lock()
			err := c.Notify(n)
			c.Unlock()
			if err != nil {
				return err
			}
			say("done")
		case "cond-wait", "cond-notify":
			h.ReadLine()
			for i := range n {
				c.Lock()
				if op == "cond-notify" {
					w[0]++
					if i%2 == 1 {
						err = c.NotifyAll()
					} else {
						err = c.Notify(1)
					}
				} else if _, err = c.WaitFor(ctx, func() bool { return w[0] > 0 }); err == nil {
					w[0]--
					w[1]++
				}
				c.Unlock()
				if err != nil {
					return err
				}
			}
			say("done")
		}
	case strings.HasPrefix(op, "barrier-"):
		b, err := semaphore.OpenBarrier(name)
		if err != nil {
			return err
		}
		h.Ready()
		if op == "barrier-once" {
			say("waiting")
			_, err := b.Wait(ctx)
			say("barrier %s", result(err))
			break
		}
		b.SetAction(func() error { w[0]++; return nil })
		h.ReadLine()
		for range n {
			i, err := b.Wait(ctx)
			if err != nil {
				return err
			}
			atomic.AddInt64(&w[1], int64(i))
		}
		say("done")
	case strings.HasPrefix(op, "rlock-"):
		r, err := semaphore.OpenRLock(name)
		if err != nil {
			return err
		}
		h.Ready()
		if op == "rlock-hold" {
			r.Lock()
			r.Lock()
			say("held")
			h.ReadLine()
			break
		}
		return acquireReport(h, r.Acquire, r.MarkConsistent, r.Release)
	case strings.HasPrefix(op, "array-"):
		a, err := ctypes.OpenArray[int64](name)
		if err != nil {
			return err
		}
		h.Ready()
		switch op {
		case "array-hold":
			a.Lock()
			a.Lock()
			say("held")
			h.ReadLine()
		case "array-acquire":
			return acquireReport(h, a.Acquire, a.MarkConsistent, a.Release)
		case "array-count":
			h.ReadLine()
			for range n {
				if _, err := a.Add(0, 1); err != nil {
					return err
				}
				a.Lock()
				v, _ := a.At(1)
				a.Set(1, v+1)
				a.Unlock()
			}
			say("done")
		}
	default:
		return fmt.Errorf("no operation %q", op)
	}
	return nil
}

// acquireReport takes a lock (20 s at most), says how, and repairs and
// releases it.
func acquireReport(h *proctest.Helper, acquire func(context.Context) error, consistent, release func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := acquire(ctx)
	h.Printf("acquired %s", result(err))
	if errors.Is(err, semaphore.ErrOwnerDead) {
		if err := consistent(); err != nil {
			return err
		}
	} else if err != nil {
		return nil
	}
	return release()
}

// startAll sends "go" to every party, then expects "done" from each.
func startAll(ps []*proctest.Proc) {
	for _, p := range ps {
		p.Send("go")
	}
	for _, p := range ps {
		p.Expect("done")
	}
}

// TestSemaphoreAcrossLanguages: two Go and two C processes increment one
// counter under a BoundedSemaphore of value 1; the total is exact, and a
// release over the bound is refused in both languages.
func TestSemaphoreAcrossLanguages(t *testing.T) {
	const each = 5000
	for _, maker := range langs {
		t.Run("made-by-"+maker, func(t *testing.T) {
			s := made(t, maker, "bsem", 1)
			seg := newSegment(t, 8)
			var ps []*proctest.Proc
			for _, lang := range []string{"go", "c", "go", "c"} {
				ps = append(ps, party(t, lang, "sem-count", s, seg.Name(), strconv.Itoa(each)))
			}
			startAll(ps)
			if got := *counter(seg); got != 4*each {
				t.Errorf("counter = %d, want %d", got, 4*each)
			}
			sem, err := semaphore.OpenSemaphore(s)
			if err != nil {
				t.Fatal(err)
			}
			defer sem.Close()
			if v, _ := sem.Value(); v != 1 {
				t.Errorf("value after the run = %d, want 1", v)
			}
			// The bound holds in both languages, whichever made it.
			for _, lang := range langs {
				party(t, lang, "sem-release", s).Expect("release overflow")
			}
		})
	}
}

// TestConditionAcrossLanguages: two Go and two C waiters take items that
// a Go and a C notifier put in, one at a time, on a condition over a new
// RLock ("cond") or a Lock of the maker's ("cond-lock").
func TestConditionAcrossLanguages(t *testing.T) {
	const each = 200
	for _, maker := range langs {
		for _, kind := range []string{"cond", "cond-lock"} {
			t.Run(kind+"-made-by-"+maker, func(t *testing.T) {
				c := made(t, maker, kind, 0)
				seg := newSegment(t, 16)
				var ps []*proctest.Proc
				for _, lang := range []string{"go", "c", "go", "c"} {
					ps = append(ps, party(t, lang, "cond-wait", c, seg.Name(), strconv.Itoa(each)))
				}
				for _, lang := range langs {
					ps = append(ps, party(t, lang, "cond-notify", c, seg.Name(), strconv.Itoa(2*each)))
				}
				startAll(ps)
				if w := words(seg); w[0] != 0 || w[1] != 4*each {
					t.Errorf("items left %d, taken %d; want 0, %d", w[0], w[1], 4*each)
				}
			})
		}
	}
}

// TestBarrierAcrossLanguages: three Go and three C parties pass a barrier
// 1,000 times; the action runs once a round, in whichever party arrives
// last, and the arrival indices of each round are 0..5.
func TestBarrierAcrossLanguages(t *testing.T) {
	const rounds = 1000
	for _, maker := range langs {
		t.Run("made-by-"+maker, func(t *testing.T) {
			b := made(t, maker, "barrier", 6)
			seg := newSegment(t, 16)
			var ps []*proctest.Proc
			for _, lang := range []string{"go", "c", "go", "c", "go", "c"} {
				ps = append(ps, party(t, lang, "barrier-rounds", b, seg.Name(), strconv.Itoa(rounds)))
			}
			startAll(ps)
			if w := words(seg); w[0] != rounds || w[1] != rounds*15 {
				t.Errorf("actions %d, index sum %d; want %d, %d", w[0], w[1], rounds, rounds*15)
			}
		})
	}
}

// TestEventAcrossLanguages: waiters in both languages wake when the other
// language sets the event.
func TestEventAcrossLanguages(t *testing.T) {
	for _, maker := range langs {
		t.Run("made-by-"+maker, func(t *testing.T) {
			e := made(t, maker, "event", 0)
			var waiters []*proctest.Proc
			for _, lang := range []string{"go", "c", "go", "c"} {
				w := party(t, lang, "event-wait", e)
				w.Expect("waiting")
				waiters = append(waiters, w)
			}
			startAll([]*proctest.Proc{party(t, other(maker), "event-set", e)})
			for _, w := range waiters {
				w.Expect("event ok")
			}
		})
	}
}

// TestArrayAcrossLanguages: two Go and two C processes add to an int64
// Array, atomically (element 0) and under its lock (element 1).
func TestArrayAcrossLanguages(t *testing.T) {
	const each = 5000
	for _, maker := range langs {
		t.Run("made-by-"+maker, func(t *testing.T) {
			name := made(t, maker, "array", 2)
			var ps []*proctest.Proc
			for _, lang := range []string{"go", "c", "go", "c"} {
				ps = append(ps, party(t, lang, "array-count", name, strconv.Itoa(each)))
			}
			startAll(ps)
			a, err := ctypes.OpenArray[int64](name)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			got := make([]int64, 2)
			a.CopyTo(got)
			if got[0] != 4*each || got[1] != 4*each {
				t.Errorf("elements %v, want [%d %d]", got, 4*each, 4*each)
			}
		})
	}
}

// TestKilledAcrossLanguages kills a party of each kind in one language
// while a party in the other waits, and checks what the Go docs promise:
// locks are recovered (ownerdead), a barrier breaks, a condition's
// notification skips the dead waiter, and a semaphore or event goes on
// for the living (a semaphore's unit taken by the dead is lost).
func TestKilledAcrossLanguages(t *testing.T) {
	for _, killed := range langs {
		alive := other(killed)
		t.Run("killed-"+killed, func(t *testing.T) {
			t.Run("rlock", func(t *testing.T) {
				l := made(t, alive, "rlock", 0)
				h := party(t, killed, "rlock-hold", l)
				h.Expect("held")
				w := party(t, alive, "rlock-acquire", l)
				h.Kill()
				w.Expect("acquired ownerdead")
			})
			t.Run("array-lock", func(t *testing.T) {
				a := made(t, killed, "array", 2)
				h := party(t, killed, "array-hold", a)
				h.Expect("held")
				w := party(t, alive, "array-acquire", a)
				h.Kill()
				w.Expect("acquired ownerdead")
			})
			t.Run("barrier", func(t *testing.T) {
				b := made(t, alive, "barrier", 3)
				w := party(t, alive, "barrier-once", b)
				w.Expect("waiting")
				k := party(t, killed, "barrier-once", b)
				k.Expect("waiting")
				waitFor(t, func() bool { return nWaiting(t, b) == 2 })
				k.Kill()
				w.Expect("barrier broken")
			})
			t.Run("condition", func(t *testing.T) {
				c := made(t, killed, "cond", 0)
				k := party(t, killed, "cond-wait1", c)
				k.Expect("waiting")
				w := party(t, alive, "cond-wait1", c)
				w.Expect("waiting")
				k.Kill()
				// The dead waiter is the oldest: one notification, from
				// the living's language, must reach the living one.
				party(t, alive, "cond-notify1", c, "1").Expect("done")
				w.Expect("woken ok")
			})
			t.Run("semaphore", func(t *testing.T) {
				s := made(t, alive, "sem", 1)
				h := party(t, killed, "sem-hold", s)
				h.Expect("held")
				k := party(t, killed, "sem-wait", s)
				k.Expect("waiting")
				h.Kill()
				k.Kill()
				sem, err := semaphore.OpenSemaphore(s)
				if err != nil {
					t.Fatal(err)
				}
				defer sem.Close()
				if v, _ := sem.Value(); v != 0 {
					t.Errorf("value after the holder died = %d, want 0 (its unit is lost)", v)
				}
				w := party(t, alive, "sem-wait", s)
				w.Expect("waiting")
				if err := sem.Release(); err != nil {
					t.Fatal(err)
				}
				w.Expect("acquired") // not eaten by the dead waiter
			})
			t.Run("event", func(t *testing.T) {
				e := made(t, killed, "event", 0)
				k := party(t, killed, "event-wait", e)
				k.Expect("waiting")
				w := party(t, alive, "event-wait", e)
				w.Expect("waiting")
				k.Kill()
				startAll([]*proctest.Proc{party(t, killed, "event-set", e)})
				w.Expect("event ok")
			})
		})
	}
}

// nWaiting returns the number of parties waiting on barrier name.
func nWaiting(t *testing.T, name string) int {
	b, err := semaphore.OpenBarrier(name)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	return b.NWaiting()
}

// waitFor polls cond until it holds (the tests' Recv timeout bounds it).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 2 minutes")
		}
	}
}
