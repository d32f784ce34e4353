package semaphore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

func init() {
	// cond-wait-once waits once on condition args[0] and says how Wait
	// ended ("wait corrupt" for ErrCorrupt), then unlocks.
	proctest.Register("cond-wait-once", func(h *proctest.Helper) {
		c, err := semaphore.OpenCondition(h.Args[0])
		if err != nil {
			h.Fatalf("OpenCondition: %v", err)
		}
		h.Ready()
		c.Lock()
		h.Printf("waiting") // still holding the lock: Wait releases it
		err = c.Wait(context.Background())
		switch {
		case errors.Is(err, semaphore.ErrCorrupt):
			h.Printf("wait corrupt")
		default:
			h.Printf("wait %v", err)
		}
		c.Unlock()
		h.Printf("unlocked")
	})
	// lock-area-hold takes the internal lock of object args[0] by writing
	// its identity into the lock word, as a party does before it counts
	// itself in, says "holding" and stays until killed.
	proctest.Register("lock-area-hold", func(h *proctest.Helper) {
		seg, err := shm.Open(h.Args[0])
		if err != nil {
			h.Fatalf("shm.Open: %v", err)
		}
		info, err := csrc.ValidateHeader(seg.Bytes())
		if err != nil || info.LockOffset == 0 {
			h.Fatalf("no lock area: %v", err)
		}
		word := (*atomic.Uint64)(unsafe.Pointer(&seg.Bytes()[info.LockOffset]))
		if !word.CompareAndSwap(0, proc.MustSelf()) {
			h.Fatalf("the lock is taken: %#x", word.Load())
		}
		h.Ready()
		h.Printf("holding")
		select {}
	})
}

// raw maps object name and returns its payload and its lock word, to
// play a buggy process that writes garbage into them.
func raw(t *testing.T, name string) (payload []byte, lockWord *atomic.Uint64) {
	t.Helper()
	seg, err := shm.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seg.Close() })
	info, err := csrc.ValidateHeader(seg.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	mem := seg.Bytes()
	if info.LockOffset != 0 {
		lockWord = (*atomic.Uint64)(unsafe.Pointer(&mem[info.LockOffset]))
	}
	return mem[info.PayloadOffset : info.PayloadOffset+info.PayloadSize], lockWord
}

// TestBarrierCorruptCount writes arrival counts out of range into a live
// barrier on which a helper process waits: the next Wait returns an error
// matching ErrBroken and ErrCorrupt (never an index panic), the waiter is
// released with ErrBroken, the internal lock is left free, and Reset mends
// the barrier.
func TestBarrierCorruptCount(t *testing.T) {
	b := newBarrier(t, 2)
	payload, lockWord := raw(t, b.Name())
	for _, garbage := range []uint32{2, 1000, ^uint32(0)} {
		p := proctest.Start(t, "barrier-once", b.Name(), "0")
		p.Expect("waiting")
		awaitWaiting(b, 1)
		binary.NativeEndian.PutUint32(payload[semaphore.OffBarCount:], garbage)
		_, err := b.Wait(t.Context())
		if !errors.Is(err, semaphore.ErrBroken) || !errors.Is(err, semaphore.ErrCorrupt) {
			t.Errorf("count %d: Wait: %v, want ErrBroken and ErrCorrupt", garbage, err)
		}
		p.Expect("barrier broken")
		if w := lockWord.Load(); w != 0 {
			t.Errorf("count %d: internal lock word %#x after the error, want 0 (free)", garbage, w)
		}
		if err := b.Reset(); err != nil {
			t.Fatal(err)
		}
		if b.Broken() || b.NWaiting() != 0 {
			t.Errorf("count %d: after Reset: Broken %v, NWaiting %d", garbage, b.Broken(), b.NWaiting())
		}
	}
	// Mended: a round of two parties completes.
	p := proctest.Start(t, "barrier-once", b.Name(), "0")
	p.Expect("waiting")
	if _, err := b.Wait(t.Context()); err != nil {
		t.Errorf("Wait after Reset: %v", err)
	}
	p.Expect("barrier ok")
}

