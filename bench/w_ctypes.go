package main

import (
	"sync/atomic"

	"github.com/mpsync/mpsync/ctypes"
)

// sink keeps loops' results alive.
var sink atomic.Int64

// w4 is value_rw: reading and writing a shared int, raw and synchronized.
func w4(p *peers) *Workload {
	const n = 5_000_000
	type shape struct {
		name, pyCase string
		targets      []Target
		raw          bool
		run          func(v *ctypes.Value[int32], n int)
		floor        func(a *atomic.Int32, n int)
	}
	get := func(v *ctypes.Value[int32], n int) {
		var s int32
		for range n {
			s += v.Get()
		}
		sink.Add(int64(s))
	}
	set := func(v *ctypes.Value[int32], n int) {
		for i := range n {
			v.Set(int32(i))
		}
	}
	aget := func(a *atomic.Int32, n int) {
		var s int32
		for range n {
			s += a.Load()
		}
		sink.Add(int64(s))
	}
	aset := func(a *atomic.Int32, n int) {
		for i := range n {
			a.Store(int32(i))
		}
	}
	shapes := []shape{
		{"raw Get", "raw-get", []Target{upTo(2, "Go sync/atomic")}, true, get, aget},
		{"raw Set", "raw-set", []Target{upTo(2, "Go sync/atomic")}, true, set, aset},
		{"synchronized Get", "sync-get", []Target{upTo(20, "")}, false, get, aget},
		{"synchronized Set", "sync-set", []Target{upTo(20, "")}, false, set, aset},
		{"Lock; Set(Get()+1); Unlock", "sync-incr", nil, false, func(v *ctypes.Value[int32], n int) {
			for range n {
				v.Lock()
				v.Set(v.Get() + 1)
				v.Unlock()
			}
		}, nil},
	}
	w := &Workload{ID: "W4", Name: "value_rw"}
	for _, s := range shapes {
		c := &Case{Name: s.name, Unit: "ns", Lower: true, Targets: s.targets}
		c.Impls = append(c.Impls, &Impl{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) {
			var opts []ctypes.Option
			if s.raw {
				opts = append(opts, ctypes.Unsynchronized())
			}
			v, err := ctypes.NewValue[int32](0, opts...)
			if err != nil {
				return Measurement{}, err
			}
			defer v.Unlink()
			defer v.Close()
			iters := cfg.iters(n)
			m := startMeter()
			s.run(v, iters)
			return m.stop().perOp(iters, "ns"), nil
		}})
		if s.floor != nil {
			c.Impls = append(c.Impls, &Impl{Name: "Go sync/atomic", Run: func(cfg *Config) (Measurement, error) {
				var a atomic.Int32
				iters := cfg.iters(n)
				m := startMeter()
				s.floor(&a, iters)
				return m.stop().perOp(iters, "ns"), nil
			}})
		}
		c.Impls = append(c.Impls, peerImpl("Python multiprocessing.Value", p.runPython, "value_rw", "ns", fixedArgs(n/20, s.pyCase), nil))
		w.Cases = append(w.Cases, c)
	}
	return w
}

// sumFloats adds xs up in order, one addition after the other, as the C
// peer's loop does. It is a function of its own so that its loop sits
// where the compiler puts a function's first loop, always the same way:
// inlined into w5's closure, the same four instructions straddled a
// 64-byte boundary of the code and read back at 5-6 GB/s, against 8 here
// and in C (the loop's speed then depends on the rest of the binary).
//
//go:noinline
func sumFloats(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// w5 is array_bulk: 2^20 doubles filled from local memory, and read back
// and summed.
func w5(p *peers) *Workload {
	const count, reps = 1 << 20, 400
	local := make([]float64, count)
	for i := range local {
		local[i] = float64(i) * 0.5
	}
	fill := &Case{Name: "fill from local memory", Unit: "GB/s", Op: "GB", Targets: []Target{atLeast(0.8, "C memcpy")}}
	sum := &Case{Name: "read back and sum", Unit: "GB/s", Op: "GB", Targets: []Target{atLeast(0.9, "C loop")}}
	withArray := func(body func(a *ctypes.Array[float64], n int) spent) func(cfg *Config) (Measurement, error) {
		return func(cfg *Config) (Measurement, error) {
			a, err := ctypes.NewArray[float64](count)
			if err != nil {
				return Measurement{}, err
			}
			defer a.Unlink()
			defer a.Close()
			if err := a.CopyFrom(local); err != nil { // touch every page first
				return Measurement{}, err
			}
			n := cfg.iters(reps)
			return body(a, n).rate(float64(n)*count*8, 1e9, 1e9), nil
		}
	}
	fill.Impls = []*Impl{
		{Name: "mpsync", Run: withArray(func(a *ctypes.Array[float64], n int) spent {
			m := startMeter()
			for range n {
				a.CopyFrom(local)
			}
			return m.stop()
		})},
		peerImpl("C memcpy", p.runC, "bulk", "GB/s", fixedArgs(reps, "fill"), nil),
		peerImpl("Python RawArray slice", p.runPython, "bulk", "GB/s", fixedArgs(reps/100, "fill"), nil),
	}
	sum.Impls = []*Impl{
		{Name: "mpsync", Run: withArray(func(a *ctypes.Array[float64], n int) spent {
			m := startMeter()
			var total float64
			for range n {
				total += sumFloats(a.Slice())
			}
			sink.Add(int64(total))
			return m.stop()
		})},
		peerImpl("C loop", p.runC, "bulk", "GB/s", fixedArgs(reps, "sum"), nil),
		peerImpl("Python RawArray sum", p.runPython, "bulk", "GB/s", fixedArgs(reps/200, "sum"), nil),
	}
	return &Workload{ID: "W5", Name: "array_bulk", Cases: []*Case{fill, sum}}
}
