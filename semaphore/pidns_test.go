package semaphore_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
)

func init() {
	// ns-locker opens Lock args[0] and obeys orders, one answer line each:
	//
	//	hold          Acquire, waiting as long as it takes: "held" or "held ownerdead"
	//	try           TryAcquire: "try <ok> <outcome>", outcome as for acquire
	//	acquire MS    Acquire with a deadline MS ms away: "acquire ok",
	//	              "acquire ownerdead", "acquire timeout" or "acquire error: …"
	//	consistent    MarkConsistent: "ok" or the error
	//	release       Release: "ok" or the error
	//
	// Its first line, after Ready, is its identity in hex.
	proctest.Register("ns-locker", func(h *proctest.Helper) {
		l, err := semaphore.OpenLock(h.Args[0])
		if err != nil {
			h.Fatalf("OpenLock: %v", err)
		}
		id, err := proc.Self()
		if err != nil {
			h.Fatalf("proc.Self: %v", err)
		}
		h.Ready()
		h.Printf("%x", id)
		for {
			f := strings.Fields(h.ReadLine())
			if len(f) == 0 {
				continue
			}
			switch f[0] {
			case "hold":
				err := l.Acquire(context.Background())
				switch {
				case err == nil:
					h.Printf("held")
				case errors.Is(err, semaphore.ErrOwnerDead):
					h.Printf("held ownerdead")
				default:
					h.Printf("hold error: %v", err)
				}
			case "try":
				ok, err := l.TryAcquire()
				h.Printf("try %v %s", ok, outcome(err))
			case "acquire":
				ms, _ := strconv.Atoi(f[1])
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(ms)*time.Millisecond)
				err := l.Acquire(ctx)
				cancel()
				h.Printf("acquire %s", outcome(err))
			case "consistent":
				h.Printf("%s", okOr(l.MarkConsistent()))
			case "release":
				h.Printf("%s", okOr(l.Release()))
			default:
				h.Fatalf("unknown order %q", f[0])
			}
		}
	})
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, semaphore.ErrOwnerDead):
		return "ownerdead"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error: " + err.Error()
}

func okOr(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

// startLocker starts an ns-locker on lock name, in a nested pid namespace
// (with its own /proc, as in a container) if nested, and returns it with
// its identity.
func startLocker(t *testing.T, nested bool, name string) (*proctest.Proc, uint64) {
	t.Helper()
	var p *proctest.Proc
	if nested {
		p = proctest.StartIn(t, proctest.NestedPidNamespace, "ns-locker", name)
	} else {
		p = proctest.Start(t, "ns-locker", name)
	}
	id, err := strconv.ParseUint(p.Recv(), 16, 64)
	if err != nil {
		t.Fatalf("ns-locker's identity: %v", err)
	}
	return p, id
}

// TestLockAcrossPidNamespaces: a Lock held by a live process in one pid
// namespace is never taken by a process in another — neither by
// TryAcquire, nor by a bounded Acquire, nor by a waiter that sleeps and
// checks the holder's liveness at every slice — and once the holder is
// killed with SIGKILL, the waiter gets it with ErrOwnerDead. In both
// directions: the holder's pid means nothing (or someone else: the
// nested holder is pid 1, which in the outer namespace is init) to the
// waiter's /proc, so only liveness asked of the kernel gets this right.
// The dead holder's registry is kept in place (PinRegistry) until the
// waiter has the lock: its owner is dead because its lock is free, not
// because a tracker happened to remove it first.
func TestLockAcrossPidNamespaces(t *testing.T) {
	for _, c := range []struct {
		name                       string
		holderNested, waiterNested bool
	}{
		{"holder outside, waiter inside", false, true},
		{"holder inside, waiter outside", true, false},
		{"holder and waiter in two nested namespaces", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLock(t)
			holder, holderID := startLocker(t, c.holderNested, l.Name())
			waiter, _ := startLocker(t, c.waiterNested, l.Name())
			proctest.PinRegistry(t, holderID)
			holder.Send("hold")
			holder.Expect("held")

			waiter.Send("try")
			waiter.Expect("try false ok")
			waiter.Send("acquire 300")
			waiter.Expect("acquire timeout")
			if ok, err := l.TryAcquire(); ok || err != nil {
				t.Fatalf("the test process's TryAcquire of the held lock: %v, %v", ok, err)
			}

			// A waiter asleep on the futex, looking at the holder's
			// liveness every few milliseconds, for a while; then the
			// holder dies and the waiter must get the lock at once.
			waiter.Send("acquire 10000")
			time.Sleep(300 * time.Millisecond)
			killed := time.Now()
			holder.Kill()
			waiter.Expect("acquire ownerdead")
			t.Logf("the waiter took the dead holder's lock %v after the kill", time.Since(killed).Round(time.Millisecond))
			if !proctest.RegistryExists(holderID) {
				t.Fatalf("the dead holder's registry is gone: the test proves less than it should (PinRegistry failed)")
			}
			waiter.Send("consistent")
			waiter.Expect("ok")
			waiter.Send("release")
			waiter.Expect("ok")

			// The lock is whole again, for everyone.
			if ok, err := l.TryAcquire(); !ok || err != nil {
				t.Fatalf("TryAcquire after recovery: %v, %v", ok, err)
			}
			waiter.Send("try")
			waiter.Expect("try false ok")
			if err := l.Release(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTryAcquireDeadHolderInOtherNamespace: a lock whose holder in
// another pid namespace was killed while nobody waited is taken by
// TryAcquire (no sleeping waiter involved) with ErrOwnerDead, exactly
// once.
func TestTryAcquireDeadHolderInOtherNamespace(t *testing.T) {
	for _, nested := range []bool{true, false} {
		t.Run(fmt.Sprintf("holder nested %v", nested), func(t *testing.T) {
			l := newLock(t)
			holder, holderID := startLocker(t, nested, l.Name())
			other, _ := startLocker(t, !nested, l.Name())
			proctest.PinRegistry(t, holderID)
			holder.Send("hold")
			holder.Expect("held")
			holder.Kill()
			other.Send("try")
			other.Expect("try true ownerdead")
			if ok, err := l.TryAcquire(); ok || err != nil {
				t.Errorf("TryAcquire of a lock recovered by a live process: %v, %v", ok, err)
			}
			other.Send("consistent")
			other.Expect("ok")
			other.Send("release")
			other.Expect("ok")
		})
	}
}
