package cdll_test

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/mpsync/mpsync/ctypes/cdll"
	"github.com/mpsync/mpsync/internal/cbuild"
	"github.com/mpsync/mpsync/internal/proctest"
)

func TestMain(m *testing.M) { proctest.Main(m) }

var (
	buildOnce sync.Once
	libPath   string
	buildErr  string
)

// testLib builds testdata/testlib.c into a shared library (once per test
// binary) and loads it.
func testLib(t testing.TB) *cdll.Library {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mpsync-cdll-")
		if err != nil {
			buildErr = err.Error()
			return
		}
		proctest.AtExit(func() { os.RemoveAll(dir) })
		libPath = filepath.Join(dir, "libtest.so")
		src, _ := filepath.Abs("testdata/testlib.c")
		cbuild.Run(t, cbuild.CC(), "-shared", "-fPIC", "-O2", "-pthread", "-Wall", "-Werror", "-o", libPath, src)
	})
	if buildErr != "" {
		t.Fatal(buildErr)
	}
	lib, err := cdll.LoadLibrary(libPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lib.Close() })
	return lib
}

func fn(t testing.TB, lib *cdll.Library, name string, ret cdll.Type, args ...cdll.Type) *cdll.Func {
	t.Helper()
	f, err := lib.Func(name, ret, args...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestTypesRoundTrip(t *testing.T) {
	lib := testLib(t)
	cases := []struct {
		name string
		typ  cdll.Type
		in   []any
		want []any
	}{
		{"echo_i8", cdll.Int8, []any{int8(-128), 127, 0, -1}, []any{int8(-128), int8(127), int8(0), int8(-1)}},
		{"echo_u8", cdll.Uint8, []any{uint8(255), 0}, []any{uint8(255), uint8(0)}},
		{"echo_i16", cdll.Int16, []any{math.MinInt16, math.MaxInt16}, []any{int16(math.MinInt16), int16(math.MaxInt16)}},
		{"echo_u16", cdll.Uint16, []any{math.MaxUint16}, []any{uint16(math.MaxUint16)}},
		{"echo_i32", cdll.Int32, []any{math.MinInt32, math.MaxInt32, -7}, []any{int32(math.MinInt32), int32(math.MaxInt32), int32(-7)}},
		{"echo_u32", cdll.Uint32, []any{uint32(math.MaxUint32)}, []any{uint32(math.MaxUint32)}},
		{"echo_i64", cdll.Int64, []any{int64(math.MinInt64), int64(math.MaxInt64)}, []any{int64(math.MinInt64), int64(math.MaxInt64)}},
		{"echo_u64", cdll.Uint64, []any{uint64(math.MaxUint64)}, []any{uint64(math.MaxUint64)}},
		{"echo_float", cdll.Float, []any{float32(-1.5), math.MaxFloat32, 3}, []any{float32(-1.5), float32(math.MaxFloat32), float32(3)}},
		{"echo_double", cdll.Double, []any{-2.25, math.Inf(-1), math.SmallestNonzeroFloat64}, []any{-2.25, math.Inf(-1), math.SmallestNonzeroFloat64}},
	}
	for _, c := range cases {
		f := fn(t, lib, c.name, c.typ, c.typ)
		for i, in := range c.in {
			got, err := f.Call(in)
			if err != nil || got != c.want[i] {
				t.Errorf("%s(%v) = %#v, %v; want %#v", c.name, in, got, err, c.want[i])
			}
		}
	}
	// Results narrower than a register are sign-extended correctly.
	if got, _ := fn(t, lib, "neg_i8", cdll.Int8, cdll.Int8).CallRaw(5); int64(got) != -5 {
		t.Errorf("neg_i8 via CallRaw = %d, want -5", int64(got))
	}
	x := 42
	if got, _ := fn(t, lib, "echo_ptr", cdll.Pointer, cdll.Pointer).Call(unsafe.Pointer(&x)); got != unsafe.Pointer(&x) {
		t.Errorf("echo_ptr returned %v, want %p", got, &x)
	}
	mix := fn(t, lib, "mix", cdll.Double, cdll.Float, cdll.Double, cdll.Int, cdll.Float, cdll.Double, cdll.Float,
		cdll.Double, cdll.Long, cdll.Float, cdll.Double, cdll.Double, cdll.Float)
	got, err := mix.Call(0.5, 1.25, -3, 2.5, 100.125, -0.25, 1e6, int64(-10), 0.75, -2.5, 3.5, 1.0)
	if want := 0.5 + 1.25 - 3 + 2.5 + 100.125 - 0.25 + 1e6 - 10 + 0.75 - 2.5 + 3.5 + 1.0; err != nil || got != want {
		t.Errorf("mix of 12 arguments = %v, %v; want %v", got, err, want)
	}
	add := fn(t, lib, "add", cdll.Int, cdll.Int, cdll.Int)
	if r, _ := add.CallRaw(uint64(math.MaxUint64), 5); int32(r) != 4 {
		t.Errorf("add(-1, 5) raw = %d", int32(r))
	}
}

func TestVariadicAndStrings(t *testing.T) {
	lib := testLib(t)
	vsum, err := lib.VariadicFunc("vsum", cdll.Long, []cdll.Type{cdll.Int}, cdll.Long, cdll.Long, cdll.Long)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := vsum.Call(3, 10, -20, 1<<40); err != nil || got != int64(10-20+1<<40) {
		t.Errorf("vsum = %v, %v", got, err)
	}
	vavg, err := lib.VariadicFunc("vavg", cdll.Double, []cdll.Type{cdll.Int}, cdll.Double, cdll.Double)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := vavg.Call(2, 1.0, 2.0); got != 1.5 {
		t.Errorf("vavg = %v", got)
	}
	if _, err := lib.VariadicFunc("vavg", cdll.Double, []cdll.Type{cdll.Int}, cdll.Float); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("variadic float: %v, want fs.ErrInvalid (C promotes it to double)", err)
	}
	if got, _ := fn(t, lib, "cstrlen", cdll.SizeT, cdll.CString).Call("héllo"); got != uint64(6) {
		t.Errorf("cstrlen(héllo) = %v, want 6 bytes", got)
	}
	if got, _ := fn(t, lib, "greeting", cdll.CString).Call(); got != "hello from C" {
		t.Errorf("greeting = %q", got)
	}
	if got, _ := fn(t, lib, "null_string", cdll.CString).Call(); got != "" {
		t.Errorf("null_string = %q", got)
	}
}

func TestBadInput(t *testing.T) {
	_, err := cdll.LoadLibrary("/nonexistent/libnothing.so")
	if !errors.Is(err, cdll.ErrLoad) || !strings.Contains(err.Error(), "No such file") {
		t.Errorf("missing library: %v, want ErrLoad quoting dlerror", err)
	}
	lib := testLib(t)
	if _, err := lib.Func("no_such_function", cdll.Int); !errors.Is(err, cdll.ErrSymbol) || !strings.Contains(err.Error(), "undefined symbol") {
		t.Errorf("missing symbol: %v, want ErrSymbol quoting dlerror", err)
	}
	add := fn(t, lib, "add", cdll.Int, cdll.Int, cdll.Int)
	bad := map[string]error{
		"too few arguments":  errOf(add.Call(1)),
		"too many arguments": errOf(add.Call(1, 2, 3)),
		"string for int":     errOf(add.Call("1", 2)),
		"float for int":      errOf(add.Call(1.5, 2)),
		"out of range":       errOf(add.Call(int64(1)<<40, 2)),
		"raw count":          errOf2(add.CallRaw(1)),
		"int for CString":    errOf(fn(t, lib, "cstrlen", cdll.SizeT, cdll.CString).Call(5)),
		"string for Pointer": errOf(fn(t, lib, "echo_ptr", cdll.Pointer, cdll.Pointer).Call("p")),
		"negative unsigned":  errOf(fn(t, lib, "echo_u8", cdll.Uint8, cdll.Uint8).Call(-1)),
	}
	for what, err := range bad {
		if !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%s: %v, want fs.ErrInvalid", what, err)
		}
	}
	for err, want := range map[error]string{
		bad["out of range"]:   "add argument 0 is 1099511627776 (int64), declared int32_t: out of range",
		bad["string for int"]: `add argument 0 is "1" (string), declared int32_t`,
		bad["float for int"]:  "add argument 0 is 1.5 (float64)",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := cdll.FuncAt(nil, cdll.Int); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("nil function pointer: %v", err)
	}
	if _, err := lib.Func("add", cdll.Int, cdll.Type{}); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("unsupported argument type: %v", err)
	}
	if _, err := lib.Func("add", cdll.Int, cdll.Void); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("void argument: %v", err)
	}
	lib.Close()
	if _, err := lib.Func("add", cdll.Int); !errors.Is(err, cdll.ErrClosed) {
		t.Errorf("Func after Close: %v", err)
	}
}

