package semaphore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/mpsync/mpsync/csrc"
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
