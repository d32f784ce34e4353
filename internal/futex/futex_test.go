package futex

import (
	"testing"
	"time"
)

func TestBusyReturnsWhenDone(t *testing.T) {
	looks := 0
	if !Busy(time.Second, func() bool { looks++; return looks == 100 }) {
		t.Fatal("Busy gave up before done became true")
	}
	if looks != 100 {
		t.Fatalf("Busy looked %d times after done became true at look 100", looks)
	}
}

func TestBusyGivesUpAfterItsTime(t *testing.T) {
	const d = 2 * time.Millisecond
	start := time.Now()
	if Busy(d, func() bool { return false }) {
		t.Fatal("Busy reported done for a condition that never holds")
	}
	if took := time.Since(start); took < d {
		t.Fatalf("Busy gave up after %v, before its %v", took, d)
	}
}

func TestSpinSeesLateDone(t *testing.T) {
	// done turns true only after the busy phase: the Gosched rounds see it.
	start := time.Now()
	if !(Spin{Tries: 1 << 20}).Until(func() bool { return time.Since(start) > 2*BusySpin }) {
		t.Fatal("Spin.Until missed a condition that held during its yielding rounds")
	}
}
