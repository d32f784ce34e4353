package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"unsafe"

	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

// peerImpl is an implementation run by a C or Python peer program: one
// run per repetition, reading the metrics it prints (see
// peerMeasurement). A "count" it prints is checked against want(cfg), if
// want is given.
func peerImpl(name string, run func(string, ...string) (map[string]float64, error), prog, unit string, args func(cfg *Config) []string, want func(cfg *Config) int) *Impl {
	return &Impl{Name: name, Run: func(cfg *Config) (Measurement, error) {
		m, err := run(prog, args(cfg)...)
		if err != nil {
			return Measurement{}, err
		}
		meas, err := peerMeasurement(m, unit)
		if want != nil {
			meas.Checks["count_ok"] = strconv.FormatBool(int(m["count"]) == want(cfg))
		}
		return meas, err
	}}
}

// peerMeasurement converts a peer's metrics to a measurement in unit:
// "ns_per_op" for a time, "ops_per_s" for a rate, and "cpu_ns_per_op",
// the CPU time of all its processes per operation (per thing counted by
// a rate: an increment, a byte, a round of W10's work).
func peerMeasurement(m map[string]float64, unit string) (Measurement, error) {
	meas := Measurement{Checks: map[string]string{}}
	var err error
	if scale, ok := rateUnits[unit]; ok {
		meas.Value, err = metric(m, nil, "ops_per_s")
		meas.Value /= scale
	} else {
		meas.Value, err = metric(m, nil, "ns_per_op")
		meas.Value = fromNs(meas.Value, unit)
	}
	if err != nil {
		return meas, err
	}
	meas.CPU, err = metric(m, nil, "cpu_ns_per_op")
	if size, ok := cpuOpSize[unit]; ok {
		meas.CPU *= size
	}
	return meas, err
}

// rateUnits are the units of rates, with their size.
var rateUnits = map[string]float64{"M/s": 1e6, "GB/s": 1e9, "×": 1}

// cpuOpSize is, for a rate whose Case.Op is more than one thing counted,
// the things in one op: W5 reports CPU time per GB.
var cpuOpSize = map[string]float64{"GB/s": 1e9}

// fixedArgs returns an args function with an iteration count scaled for
// -quick after the fixed leading arguments.
func fixedArgs(n int, lead ...string) func(cfg *Config) []string {
	return func(cfg *Config) []string { return append(lead, strconv.Itoa(cfg.iters(n))) }
}

// limitSpin names the [limit] rows of W2, W7 and W8: C that only spins
// (with a pause), never sleeping, the floor the hardware sets. It is no
// target: it burns a core per waiting process (see its CPU time).
const limitSpin = "[limit] C pure spin"

// fromC names the "mpsync from C" rows of W1, W2, W3, W7 and W8:
// libmpsync's C API (mpsync.h) on the workload, every process in C
// (peers/c/mpsync_c.c). Their targets: within 1.1× of the C futex lock
// where the workload has one (W1, W3), else of mpsync from Go.
const fromC = "mpsync from C"

// fromCPeer is the "mpsync from C" row running mpsync_c with the given
// workload argument (and W3's want).
func fromCPeer(p *peers, unit string, args func(cfg *Config) []string, want func(cfg *Config) int) *Impl {
	return peerImpl(fromC, p.runMps, "mpsync_c", unit, args, want)
}

