package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/mpsync/mpsync/shm"
)

// w6 is shm_lifecycle: the cost of a segment's life, for mpsync's shm,
// raw C (shm_open, ftruncate, mmap, munmap, shm_unlink) and Python's
// multiprocessing.shared_memory.
func w6(p *peers) *Workload {
	type shape struct {
		name, peerCase, unit string
		iters                int
		goRun                func(n int) (time.Duration, error)
	}
	shapes := []shape{
		{"create+close+unlink 4 KiB", "create", "µs", 2000, goCreate(4096, false)},
		{"create+touch+close+unlink 64 MiB", "touch", "ms", 4, goCreate(64<<20, true)},
		{"attach by name (open+close) 4 KiB", "attach", "µs", 4000, goAttach},
	}
	w := &Workload{ID: "W6", Name: "shm_lifecycle"}
	for _, s := range shapes {
		s := s
		c := &Case{Name: s.name, Unit: s.unit, Lower: true}
		if s.peerCase != "touch" {
			c.Target = "≤ 1.2× C"
		}
		peerRun := func(run func(string, ...string) (map[string]float64, error)) func(*Config) (Measurement, error) {
			return func(cfg *Config) (Measurement, error) {
				m, err := run("shm_lifecycle", s.peerCase, strconv.Itoa(cfg.iters(s.iters)))
				ns, err := metric(m, err, "ns_per_op")
				return Measurement{Value: fromNs(ns, s.unit), Checks: map[string]string{}}, err
			}
		}
		c.Impls = []*Impl{
			{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) {
				n := cfg.iters(s.iters)
				d, err := s.goRun(n)
				return Measurement{Value: perOp(d, n, s.unit)}, err
			}},
			{Name: "C (glibc)", Run: peerRun(p.runC)},
			{Name: "Python multiprocessing", Run: peerRun(p.runPython)},
		}
		w.Cases = append(w.Cases, c)
	}
	return w
}

// goCreate measures n create(+touch)+close+unlink cycles of size bytes.
func goCreate(size int, touch bool) func(n int) (time.Duration, error) {
	return func(n int) (time.Duration, error) {
		start := time.Now()
		for range n {
			seg, err := shm.Create("", size)
			if err != nil {
				return 0, err
			}
			if touch {
				b := seg.Bytes()
				for off := 0; off < len(b); off += 4096 {
					b[off] = 1
				}
			}
			if err := seg.Close(); err != nil {
				return 0, err
			}
			if err := seg.Unlink(); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
}

// goAttach measures n open+close cycles of one existing 4 KiB segment.
func goAttach(n int) (time.Duration, error) {
	owner, err := shm.Create("", 4096)
	if err != nil {
		return 0, err
	}
	defer owner.Unlink()
	defer owner.Close()
	start := time.Now()
	for range n {
		seg, err := shm.Open(owner.Name())
		if err != nil {
			return 0, err
		}
		if err := seg.Close(); err != nil {
			return 0, fmt.Errorf("close: %w", err)
		}
	}
	return time.Since(start), nil
}
