package main

import (
	"fmt"
	"strconv"

	"github.com/mpsync/mpsync/shm"
)

// w6 is shm_lifecycle: the cost of a segment's life, for mpsync's shm,
// raw C (shm_open, ftruncate, mmap, munmap, shm_unlink) and Python's
// multiprocessing.shared_memory.
func w6(p *peers) *Workload {
	type shape struct {
		name, peerCase, unit string
		iters                int
		goRun                func(n int) (spent, error)
		targets              []Target
	}
	shapes := []shape{
		{"create+close+unlink 4 KiB", "create", "µs", 2000, goCreate(4096, false), []Target{upTo(1.15, "C (glibc)")}},
		{"create+touch+close+unlink 64 MiB", "touch", "ms", 4, goCreate(64<<20, true), nil},
		{"attach by name (open+close) 4 KiB", "attach", "µs", 4000, goAttach, []Target{upTo(1.1, "C (glibc)")}},
	}
	w := &Workload{ID: "W6", Name: "shm_lifecycle"}
	for _, s := range shapes {
		s := s
		c := &Case{Name: s.name, Unit: s.unit, Lower: true, Targets: s.targets}
		if s.targets != nil {
			c.Reps = shortReps
		}
		args := func(cfg *Config) []string { return []string{s.peerCase, strconv.Itoa(cfg.iters(s.iters))} }
		c.Impls = []*Impl{
			{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) {
				n := cfg.iters(s.iters)
				d, err := s.goRun(n)
				return d.perOp(n, s.unit), err
			}},
			peerImpl("C (glibc)", p.runC, "shm_lifecycle", s.unit, args, nil),
			peerImpl("Python multiprocessing", p.runPython, "shm_lifecycle", s.unit, args, nil),
		}
		w.Cases = append(w.Cases, c)
	}
	return w
}

// goCreate measures n create(+touch)+close+unlink cycles of size bytes.
func goCreate(size int, touch bool) func(n int) (spent, error) {
	return func(n int) (spent, error) {
		m := startMeter()
		for range n {
			seg, err := shm.Create("", size)
			if err != nil {
				return spent{}, err
			}
			if touch {
				b := seg.Bytes()
				for off := 0; off < len(b); off += 4096 {
					b[off] = 1
				}
			}
			if err := seg.Close(); err != nil {
				return spent{}, err
			}
			if err := seg.Unlink(); err != nil {
				return spent{}, err
			}
		}
		return m.stop(), nil
	}
}

// goAttach measures n open+close cycles of one existing 4 KiB segment.
func goAttach(n int) (spent, error) {
	owner, err := shm.Create("", 4096)
	if err != nil {
		return spent{}, err
	}
	defer owner.Unlink()
	defer owner.Close()
	m := startMeter()
	for range n {
		seg, err := shm.Open(owner.Name())
		if err != nil {
			return spent{}, err
		}
		if err := seg.Close(); err != nil {
			return spent{}, fmt.Errorf("close: %w", err)
		}
	}
	return m.stop(), nil
}
