package queue_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/shm"
	"github.com/mpsync/mpsync/shm/queue"
)

// message returns message seq of producer id: its id, its sequence
// number, filler of a length that varies with both, and a CRC of the rest.
func message(id, seq uint32, maxMsg int) []byte {
	n := 12 + int(seq*7+id*13)%(maxMsg-11)
	m := make([]byte, n)
	binary.LittleEndian.PutUint32(m[0:], id)
	binary.LittleEndian.PutUint32(m[4:], seq)
	for i := 8; i < n-4; i++ {
		m[i] = byte(uint32(i)*31 + seq + id)
	}
	binary.LittleEndian.PutUint32(m[n-4:], crc32.ChecksumIEEE(m[:n-4]))
	return m
}

// parse checks a message made by message and returns its producer and
// sequence number.
func parse(m []byte, maxMsg int) (id, seq uint32, ok bool) {
	if len(m) < 12 {
		return 0, 0, false
	}
	id, seq = binary.LittleEndian.Uint32(m), binary.LittleEndian.Uint32(m[4:])
	return id, seq, bytes.Equal(m, message(id, seq, maxMsg))
}

// The test's shared bookkeeping lives in one segment, so that what a
// helper records survives its SIGKILL: the number of messages each
// producer's Put returned for, a count of corrupt messages seen, and a
// log of every message a consumer got (an atomic index, then entries).
const (
	maxIncarnations = 512
	offCorrupt      = 8 * maxIncarnations
	offLogCount     = offCorrupt + 8
	offLog          = offLogCount + 8
)

type books struct {
	seg *shm.Segment
}

func (b books) u64(off int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&b.seg.Bytes()[off]))
}
func (b books) progress(id int) *atomic.Uint64 { return b.u64(8 * id) }
func (b books) corrupt() *atomic.Uint64        { return b.u64(offCorrupt) }

// record appends a delivery to the log: valid bit, consumer, producer,
// sequence number.
func (b books) record(consumer, id, seq uint32) {
	i := b.u64(offLogCount).Add(1) - 1
	b.u64(offLog + 8*int(i)).Store(1<<63 | uint64(consumer)<<40 | uint64(id)<<24 | uint64(seq))
}

// entries returns the log; a zero entry is a slot a killed consumer took
// before it could write it.
func (b books) entries() []uint64 {
	n := int(b.u64(offLogCount).Load())
	out := make([]uint64, n)
	for i := range out {
		out[i] = b.u64(offLog + 8*i).Load()
	}
	return out
}

func newBooks(t testing.TB, logEntries int) books {
	seg, err := shm.Create("", offLog+8*logEntries)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		seg.Close()
		seg.Unlink()
	})
	return books{seg}
}

func openBooks(h *proctest.Helper, name string) books {
	seg, err := shm.Open(name)
	if err != nil {
		h.Fatalf("shm.Open: %v", err)
	}
	return books{seg}
}

func init() {
	// producer opens queue args[0] and books args[1] and, on "go", puts
	// args[3] messages as producer args[2]: by Put, or by Reserve and
	// Commit when args[4] is "zerocopy"; with args[5] "slow" it pauses
	// now and then. It records each put in the books, says "done" and
	// waits to be stopped; "stop" ends it early.
	proctest.Register("producer", func(h *proctest.Helper) {
		q, err := queue.Open(h.Args[0])
		if err != nil {
			h.Fatalf("Open: %v", err)
		}
		b := openBooks(h, h.Args[1])
		id, _ := strconv.Atoi(h.Args[2])
		count, _ := strconv.Atoi(h.Args[3])
		zeroCopy, slow := h.Args[4] == "zerocopy", h.Args[5] == "slow"
		h.Ready()
		h.ReadLine()
		var stop atomic.Bool
		go func() {
			h.ReadLine()
			stop.Store(true)
		}()
		ctx := context.Background()
		for seq := 0; seq < count && !stop.Load(); seq++ {
			m := message(uint32(id), uint32(seq), q.MaxMessage())
			if zeroCopy {
				r, err := q.Reserve(ctx)
				if err != nil {
					h.Fatalf("Reserve: %v", err)
				}
				n := copy(r.Buf(), m)
				hold() // work in place, where a kill loses the message
				err = r.Commit(n)
				if err != nil {
					h.Fatalf("Commit: %v", err)
				}
			} else if err := q.Put(ctx, m); err != nil {
				h.Fatalf("Put: %v", err)
			}
			b.progress(id).Store(uint64(seq + 1))
			if slow && seq%16 == 15 {
				time.Sleep(100 * time.Microsecond)
			}
		}
		h.Printf("done")
		for !stop.Load() {
			time.Sleep(time.Millisecond)
		}
	})
	// consumer opens queue args[0] and books args[1] and gets messages as
	// consumer args[2] until io.EOF: by Get, or in place by Receive and
	// Release when args[3] is "zerocopy". It checks and records each.
	proctest.Register("consumer", func(h *proctest.Helper) {
		q, err := queue.Open(h.Args[0])
		if err != nil {
			h.Fatalf("Open: %v", err)
		}
		b := openBooks(h, h.Args[1])
		me, _ := strconv.Atoi(h.Args[2])
		zeroCopy := h.Args[3] == "zerocopy"
		h.Ready()
		ctx := context.Background()
		buf := make([]byte, q.MaxMessage())
		for {
			var id, seq uint32
			var ok bool
			if zeroCopy {
				m, err := q.Receive(ctx)
				if err == io.EOF {
					break
				} else if err != nil {
					h.Fatalf("Receive: %v", err)
				}
				id, seq, ok = parse(m.Bytes(), q.MaxMessage())
				hold()
				if err := m.Release(); err != nil {
					h.Fatalf("Release: %v", err)
				}
			} else {
				n, err := q.GetInto(ctx, buf)
				if err == io.EOF {
					break
				} else if err != nil {
					h.Fatalf("GetInto: %v", err)
				}
				id, seq, ok = parse(buf[:n], q.MaxMessage())
			}
			if !ok {
				b.corrupt().Add(1)
				h.Fatalf("corrupt message")
			}
			b.record(uint32(me), id, seq)
		}
		h.Printf("eof")
	})
}