// TestBarrierCorruptParties overwrites the parties word: the number of
// parties comes from the payload's size, so handles opened before and
// after, in Go and C, still agree on it, a round completes, and Reset
// rewrites the word.
func TestBarrierCorruptParties(t *testing.T) {
	b := newBarrier(t, 2)
	payload, _ := raw(t, b.Name())
	for _, garbage := range []uint32{0, 1, 3, ^uint32(0)} {
		binary.NativeEndian.PutUint32(payload[semaphore.OffBarParties:], garbage)
		o, err := semaphore.OpenBarrier(b.Name())
		if err != nil {
			t.Fatalf("parties word %d: OpenBarrier: %v", garbage, err)
		}
		if o.Parties() != 2 {
			t.Errorf("parties word %d: Parties() = %d, want 2", garbage, o.Parties())
		}
		o.Close()
		p := proctest.Start(t, "barrier-once", b.Name(), "0")
		p.Expect("waiting")
		awaitWaiting(b, 1)
		if _, err := b.Wait(t.Context()); err != nil {
			t.Errorf("parties word %d: Wait: %v", garbage, err)
		}
		p.Expect("barrier ok")
		if err := b.Reset(); err != nil {
			t.Fatal(err)
		}
		if w := binary.NativeEndian.Uint32(payload[semaphore.OffBarParties:]); w != 2 {
			t.Errorf("parties word %d: after Reset it is %d, want 2", garbage, w)
		}
	}
}

// TestBarrierLockHolderKilled kills a process holding the barrier's
// internal lock (as a party does before it counts itself in): the party
// waiting meanwhile is released with ErrBroken instead of waiting for
// ever, and while the holder lived, a Wait whose ctx ended while it waited
// for the lock returned ctx's error without breaking the barrier.
func TestBarrierLockHolderKilled(t *testing.T) {
	b := newBarrier(t, 3)
	w := proctest.Start(t, "barrier-once", b.Name(), "0")
	w.Expect("waiting")
	awaitWaiting(b, 1)
	holder := proctest.Start(t, "lock-area-hold", b.Name())
	holder.Expect("holding")
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, semaphore.ErrBroken) || b.Broken() || b.NWaiting() != 1 {
		t.Errorf("Wait while a live process holds the lock: %v (broken %v, %d waiting); want DeadlineExceeded (not ErrBroken), not broken, 1 waiting",
			err, b.Broken(), b.NWaiting())
	}
	holder.Kill()
	w.Expect("barrier broken")
	if err := b.Reset(); err != nil {
		t.Fatal(err)
	}
	p := proctest.Start(t, "barrier-once", b.Name(), "0")
	p.Expect("waiting")
	awaitWaiting(b, 1)
	p2 := proctest.Start(t, "barrier-once", b.Name(), "0")
	p2.Expect("waiting")
	if _, err := b.Wait(t.Context()); err != nil {
		t.Errorf("Wait after Reset: %v", err)
	}
	p.Expect("barrier ok")
	p2.Expect("barrier ok")
}

// TestConditionCorruptCounts writes garbage into the token count while a
// helper process waits: its Wait returns an error matching ErrCorrupt,
// holding the lock as Wait always does; once it unlocks, the lock is free,
// the count is zero again and a wait and a notification work.
func TestConditionCorruptCounts(t *testing.T) {
	c, err := semaphore.NewCondition(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Unlink()
	defer c.Close()
	payload, _ := raw(t, c.Name())
	tokens := (*atomic.Uint32)(unsafe.Pointer(&payload[semaphore.OffCondTokens]))

	p := proctest.Start(t, "cond-wait-once", c.Name())
	p.Expect("waiting")
	c.Lock() // the helper is inside Wait
	tokens.Store(0xdead0000)
	c.Unlock()
	p.Expect("wait corrupt")
	p.Expect("unlocked")

	r := c.Locker().(*semaphore.RLock)
	if ok, err := r.TryAcquire(); !ok || err != nil {
		t.Errorf("TryAcquire after the corrupt wait: %v, %v; want the lock free", ok, err)
	} else {
		r.Release()
	}
	if got := tokens.Load(); got != 0 {
		t.Errorf("tokens %#x after the wait, want 0", got)
	}
	p = proctest.Start(t, "cond-wait-once", c.Name())
	p.Expect("waiting")
	c.Lock()
	if err := c.Notify(1); err != nil {
		t.Errorf("Notify after the mend: %v", err)
	}
	c.Unlock()
	p.Expect("wait <nil>")
}
