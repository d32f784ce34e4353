package ctypes_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

func TestMain(m *testing.M) { proctest.Main(m) }

// Point is the struct of the classic multiprocessing example.
type Point struct {
	X, Y float64
}

func cleanup(t testing.TB, o interface {
	Close() error
	Unlink() error
}) {
	t.Cleanup(func() {
		o.Close()
		o.Unlink()
	})
}

// kept fails t if err is not nil, and otherwise registers o's cleanup.
func kept(t testing.TB, o interface {
	Close() error
	Unlink() error
}, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, o)
}

func init() {
	proctest.Register("value-incr", func(h *proctest.Helper) {
		v, err := ctypes.OpenValue[int32](h.Args[0])
		if err != nil {
			h.Fatalf("OpenValue: %v", err)
		}
		h.Ready()
		v.Lock()
		v.Set(v.Get() + 1)
		v.Unlock()
		h.Printf("done")
	})
	proctest.Register("array-set", func(h *proctest.Helper) {
		a, err := ctypes.OpenArray[int32](h.Args[0])
		if err != nil {
			h.Fatalf("OpenArray: %v", err)
		}
		h.Ready()
		if err := a.Set(0, 666); err != nil {
			h.Fatalf("Set: %v", err)
		}
		h.Printf("done")
	})
	proctest.Register("upper", func(h *proctest.Helper) {
		c, err := ctypes.OpenCharArray(h.Args[0])
		if err != nil {
			h.Fatalf("OpenCharArray: %v", err)
		}
		h.Ready()
		c.SetValue([]byte(strings.ToUpper(string(c.Value()))))
		h.Printf("done")
	})
	proctest.Register("square-points", func(h *proctest.Helper) {
		a, err := ctypes.OpenArray[Point](h.Args[0])
		if err != nil {
			h.Fatalf("OpenArray: %v", err)
		}
		h.Ready()
		a.Lock()
		for i, p := range a.Slice() {
			a.Set(i, Point{p.X * p.X, p.Y * p.Y})
		}
		a.Unlock()
		h.Printf("done")
	})
	// raw-incr adds 1 args[1] times to Value args[0] by Get and Set
	// without the lock (or with Add, if args[2] is "add").
	proctest.Register("raw-incr", func(h *proctest.Helper) {
		v, err := ctypes.OpenValue[int64](h.Args[0])
		if err != nil {
			h.Fatalf("OpenValue: %v", err)
		}
		n, _ := strconv.Atoi(h.Args[1])
		h.Ready()
		h.ReadLine()
		for range n {
			if h.Args[2] == "add" {
				v.Add(1)
			} else {
				v.Set(v.Get() + 1)
			}
		}
		h.Printf("done")
	})
	proctest.Register("hold-value", func(h *proctest.Helper) {
		v, err := ctypes.OpenValue[Point](h.Args[0])
		if err != nil {
			h.Fatalf("OpenValue: %v", err)
		}
		h.Ready()
		v.Lock()
		v.Set(Point{1, 2}) // a struct: Set takes the (recursive) lock too
		h.Printf("locked")
		select {}
	})
}

// TestValueIncrementedByProcesses is multiprocessing's classic: Value('i',
// 0) incremented under its lock by 20 processes ends at exactly 20.
func TestValueIncrementedByProcesses(t *testing.T) {
	v, err := ctypes.NewValue[int32](0)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, v)
	if v.Format() != "i" || !v.Synchronized() {
		t.Errorf("Format %q, Synchronized %v", v.Format(), v.Synchronized())
	}
	var ps []*proctest.Proc
	for range 20 {
		ps = append(ps, proctest.Start(t, "value-incr", v.Name()))
	}
	for _, p := range ps {
		p.Expect("done")
	}
	if got := v.Get(); got != 20 {
		t.Errorf("value = %d, want 20", got)
	}
}

func TestArrayChangedByChild(t *testing.T) {
	a, err := ctypes.NewArrayFrom([]int32{11, 22, 33, 44})
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, a)
	proctest.Start(t, "array-set", a.Name()).Expect("done")
	got := make([]int32, 4)
	a.CopyTo(got)
	if want := []int32{666, 22, 33, 44}; !equal(got, want) {
		t.Errorf("array = %v, want %v", got, want)
	}
}

