package queue_test

import (
	"context"
	"strconv"
	"syscall"
	"testing"

	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/shm/queue"
)

func init() {
	// sink takes args[1] messages from queue args[0], then says "done".
	proctest.RegisterForBenchmark("sink", func(h *proctest.Helper) {
		q, err := queue.Open(h.Args[0])
		if err != nil {
			h.Fatalf("Open: %v", err)
		}
		n, _ := strconv.Atoi(h.Args[1])
		buf := make([]byte, q.MaxMessage())
		h.Ready()
		for range n {
			if _, err := q.GetInto(context.Background(), buf); err != nil {
				h.Fatalf("GetInto: %v", err)
			}
		}
		h.Printf("done")
	})
	// echo gets messages from queue args[0] and puts them into args[1].
	proctest.RegisterForBenchmark("echo", func(h *proctest.Helper) {
		a, err := queue.Open(h.Args[0])
		if err != nil {
			h.Fatalf("Open: %v", err)
		}
		b, err := queue.Open(h.Args[1])
		if err != nil {
			h.Fatalf("Open: %v", err)
		}
		buf := make([]byte, a.MaxMessage())
		h.Ready()
		ctx := context.Background()
		for {
			n, err := a.GetInto(ctx, buf)
			if err != nil {
				return
			}
			b.Put(ctx, buf[:n])
		}
	})
}

// BenchmarkOneToOne: 64-byte messages from this process to another (W13).
func BenchmarkOneToOne(b *testing.B) {
	q := newQueue(b, 1024, 64)
	p := proctest.Start(b, "sink", q.Name(), strconv.Itoa(b.N))
	msg := make([]byte, 64)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if err := q.Put(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	p.Expect("done")
}

// BenchmarkRoundTrip: a 64-byte message to another process and back,
// through two queues (W13).
func BenchmarkRoundTrip(b *testing.B) {
	a := newQueue(b, 1024, 64)
	c := newQueue(b, 1024, 64)
	proctest.Start(b, "echo", a.Name(), c.Name())
	msg := make([]byte, 64)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		a.Put(ctx, msg)
		if _, err := c.GetInto(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	a.CloseWrite()
}

// BenchmarkPutGet: Put then Get in one goroutine: the cost of the calls
// themselves, without another process. cpu-ns/op is the process's CPU
// time per pair, steadier than wall time on a loaded machine.
func BenchmarkPutGet(b *testing.B) {
	q := newQueue(b, 1024, 64)
	msg := make([]byte, 64)
	ctx := context.Background()
	start := cpuTime()
	for range b.N {
		q.Put(ctx, msg)
		q.GetInto(ctx, msg)
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the process's user and system CPU time so far, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
