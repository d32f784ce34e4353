package futex

import (
	"sync/atomic"
	"testing"
	"time"
)

// busyLoops are the two busy looks, tested alike.
var busyLoops = map[string]func(time.Duration, func() bool) bool{"Busy": Busy, "BusyBackoff": BusyBackoff}

func TestBusyReturnsWhenDone(t *testing.T) {
	for name, busy := range busyLoops {
		looks := 0
		if !busy(time.Second, func() bool { looks++; return looks == 100 }) {
			t.Fatalf("%s gave up before done became true", name)
		}
		if looks != 100 {
			t.Fatalf("%s looked %d times after done became true at look 100", name, looks)
		}
	}
}

func TestBusyGivesUpAfterItsTime(t *testing.T) {
	const d = 2 * time.Millisecond
	for name, busy := range busyLoops {
		start := time.Now()
		if busy(d, func() bool { return false }) {
			t.Fatalf("%s reported done for a condition that never holds", name)
		}
		if took := time.Since(start); took < d {
			t.Fatalf("%s gave up after %v, before its %v", name, took, d)
		}
	}
}

func TestSpinSeesLateDone(t *testing.T) {
	// done turns true only after the busy phase: the Gosched rounds see it.
	start := time.Now()
	if !(Spin{Tries: 1 << 20}).Until(func() bool { return time.Since(start) > 2*BusySpin }) {
		t.Fatal("Spin.Until missed a condition that held during its yielding rounds")
	}
}

// TestStoreRelease checks that the release stores write the whole word
// (every byte, the high half included) and nothing beside it.
func TestStoreRelease(t *testing.T) {
	var w [3]atomic.Uint64
	StoreRelease(&w[1], 0x8765432112345678)
	if w[0].Load() != 0 || w[1].Load() != 0x8765432112345678 || w[2].Load() != 0 {
		t.Errorf("StoreRelease: words %#x %#x %#x", w[0].Load(), w[1].Load(), w[2].Load())
	}
	var h [3]atomic.Uint32
	StoreRelease32(&h[1], 0x87654321)
	if h[0].Load() != 0 || h[1].Load() != 0x87654321 || h[2].Load() != 0 {
		t.Errorf("StoreRelease32: words %#x %#x %#x", h[0].Load(), h[1].Load(), h[2].Load())
	}
}