func TestCharArrayUppercasedByChild(t *testing.T) {
	c, err := ctypes.NewCharArrayFrom([]byte("hello world"))
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, c)
	if c.Format() != "c" || c.Len() != 11 {
		t.Errorf("format %q, len %d", c.Format(), c.Len())
	}
	proctest.Start(t, "upper", c.Name()).Expect("done")
	if got := string(c.Value()); got != "HELLO WORLD" {
		t.Errorf("value = %q, want HELLO WORLD", got)
	}
}

func TestPointsSquaredByChild(t *testing.T) {
	a, err := ctypes.NewArrayFrom([]Point{{1.875, -6.25}, {-5.75, 2}, {2.375, 9.5}})
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, a)
	if a.Format() != "T{d:X:d:Y:}" {
		t.Errorf("format %q", a.Format())
	}
	proctest.Start(t, "square-points", a.Name()).Expect("done")
	want := []Point{{3.515625, 39.0625}, {33.0625, 4}, {5.640625, 90.25}}
	if diff := cmp.Diff(want, a.Slice()); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}
}

// TestRawValueLosesUpdates shows why the lock exists: two processes doing
// Set(Get()+1) on a raw value lose increments, and Add loses none.
func TestRawValueLosesUpdates(t *testing.T) {
	const each = 1_000_000
	run := func(mode string) int64 {
		v, err := ctypes.NewRawValue[int64](0)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { v.Close(); v.Unlink() }()
		a := proctest.Start(t, "raw-incr", v.Name(), strconv.Itoa(each), mode)
		b := proctest.Start(t, "raw-incr", v.Name(), strconv.Itoa(each), mode)
		a.Send("go")
		b.Send("go")
		a.Expect("done")
		b.Expect("done")
		return v.Get()
	}
	lost := false
	for try := 0; try < 5 && !lost; try++ {
		lost = run("getset") < 2*each
	}
	if !lost {
		t.Errorf("unsynchronized Get/Set from two processes never lost an update in 5 runs of 2×%d", each)
	}
	if got := run("add"); got != 2*each {
		t.Errorf("Add from two processes: %d, want %d", got, 2*each)
	}
}

// TestValueOwnerDeath kills a process holding a Value's lock: the next
// Acquire reports ErrOwnerDead, holding the lock, and the value is intact.
func TestValueOwnerDeath(t *testing.T) {
	v, err := ctypes.NewValue(Point{})
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, v)
	p := proctest.Start(t, "hold-value", v.Name())
	p.Expect("locked")
	p.Kill()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := v.Acquire(ctx); !errors.Is(err, ctypes.ErrOwnerDead) {
		t.Fatalf("Acquire after the holder died: %v, want ErrOwnerDead", err)
	}
	if got := v.Get(); got != (Point{1, 2}) {
		t.Errorf("value after the holder's death = %v, want {1 2}", got)
	}
	v.MarkConsistent()
	v.Release()
}

