package main

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/mpsync/mpsync/ctypes/cdll"
)

// w9 is ctypes_call: calling int add(int, int) in a shared library.
func w9(p *peers) *Workload {
	const n = 2_000_000
	withAdd := func(body func(add *cdll.Func, n int) error) func(cfg *Config) (Measurement, error) {
		return func(cfg *Config) (Measurement, error) {
			lib, err := loadCalllib(p)
			if err != nil {
				return Measurement{}, err
			}
			defer lib.Close()
			add, err := lib.Func("add", cdll.Int, cdll.Int, cdll.Int)
			if err != nil {
				return Measurement{}, err
			}
			iters := cfg.iters(n)
			m := startMeter()
			if err := body(add, iters); err != nil {
				return Measurement{}, err
			}
			return m.stop().perOp(iters, "ns"), nil
		}
	}
	peersOf := func() []*Impl {
		libArgs := func(rest ...string) func(cfg *Config) []string {
			return func(cfg *Config) []string {
				path, _ := p.cLibrary("calllib")
				return append([]string{path}, append(rest, strconv.Itoa(cfg.iters(n)))...)
			}
		}
		pyArgs := func(cfg *Config) []string {
			path, _ := p.cLibrary("calllib")
			return []string{path, "add", strconv.Itoa(cfg.iters(n / 20))}
		}
		return []*Impl{
			{Name: "Go direct cgo call", Run: func(cfg *Config) (Measurement, error) {
				iters := cfg.iters(n)
				var s int32
				m := startMeter()
				for i := range iters {
					s += cgoAdd(int32(i), 1)
				}
				sink.Add(int64(s))
				return m.stop().perOp(iters, "ns"), nil
			}},
			peerImpl("C through dlsym pointer", p.runC, "call", "ns", libArgs("add"), nil),
			peerImpl("Python ctypes", p.runPython, "call", "ns", pyArgs, nil),
		}
	}
	raw := &Case{Name: "add(int,int), CallRaw", Unit: "ns", Lower: true,
		Targets: []Target{upTo(2, "Go direct cgo call"), upTo(0.2, "Python ctypes")}}
	raw.Impls = append([]*Impl{{Name: "mpsync", Run: withAdd(func(add *cdll.Func, n int) error {
		var s uint64
		for i := range n {
			r, err := add.CallRaw(uint64(i), 1)
			if err != nil {
				return err
			}
			s += r
		}
		sink.Add(int64(s))
		return nil
	})}}, peersOf()...)
	checked := &Case{Name: "add(int,int), Call (checked)", Unit: "ns", Lower: true} // informational: W9's targets are CallRaw's
	checked.Impls = append([]*Impl{{Name: "mpsync", Run: withAdd(func(add *cdll.Func, n int) error {
		for i := range n {
			if _, err := add.Call(int32(i), int32(1)); err != nil {
				return err
			}
		}
		return nil
	})}}, peersOf()...)
	return &Workload{ID: "W9", Name: "ctypes_call", Cases: []*Case{raw, checked}}
}

