package semaphore_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
)

// BenchmarkLockUncontended is W1: acquire and release a free lock, for
// mpsync's Lock, a SemLock (a glibc-layout named semaphore) and the floor,
// sync.Mutex. go run ./bench adds raw C and Python.
func BenchmarkLockUncontended(b *testing.B) {
	l := newLock(b)
	sl, err := semaphore.NewSemLock(semaphore.SemaphoreKind, 1, 1, "")
	if err != nil {
		b.Fatal(err)
	}
	defer sl.Unlink()
	defer sl.Close()
	var mu sync.Mutex
	for _, impl := range []struct {
		name string
		l    sync.Locker
	}{{"mpsync", l}, {"semlock", sl}, {"sync.Mutex", &mu}} {
		b.Run("impl="+impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				impl.l.Lock()
				//lint:ignore SA2001 the lock itself is what is measured or tested
				impl.l.Unlock()
			}
		})
	}
}

func init() {
	proctest.RegisterForBenchmark("bench-pong", func(h *proctest.Helper) {
		a, err1 := semaphore.OpenSemaphore(h.Args[0])
		c, err2 := semaphore.OpenSemaphore(h.Args[1])
		if err1 != nil || err2 != nil {
			h.Fatalf("open: %v %v", err1, err2)
		}
		h.Ready()
		ctx := context.Background()
		for {
			if err := a.Acquire(ctx); err != nil {
				h.Fatalf("Acquire: %v", err)
			}
			c.Release()
		}
	})
}

// BenchmarkSemPingPong is W2: a round trip between two processes on two
// semaphores.
func BenchmarkSemPingPong(b *testing.B) {
	b.Run("impl=mpsync/procs=2", func(b *testing.B) {
		a, _ := semaphore.NewSemaphore(0)
		c, _ := semaphore.NewSemaphore(0)
		defer func() { a.Close(); a.Unlink(); c.Close(); c.Unlink() }()
		proctest.Start(b, "bench-pong", a.Name(), c.Name())
		ctx := context.Background()
		for b.Loop() {
			a.Release()
			if err := c.Acquire(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCounterContended is W3: P processes increment one shared int
// under one Lock; it reports increments per second across them.
func BenchmarkCounterContended(b *testing.B) {
	for _, procs := range []int{1, 2, 4} {
		b.Run("impl=mpsync/procs="+strconv.Itoa(procs), func(b *testing.B) {
			l := newLock(b)
			seg := newSegment(b, 8)
			each := b.N/procs + 1
			var ps []*proctest.Proc
			for range procs {
				ps = append(ps, proctest.Start(b, "increment", l.Name(), seg.Name(), strconv.Itoa(each)))
			}
			b.ResetTimer()
			for _, p := range ps {
				p.Send("go")
			}
			for _, p := range ps {
				p.Expect("done")
			}
			b.StopTimer()
			if got := *counter(seg); got != int64(each*procs) {
				b.Fatalf("count %d, want %d", got, each*procs)
			}
			b.ReportMetric(float64(each*procs)/b.Elapsed().Seconds(), "incr/s")
		})
	}
}