// TestValueOwnerDeathGetSet kills a process holding a struct Value's lock
// (Lock) and then uses the value without Acquire: Get and Set, which
// cannot return errors, take the lock over, copy under it and mark it
// consistent, so the lock stays usable; and when the lock is not
// recoverable they panic rather than copy without it.
func TestValueOwnerDeathGetSet(t *testing.T) {
	killedHolder := func(t *testing.T) *ctypes.Value[Point] {
		v, err := ctypes.NewValue(Point{})
		if err != nil {
			t.Fatal(err)
		}
		cleanup(t, v)
		p := proctest.Start(t, "hold-value", v.Name())
		p.Expect("locked")
		p.Kill()
		return v
	}
	usable := func(t *testing.T, v *ctypes.Value[Point]) {
		t.Helper()
		if err := v.Acquire(t.Context()); err != nil {
			t.Fatalf("Acquire after Get/Set took a dead holder's lock: %v, want nil", err)
		}
		v.Set(Point{5, 6})
		if got := v.Get(); got != (Point{5, 6}) {
			t.Errorf("Get inside Acquire = %v, want {5 6}", got)
		}
		if err := v.Release(); err != nil {
			t.Fatalf("Release: %v", err)
		}
	}
	t.Run("Get", func(t *testing.T) {
		v := killedHolder(t)
		if got := v.Get(); got != (Point{1, 2}) {
			t.Errorf("Get after the holder died = %v, want {1 2}", got)
		}
		usable(t, v)
	})
	t.Run("Set", func(t *testing.T) {
		v := killedHolder(t)
		v.Set(Point{3, 4})
		if got := payload[Point](t, v.Name()); got != (Point{3, 4}) {
			t.Errorf("value after Set = %v, want {3 4}", got)
		}
		usable(t, v)
	})
	t.Run("NotRecoverable", func(t *testing.T) {
		v := killedHolder(t)
		if err := v.Acquire(t.Context()); !errors.Is(err, ctypes.ErrOwnerDead) {
			t.Fatalf("Acquire after the holder died: %v, want ErrOwnerDead", err)
		}
		if err := v.Release(); !errors.Is(err, ctypes.ErrNotRecoverable) {
			t.Fatalf("Release without MarkConsistent: %v, want ErrNotRecoverable", err)
		}
		if msg := panicOf(func() { v.Get() }); !strings.HasPrefix(msg, "ctypes.Value.Get") {
			t.Errorf("Get of a value whose lock is not recoverable: panic %q, want one naming ctypes.Value.Get", msg)
		}
		if msg := panicOf(func() { v.Set(Point{7, 8}) }); !strings.HasPrefix(msg, "ctypes.Value.Set") {
			t.Errorf("Set of a value whose lock is not recoverable: panic %q, want one naming ctypes.Value.Set", msg)
		}
		if got := payload[Point](t, v.Name()); got != (Point{1, 2}) {
			t.Errorf("value after a refused Set = %v, want {1 2}: Set wrote without the lock", got)
		}
		if err := v.Acquire(t.Context()); !errors.Is(err, ctypes.ErrNotRecoverable) {
			t.Errorf("Acquire: %v, want ErrNotRecoverable", err)
		}
	})
}

// payload reads the first element of object name straight from its
// segment, without any lock.
func payload[T any](t *testing.T, name string) T {
	t.Helper()
	seg, err := shm.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	info, err := csrc.ValidateHeader(seg.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return *(*T)(unsafe.Pointer(&seg.Bytes()[info.PayloadOffset]))
}

// panicOf runs f and returns what it panicked with, as a string ("" if
// it did not panic).
func panicOf(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func TestGetSetAddCAS(t *testing.T) {
	v, err := ctypes.NewValue[float64](1.5)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, v)
	if n, err := v.Add(2); n != 3.5 || err != nil {
		t.Errorf("Add = %v, %v", n, err)
	}
	if ok, _ := v.CompareAndSwap(3.5, 7); !ok || v.Get() != 7 {
		t.Errorf("CompareAndSwap failed; value %v", v.Get())
	}
	if ok, _ := v.CompareAndSwap(3.5, 8); ok {
		t.Errorf("CompareAndSwap with a stale old value succeeded")
	}
	b, err := ctypes.NewArray[int8](5)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, b)
	b.Set(1, 100)
	if n, _ := b.Add(1, 27); n != 127 {
		t.Errorf("int8 Add = %d", n)
	}
	if n, _ := b.Add(1, 1); n != -128 {
		t.Errorf("int8 Add wraps to %d, want -128", n)
	}
	if x, _ := b.At(0); x != 0 {
		t.Errorf("neighbour changed to %d", x)
	}
	if x, _ := b.At(2); x != 0 {
		t.Errorf("neighbour changed to %d", x)
	}
	bv, _ := ctypes.NewValue(true)
	cleanup(t, bv)
	if _, err := bv.Add(true); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Add on a bool: %v, want fs.ErrInvalid", err)
	}
	// Inside the lock, Get and Set of a struct (which lock) do not
	// deadlock.
	pv, _ := ctypes.NewValue(Point{1, 1})
	cleanup(t, pv)
	pv.Lock()
	pv.Set(Point{pv.Get().X + 1, 0})
	pv.Unlock()
	if pv.Get().X != 2 {
		t.Errorf("point = %v", pv.Get())
	}
}