// hold stands for work on a message in place: a few microseconds, during
// which a kill loses the message.
func hold() {
	for end := time.Now().Add(20 * time.Microsecond); time.Now().Before(end); {
	}
}

func mode(zeroCopy bool) string {
	if zeroCopy {
		return "zerocopy"
	}
	return "copy"
}

// checkLog checks the log of deliveries, b's and that of each of logs
// (the books of consumers that log on their own): no message twice, each
// producer's messages in order at each consumer, none that was not put.
// It returns how many valid entries there are, and how many messages each
// producer had delivered.
func checkLog(t *testing.T, b books, producers int, logs ...books) (valid int, perProducer []int) {
	t.Helper()
	perProducer = make([]int, producers)
	seen := map[uint64]bool{}
	last := map[[2]uint32]int64{}
	entries := b.entries()
	for _, l := range logs {
		entries = append(entries, l.entries()...)
	}
	for _, e := range entries {
		if e == 0 {
			continue
		}
		consumer, id, seq := uint32(e>>40&0xffff), uint32(e>>24&0xffff), uint32(e&0xffffff)
		key := e & (1<<40 - 1)
		if seen[key] {
			t.Errorf("producer %d's message %d delivered twice", id, seq)
		}
		seen[key] = true
		if int(id) >= producers {
			t.Errorf("delivery from producer %d, of %d", id, producers)
			continue
		}
		pair := [2]uint32{consumer, id}
		if prev, ok := last[pair]; ok && int64(seq) <= prev {
			t.Errorf("consumer %d got producer %d's message %d after %d", consumer, id, seq, prev)
		}
		last[pair] = int64(seq)
		if put := b.progress(int(id)).Load(); uint64(seq) > put {
			t.Errorf("producer %d's message %d delivered, but only %d were put", id, seq, put)
		}
		perProducer[id]++
		valid++
	}
	return valid, perProducer
}

// runToEOF starts the producers, waits until each has put all its
// messages and stops it, closes q for writing, and waits until each
// consumer has drained it.
func runToEOF(t *testing.T, q *queue.Queue, producers, consumers []*proctest.Proc) {
	t.Helper()
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
}

// TestManyProcesses: 4 producer and 4 consumer processes on one queue,
// half of them in place: every message arrives exactly once, intact, in
// each producer's order.
func TestManyProcesses(t *testing.T) {
	const producers, consumers, each, maxMsg = 4, 4, 5000, 200
	q := newQueue(t, 32, maxMsg)
	b := newBooks(t, producers*each)
	var ps []*proctest.Proc
	for i := range producers {
		ps = append(ps, proctest.Start(t, "producer", q.Name(), b.seg.Name(), strconv.Itoa(i), strconv.Itoa(each), mode(i%2 == 1), "fast"))
	}
	var cs []*proctest.Proc
	for i := range consumers {
		cs = append(cs, proctest.Start(t, "consumer", q.Name(), b.seg.Name(), strconv.Itoa(i), mode(i%2 == 1)))
	}
	runToEOF(t, q, ps, cs)
	valid, per := checkLog(t, b, producers)
	if valid != producers*each {
		t.Errorf("%d messages delivered, want %d (per producer: %v)", valid, producers*each, per)
	}
	if n, err := q.Lost(); n != 0 || err != nil {
		t.Errorf("Lost() = %d, %v; want 0", n, err)
	}
}

