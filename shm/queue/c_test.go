package queue_test

import (
	"strconv"
	"testing"

	"github.com/mpsync/mpsync/internal/cbuild"
	"github.com/mpsync/mpsync/internal/proctest"
)

// TestWithC runs Go and C processes on the same queues. The C peer is
// csrc/testdata/peer_queue.c, built against libmpsync.
func TestWithC(t *testing.T) {
	peer := cbuild.Build(t).Program(t, "testdata/peer_queue.c")
	t.Run("ManyProcesses", func(t *testing.T) { testManyWithC(t, peer) })
	t.Run("DeadCWriter", func(t *testing.T) { testDeadCWriter(t, peer) })
	// As TestKilledProcesses, with C and Go processes killed and
	// recovering after each other.
	t.Run("KilledProcesses", func(t *testing.T) { killRounds(t, 100, peer) })
}

// testManyWithC: Go and C producers and consumers, in and out of place,
// on one queue: every message arrives exactly once, intact, in each
// producer's order, whichever language put and got it.
func testManyWithC(t *testing.T, peer string) {
	const each, maxMsg = 4000, 100
	q := newQueue(t, 16, maxMsg)
	b := newBooks(t, 4*each)
	var producers, consumers []*proctest.Proc
	for i := range 4 {
		id, m := strconv.Itoa(i), mode(i/2 == 1)
		if i%2 == 0 {
			producers = append(producers, proctest.Start(t, "producer", q.Name(), b.seg.Name(), id, strconv.Itoa(each), m, "fast"))
			consumers = append(consumers, proctest.Start(t, "consumer", q.Name(), b.seg.Name(), id, m))
		} else {
			p := proctest.Exec(t, peer, "produce", q.Name(), b.seg.Name(), id, strconv.Itoa(each), m)
			p.Start()
			producers = append(producers, p)
			c := proctest.Exec(t, peer, "consume", q.Name(), b.seg.Name(), id, m)
			c.Start()
			consumers = append(consumers, c)
		}
	}
	for _, p := range producers {
		p.Send("go")
	}
	for _, p := range producers {
		p.Expect("done")
		p.Send("stop")
		if err := p.Wait(); err != nil {
			t.Fatalf("producer: %v\n%s", err, p.Stderr())
		}
	}
	if err := q.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	for _, c := range consumers {
		c.Expect("eof")
		if err := c.Wait(); err != nil {
			t.Fatalf("consumer: %v\n%s", err, c.Stderr())
		}
	}
	valid, per := checkLog(t, b, 4)
	if valid != 4*each || b.corrupt().Load() != 0 {
		t.Errorf("%d messages delivered, want %d (per producer: %v); %d corrupt", valid, 4*each, per, b.corrupt().Load())
	}
}

// testDeadCWriter: a C process killed holding a reservation; a Go get
// skips its position and counts it lost.
func testDeadCWriter(t *testing.T, peer string) {
	q := newQueue(t, 4, 16)
	mustPut(t, q, []byte("before"))
	p := proctest.Exec(t, peer, "hold", q.Name())
	p.Start()
	p.Expect("stalled")
	p.Kill()
	mustPut(t, q, []byte("after"))
	for _, want := range []string{"before", "after"} {
		got, err := q.Get(t.Context())
		if err != nil || string(got) != want {
			t.Fatalf("Get = %q, %v; want %q", got, err, want)
		}
	}
	if n, err := q.Lost(); n != 1 || err != nil {
		t.Fatalf("Lost() = %d, %v; want 1", n, err)
	}
}