func TestArrayErrors(t *testing.T) {
	a, err := ctypes.NewArray[int32](3)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, a)
	if _, err := a.At(3); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("At(3): %v", err)
	}
	if err := a.Set(-1, 0); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Set(-1): %v", err)
	}
	if err := a.CopyFrom(make([]int32, 4)); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("CopyFrom of 4 into 3: %v", err)
	}
	if _, err := ctypes.NewArray[int32](-1); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("NewArray(-1): %v", err)
	}
	if _, err := ctypes.NewArray[int32](3, ctypes.Initial([]int32{1, 2})); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Initial of 2 for 3: %v", err)
	}
	if _, err := ctypes.NewArray[int32](2, ctypes.Initial([]int64{1, 2})); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Initial of the wrong type: %v", err)
	}
	c, _ := ctypes.NewCharArray(5)
	cleanup(t, c)
	if err := c.SetValue([]byte("too long")); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("SetValue longer than the array: %v", err)
	}
	c.SetValue([]byte("ab"))
	if string(c.Value()) != "ab" || len(c.Raw()) != 5 {
		t.Errorf("Value %q, Raw %q", c.Value(), c.Raw())
	}
	w, _ := ctypes.NewWCharArrayFrom("héllo")
	cleanup(t, w)
	if w.Value() != "héllo" || w.Len() != 5 || w.Format() != "u" {
		t.Errorf("wchar array %q, len %d, format %q", w.Value(), w.Len(), w.Format())
	}
	if err := w.SetValue("toolong"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("wchar SetValue too long: %v", err)
	}
}

func TestTypesRefused(t *testing.T) {
	type withString struct {
		A int32
		S string
	}
	type inner struct{ P *int }
	type nested struct {
		X     float64
		Inner inner
	}
	cases := map[string]error{
		"Go int":            errOf(ctypes.NewValue(0)),
		"string field":      errOf(ctypes.NewValue(withString{})),
		"nested pointer":    errOf(ctypes.NewValue(nested{})),
		"slice":             errOf(ctypes.NewValue([]int32{1})),
		"complex":           errOf(ctypes.NewValue(complex64(1))),
		"empty struct":      errOf(ctypes.NewValue(struct{}{})),
		"zero-length array": errOf(ctypes.NewValue([0]int32{})),
	}
	for what, err := range cases {
		if !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%s: %v, want fs.ErrInvalid", what, err)
		}
	}
	if err := cases["nested pointer"]; err == nil || !strings.Contains(err.Error(), "Inner.P") {
		t.Errorf("the error %q does not name the field Inner.P", err)
	}
	if err := cases["string field"]; err == nil || !strings.Contains(err.Error(), "field S") {
		t.Errorf("the error %q does not name the field S", err)
	}
}

func errOf[T any](v *ctypes.Value[T], err error) error {
	if err == nil {
		v.Close()
		v.Unlink()
	}
	return err
}

func TestOpenChecksType(t *testing.T) {
	v, err := ctypes.NewValue[int32](5)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, v)
	_, err = ctypes.OpenValue[float64](v.Name())
	if !errors.Is(err, ctypes.ErrTypeMismatch) || !strings.Contains(err.Error(), `"i"`) || !strings.Contains(err.Error(), `"d"`) {
		t.Errorf("OpenValue[float64] of an int32: %v, want ErrTypeMismatch naming both formats", err)
	}
	if _, err := ctypes.OpenArray[int32](v.Name()); !errors.Is(err, ctypes.ErrTypeMismatch) {
		t.Errorf("OpenArray of a Value: %v, want ErrTypeMismatch", err)
	}
	if _, err := ctypes.OpenValue[int32]("mps-test-missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenValue of a missing name: %v", err)
	}
	// 'l' and 'q' are the same C type on Linux: a Go int64 opens either.
	l, err := ctypes.ValueOf("l", 9)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, l)
	if w, err := ctypes.OpenValue[int64](l.Name()); err != nil || w.Get() != 9 {
		t.Errorf("OpenValue[int64] of an 'l' value: %v", err)
	} else {
		w.Close()
	}
	seg, err := shm.Create("", 256)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, seg)
	copy(seg.Bytes(), "garbage")
	if _, err := ctypes.OpenValue[int32](seg.Name()); !errors.Is(err, ctypes.ErrCorrupt) {
		t.Errorf("OpenValue of garbage: %v, want ErrCorrupt", err)
	}
}