// w1 is lock_uncontended: acquire+release of a free lock in one process.
func w1(p *peers) *Workload {
	const n = 5_000_000
	c := &Case{Name: "Lock+Unlock, free lock", Unit: "ns", Lower: true, Targets: []Target{upTo(1.25, "Go sync.Mutex"), upTo(1.1, "C futex lock").of(fromC)}}
	c.Impls = []*Impl{
		{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) {
			l, err := semaphore.NewLock()
			if err != nil {
				return Measurement{}, err
			}
			defer l.Unlink()
			defer l.Close()
			iters := cfg.iters(n)
			m := startMeter()
			for range iters {
				l.Lock()
				//lint:ignore SA2001 the lock itself is what is measured or tested
				l.Unlock()
			}
			return m.stop().perOp(iters, "ns"), nil
		}},
		{Name: "Go sync.Mutex", Run: func(cfg *Config) (Measurement, error) {
			var mu sync.Mutex
			iters := cfg.iters(n)
			m := startMeter()
			for range iters {
				mu.Lock()
				//lint:ignore SA2001 the lock itself is what is measured or tested
				mu.Unlock()
			}
			return m.stop().perOp(iters, "ns"), nil
		}},
		fromCPeer(p, "ns", fixedArgs(n, "lock"), nil),
		peerImpl("C futex lock", p.runC, "lock_uncontended", "ns", fixedArgs(n, "futex"), nil),
		peerImpl("C robust pthread mutex", p.runC, "lock_uncontended", "ns", fixedArgs(n, "robust"), nil),
		peerImpl("C glibc sem_wait/post", p.runC, "lock_uncontended", "ns", fixedArgs(n, "sem"), nil),
		peerImpl("Python multiprocessing.Lock", p.runPython, "lock_uncontended", "ns", fixedArgs(n/10), nil),
	}
	return &Workload{ID: "W1", Name: "lock_uncontended", Cases: []*Case{c}}
}

// shortReps is the repetitions of the cases whose repetitions are short
// (tens to a few hundred milliseconds) and move with where the shared
// machine places their processes: the hand-overs (W2, W7, W8, W13's round
// trip), W6's segment lifecycles and W13's 1 MiB messages. Three times
// the others': one scheduling hiccup moves such a repetition by a large
// fraction, and more of them give a steadier median.
func shortReps(cfg *Config) int { return 3 * cfg.Reps }

// handOvers runs round n times untimed, then n times under a meter, and
// returns the meter's reading: W2, W7 and W8 time the steady state of a
// pair of processes handing over, as every implementation there does
// (its processes run 2n rounds and time the last n). A fresh pair's
// first rounds are slow and vary: they hand over through the kernel, in
// sleeps and wakes, until both sides spin, and a Go process's runtime
// is still starting its threads; measured on W2 from Go, 20,000 rounds
// took 0.84 µs each with no warm-up and 0.49 after one (C's rows moved
// less).
func handOvers(n int, round func() error) (spent, error) {
	for range n {
		if err := round(); err != nil {
			return spent{}, err
		}
	}
	m := startMeter()
	for range n {
		if err := round(); err != nil {
			return spent{}, err
		}
	}
	return m.stop(), nil
}

// w2 is sem_pingpong: two processes alternate on two semaphores.
func w2(p *peers) *Workload {
	const n = 20000
	c := &Case{Name: "round trip on two semaphores", Unit: "µs", Lower: true, Targets: []Target{upTo(1, "C spin-then-futex semaphores"), upTo(1.1, "mpsync").of(fromC)},
		Reps: shortReps}
	c.Impls = []*Impl{
		{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) {
			iters := cfg.iters(n)
			a, err := semaphore.NewSemaphore(0)
			if err != nil {
				return Measurement{}, err
			}
			defer a.Unlink()
			defer a.Close()
			b, err := semaphore.NewSemaphore(0)
			if err != nil {
				return Measurement{}, err
			}
			defer b.Unlink()
			defer b.Close()
			h, err := startRole("pong", a.Name(), b.Name(), strconv.Itoa(iters))
			if err != nil {
				return Measurement{}, err
			}
			ctx := context.Background()
			s, err := handOvers(iters, func() error {
				a.Release()
				return b.Acquire(ctx)
			})
			if err != nil {
				h.kill()
				return Measurement{}, err
			}
			return h.finish(s, iters, "µs")
		}},
		fromCPeer(p, "µs", fixedArgs(n, "pingpong"), nil),
		peerImpl("C spin-then-futex semaphores", p.runC, "pingpong", "µs", fixedArgs(n, "spinfutex"), nil),
		peerImpl("C futex semaphores", p.runC, "pingpong", "µs", fixedArgs(n, "futex"), nil),
		peerImpl("C glibc semaphores", p.runC, "pingpong", "µs", fixedArgs(n, "sem"), nil),
		peerImpl(limitSpin, p.runC, "pingpong", "µs", fixedArgs(n, "spin"), nil),
		peerImpl("Python multiprocessing", p.runPython, "pingpong", "µs", fixedArgs(n/4), nil),
	}
	return &Workload{ID: "W2", Name: "sem_pingpong", Cases: []*Case{c}}
}

