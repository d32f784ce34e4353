package main

import (
	"bufio"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

// W12's sizes: a million objects in an arena; standalone objects and
// CPython's synchronized ones stop at a count that keeps the run short
// (the kernel's mapping limit would stop them near 65,000 anyway), and
// CPython's RawValues, which come from a heap of arenas, at 200,000.
const (
	w12Arena      = 1_000_000
	w12Standalone = 20_000
	w12PyRaw      = 200_000
)

func init() { roles["arena-open"] = roleArenaOpen }

// w12 is objects_at_scale: the cost of many small objects, in an arena and
// standalone, beside CPython's multiprocessing.
func w12(p *peers) *Workload {
	w := &Workload{ID: "W12", Name: "objects_at_scale"}
	few := func(cfg *Config) int { return min(cfg.Reps, 3) }
	py := func(kind string, n int, bytes bool, unit string) *Impl {
		return &Impl{Name: "Python multiprocessing." + kind, Run: func(cfg *Config) (Measurement, error) {
			m, err := p.runPython("objects", kind, strconv.Itoa(cfg.iters(n)))
			if bytes {
				v, err := metric(m, err, "bytes_per_obj")
				return Measurement{Value: v}, err
			}
			if err != nil {
				return Measurement{}, err
			}
			return peerMeasurement(m, unit)
		}}
	}
	// pyPeer is a CPython peer of a create case: the objects.py kind and
	// how many it makes.
	type pyPeer struct {
		name, kind string
		n          int
	}
	create := func(what string, arena, anonymous, standalone func(cfg *Config) (objectsRun, error), peers ...pyPeer) {
		for _, mc := range []struct {
			name, unit string
			target     Target
		}{
			{"create a " + what, "µs", upTo(1, "")},
			{"shared memory per " + what, "B", upTo(map[string]float64{"Lock": 128, "Value[int64]": 64}[what], "")},
		} {
			bytes := mc.unit == "B"
			pick := func(r objectsRun) Measurement {
				if bytes {
					return Measurement{Value: r.bytes}
				}
				return r.spent.perOp(r.n, "µs")
			}
			reps := few
			if bytes { // the same in every run
				reps = func(*Config) int { return 1 }
			}
			c := &Case{Name: mc.name, Unit: mc.unit, Lower: true, Targets: []Target{mc.target}, Reps: reps}
			if bytes {
				c.NoCPU = "a size, not an operation"
			}
			c.Impls = []*Impl{
				{Name: "mpsync, in an arena (10^6)", Run: func(cfg *Config) (Measurement, error) {
					r, err := arena(cfg)
					return pick(r), err
				}},
				{Name: "mpsync, standalone (20,000)", Run: func(cfg *Config) (Measurement, error) {
					r, err := standalone(cfg)
					return pick(r), err
				}},
			}
			if anonymous != nil {
				c.Impls = append(c.Impls, &Impl{Name: "mpsync, in an arena, anonymous (10^6)", Run: func(cfg *Config) (Measurement, error) {
					r, err := anonymous(cfg)
					return pick(r), err
				}})
			}
			for _, pe := range peers {
				im := py(pe.kind, pe.n, bytes, mc.unit)
				im.Name = pe.name
				c.Impls = append(c.Impls, im)
			}
			w.Cases = append(w.Cases, c)
		}
	}
	create("Lock", arenaLocks, nil, standaloneLocks,
		pyPeer{"Python multiprocessing.Lock (20,000)", "Lock", w12Standalone})
	create("Value[int64]", arenaValues, anonymousValues, standaloneValues,
		pyPeer{"Python multiprocessing.Value('q') (20,000)", "Value", w12Standalone},
		pyPeer{"Python multiprocessing.RawValue('q') (200,000)", "RawValue", w12PyRaw})

	open := &Case{Name: "open a Lock by name, second process", Unit: "µs", Lower: true, Targets: []Target{upTo(1, "")}, Reps: few}
	open.Impls = []*Impl{
		{Name: "mpsync, in an arena (10^6)", Run: func(cfg *Config) (Measurement, error) {
			return openFromRole(cfg.iters(w12Arena), true)
		}},
		{Name: "mpsync, standalone (20,000)", Run: func(cfg *Config) (Measurement, error) {
			return openFromRole(cfg.iters(w12Standalone), false)
		}},
	}
	w.Cases = append(w.Cases, open)

	// W1 and W3 on a Lock in an arena, beside a standalone one.
	inArena := func(run func(l *semaphore.Lock, cfg *Config) (Measurement, error)) func(cfg *Config) (Measurement, error) {
		return func(cfg *Config) (Measurement, error) {
			a, err := shm.NewArena("", 1<<20)
			if err != nil {
				return Measurement{}, err
			}
			defer a.Unlink()
			defer a.Close()
			l, err := semaphore.NewLock(semaphore.In(a))
			if err != nil {
				return Measurement{}, err
			}
			defer l.Close()
			return run(l, cfg)
		}
	}
	standaloneLock := func(run func(l *semaphore.Lock, cfg *Config) (Measurement, error)) func(cfg *Config) (Measurement, error) {
		return func(cfg *Config) (Measurement, error) {
			l, err := semaphore.NewLock()
			if err != nil {
				return Measurement{}, err
			}
			defer l.Unlink()
			defer l.Close()
			return run(l, cfg)
		}
	}
	w1Run := func(l *semaphore.Lock, cfg *Config) (Measurement, error) {
		iters := cfg.iters(5_000_000)
		m := startMeter()
		for range iters {
			l.Lock()
			//lint:ignore SA2001 the lock itself is what is measured
			l.Unlock()
		}
		return m.stop().perOp(iters, "ns"), nil
	}
	w3Run := func(l *semaphore.Lock, cfg *Config) (Measurement, error) {
		return countWith(l, 2, cfg.iters(4_000_000)/2*2)
	}
	w1c := &Case{Name: "W1 Lock+Unlock, free lock", Unit: "ns", Lower: true, Targets: []Target{upTo(1.05, "mpsync, standalone")}}
	w1c.Impls = []*Impl{{Name: "mpsync, in an arena", Run: inArena(w1Run)}, {Name: "mpsync, standalone", Run: standaloneLock(w1Run)}}
	w3c := &Case{Name: "W3 P=2 increments", Unit: "M/s", Op: "increment", Targets: []Target{atLeast(0.95, "mpsync, standalone")}}
	w3c.Impls = []*Impl{{Name: "mpsync, in an arena", Run: inArena(w3Run)}, {Name: "mpsync, standalone", Run: standaloneLock(w3Run)}}
	w.Cases = append(w.Cases, w1c, w3c)
	return w
}

// objectsRun is one run of creating n objects: the time it took and the
// bytes of shared memory per object.
type objectsRun struct {
	n     int
	spent spent
	bytes float64
}

// shmUsed returns the bytes in use in /dev/shm.
func shmUsed() (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil {
		return 0, err
	}
	return int64(st.Blocks-st.Bfree) * st.Bsize, nil
}

// inNewArena creates n objects with mk (given names o<i>, which it uses
// if named) in a new arena sized for them (each bytes per object), and
// reports the time per object and the arena's bytes per object: its
// blocks plus its share of the name table.
func inNewArena(n int, each int, named bool, mk func(a *shm.Arena, name string, i int) (interface{ Close() error }, error)) (objectsRun, error) {
	maxNames := 1
	if named {
		maxNames = n
	}
	a, err := shm.NewArena("", n*(each+8)+2<<20, shm.MaxNames(maxNames))
	if err != nil {
		return objectsRun{}, err
	}
	defer a.Unlink()
	defer a.Close()
	names := make([]string, n)
	for i := range names {
		names[i] = "o" + strconv.Itoa(i)
	}
	m := startMeter()
	for i, name := range names {
		o, err := mk(a, name, i)
		if err != nil {
			return objectsRun{}, err
		}
		o.Close()
	}
	sp := m.stop()
	st := a.Stats()
	slots := 1 << 6
	for slots < maxNames+maxNames/3+1 {
		slots <<= 1
	}
	return objectsRun{n: n, spent: sp, bytes: float64(st.Used+4*slots) / float64(n)}, nil
}

func arenaLocks(cfg *Config) (objectsRun, error) {
	return inNewArena(cfg.iters(w12Arena), 96, true, func(a *shm.Arena, name string, i int) (interface{ Close() error }, error) {
		return semaphore.NewLock(semaphore.In(a), semaphore.WithName(name))
	})
}

func arenaValues(cfg *Config) (objectsRun, error) {
	return inNewArena(cfg.iters(w12Arena), 64, true, func(a *shm.Arena, name string, i int) (interface{ Close() error }, error) {
		return ctypes.NewValue(int64(i), ctypes.In(a), ctypes.WithName(name))
	})
}

// anonymousValues is arenaValues without names: no name in the block, no
// name table.
func anonymousValues(cfg *Config) (objectsRun, error) {
	r, err := inNewArena(cfg.iters(w12Arena), 48, false, func(a *shm.Arena, name string, i int) (interface{ Close() error }, error) {
		return ctypes.NewValue(int64(i), ctypes.In(a))
	})
	return r, err
}

// standalone creates n standalone objects with mk, measuring time and
// the growth of /dev/shm, then unlinks them.
func standalone(n int, mk func() (interface {
	Close() error
	Unlink() error
}, error)) (objectsRun, error) {
	before, err := shmUsed()
	if err != nil {
		return objectsRun{}, err
	}
	objs := make([]interface {
		Close() error
		Unlink() error
	}, 0, n)
	defer func() {
		for _, o := range objs {
			o.Close()
			o.Unlink()
		}
	}()
	m := startMeter()
	for range n {
		o, err := mk()
		if err != nil {
			return objectsRun{}, fmt.Errorf("after %d: %w", len(objs), err)
		}
		objs = append(objs, o)
	}
	sp := m.stop()
	after, err := shmUsed()
	return objectsRun{n: n, spent: sp, bytes: float64(after-before) / float64(n)}, err
}

func standaloneLocks(cfg *Config) (objectsRun, error) {
	return standalone(cfg.iters(w12Standalone), func() (interface {
		Close() error
		Unlink() error
	}, error) {
		return semaphore.NewLock()
	})
}

func standaloneValues(cfg *Config) (objectsRun, error) {
	return standalone(cfg.iters(w12Standalone), func() (interface {
		Close() error
		Unlink() error
	}, error) {
		return ctypes.NewValue[int64](0)
	})
}

// openFromRole creates n Locks (in an arena, or standalone) and has a
// second process open each by name and close it; the time is the
// role's, wall and CPU, per open.
func openFromRole(n int, inArena bool) (Measurement, error) {
	prefix := ""
	if inArena {
		a, err := shm.NewArena("", n*(96+8)+2<<20, shm.MaxNames(n))
		if err != nil {
			return Measurement{}, err
		}
		defer a.Unlink()
		defer a.Close()
		for i := range n {
			l, err := semaphore.NewLock(semaphore.In(a), semaphore.WithName("o"+strconv.Itoa(i)))
			if err != nil {
				return Measurement{}, err
			}
			l.Close()
		}
		prefix = a.Name() + "/"
	} else {
		prefix = fmt.Sprintf("mps-bench-w12-%d-", time.Now().UnixNano())
		for i := range n {
			l, err := semaphore.NewLock(semaphore.WithName(prefix + "o" + strconv.Itoa(i)))
			if err != nil {
				return Measurement{}, err
			}
			defer l.Unlink()
			defer l.Close()
		}
	}
	h, err := startRole("arena-open", prefix, strconv.Itoa(n))
	if err != nil {
		return Measurement{}, err
	}
	line, err := h.out.ReadString('\n')
	if err != nil {
		h.kill()
		return Measurement{}, err
	}
	var wall, cpu int64
	if _, err := fmt.Sscan(line, &wall, &cpu); err != nil {
		h.kill()
		return Measurement{}, fmt.Errorf("arena-open said %q", line)
	}
	return spent{wall: time.Duration(wall), cpu: time.Duration(cpu)}.perOp(n, "µs"), h.wait()
}

// roleArenaOpen opens the Locks args[0]+"o<i>" (i < args[1]) by name,
// closing each, and prints the ns it took, wall and CPU; for an arena it
// keeps the arena mapped meanwhile, as a process using its objects would.
func roleArenaOpen(args []string, in *bufio.Reader) {
	prefix := args[0]
	n, _ := strconv.Atoi(args[1])
	names := make([]string, n)
	for i := range names {
		names[i] = prefix + "o" + strconv.Itoa(i)
	}
	if len(prefix) > 0 && prefix[len(prefix)-1] == '/' {
		a, err := shm.OpenArena(prefix[:len(prefix)-1])
		must(err)
		defer a.Close()
	}
	fmt.Println("ready")
	m := startMeter()
	for _, name := range names {
		l, err := semaphore.OpenLock(name)
		must(err)
		l.Close()
	}
	sp := m.stop()
	fmt.Printf("%d %d\n", sp.wall.Nanoseconds(), sp.cpu.Nanoseconds())
}
