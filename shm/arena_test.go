package shm_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/internal/race"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

// newArena creates an arena that the test unlinks, after checking it.
func newArena(t *testing.T, size int, opts ...shm.Option) *shm.Arena {
	t.Helper()
	a, err := shm.NewArena("", size, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := a.Check(); err != nil {
			t.Errorf("arena at the end: %v", err)
		}
		a.Close()
		if err := a.Unlink(); err != nil {
			t.Error(err)
		}
	})
	return a
}

func init() {
	// arena-use opens the objects of TestArenaEveryKind in arena args[0]
	// by name and by handle and uses each.
	proctest.Register("arena-use", func(h *proctest.Helper) {
		a := h.Args[0]
		l, err := semaphore.OpenLock(a + "/lock")
		if err != nil {
			h.Fatalf("OpenLock: %v", err)
		}
		v, err := ctypes.OpenValue[int64](h.Args[1])
		if err != nil {
			h.Fatalf("OpenValue %s: %v", h.Args[1], err)
		}
		h.Ready()
		l.Lock() // the parent holds it at first
		v.Set(v.Get() + 1)
		l.Unlock()
		e, err := semaphore.OpenEvent(a + "/event")
		if err != nil {
			h.Fatalf("OpenEvent: %v", err)
		}
		e.Set()
		arr, err := ctypes.OpenArray[float64](a + "/arr")
		if err != nil {
			h.Fatalf("OpenArray: %v", err)
		}
		arr.Set(3, 2.5)
		h.Printf("done")
	})
}

