package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/shm/queue"
)

func init() {
	// stall opens queue args[0] and, according to args[1], stops in the
	// middle of an operation and says "stalled", to be killed there:
	// "reserve" holds a reservation, "receive" a message read in place,
	// "get" sleeps in Get on an empty queue, "skip" holds the get lock
	// halfway through skipping a dead writer's slot, "reserve-locked"
	// holds the put lock halfway through a reservation.
	proctest.Register("stall", func(h *proctest.Helper) {
		q, err := queue.Open(h.Args[0])
		if err != nil {
			h.Fatalf("Open: %v", err)
		}
		h.Ready()
		ctx := context.Background()
		switch h.Args[1] {
		case "reserve":
			r, err := q.Reserve(ctx)
			if err != nil {
				h.Fatalf("Reserve: %v", err)
			}
			copy(r.Buf(), "half-written")
		case "receive":
			if _, err := q.Receive(ctx); err != nil {
				h.Fatalf("Receive: %v", err)
			}
		case "get":
			go func() {
				time.Sleep(50 * time.Millisecond) // asleep in Get by then
				h.Printf("stalled")
			}()
			q.Get(ctx)
			h.Fatalf("Get returned")
		case "skip":
			queue.StallSkip(q)
		case "reserve-locked":
			queue.StallReserve(q)
		}
		h.Printf("stalled")
		select {}
	})
}

// stall starts a helper that stops in the middle of op on q, and kills it
// there.
func stall(t *testing.T, q *queue.Queue, op string) {
	t.Helper()
	p := proctest.Start(t, "stall", q.Name(), op)
	p.Expect("stalled")
	p.Kill()
}

func TestDeadWriterSkipped(t *testing.T) {
	q := newQueue(t, 4, 16)
	ctx := t.Context()
	mustPut(t, q, []byte("first"))
	stall(t, q, "reserve") // dies holding the second position
	mustPut(t, q, []byte("third"))
	for _, want := range []string{"first", "third"} {
		got, err := q.Get(ctx)
		if err != nil || string(got) != want {
			t.Fatalf("Get = %q, %v; want %q", got, err, want)
		}
	}
	if n, err := q.Lost(); n != 1 || err != nil {
		t.Fatalf("Lost() = %d, %v; want 1", n, err)
	}
}

func TestDeadReaderFreed(t *testing.T) {
	q := newQueue(t, 2, 16)
	mustPut(t, q, []byte("for the dead"))
	stall(t, q, "receive")
	if n, err := q.Lost(); n != 1 || err != nil {
		t.Fatalf("Lost() = %d, %v; want 1", n, err)
	}
	// Every slot is usable again, lap after lap.
	for i := range 6 {
		if err := q.TryPut([]byte{byte(i)}); err != nil {
			t.Fatalf("TryPut %d: %v", i, err)
		}
		if got, err := q.TryGet(); err != nil || got[0] != byte(i) {
			t.Fatalf("TryGet %d = %v, %v", i, got, err)
		}
	}
	if n, _ := q.Lost(); n != 1 {
		t.Fatalf("Lost() = %d after more traffic, want 1", n)
	}
}

func TestDeadReaderFreedByPut(t *testing.T) {
	// No sweep: the put that needs the slot finds its reader dead.
	q := newQueue(t, 1, 16)
	ctx := t.Context()
	mustPut(t, q, []byte("a"))
	stall(t, q, "receive")
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := q.Put(ctx, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if got, err := q.TryGet(); err != nil || string(got) != "b" {
		t.Fatalf("TryGet = %q, %v", got, err)
	}
}

func TestDeadSleeperHarmless(t *testing.T) {
	q := newQueue(t, 2, 16)
	stall(t, q, "get")
	mustPut(t, q, []byte("for the living"))
	if got, err := q.TryGet(); err != nil || string(got) != "for the living" {
		t.Fatalf("TryGet = %q, %v", got, err)
	}
	if n, _ := q.Lost(); n != 0 {
		t.Fatalf("Lost() = %d, want 0", n)
	}
}

func TestRepairInterrupted(t *testing.T) {
	// A get skipping a dead writer's slot dies halfway: the next get
	// finishes the repair from the journal, counting the loss once.
	q := newQueue(t, 4, 16)
	ctx := t.Context()
	stall(t, q, "reserve")
	stall(t, q, "skip")
	mustPut(t, q, []byte("after"))
	got, err := q.Get(ctx)
	if err != nil || string(got) != "after" {
		t.Fatalf("Get = %q, %v; want \"after\"", got, err)
	}
	if n, err := q.Lost(); n != 1 || err != nil {
		t.Fatalf("Lost() = %d, %v; want 1", n, err)
	}
	if _, err := q.TryGet(); !errors.Is(err, queue.ErrEmpty) {
		t.Fatalf("TryGet: %v, want ErrEmpty", err)
	}
}

func mustPut(t *testing.T, q *queue.Queue, msg []byte) {
	t.Helper()
	if err := q.Put(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
}

// TestDeadWriterAmidTraffic: puts after a dead writer's position keep
// waking the waiting get; it still looks for the dead writer once a
// sleep slice has passed, instead of waiting until the ring is full.
func TestDeadWriterAmidTraffic(t *testing.T) {
	q := newQueue(t, 1<<16, 16)
	stall(t, q, "reserve")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if err := q.TryPut([]byte("later")); err != nil {
				return
			}
		}
	}()
	// The guard only turns a hang (the ring fills after a minute) into a
	// failure; the get should return within a few sleep slices.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	got, err := q.Get(ctx)
	if err != nil || string(got) != "later" {
		t.Fatalf("Get = %q, %v; want \"later\"", got, err)
	}
	if n, _ := q.Lost(); n != 1 {
		t.Fatalf("Lost() = %d, want 1", n)
	}
}

func TestDeadPutLockHolder(t *testing.T) {
	// A put killed holding the put lock, its slot marked but tail not
	// advanced: the next put takes the lock back and the slot, and
	// nothing is lost.
	q := newQueue(t, 2, 16)
	stall(t, q, "reserve-locked")
	mustPut(t, q, []byte("next"))
	if got, err := q.TryGet(); err != nil || string(got) != "next" {
		t.Fatalf("TryGet = %q, %v", got, err)
	}
	if n, err := q.Lost(); n != 0 || err != nil {
		t.Fatalf("Lost() = %d, %v; want 0", n, err)
	}
}
