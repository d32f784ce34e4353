package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/shm/queue"
)

// W13's helper processes, registered here to leave roles.go alone.
func init() {
	roles["queue-sink"] = roleQueueSink
	roles["queue-echo"] = roleQueueEcho
	roles["queue-put"] = roleQueuePut
	roles["queue-drain"] = roleQueueDrain
}

// The peers W13's targets name.
const (
	w13PyQueue = "Python multiprocessing.Queue"
	w13Memcpy  = "C memcpy 1 MiB, one process"
)

// Message sizes and queue capacities of W13. A pipe(2) holds 64 KiB: 1024
// messages of 64 bytes, the small queues' capacity too.
const (
	w13Small    = 64
	w13SmallCap = 1024
	w13Big      = 1 << 20
	w13BigCap   = 4
)

// roleQueueSink takes args[1] messages from queue args[0] and reports its
// CPU time: by GetInto, or in place (Receive, Release) with args[2] =
// "zerocopy", checking each message's stamp, its sequence number.
func roleQueueSink(args []string, in *bufio.Reader) {
	q, err := queue.Open(args[0])
	must(err)
	n, _ := strconv.Atoi(args[1])
	zeroCopy := len(args) > 2 && args[2] == "zerocopy"
	buf := make([]byte, q.MaxMessage())
	fmt.Println("ready")
	ctx := context.Background()
	c0 := cpuTime()
	for i := range n {
		var stamp uint64
		if zeroCopy {
			m, err := q.Receive(ctx)
			must(err)
			b := m.Bytes()
			stamp = binary.LittleEndian.Uint64(b) ^ binary.LittleEndian.Uint64(b[len(b)-8:])
			must(m.Release())
		} else {
			k, err := q.GetInto(ctx, buf)
			must(err)
			stamp = binary.LittleEndian.Uint64(buf[:k])
		}
		if stamp != uint64(i) {
			must(fmt.Errorf("message %d carries stamp %d", i, stamp))
		}
	}
	reportCPU(c0)
}

// roleQueueEcho gets a message from queue args[0] and puts it into
// args[1], args[2] times, and reports its CPU time.
func roleQueueEcho(args []string, in *bufio.Reader) {
	a, err := queue.Open(args[0])
	must(err)
	b, err := queue.Open(args[1])
	must(err)
	n, _ := strconv.Atoi(args[2])
	buf := make([]byte, a.MaxMessage())
	fmt.Println("ready")
	ctx := context.Background()
	c0 := cpuTime()
	for range n {
		k, err := a.GetInto(ctx, buf)
		must(err)
		must(b.Put(ctx, buf[:k]))
	}
	reportCPU(c0)
}

// roleQueuePut puts args[1] messages of 64 bytes into queue args[0] after
// an order line, and reports its CPU time.
func roleQueuePut(args []string, in *bufio.Reader) {
	q, err := queue.Open(args[0])
	must(err)
	n, _ := strconv.Atoi(args[1])
	msg := make([]byte, w13Small)
	fmt.Println("ready")
	in.ReadString('\n')
	ctx := context.Background()
	c0 := cpuTime()
	for i := range n {
		binary.LittleEndian.PutUint64(msg, uint64(i))
		must(q.Put(ctx, msg))
	}
	reportCPU(c0)
}

// roleQueueDrain gets messages from queue args[0] until io.EOF, says how
// many, and reports its CPU time.
func roleQueueDrain(args []string, in *bufio.Reader) {
	q, err := queue.Open(args[0])
	must(err)
	buf := make([]byte, q.MaxMessage())
	fmt.Println("ready")
	ctx := context.Background()
	c0 := cpuTime()
	n := 0
	for {
		_, err := q.GetInto(ctx, buf)
		if err == io.EOF {
			break
		}
		must(err)
		n++
	}
	fmt.Println(n)
	reportCPU(c0)
}