// w3 is counter_contended: P processes increment one shared int under
// one lock; the final count is checked in every run.
func w3(p *peers, procs []int) *Workload {
	const total = 4_000_000
	w := &Workload{ID: "W3", Name: "counter_contended"}
	for _, np := range procs {
		args := func(kind string, n int) func(cfg *Config) []string {
			return func(cfg *Config) []string {
				t := cfg.iters(n) / np * np
				return []string{kind, strconv.Itoa(np), strconv.Itoa(t)}
			}
		}
		want := func(n int) func(cfg *Config) int {
			return func(cfg *Config) int { return cfg.iters(n) / np * np }
		}
		pyArgs := func(cfg *Config) []string {
			return []string{strconv.Itoa(np), strconv.Itoa(cfg.iters(total/50) / np * np)}
		}
		// Within 1.1× for a rate: at least 1/1.1 of the peer's, rounded up.
		c := &Case{Name: fmt.Sprintf("P=%d increments", np), Unit: "M/s", Op: "increment",
			Targets: []Target{atLeast(1, "C futex lock"), atLeast(0.91, "C futex lock").of(fromC)}}
		c.Impls = []*Impl{
			{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) { return goCounter(np, cfg.iters(total)/np*np) }},
			fromCPeer(p, "M/s", args("counter", total), want(total)),
			peerImpl("C futex lock", p.runC, "counter", "M/s", args("futex", total), want(total)),
			peerImpl("C robust pthread mutex", p.runC, "counter", "M/s", args("robust", total), want(total)),
			peerImpl("Python multiprocessing.Lock", p.runPython, "counter", "M/s", pyArgs, func(cfg *Config) int { return cfg.iters(total/50) / np * np }),
		}
		w.Cases = append(w.Cases, c)
	}
	return w
}

// counterOf views the first 8 bytes of a segment as a plain counter.
func counterOf(seg *shm.Segment) *int64 { return (*int64)(unsafe.Pointer(&seg.Bytes()[0])) }

// goCounter runs W3 for mpsync with np helper processes.
func goCounter(np, total int) (Measurement, error) {
	l, err := semaphore.NewLock()
	if err != nil {
		return Measurement{}, err
	}
	defer l.Unlink()
	defer l.Close()
	return countWith(l, np, total)
}

// countWith runs W3 on the lock l.
func countWith(l *semaphore.Lock, np, total int) (Measurement, error) {
	seg, err := shm.Create("", 8)
	if err != nil {
		return Measurement{}, err
	}
	defer seg.Unlink()
	defer seg.Close()
	var hs []*helper
	defer func() {
		for _, h := range hs {
			h.kill()
		}
	}()
	for range np {
		h, err := startRole("count", l.Name(), seg.Name(), strconv.Itoa(total/np))
		if err != nil {
			return Measurement{}, err
		}
		hs = append(hs, h)
	}
	m := startMeter()
	for _, h := range hs {
		h.send("go")
	}
	for _, h := range hs {
		if err := h.expect("done"); err != nil {
			return Measurement{}, err
		}
	}
	s := m.stop()
	for _, h := range hs {
		cpu, err := h.cpu()
		if err != nil {
			return Measurement{}, err
		}
		s.cpu += cpu
	}
	got := *counterOf(seg)
	meas := s.rate(float64(total), 1e6, 1)
	meas.Checks = map[string]string{"count_ok": strconv.FormatBool(got == int64(total))}
	return meas, nil
}