// TestArenaEveryKind creates an object of every kind in one arena, uses
// each here and from another process, and frees them.
func TestArenaEveryKind(t *testing.T) {
	a := newArena(t, 1<<20)
	in := semaphore.In(a)
	l, err := semaphore.NewLock(in, semaphore.WithName("lock"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Name() != a.Name()+"/lock" {
		t.Errorf("Name = %q", l.Name())
	}
	v, err := ctypes.NewValue[int64](41, ctypes.In(a))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.Name(), a.Name()+"/#") {
		t.Errorf("anonymous Value's name %q is not a handle", v.Name())
	}
	e, err := semaphore.NewEvent(in, semaphore.WithName("event"))
	if err != nil {
		t.Fatal(err)
	}
	arr, err := ctypes.NewArray[float64](10, ctypes.In(a), ctypes.WithName("arr"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := semaphore.NewRLock(in)
	if err != nil {
		t.Fatal(err)
	}
	s, err := semaphore.NewBoundedSemaphore(2, in)
	if err != nil {
		t.Fatal(err)
	}
	c, err := semaphore.NewCondition(l, in, semaphore.WithName("cond"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := semaphore.NewBarrier(1, nil, in)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	r.Lock()
	r.Lock()
	if held, n := r.HeldByMe(); !held || n != 2 {
		t.Errorf("RLock taken twice: held %v, count %d", held, n)
	}
	r.Unlock()
	r.Unlock()
	if err := s.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(); !errors.Is(err, semaphore.ErrTooManyReleases) {
		t.Errorf("bounded semaphore released too often: %v", err)
	}
	if _, err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	c2, err := semaphore.OpenCondition(a.Name() + "/cond")
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	c3, err := semaphore.NewCondition(nil, in) // its own RLock goes in the arena too
	if err != nil {
		t.Fatal(err)
	}
	if name := c3.Locker().Name(); !strings.HasPrefix(name, a.Name()+"/#") {
		t.Errorf("a Condition's own RLock is %q, not in the arena", name)
	}
	if err := c3.Unlink(); err != nil {
		t.Error(err)
	}
	c3.Close()

	l.Lock()
	p := proctest.Start(t, "arena-use", a.Name(), v.Name())
	v.Set(v.Get() + 1) // under l, before the helper's increment
	l.Unlock()
	p.Expect("done")
	if got := v.Get(); got != 43 {
		t.Errorf("value = %d, want 43", got)
	}
	if ok, err := e.Wait(ctx); !ok || err != nil {
		t.Errorf("event: %v %v", ok, err)
	}
	if got, _ := arr.At(3); got != 2.5 {
		t.Errorf("arr[3] = %v", got)
	}
	st := a.Stats()
	if st.Objects != 8 || st.Names != 4 {
		t.Errorf("stats %+v: want 8 objects, 4 names", st)
	}
	for _, o := range []interface {
		Close() error
		Unlink() error
	}{l, v, e, arr, r, s, c, b} {
		if err := o.Unlink(); err != nil {
			t.Error(err)
		}
		if err := o.Close(); err != nil {
			t.Error(err)
		}
	}
	if st := a.Stats(); st.Objects != 0 || st.Names != 0 || st.Used != 0 {
		t.Errorf("stats after freeing everything: %+v", st)
	}
}

// TestArenaOpenErrors: a missing name, a stale handle (freed, its block
// reused), a wrong kind, a wrong type, a bad name.
func TestArenaOpenErrors(t *testing.T) {
	a := newArena(t, 1<<20)
	v, err := ctypes.NewValue[int64](1, ctypes.In(a))
	if err != nil {
		t.Fatal(err)
	}
	stale := v.Name()
	v.Unlink()
	v.Close()
	w, err := ctypes.NewValue[int64](2, ctypes.In(a)) // takes the same block
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Name() == stale || strings.Split(w.Name(), ".")[0] != strings.Split(stale, ".")[0] {
		t.Errorf("new handle %s, stale one %s: want the same block, another generation", w.Name(), stale)
	}
	if _, err := ctypes.OpenValue[int64](stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale handle: %v, want fs.ErrNotExist", err)
	}
	if err := v.Unlink(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second Unlink: %v, want fs.ErrNotExist", err)
	}
	if got, err := ctypes.OpenValue[int64](w.Name()); err != nil || got.Get() != 2 {
		t.Errorf("new handle: %v", err)
	} else {
		got.Close()
	}
	l, err := semaphore.NewLock(semaphore.In(a), semaphore.WithName("row7"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := ctypes.OpenValue[int64](a.Name() + "/row7"); !errors.Is(err, semaphore.ErrTypeMismatch) ||
		!strings.Contains(err.Error(), "lock") || !strings.Contains(err.Error(), "value") {
		t.Errorf("a Lock opened as a Value: %v, want ErrTypeMismatch naming both", err)
	}
	if _, err := ctypes.OpenValue[int32](w.Name()); !errors.Is(err, ctypes.ErrTypeMismatch) {
		t.Errorf("a Value[int64] opened as a Value[int32]: %v", err)
	}
	if _, err := semaphore.OpenLock(a.Name()); !errors.Is(err, semaphore.ErrTypeMismatch) {
		t.Errorf("the arena opened as a Lock: %v", err)
	}
	if _, err := semaphore.NewLock(semaphore.In(a), semaphore.WithName("row7")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("a name taken: %v", err)
	}
	for _, bad := range []string{"#1", "a\x00b", strings.Repeat("x", 252)} {
		if _, err := semaphore.NewLock(semaphore.In(a), semaphore.WithName(bad)); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("name %q: %v, want fs.ErrInvalid", bad, err)
		}
	}
	for _, missing := range []string{"nothing", "#40000.1", "#zz.1", "#ffffffffffff.1"} {
		if _, err := semaphore.OpenLock(a.Name() + "/" + missing); err == nil {
			t.Errorf("%s opened", missing)
		}
	}
	if _, err := semaphore.OpenLock("mps-test-no-such-arena/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no such arena: %v", err)
	}
	l.Unlink()
	w.Unlink()
}

// TestArenaFull fills a small arena: a clear error naming the arena and
// what was asked; freed space is reused.
func TestArenaFull(t *testing.T) {
	a := newArena(t, 256<<10, shm.MaxNames(100))
	var vs []*ctypes.Value[int64]
	var err error
	for {
		var v *ctypes.Value[int64]
		if v, err = ctypes.NewValue[int64](1, ctypes.In(a)); err != nil {
			break
		}
		vs = append(vs, v)
	}
	if !errors.Is(err, shm.ErrArenaFull) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), a.Name()) ||
		!strings.Contains(err.Error(), "ctypes.NewValue") {
		t.Fatalf("full arena: %v", err)
	}
	t.Logf("%d values, then: %v", len(vs), err)
	vs[7].Unlink()
	vs[7].Close()
	if vs[7], err = ctypes.NewValue[int64](1, ctypes.In(a)); err != nil {
		t.Errorf("after a free: %v", err)
	}
	for _, v := range vs {
		v.Unlink()
		v.Close()
	}
	// The name table fills too.
	b := newArena(t, 1<<20, shm.MaxNames(100))
	var ls []*semaphore.Lock
	for i := 0; ; i++ {
		l, err := semaphore.NewLock(semaphore.In(b), semaphore.WithName(strconv.Itoa(i)))
		if err != nil {
			if !errors.Is(err, shm.ErrArenaFull) || i < 100 {
				t.Errorf("after %d names: %v", i, err)
			}
			break
		}
		ls = append(ls, l)
	}
	for _, l := range ls {
		l.Unlink()
		l.Close()
	}
	if _, err := shm.NewArena("", 4096); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("a 4 KiB arena: %v", err)
	}
}

// million is 10^6 objects of each kind; the race detector's run, some
// twenty times slower, uses 10^5 on the same path (the plain run does all).
var million = func() int {
	if race.Enabled {
		return 100_000
	}
	return 1_000_000
}()

func init() {
	// arena-million opens the 10^6 Locks l<i> and Value[int64]s v<i> of
	// arena args[0] by name, checks that v<i> holds i, and under l<i>
	// sets it to -i.
	proctest.Register("arena-million", func(h *proctest.Helper) {
		a, err := shm.OpenArena(h.Args[0])
		if err != nil {
			h.Fatalf("OpenArena: %v", err)
		}
		defer a.Close()
		h.Ready()
		for i := range million {
			l, err := semaphore.OpenLock(fmt.Sprintf("%s/l%d", a.Name(), i))
			if err != nil {
				h.Fatalf("OpenLock %d: %v", i, err)
			}
			v, err := ctypes.OpenValue[int64](fmt.Sprintf("%s/v%d", a.Name(), i))
			if err != nil {
				h.Fatalf("OpenValue %d: %v", i, err)
			}
			l.Lock()
			if got := v.Get(); got != int64(i) {
				h.Fatalf("v%d = %d", i, got)
			}
			v.Set(-int64(i))
			l.Unlock()
			l.Close()
			v.Close()
		}
		h.Printf("checked")
	})
}

// TestArenaMillion puts 10^6 Locks and 10^6 Value[int64]s in one arena;
// another process opens every one by name, checks it and changes it; this
// one checks every change.
func TestArenaMillion(t *testing.T) {
	a := newArena(t, 200<<20, shm.MaxNames(2*million))
	t0 := time.Now()
	t.Cleanup(func() { t.Logf("total with check %v", time.Since(t0)) })
	for i := range million {
		l, err := semaphore.NewLock(semaphore.In(a), semaphore.WithName(fmt.Sprintf("l%d", i)))
		if err != nil {
			t.Fatalf("lock %d: %v", i, err)
		}
		v, err := ctypes.NewValue(int64(i), ctypes.In(a), ctypes.WithName(fmt.Sprintf("v%d", i)))
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		l.Close()
		v.Close()
	}
	st := a.Stats()
	t.Logf("%d objects, %d bytes of blocks (%.1f each), arena %d bytes", st.Objects, st.Used, float64(st.Used)/float64(st.Objects), st.Size)
	t0 = time.Now()
	proctest.Start(t, "arena-million", a.Name()).Expect("checked")
	t.Logf("helper %v", time.Since(t0))
	t0 = time.Now()
	defer func() { t.Logf("reopen %v", time.Since(t0)) }()
	for i := range million {
		v, err := ctypes.OpenValue[int64](fmt.Sprintf("%s/v%d", a.Name(), i))
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Get(); got != -int64(i) {
			t.Fatalf("v%d = %d, want %d", i, got, -i)
		}
		v.Close()
	}
}

func init() {
	// arena-churn allocates and frees objects in arena args[0] until its
	// stdin closes: a Lock named args[1]-<n> and an Array named
	// args[1]-<n>-a, freed at once, so that it holds at most one of each
	// at any time.
	proctest.Register("arena-churn", func(h *proctest.Helper) {
		a, err := shm.OpenArena(h.Args[0])
		if err != nil {
			h.Fatalf("OpenArena: %v", err)
		}
		stop := make(chan struct{})
		go func() { h.ReadLine(); close(stop) }()
		h.Ready()
		for n := 0; ; n++ {
			select {
			case <-stop:
				h.Printf("stopped")
				return
			default:
			}
			l, err := semaphore.NewLock(semaphore.In(a), semaphore.WithName(fmt.Sprintf("%s-%d", h.Args[1], n)))
			if err != nil {
				h.Fatalf("NewLock: %v", err)
			}
			v, err := ctypes.NewArray[int64](1+n%40, ctypes.In(a), ctypes.WithName(fmt.Sprintf("%s-%d-a", h.Args[1], n)))
			if err != nil {
				h.Fatalf("NewArray: %v", err)
			}
			if err := l.Unlink(); err != nil {
				h.Fatalf("Unlink lock: %v", err)
			}
			if err := v.Unlink(); err != nil {
				h.Fatalf("Unlink array: %v", err)
			}
			l.Close()
			v.Close()
		}
	})
}

// TestArenaKilledAllocators runs four processes that allocate and free in
// one arena and SIGKILLs one of them at a random moment, 200 times (60
// under -short, which still catch some ten holders of the allocator's
// lock: the last check below almost never misses by chance). Each kill
// may leave behind what the victim held (a Lock and an Array at most, both named) but never an inconsistent arena, nor a lost block:
// the checker walks it after every kill, and at the end every object left
// has a name and there are no more than the victims could have held.
func TestArenaKilledAllocators(t *testing.T) {
	a := newArena(t, 4<<20)
	const workers = 4
	kills := 200
	if testing.Short() {
		kills = 60
	}
	procs := make([]*proctest.Proc, workers)
	gen := 0
	start := func(int) *proctest.Proc {
		gen++
		return proctest.Start(t, "arena-churn", a.Name(), fmt.Sprintf("w%d", gen))
	}
	proctest.KillAtRandom(t, procs, kills, start, func() error { _, err := a.Check(); return err })
	for _, p := range procs {
		p.Send("stop")
		p.Expect("stopped")
	}
	st, err := a.Check()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after %d kills: %d objects left, %d lock takeovers", kills, st.Objects, st.Recovered)
	if st.Objects > 2*kills || st.Objects != st.Names {
		t.Errorf("%d objects (%d named) left after %d kills of processes holding at most 2 named ones each", st.Objects, st.Names, kills)
	}
	if st.Recovered == 0 {
		t.Errorf("no kill caught a process holding the allocator's lock in %d kills", kills)
	}
}

func init() {
	// map-limit creates standalone Value[int64]s until mpsync refuses one,
	// checks the error, then shows that the process still works: it
	// allocates and collects garbage, closes and unlinks everything, and
	// creates one more.
	proctest.Register("map-limit", func(h *proctest.Helper) {
		h.Ready()
		var vs []*ctypes.Value[int64]
		var err error
		for {
			var v *ctypes.Value[int64]
			if v, err = ctypes.NewValue(int64(len(vs))); err != nil {
				break
			}
			vs = append(vs, v)
		}
		if !errors.Is(err, shm.ErrMapLimit) || !errors.Is(err, syscall.ENOMEM) ||
			!strings.Contains(err.Error(), "vm.max_map_count") || !strings.Contains(err.Error(), "arena") {
			h.Fatalf("after %d values: %v; want ErrMapLimit naming vm.max_map_count and arenas", len(vs), err)
		}
		h.Printf("refused after %d", len(vs))
		var keep [][]byte
		for range 64 {
			keep = append(keep, make([]byte, 1<<20))
		}
		runtime.GC()
		for i, v := range vs {
			if v.Get() != int64(i) {
				h.Fatalf("value %d reads %d", i, v.Get())
			}
			v.Close()
			if err := v.Unlink(); err != nil {
				h.Fatalf("Unlink: %v", err)
			}
		}
		runtime.GC()
		v, err := ctypes.NewValue[int64](7)
		if err != nil {
			h.Fatalf("after closing everything: %v", err)
		}
		v.Close()
		v.Unlink()
		h.Printf("still working, %d MiB kept", len(keep))
	})
}

// TestMapLimit has a process create standalone objects until the kernel's
// mapping limit is near: it gets an error naming the limit, not a crash,
// and then still allocates, collects garbage, closes everything and
// creates again.
func TestMapLimit(t *testing.T) {
	p := proctest.Start(t, "map-limit")
	t.Log(p.Recv())
	p.Expect("still working, 64 MiB kept")
}

// TestArenaCtypesForms: structs, char and wchar arrays, typecode values
// and raw values live in arenas too, with their formats checked on open.
func TestArenaCtypesForms(t *testing.T) {
	a := newArena(t, 1<<20)
	type point struct{ X, Y float64 }
	p, err := ctypes.NewArrayFrom([]point{{1, 2}, {3, 4}}, ctypes.In(a), ctypes.WithName("pts"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ctypes.NewCharArrayFrom([]byte("hello"), ctypes.In(a))
	if err != nil {
		t.Fatal(err)
	}
	w, err := ctypes.NewWCharArrayFrom("héllo", ctypes.In(a))
	if err != nil {
		t.Fatal(err)
	}
	d, err := ctypes.ValueOf("d", 2.5, ctypes.In(a))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ctypes.NewRawValue[int32](5, ctypes.In(a))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := ctypes.OpenArray[point](a.Name() + "/pts")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := p2.At(1); got != (point{3, 4}) || p2.Format() != p.Format() {
		t.Errorf("points: %v %q", got, p2.Format())
	}
	if _, err := ctypes.OpenArray[[2]float32](a.Name() + "/pts"); !errors.Is(err, ctypes.ErrTypeMismatch) {
		t.Errorf("points opened as [2]float32: %v", err)
	}
	c2, err := ctypes.OpenCharArray(c.Name())
	if err != nil || string(c2.Value()) != "hello" {
		t.Errorf("char array: %v", err)
	}
	w2, err := ctypes.OpenWCharArray(w.Name())
	if err != nil || w2.Value() != "héllo" {
		t.Errorf("wchar array: %v", err)
	}
	d2, err := ctypes.OpenDynValue(d.Name())
	if err != nil || d2.Get() != 2.5 {
		t.Errorf("typecode value: %v", err)
	}
	r2, err := ctypes.OpenValue[int32](r.Name())
	if err != nil || r2.Get() != 5 || r2.Synchronized() {
		t.Errorf("raw value: %v", err)
	}
	for _, o := range []interface {
		Close() error
		Unlink() error
	}{p, c, w, d, r} {
		o.Unlink()
		o.Close()
	}
	for _, o := range []interface{ Close() error }{p2, c2, w2, d2, r2} {
		o.Close()
	}
}

// TestArenaGoroutines allocates, opens and frees from many goroutines of
// one process at once; the arena stays consistent and ends empty.
func TestArenaGoroutines(t *testing.T) {
	a := newArena(t, 4<<20)
	errc := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 500 {
				name := fmt.Sprintf("g%d-%d", g, i)
				v, err := ctypes.NewValue(int64(i), ctypes.In(a), ctypes.WithName(name))
				if err != nil {
					errc <- err
					return
				}
				w, err := ctypes.OpenValue[int64](a.Name() + "/" + name)
				if err != nil || w.Get() != int64(i) {
					errc <- fmt.Errorf("open %s: %v", name, err)
					return
				}
				w.Close()
				if err := v.Unlink(); err != nil {
					errc <- err
					return
				}
				v.Close()
			}
			errc <- nil
		}()
	}
	for range 8 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	if st, err := a.Check(); err != nil || st.Objects != 0 || st.Names != 0 {
		t.Errorf("after: %+v, %v", st, err)
	}
}

func init() {
	// arena-full-shm, on a private 16 MiB /dev/shm, makes an 8 MiB arena,
	// fills /dev/shm but for 1 MiB, and creates Locks until one fails:
	// with ENOSPC, and no SIGBUS, once the arena's heap needs pages
	// /dev/shm no longer has.
	proctest.Register("arena-full-shm", func(h *proctest.Helper) {
		a, err := shm.NewArena("mps-test-arena-full", 8<<20)
		if err != nil {
			h.Fatalf("NewArena: %v", err)
		}
		h.FillShm(1 << 20)
		h.Ready()
		n := 0
		for {
			if _, err = semaphore.NewLock(semaphore.In(a)); err != nil {
				break
			}
			n++
		}
		if n == 0 || !errors.Is(err, syscall.ENOSPC) || errors.Is(err, shm.ErrArenaFull) {
			h.Fatalf("after %d Locks: %v; want ENOSPC from /dev/shm, not a full arena", n, err)
		}
		if _, err := a.Check(); err != nil {
			h.Fatalf("Check: %v", err)
		}
		h.Printf("ENOSPC after %d", n)
	})
}

// TestArenaFullShm: an arena's pages are allocated in /dev/shm before
// objects are placed in them, so a /dev/shm filled by others is an error
// from the next creation, never a SIGBUS.
func TestArenaFullShm(t *testing.T) {
	p := proctest.Command(t, "arena-full-shm")
	p.PrivateShm(16 << 20)
	p.Start()
	got := p.Recv()
	if !strings.HasPrefix(got, "ENOSPC after ") {
		t.Errorf("got %q", got)
	}
	t.Log(got)
}

// TestArenaCompactLock holds the compact lock of a Value in an arena
// (16 bytes: the word and one recursion word) as deeply as it counts,
// 65,535 times: once more is an error, and the values on either side are
// untouched.
func TestArenaCompactLock(t *testing.T) {
	a := newArena(t, 1<<20)
	var vs [3]*ctypes.Value[int64]
	for i := range vs {
		v, err := ctypes.NewValue(int64(-1-i), ctypes.In(a))
		if err != nil {
			t.Fatal(err)
		}
		defer v.Unlink()
		defer v.Close()
		vs[i] = v
	}
	ctx := context.Background()
	for i := range 65535 {
		if err := vs[1].Acquire(ctx); err != nil {
			t.Fatalf("hold %d: %v", i+1, err)
		}
	}
	if err := vs[1].Acquire(ctx); !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("hold 65536: %v, want EAGAIN", err)
	}
	for i := range 65535 {
		if err := vs[1].Release(); err != nil {
			t.Fatalf("release %d: %v", i+1, err)
		}
	}
	if err := vs[1].Release(); err == nil {
		t.Error("a release too many succeeded")
	}
	for i, v := range vs {
		if got := v.Get(); got != int64(-1-i) {
			t.Errorf("value %d: %d, want %d", i, got, -1-i)
		}
	}
}

// TestArenaOldLayout opens an arena whose control block says layout
// version 1 (compact lock areas of 24 bytes): refused with ErrVersion,
// naming both versions, never misread.
func TestArenaOldLayout(t *testing.T) {
	a, err := shm.NewArena("", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	name := a.Name()
	defer shm.Unlink(name)
	a.Close() // unmapped: the next open maps it again
	f, err := os.OpenFile("/dev/shm/"+name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{1, 0, 0, 0}, 4096+8); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := shm.OpenArena(name); !errors.Is(err, shm.ErrVersion) || !strings.Contains(err.Error(), "version 1") {
		t.Errorf("OpenArena: %v, want ErrVersion naming version 1", err)
	}
	if _, err := ctypes.OpenValue[int64](name + "/x"); !errors.Is(err, shm.ErrVersion) {
		t.Errorf("OpenValue: %v, want ErrVersion", err)
	}
}
