package main

import (
	"sync/atomic"
	"time"

	"github.com/mpsync/mpsync/ctypes"
)

// sink keeps loops' results alive.
var sink atomic.Int64

// w4 is value_rw: reading and writing a shared int, raw and synchronized.
func w4(p *peers) *Workload {
	const n = 5_000_000
	type shape struct {
		name, pyCase, target string
		raw                  bool
		run                  func(v *ctypes.Value[int32], n int)
		floor                func(a *atomic.Int32, n int)
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
		{"raw Get", "raw-get", "≤ 2× Go atomic", true, get, aget},
		{"raw Set", "raw-set", "≤ 2× Go atomic", true, set, aset},
		{"synchronized Get", "sync-get", "≤ 20 ns", false, get, aget},
		{"synchronized Set", "sync-set", "≤ 20 ns", false, set, aset},
		{"Lock; Set(Get()+1); Unlock", "sync-incr", "", false, func(v *ctypes.Value[int32], n int) {
			for range n {
				v.Lock()
				v.Set(v.Get() + 1)
				v.Unlock()
			}
		}, nil},
	}
	w := &Workload{ID: "W4", Name: "value_rw"}
	for _, s := range shapes {
		c := &Case{Name: s.name, Unit: "ns", Lower: true, Target: s.target}
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
			start := time.Now()
			s.run(v, iters)
			return Measurement{Value: perOp(time.Since(start), iters, "ns")}, nil
		}})
		if s.floor != nil {
			c.Impls = append(c.Impls, &Impl{Name: "Go sync/atomic", Run: func(cfg *Config) (Measurement, error) {
				var a atomic.Int32
				iters := cfg.iters(n)
				start := time.Now()
				s.floor(&a, iters)
				return Measurement{Value: perOp(time.Since(start), iters, "ns")}, nil
			}})
		}
		c.Impls = append(c.Impls, peerImpl("Python multiprocessing.Value", p.runPython, "value_rw", "ns", fixedArgs(n/20, s.pyCase), nil))
		w.Cases = append(w.Cases, c)
	}
	return w
}

// w5 is array_bulk: 2^20 doubles filled from local memory, and read back
// and summed.
func w5(p *peers) *Workload {
	const count, reps = 1 << 20, 400
	local := make([]float64, count)
	for i := range local {
		local[i] = float64(i) * 0.5
	}
	rate := func(d time.Duration, n int) float64 { return float64(n) * count * 8 / d.Seconds() / 1e9 }
	fill := &Case{Name: "fill from local memory", Unit: "GB/s", Target: "≥ 0.8× C memcpy"}
	sum := &Case{Name: "read back and sum", Unit: "GB/s", Target: "≥ 0.9× C loop"}
	withArray := func(body func(a *ctypes.Array[float64], n int) time.Duration) func(cfg *Config) (Measurement, error) {
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
			return Measurement{Value: rate(body(a, n), n)}, nil
		}
	}
	fill.Impls = []*Impl{
		{Name: "mpsync", Run: withArray(func(a *ctypes.Array[float64], n int) time.Duration {
			start := time.Now()
			for range n {
				a.CopyFrom(local)
			}
			return time.Since(start)
		})},
		peerImpl("C memcpy", p.runC, "bulk", "GB/s", fixedArgs(reps, "fill"), nil),
		peerImpl("Python RawArray slice", p.runPython, "bulk", "GB/s", fixedArgs(reps/100, "fill"), nil),
	}
	sum.Impls = []*Impl{
		{Name: "mpsync", Run: withArray(func(a *ctypes.Array[float64], n int) time.Duration {
			start := time.Now()
			var total float64
			for range n {
				var s float64
				for _, x := range a.Slice() {
					s += x
				}
				total += s
			}
			sink.Add(int64(total))
			return time.Since(start)
		})},
		peerImpl("C loop", p.runC, "bulk", "GB/s", fixedArgs(reps, "sum"), nil),
		peerImpl("Python RawArray sum", p.runPython, "bulk", "GB/s", fixedArgs(reps/200, "sum"), nil),
	}
	return &Workload{ID: "W5", Name: "array_bulk", Cases: []*Case{fill, sum}}
}