// w13 is queue: messages between processes through shm/queue, against
// multiprocessing's Queue and Pipe, a C pipe(2) and a Go channel.
func w13(p *peers) *Workload {
	const n = 2_000_000
	one := &Case{Name: "64 B messages, 1 → 1 process", Unit: "M/s", Op: "message",
		Targets: []Target{atLeast(10, ""), atLeast(25, w13PyQueue)}}
	one.Impls = []*Impl{
		{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) { return queueOneToOne(cfg.iters(n)) }},
		peerImpl("C pipe(2)", p.runC, "queue", "M/s", fixedArgs(n, "stream", "64"), nil),
		peerImpl(w13PyQueue, p.runPython, "mp_queue", "M/s", fixedArgs(n/40, "stream", "queue"), nil),
		peerImpl("Python multiprocessing.Pipe", p.runPython, "mp_queue", "M/s", fixedArgs(n/40, "stream", "pipe"), nil),
		{Name: "Go channel, in-process [floor]", Run: func(cfg *Config) (Measurement, error) { return chanOneToOne(cfg.iters(n)) }},
	}

	const rt = 100_000
	trip := &Case{Name: "64 B round trip through two queues", Unit: "µs", Lower: true,
		Targets: []Target{upTo(1, ""), upTo(1.0/50, w13PyQueue)}, Reps: shortReps}
	trip.Impls = []*Impl{
		{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) { return queueRoundTrip(cfg.iters(rt)) }},
		peerImpl("C pipe(2)", p.runC, "queue", "µs", fixedArgs(rt, "roundtrip", "64"), nil),
		peerImpl(w13PyQueue, p.runPython, "mp_queue", "µs", fixedArgs(rt/20, "roundtrip", "queue"), nil),
		peerImpl("Python multiprocessing.Pipe", p.runPython, "mp_queue", "µs", fixedArgs(rt/20, "roundtrip", "pipe"), nil),
		{Name: "Go channel, in-process [floor]", Run: func(cfg *Config) (Measurement, error) { return chanRoundTrip(cfg.iters(rt)) }},
	}

	const many = 2_000_000
	four := &Case{Name: "64 B messages, 4 → 4 processes (count checked)", Unit: "M/s", Op: "message"}
	four.Impls = []*Impl{
		{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) { return queueFourToFour(cfg.iters(many) / 4 * 4) }},
		peerImpl("C pipe(2)", p.runC, "queue", "M/s", func(cfg *Config) []string {
			return []string{"many", "64", strconv.Itoa(cfg.iters(many) / 4 * 4)}
		}, func(cfg *Config) int { return cfg.iters(many) / 4 * 4 }),
		peerImpl(w13PyQueue, p.runPython, "mp_queue", "M/s", func(cfg *Config) []string {
			return []string{"many", "queue", strconv.Itoa(cfg.iters(many/40) / 4 * 4)}
		}, func(cfg *Config) int { return cfg.iters(many/40) / 4 * 4 }),
	}

	const big = 4000
	bulk := &Case{Name: "1 MiB messages, 1 → 1 process, zero-copy", Unit: "GB/s", Op: "GB",
		Targets: []Target{atLeast(0.8, w13Memcpy)}, Reps: shortReps}
	bulk.Impls = []*Impl{
		{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) { return queueBig(cfg.iters(big)) }},
		peerImpl(w13Memcpy, p.runC, "queue", "GB/s", fixedArgs(big, "memcpy", strconv.Itoa(w13Big)), nil),
		peerImpl("C pipe(2)", p.runC, "queue", "GB/s", fixedArgs(big/4, "bytes", strconv.Itoa(w13Big)), nil),
		peerImpl("Python multiprocessing.Pipe", p.runPython, "mp_queue", "GB/s", fixedArgs(big/10, "bulk", "pipe"), nil),
	}
	return &Workload{ID: "W13", Name: "queue", Cases: []*Case{one, trip, four, bulk}}
}

// newBenchQueue makes a queue for one run; the returned function removes it.
func newBenchQueue(capacity, maxMsg int) (*queue.Queue, func(), error) {
	q, err := queue.New("", capacity, maxMsg)
	if err != nil {
		return nil, nil, err
	}
	return q, func() {
		q.Close()
		q.Unlink()
	}, nil
}

// queueOneToOne puts n 64-byte messages for a sink process.
func queueOneToOne(n int) (Measurement, error) {
	q, done, err := newBenchQueue(w13SmallCap, w13Small)
	if err != nil {
		return Measurement{}, err
	}
	defer done()
	h, err := startRole("queue-sink", q.Name(), strconv.Itoa(n))
	if err != nil {
		return Measurement{}, err
	}
	msg := make([]byte, w13Small)
	ctx := context.Background()
	m := startMeter()
	for i := range n {
		binary.LittleEndian.PutUint64(msg, uint64(i))
		if err := q.Put(ctx, msg); err != nil {
			h.kill()
			return Measurement{}, err
		}
	}
	return h.finishRate(m, float64(n), 1e6, 1)
}

// finishRate ends a rate's measurement with one helper, which reports
// its CPU time when its loop ends: count things done, in units of scale
// per second, and CPU time per perOp things.
func (h *helper) finishRate(m meter, count, scale, perOp float64) (Measurement, error) {
	cpu, err := h.cpu()
	s := m.stop()
	if err != nil {
		h.kill()
		return Measurement{}, err
	}
	s.cpu += cpu
	return s.rate(count, scale, perOp), h.wait()
}

// queueRoundTrip sends n 64-byte messages to an echo process and waits
// for each to come back through a second queue.
func queueRoundTrip(n int) (Measurement, error) {
	a, doneA, err := newBenchQueue(w13SmallCap, w13Small)
	if err != nil {
		return Measurement{}, err
	}
	defer doneA()
	b, doneB, err := newBenchQueue(w13SmallCap, w13Small)
	if err != nil {
		return Measurement{}, err
	}
	defer doneB()
	h, err := startRole("queue-echo", a.Name(), b.Name(), strconv.Itoa(n))
	if err != nil {
		return Measurement{}, err
	}
	msg := make([]byte, w13Small)
	buf := make([]byte, w13Small)
	ctx := context.Background()
	m := startMeter()
	for range n {
		if err := a.Put(ctx, msg); err != nil {
			h.kill()
			return Measurement{}, err
		}
		if _, err := b.GetInto(ctx, buf); err != nil {
			h.kill()
			return Measurement{}, err
		}
	}
	return h.finish(m.stop(), n, "µs")
}