// w10 is ctypes_parallel: fixed CPU work from T goroutines (threads) at
// once; the value is the speedup of T over 1.
//
// The callback cases do callbackCalls times the work of a plain one: with
// C threads, the later threads can wait up to two Go monitor ticks
// (~20 ms) for a P while the goroutine that started them waits in C
// holding one (see the README), a start-up delay that the longer run
// keeps from dominating the throughput it measures.
func w10(p *peers, threads []int) *Workload {
	const rounds, calls, callbackCalls = 200_000, 200, 5
	w := &Workload{ID: "W10", Name: "ctypes_parallel"}
	for _, t := range threads {
		if t < 2 {
			continue
		}
		calls := func(cfg *Config) int { return cfg.iters(calls) }
		peerArgs := func(kind string, div int) func(cfg *Config) []string {
			return func(cfg *Config) []string {
				path, _ := p.cLibrary("calllib")
				return []string{path, kind, strconv.Itoa(t), strconv.Itoa(rounds / div), strconv.Itoa(max(1, calls(cfg)/div))}
			}
		}
		var target []Target
		if t == 2 {
			target = []Target{atLeast(1.9, "")}
		}
		plain := &Case{Name: fmt.Sprintf("T=%d, calls into C", t), Unit: "×", Op: "round", Targets: target}
		plain.Impls = []*Impl{
			{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) {
				return speedup(p, t, calls(cfg)*rounds, func(lib *cdll.Library, k int) (spent, error) {
					spin, err := lib.Func("spin", cdll.Long, cdll.Long)
					if err != nil {
						return spent{}, err
					}
					var wg sync.WaitGroup
					m := startMeter()
					for range k {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for range calls(cfg) {
								spin.CallRaw(rounds)
							}
						}()
					}
					wg.Wait()
					return m.stop(), nil
				})
			}},
			peerImpl("C pthreads", p.runC, "call", "×", peerArgs("threads", 1), nil),
			peerImpl("Python ctypes threads", p.runPython, "call", "×", peerArgs("threads", 1), nil),
		}
		// withCallback measures body with a callback doing the CPU work in Go.
		withCallback := func(body func(lib *cdll.Library, cb *cdll.Callback, k int) (spent, error)) func(cfg *Config) (Measurement, error) {
			return func(cfg *Config) (Measurement, error) {
				return speedup(p, t, callbackCalls*calls(cfg)*rounds, func(lib *cdll.Library, k int) (spent, error) {
					cb, err := cdll.NewCallback(func(int32) {
						for range callbackCalls * calls(cfg) {
							sink.Add(goSpin(rounds))
						}
					}, cdll.Void, cdll.Int)
					if err != nil {
						return spent{}, err
					}
					defer cb.Free()
					return body(lib, cb, k)
				})
			}
		}
		goroutines := &Case{Name: fmt.Sprintf("T=%d, goroutines calling C calling back", t), Unit: "×", Op: "round", Targets: target}
		goroutines.Impls = []*Impl{
			{Name: "mpsync", Run: withCallback(func(lib *cdll.Library, cb *cdll.Callback, k int) (spent, error) {
				callBack, err := lib.Func("call_back", cdll.Void, cdll.Pointer, cdll.Int)
				if err != nil {
					return spent{}, err
				}
				errc := make(chan error, k)
				m := startMeter()
				for i := range k {
					go func() {
						_, err := callBack.Call(cb, i)
						errc <- err
					}()
				}
				for range k {
					err = errors.Join(err, <-errc)
				}
				return m.stop(), err
			})},
			peerImpl("Python threads, ctypes callbacks", p.runPython, "call", "×", peerArgs("threadcallbacks", 20), nil),
		}
		// With C threads, the later ones can wait up to two Go monitor
		// ticks for a P (see the README): no target, for that start-up.
		cThreads := &Case{Name: fmt.Sprintf("T=%d, C threads calling back", t), Unit: "×", Op: "round"}
		cThreads.Impls = []*Impl{
			{Name: "mpsync", Run: withCallback(func(lib *cdll.Library, cb *cdll.Callback, k int) (spent, error) {
				run, err := lib.Func("run_threads", cdll.Void, cdll.Int, cdll.Pointer)
				if err != nil {
					return spent{}, err
				}
				m := startMeter()
				_, err = run.Call(k, cb)
				return m.stop(), err
			})},
			peerImpl("Python ctypes callbacks", p.runPython, "call", "×", peerArgs("callbacks", 20), nil),
		}
		w.Cases = append(w.Cases, plain, goroutines, cThreads)
	}
	return w
}

// goSpin is calllib's spin in Go: the callbacks' CPU work.
func goSpin(n int) int64 {
	x := uint64(2463534242)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return int64(x & 0xffff)
}

// speedup runs body with 1 and with t workers, each worker doing rounds
// rounds of work, and returns t×(time with 1)/(time with t), with the CPU
// time of both runs per round.
func speedup(p *peers, t, rounds int, body func(lib *cdll.Library, workers int) (spent, error)) (Measurement, error) {
	lib, err := loadCalllib(p)
	if err != nil {
		return Measurement{}, err
	}
	defer lib.Close()
	one, err := body(lib, 1)
	if err != nil {
		return Measurement{}, err
	}
	many, err := body(lib, t)
	if err != nil {
		return Measurement{}, err
	}
	cpu := float64(one.cpu+many.cpu) / float64((1+t)*rounds)
	return Measurement{Value: float64(t) * float64(one.wall) / float64(many.wall), CPU: cpu}, nil
}

// loadCalllib builds (once) and loads the library of W9 and W10.
func loadCalllib(p *peers) (*cdll.Library, error) {
	path, err := p.cLibrary("calllib")
	if err != nil {
		return nil, err
	}
	return cdll.LoadLibrary(path)
}