func TestDynamic(t *testing.T) {
	v, err := ctypes.ValueOf("i", 7)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, v)
	if v.Get() != int32(7) || v.Format() != "i" {
		t.Errorf("ValueOf(i, 7): %v (%T), %q", v.Get(), v.Get(), v.Format())
	}
	if err := v.Set(1 << 40); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Set of an out-of-range value: %v", err)
	}
	if err := v.Set("x"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Set of a string: %v", err)
	}
	a, err := ctypes.ArrayOf("d", 10)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, a)
	if a.Len() != 10 {
		t.Errorf("ArrayOf(d, 10) has %d elements", a.Len())
	}
	b, err := ctypes.ArrayOf("i", []int32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, b)
	again, err := ctypes.OpenDynArray(b.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if x, _ := again.At(2); x != int32(3) {
		t.Errorf("OpenDynArray element 2 = %v", x)
	}
	c, err := ctypes.ArrayOf("c", "hello")
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, c)
	if x, _ := c.At(1); x != ctypes.Char('e') {
		t.Errorf("ArrayOf(c, hello)[1] = %v", x)
	}
	bad := map[string]error{
		"typecode of 2 chars": errOfDyn(ctypes.ValueOf("ii", 1)),
		"unknown typecode":    errOfDyn(ctypes.ValueOf("z", 1)),
		"out of range":        errOfDyn(ctypes.ValueOf("b", 200)),
		"negative unsigned":   errOfDyn(ctypes.ValueOf("I", -1)),
		"float for int":       errOfDyn(ctypes.ValueOf("i", 1.5)),
		"bad init element":    errOfDynA(ctypes.ArrayOf("i", []any{1, "x"})),
		"negative size":       errOfDynA(ctypes.ArrayOf("i", -3)),
		"wrong init type":     errOfDynA(ctypes.ArrayOf("i", 2.5)),
	}
	for what, err := range bad {
		if !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%s: %v, want fs.ErrInvalid", what, err)
		}
	}
	if err := bad["unknown typecode"]; err == nil || !strings.Contains(err.Error(), "cubBhHiIlLqQfd?") {
		t.Errorf("the unknown-typecode error %q does not list the valid ones", err)
	}
}

// TestDynEveryTypecode makes a Value of each typecode and opens it again:
// each comes back as its typecode's Go type.
func TestDynEveryTypecode(t *testing.T) {
	want := map[string]any{
		"c": ctypes.Char(1), "u": ctypes.WChar(1), "b": int8(1), "B": uint8(1), "h": int16(1), "H": uint16(1),
		"i": int32(1), "I": uint32(1), "l": int64(1), "L": uint64(1), "q": int64(1), "Q": uint64(1),
		"f": float32(1), "d": float64(1), "?": true,
	}
	for code, x := range want {
		init := any(1)
		if code == "?" {
			init = true
		}
		v, err := ctypes.ValueOf(code, init)
		kept(t, v, err)
		again, err := ctypes.OpenDynValue(v.Name())
		if err != nil {
			t.Fatalf("OpenDynValue of a %q: %v", code, err)
		}
		if got := again.Get(); got != x {
			t.Errorf("typecode %q: OpenDynValue gives %v (%T), want %v (%T)", code, got, got, x, x)
		}
		again.Close()
	}
}

// TestDynUnknownTypecode checks that a typecode not in the table is an
// error that names the call, the argument and the typecode.
func TestDynUnknownTypecode(t *testing.T) {
	for op, err := range map[string]error{
		"ctypes.ValueOf": errOfDyn(ctypes.ValueOf("z", 1)),
		"ctypes.ArrayOf": errOfDynA(ctypes.ArrayOf("z", 1)),
	} {
		if !errors.Is(err, fs.ErrInvalid) || !strings.HasPrefix(err.Error(), op) ||
			!strings.Contains(err.Error(), "typecode") || !strings.Contains(err.Error(), `"z"`) {
			t.Errorf("%s of typecode z: %v, want fs.ErrInvalid naming %s, the typecode argument and \"z\"", op, err, op)
		}
	}
}