func errOf(_ any, err error) error     { return err }
func errOf2(_ uint64, err error) error { return err }

func TestCallbacks(t *testing.T) {
	lib := testLib(t)
	callCB := fn(t, lib, "call_cb", cdll.Int, cdll.Pointer, cdll.Int, cdll.Int)
	cb, err := cdll.NewCallback(func(a, b int32) int32 { return a*10 + b }, cdll.Int, cdll.Int, cdll.Int)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := callCB.Call(cb, 4, -2); err != nil || got != int32(38) {
		t.Errorf("call_cb = %v, %v; want 38", got, err)
	}
	dcb, err := cdll.NewCallback(func(x float64) float64 { return x * x }, cdll.Double, cdll.Double)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := fn(t, lib, "call_dcb", cdll.Double, cdll.Pointer, cdll.Double).Call(dcb, 1.5); got != 2.25 {
		t.Errorf("call_dcb = %v", got)
	}

	// A panic does not unwind through C; it comes back as an error.
	boom, _ := cdll.NewCallback(func(a, b int32) int32 { panic("boom") }, cdll.Int, cdll.Int, cdll.Int)
	got, err := callCB.Call(boom, 1, 2)
	if !errors.Is(err, cdll.ErrCallbackPanic) || got != int32(0) || !strings.Contains(err.Error(), "boom") {
		t.Errorf("panicking callback: %v, %v; want 0 and ErrCallbackPanic", got, err)
	}

	// After Free the pointer is safe to call: zero, counted, reported.
	cb.Free()
	cb.Free()
	got, err = callCB.Call(cb, 4, -2)
	if got != int32(0) || !errors.Is(err, cdll.ErrFreed) || cb.StaleCalls() != 1 {
		t.Errorf("freed callback: %v, %v, %d stale calls; want 0, ErrFreed, 1", got, err, cb.StaleCalls())
	}

	bad := map[string]error{
		"not a func":      errOf(cdll.NewCallback(5, cdll.Int)),
		"wrong arg type":  errOf(cdll.NewCallback(func(a int64) int32 { return 0 }, cdll.Int, cdll.Int)),
		"wrong arg count": errOf(cdll.NewCallback(func(a int32) int32 { return 0 }, cdll.Int)),
		"wrong result":    errOf(cdll.NewCallback(func() float64 { return 0 }, cdll.Int)),
		"cstring result":  errOf(cdll.NewCallback(func() string { return "" }, cdll.CString)),
	}
	for what, err := range bad {
		if !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("NewCallback, %s: %v, want fs.ErrInvalid", what, err)
		}
	}
}