// TestKilledProcesses kills producers and consumers at random, 200 times,
// while 4 of each (replaced as they die) use one small queue: no one
// hangs, no message is corrupt or delivered twice, each producer's order
// holds, and what was put is what was delivered plus what the queue
// reports lost, at most one per killed process.
func TestKilledProcesses(t *testing.T) { killRounds(t, 200, nil) }

// peer runs producers and consumers in another language: start starts
// one, ready, with the arguments of csrc/testdata/peer_queue.c
// ("produce" QUEUE BOOKS ID COUNT MODE, "consume" QUEUE BOOKS ID MODE).
// A peer with ownLog logs each consumer's deliveries in books of its own
// rather than in the shared log.
type peer struct {
	start  func(args ...string) *proctest.Proc
	ownLog bool
}

// killRounds runs rounds of TestKilledProcesses (a fifth of them under
// -short); with a peer, half the processes are the peer's.
func killRounds(t *testing.T, rounds int, other *peer) {
	if testing.Short() {
		rounds /= 5
	}
	const maxMsg, each = 256, 20000
	q := newQueue(t, 16, maxMsg)
	b := newBooks(t, (rounds+8)*each)
	var logs []books
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 14))

	type role struct {
		p        *proctest.Proc
		producer bool
	}
	next := 0 // incarnations: producer ids and consumer numbers
	start := func(producer bool) role {
		id := strconv.Itoa(next)
		zc := mode(rng.IntN(2) == 1)
		next++
		var p *proctest.Proc
		inPeer := other != nil && rng.IntN(2) == 0
		switch {
		case inPeer && producer:
			p = other.start("produce", q.Name(), b.seg.Name(), id, strconv.Itoa(each), zc)
		case inPeer:
			log := b
			if other.ownLog {
				log = newBooks(t, (rounds+8)*each)
				logs = append(logs, log)
			}
			p = other.start("consume", q.Name(), log.seg.Name(), id, zc)
		case producer:
			p = proctest.Start(t, "producer", q.Name(), b.seg.Name(), id, strconv.Itoa(each), zc, "fast")
		default:
			p = proctest.Start(t, "consumer", q.Name(), b.seg.Name(), id, zc)
		}
		if producer {
			p.Send("go")
		}
		return role{p, producer}
	}
	var live []role
	for i := range 8 {
		live = append(live, start(i < 4))
	}
	killedP, killedC := 0, 0
	for range rounds {
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		i := rng.IntN(len(live))
		live[i].p.Kill()
		if live[i].producer {
			killedP++
		} else {
			killedC++
		}
		live[i] = start(live[i].producer)
	}
	// Stop the producers, close, drain.
	for _, r := range live {
		if r.producer {
			r.p.Send("stop")
		}
	}
	for _, r := range live {
		if r.producer {
			if err := r.p.Wait(); err != nil {
				t.Fatalf("producer: %v\n%s", err, r.p.Stderr())
			}
		}
	}
	if err := q.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	for _, r := range live {
		if !r.producer {
			if err := r.p.Wait(); err != nil {
				t.Fatalf("consumer: %v\n%s", err, r.p.Stderr())
			}
		}
	}
	for _, l := range append(logs, b) {
		if c := l.corrupt().Load(); c != 0 {
			t.Errorf("%d corrupt messages", c)
		}
	}
	lost, err := q.Lost()
	if err != nil {
		t.Fatal(err)
	}
	valid, _ := checkLog(t, b, next, logs...)
	tail, head := queue.Positions(q)
	putReturned := 0
	for id := range next {
		putReturned += int(b.progress(id).Load())
	}
	t.Logf("killed %d producers, %d consumers; %d put, %d delivered and logged, %d lost", killedP, killedC, tail, valid, lost)
	switch {
	case head != tail:
		t.Errorf("drained queue has head %d, tail %d", head, tail)
	case tail < uint64(putReturned) || tail > uint64(putReturned+killedP):
		t.Errorf("%d puts reserved, %d returned: more than one in flight per killed producer (%d)", tail, putReturned, killedP)
	case lost > killedP+killedC:
		t.Errorf("%d lost, more than one per killed process (%d)", lost, killedP+killedC)
	}
	// Delivered by the queue = put − lost; of those, each killed
	// consumer may have got one it had no time to log.
	delivered := int(tail) - lost
	if valid > delivered || delivered > valid+killedC {
		t.Errorf("put %d − lost %d = %d delivered, but %d were logged and %d consumers killed", tail, lost, delivered, valid, killedC)
	}
	if t.Failed() {
		t.Logf("the queue:\n%s", queue.Dump(q))
	}
}