// TestDynOpenKind checks that OpenDynValue and OpenDynArray open the
// object once, as the kind they were asked for: an object of the other
// kind, or one whose format is not a typecode, is ErrTypeMismatch
// reported by the call made.
func TestDynOpenKind(t *testing.T) {
	v, err := ctypes.ValueOf("i", 7)
	kept(t, v, err)
	a, err := ctypes.ArrayOf("i", 3)
	kept(t, a, err)
	p, err := ctypes.NewValue(Point{})
	kept(t, p, err)
	for what, c := range map[string]struct {
		op  string
		err error
	}{
		"an array as a value": {"ctypes.OpenDynValue", errOfDyn(ctypes.OpenDynValue(a.Name()))},
		"a value as an array": {"ctypes.OpenDynArray", errOfDynA(ctypes.OpenDynArray(v.Name()))},
		"a struct value":      {"ctypes.OpenDynValue", errOfDyn(ctypes.OpenDynValue(p.Name()))},
	} {
		if !errors.Is(c.err, ctypes.ErrTypeMismatch) || !strings.HasPrefix(c.err.Error(), c.op+" ") {
			t.Errorf("%s: %v, want ErrTypeMismatch from %s", what, c.err, c.op)
		}
	}
}

func errOfDyn(v *ctypes.DynValue, err error) error {
	if err == nil {
		v.Close()
		v.Unlink()
	}
	return err
}

func errOfDynA(v *ctypes.DynArray, err error) error {
	if err == nil {
		v.Close()
		v.Unlink()
	}
	return err
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWithLockAndGetLock(t *testing.T) {
	l, err := semaphore.NewRLock()
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, l)
	v, err := ctypes.NewValue[int64](0, ctypes.WithLock(l))
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, v)
	if v.Synchronized() || v.GetLock() != sync.Locker(l) {
		t.Errorf("a Value with a caller's lock: Synchronized %v, GetLock %v", v.Synchronized(), v.GetLock())
	}
	v.Lock() // locks l
	if held, _ := l.HeldByMe(); !held {
		t.Errorf("Lock did not take the caller's lock")
	}
	v.Unlock()
	// Another handle opened with the same lock shares it.
	w, err := ctypes.OpenValue[int64](v.Name(), ctypes.WithLock(l))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.GetLock() != sync.Locker(l) {
		t.Errorf("opened handle does not use the given lock")
	}
	raw, _ := ctypes.NewRawValue[int32](1)
	cleanup(t, raw)
	if raw.GetLock() != nil || raw.Synchronized() {
		t.Errorf("a raw value has a lock")
	}
	if err := raw.Acquire(t.Context()); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Acquire of a raw value: %v, want fs.ErrInvalid", err)
	}
	sv, _ := ctypes.NewValue[int32](1)
	cleanup(t, sv)
	if sv.GetLock() == nil {
		t.Errorf("a synchronized value has no lock")
	}
}

// TestBulkCopy checks CopyFrom and CopyTo on both sides of the size from
// which they hand copies to C.
func TestBulkCopy(t *testing.T) {
	for _, n := range []int{10, 100_000} {
		src := make([]int32, n)
		for i := range src {
			src[i] = int32(i * 7)
		}
		a, err := ctypes.NewArray[int32](n)
		if err != nil {
			t.Fatal(err)
		}
		cleanup(t, a)
		if err := a.CopyFrom(src); err != nil {
			t.Fatal(err)
		}
		dst := make([]int32, n+5)
		if got := a.CopyTo(dst); got != n || !equal(dst[:n], src) {
			t.Errorf("n=%d: CopyTo copied %d, contents equal: %v", n, got, equal(dst[:n], src))
		}
		if x, _ := a.At(n - 1); x != int32((n-1)*7) {
			t.Errorf("n=%d: last element %d", n, x)
		}
	}
}