// w7 is event_latency: an event set in one process wakes a waiter in
// another; two events ping-pong, and the latency is half a round trip.
func w7(p *peers) *Workload {
	const n = 20000
	c := &Case{Name: "set → waiter wakes (½ round trip)", Unit: "µs", Lower: true, Targets: []Target{upTo(1, "C spin-then-futex event"), upTo(1.1, "mpsync").of(fromC)},
		Reps: shortReps}
	c.Impls = []*Impl{
		{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) {
			iters := cfg.iters(n)
			a, err := semaphore.NewEvent()
			if err != nil {
				return Measurement{}, err
			}
			defer a.Unlink()
			defer a.Close()
			b, err := semaphore.NewEvent()
			if err != nil {
				return Measurement{}, err
			}
			defer b.Unlink()
			defer b.Close()
			h, err := startRole("event-pong", a.Name(), b.Name(), strconv.Itoa(iters))
			if err != nil {
				return Measurement{}, err
			}
			ctx := context.Background()
			s, err := handOvers(iters, func() error {
				a.Set()
				_, err := b.Wait(ctx)
				b.Clear()
				return err
			})
			if err != nil {
				h.kill()
				return Measurement{}, err
			}
			return h.finish(s, 2*iters, "µs")
		}},
		fromCPeer(p, "µs", fixedArgs(n, "event"), nil),
		peerImpl("C spin-then-futex event", p.runC, "event", "µs", fixedArgs(n, "spinfutex"), nil),
		peerImpl("C futex event", p.runC, "event", "µs", fixedArgs(n, "futex"), nil),
		peerImpl(limitSpin, p.runC, "event", "µs", fixedArgs(n, "spin"), nil),
		peerImpl("Python multiprocessing.Event", p.runPython, "event", "µs", fixedArgs(n/4), nil),
	}
	return &Workload{ID: "W7", Name: "event_latency", Cases: []*Case{c}}
}

// w8 is barrier: two processes wait on one barrier, round after round.
func w8(p *peers) *Workload {
	const n = 20000
	c := &Case{Name: "2 processes, one round", Unit: "µs", Lower: true, Targets: []Target{upTo(1, "C spin-then-futex barrier"), upTo(1.1, "mpsync").of(fromC)},
		Reps: shortReps}
	c.Impls = []*Impl{
		{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) {
			iters := cfg.iters(n)
			b, err := semaphore.NewBarrier(2, nil)
			if err != nil {
				return Measurement{}, err
			}
			defer b.Unlink()
			defer b.Close()
			h, err := startRole("barrier", b.Name(), strconv.Itoa(iters))
			if err != nil {
				return Measurement{}, err
			}
			ctx := context.Background()
			s, err := handOvers(iters, func() error {
				_, err := b.Wait(ctx)
				return err
			})
			if err != nil {
				h.kill()
				return Measurement{}, err
			}
			return h.finish(s, iters, "µs")
		}},
		fromCPeer(p, "µs", fixedArgs(n, "barrier"), nil),
		peerImpl("C spin-then-futex barrier", p.runC, "barrier", "µs", fixedArgs(n, "spinfutex"), nil),
		peerImpl("C pthread_barrier", p.runC, "barrier", "µs", fixedArgs(n, "pthread"), nil),
		peerImpl(limitSpin, p.runC, "barrier", "µs", fixedArgs(n, "spin"), nil),
		peerImpl("Python multiprocessing.Barrier", p.runPython, "barrier", "µs", fixedArgs(n/10), nil),
	}
	return &Workload{ID: "W8", Name: "barrier", Cases: []*Case{c}}
}