// TestCallsOverlap proves, without timing, that calls run in parallel: the
// library counts the calls inside it at the same moment, and with T
// goroutines calling, the count reaches T.
func TestCallsOverlap(t *testing.T) {
	lib := testLib(t)
	meet := fn(t, lib, "meet", cdll.Int, cdll.Int)
	reset := fn(t, lib, "reset_meter", cdll.Void)
	for _, T := range []int{2, 4, 8} {
		reset.Call()
		var wg sync.WaitGroup
		results := make([]any, T)
		for i := range T {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], _ = meet.Call(T)
			}()
		}
		wg.Wait()
		for _, r := range results {
			if r != int32(T) {
				t.Errorf("T=%d: the most calls inside the library at once was %v, want %d", T, r, T)
				break
			}
		}
	}
}

// TestCallbacksOverlap: T C threads (created by C, not by Go) call a Go
// callback at once, which calls back into the library's meter: the count
// reaches T, so Go callbacks run in parallel too (CPython's take the GIL).
func TestCallbacksOverlap(t *testing.T) {
	lib := testLib(t)
	meet := fn(t, lib, "meet", cdll.Int, cdll.Int)
	runThreads := fn(t, lib, "run_threads", cdll.Void, cdll.Int, cdll.Pointer)
	fn(t, lib, "reset_meter", cdll.Void).Call()
	const T = 4
	var mu sync.Mutex
	var seen []int32
	cb, err := cdll.NewCallback(func(i int32) {
		r, _ := meet.Call(T)
		mu.Lock()
		seen = append(seen, r.(int32))
		mu.Unlock()
	}, cdll.Void, cdll.Int)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Free()
	if _, err := runThreads.Call(T, cb); err != nil {
		t.Fatal(err)
	}
	if len(seen) != T {
		t.Fatalf("%d callbacks ran, want %d", len(seen), T)
	}
	for _, r := range seen {
		if r != T {
			t.Errorf("the most callbacks inside the library at once was %d, want %d", r, T)
		}
	}
}