// queueFourToFour runs 4 producer and 4 consumer processes on one queue;
// the consumers' counts must add up to what was put.
func queueFourToFour(n int) (Measurement, error) {
	q, done, err := newBenchQueue(w13SmallCap, w13Small)
	if err != nil {
		return Measurement{}, err
	}
	defer done()
	var producers, consumers []*helper
	defer func() {
		for _, h := range append(producers, consumers...) {
			h.kill()
		}
	}()
	for range 4 {
		h, err := startRole("queue-put", q.Name(), strconv.Itoa(n/4))
		if err != nil {
			return Measurement{}, err
		}
		producers = append(producers, h)
		if h, err = startRole("queue-drain", q.Name()); err != nil {
			return Measurement{}, err
		}
		consumers = append(consumers, h)
	}
	m := startMeter()
	for _, h := range producers {
		h.send("go")
	}
	var cpu time.Duration
	for _, h := range producers {
		c, err := h.cpu()
		if err != nil {
			return Measurement{}, err
		}
		cpu += c
	}
	if err := q.CloseWrite(); err != nil {
		return Measurement{}, err
	}
	got := 0
	for _, h := range consumers {
		line, err := h.out.ReadString('\n')
		k, perr := strconv.Atoi(line[:max(0, len(line)-1)])
		if err != nil || perr != nil {
			return Measurement{}, fmt.Errorf("queue-drain said %q: %v", line, err)
		}
		got += k
		c, err := h.cpu()
		if err != nil {
			return Measurement{}, err
		}
		cpu += c
	}
	s := m.stop()
	s.cpu += cpu
	meas := s.rate(float64(n), 1e6, 1)
	meas.Checks = map[string]string{"count_ok": strconv.FormatBool(got == n)}
	return meas, nil
}

// queueBig writes n 1 MiB messages in place (one memmove each, from a
// local buffer) for a sink process that reads them in place. One lap of
// the ring goes first, before the clock starts: the first write to each
// page of a new queue takes a page fault (tens of µs each on a VM), and
// the C memcpy peer, too, writes its buffer once before it times.
func queueBig(n int) (Measurement, error) {
	q, done, err := newBenchQueue(w13BigCap, w13Big)
	if err != nil {
		return Measurement{}, err
	}
	defer done()
	const warm = w13BigCap
	h, err := startRole("queue-sink", q.Name(), strconv.Itoa(warm+n), "zerocopy")
	if err != nil {
		return Measurement{}, err
	}
	src := make([]byte, w13Big)
	for i := range src {
		src[i] = byte(i)
	}
	ctx := context.Background()
	put := func(i int) error {
		r, err := q.Reserve(ctx)
		if err != nil {
			return err
		}
		buf := r.Buf()
		csrc.Memmove(unsafe.Pointer(&buf[0]), unsafe.Pointer(&src[0]), w13Big)
		// The stamp: first word ^ last word is the sequence number.
		binary.LittleEndian.PutUint64(buf, uint64(i)^binary.LittleEndian.Uint64(buf[w13Big-8:]))
		return r.Commit(w13Big)
	}
	for i := range warm {
		if err := put(i); err != nil {
			h.kill()
			return Measurement{}, err
		}
	}
	m := startMeter()
	for i := warm; i < warm+n; i++ {
		if err := put(i); err != nil {
			h.kill()
			return Measurement{}, err
		}
	}
	return h.finishRate(m, float64(n)*w13Big, 1e9, 1e9)
}

// chanOneToOne sends n 64-byte arrays through a Go channel of the queues'
// capacity, between two goroutines.
func chanOneToOne(n int) (Measurement, error) {
	ch := make(chan [w13Small]byte, w13SmallCap)
	var wg sync.WaitGroup
	wg.Add(1)
	bad := 0
	go func() {
		defer wg.Done()
		for i := range n {
			m := <-ch
			if binary.LittleEndian.Uint64(m[:]) != uint64(i) {
				bad++
			}
		}
	}()
	var msg [w13Small]byte
	m := startMeter()
	for i := range n {
		binary.LittleEndian.PutUint64(msg[:], uint64(i))
		ch <- msg
	}
	wg.Wait()
	s := m.stop()
	if bad != 0 {
		return Measurement{}, fmt.Errorf("%d messages out of order", bad)
	}
	return s.rate(float64(n), 1e6, 1), nil
}

// chanRoundTrip sends n 64-byte arrays to an echoing goroutine and back.
func chanRoundTrip(n int) (Measurement, error) {
	a, b := make(chan [w13Small]byte, w13SmallCap), make(chan [w13Small]byte, w13SmallCap)
	go func() {
		for range n {
			b <- <-a
		}
	}()
	var msg [w13Small]byte
	m := startMeter()
	for range n {
		a <- msg
		msg = <-b
	}
	return m.stop().perOp(n, "µs"), nil
}
