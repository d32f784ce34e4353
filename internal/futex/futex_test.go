package futex

import (
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