func init() {
	// dead-loop calls the library's endless DeadLoop from args[1]
	// goroutines; the test measures its CPU time and kills it.
	proctest.Register("dead-loop", func(h *proctest.Helper) {
		lib, err := cdll.LoadLibrary(h.Args[0])
		if err != nil {
			h.Fatalf("%v", err)
		}
		dead, err := lib.Func("dead_loop", cdll.Void)
		if err != nil {
			h.Fatalf("%v", err)
		}
		n, _ := strconv.Atoi(h.Args[1])
		for range n {
			go dead.Call()
		}
		h.Ready()
		select {}
	})
}

// TestDeadLoop is the classic GIL demonstration: 2 goroutines each stuck
// in an endless C loop run at once (CPython's ctypes calls do too; its
// Python threads do not). How the helper's CPU time is shared between its
// threads shows it: two threads get a good part each — with a global lock
// around calls, one would get nearly all. The helper is then killed.
func TestDeadLoop(t *testing.T) {
	testLib(t)
	p := proctest.Start(t, "dead-loop", libPath, "2")
	defer p.Kill()
	// Watch until the helper has had a fifth of a second of CPU (longer
	// on a loaded machine), then see how it was shared: two threads in
	// the loops at once each get about half of it; calls under a global
	// lock would give one thread nearly all.
	time.Sleep(100 * time.Millisecond)
	before := threadCPU(t, p.Pid())
	var after map[string]time.Duration
	var total time.Duration
	start := time.Now()
	for total < 200*time.Millisecond && time.Since(start) < 20*time.Second {
		time.Sleep(100 * time.Millisecond)
		after = threadCPU(t, p.Pid())
		total = 0
		for tid, c := range after {
			total += c - before[tid]
		}
	}
	busy := 0
	for tid, c := range after {
		if c-before[tid] >= total/4 {
			busy++
		}
	}
	t.Logf("2 goroutines in DeadLoop: %d threads with a quarter or more of %v CPU over %v", busy, total, time.Since(start).Round(time.Millisecond))
	if busy < 2 {
		t.Errorf("only %d thread(s) made progress in an endless C loop called from 2 goroutines: calls serialize", busy)
	}
}

// threadCPU returns the CPU time (user + system) of each thread of pid.
func threadCPU(t *testing.T, pid int) map[string]time.Duration {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Duration{}
	for _, task := range tasks {
		stat, err := os.ReadFile(dir + "/" + task.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64) // utime, field 14
		st, _ := strconv.ParseInt(f[12], 10, 64) // stime, field 15
		out[task.Name()] = time.Duration(ut+st) * time.Second / 100
	}
	return out
}

// TestLongCallsYield checks the scheduling courtesy of Func.call: a call
// during which the kernel's coarse clock ticks ends with a yield, so that
// a goroutine going from one long call into the next still passes through
// the scheduler; short calls in a loop yield at most once per tick, not
// once per call.
func TestLongCallsYield(t *testing.T) {
	lib := testLib(t)
	nap := fn(t, lib, "nap", cdll.Void, cdll.Long)
	add := fn(t, lib, "add", cdll.Int, cdll.Int, cdll.Int)

	before := cdll.TickYields.Load()
	if _, err := nap.Call(30); err != nil { // longer than any kernel tick (≤ 10 ms)
		t.Fatal(err)
	}
	if cdll.TickYields.Load() == before {
		t.Error("a 30 ms call did not yield")
	}

	const calls = 100_000
	before = cdll.TickYields.Load()
	for range calls {
		add.CallRaw(1, 2)
	}
	if n := cdll.TickYields.Load() - before; n > calls/100 {
		t.Errorf("%d short calls yielded %d times; want about once per tick", calls, n)
	}
}

// TestCallAllocations: Call's arguments stay on the caller's stack (a
// boxed integer of 256 or more would otherwise be an allocation each);
// only a boxed result of 256 or more allocates.
func TestCallAllocations(t *testing.T) {
	add := fn(t, testLib(t), "add", cdll.Int, cdll.Int, cdll.Int)
	n := int32(1000)
	allocs := testing.AllocsPerRun(1000, func() {
		add.Call(n, int32(1))
		n++
	})
	if allocs > 1 {
		t.Errorf("Call(int32, int32) allocates %.1f times, want at most 1 (its result)", allocs)
	}
}
