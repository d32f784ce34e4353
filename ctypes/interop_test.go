package ctypes_test

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/internal/cbuild"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
)

// objects makes the Go side of the cross-language tests.
func objects(t *testing.T) (*ctypes.Value[int32], *ctypes.Array[Point], *ctypes.CharArray) {
	v, err := ctypes.NewValue[int32](41)
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, v)
	p, err := ctypes.NewArrayFrom([]Point{{1.5, 2.5}, {-3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, p)
	c, err := ctypes.NewCharArrayFrom([]byte("hello world"))
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, c)
	return v, p, c
}

// TestCReadsAndWrites has a C program read what Go wrote (an int, a struct
// array, a char array) and write values Go reads back.
func TestCReadsAndWrites(t *testing.T) {
	lib := cbuild.Build(t)
	exe := lib.Program(t, "testdata/peer_value.c")
	v, p, c := objects(t)
	peer := proctest.Exec(t, exe, v.Name(), p.Name(), c.Name())
	peer.Start()
	peer.Expect("value 41")
	peer.Expect("points 1.5,2.5 -3,4")
	peer.Expect("chars hello world")
	peer.Expect("written")
	if err := peer.Wait(); err != nil {
		t.Fatalf("C peer: %v\n%s", err, peer.Stderr())
	}
	if v.Get() != 42 {
		t.Errorf("value = %d after C's increment, want 42", v.Get())
	}
	if got, _ := p.At(0); got != (Point{10, 20}) {
		t.Errorf("point 0 = %v after C's write, want {10 20}", got)
	}
}

// TestPythonReadsAndWrites has Python, through the mpsync package on
// libmpsync, share a Value (incrementing it under its lock together with
// Go), a struct array and a char array with Go.
func TestPythonReadsAndWrites(t *testing.T) {
	const each = 2000
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is required for the cross-language tests: %v", err)
	}
	lib := cbuild.Build(t)
	v, p, c := objects(t)
	v.Set(0)
	peer := proctest.Exec(t, python, "testdata/peer_value.py", v.Name(), p.Name(), c.Name(), strconv.Itoa(each))
	peer.Cmd.Env = append(peer.Cmd.Environ(), "MPSYNC_LIB="+filepath.Join(lib.Dir, "libmpsync.so.0"))
	peer.Start()
	peer.Expect("points 1.5,2.5 -3,4")
	peer.Send("go")
	for range each {
		v.Lock()
		v.Set(v.Get() + 1)
		v.Unlock()
	}
	peer.Expect("done i T{d:X:d:Y:} c")
	if err := peer.Wait(); err != nil {
		t.Fatalf("python: %v\n%s", err, peer.Stderr())
	}
	if got := v.Get(); got != 2*each {
		t.Errorf("value = %d, want %d (Go and Python incrementing under one lock)", got, 2*each)
	}
	if got, _ := p.At(1); got != (Point{7.5, -1}) {
		t.Errorf("point 1 = %v, want {7.5 -1}", got)
	}
	if got := string(c.Value()); got != "HELLO WORLD" {
		t.Errorf("chars = %q, want HELLO WORLD", got)
	}
}

// TestPythonAfterClose has the mpsync package use Values, Arrays and
// Locks after close(): every accessor raises ValueError, where it used to
// touch the unmapped memory and crash the interpreter.
func TestPythonAfterClose(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is required for the cross-language tests: %v", err)
	}
	lib := cbuild.Build(t)
	v, p, c := objects(t)
	pt, err := ctypes.NewValue(Point{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, pt)
	l, err := semaphore.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, l)
	peer := proctest.Exec(t, python, "testdata/peer_closed.py", v.Name(), pt.Name(), p.Name(), c.Name(), l.Name())
	peer.Cmd.Env = append(peer.Cmd.Environ(), "MPSYNC_LIB="+filepath.Join(lib.Dir, "libmpsync.so.0"))
	peer.Start()
	for {
		line := peer.Recv()
		if strings.HasPrefix(line, "done ") {
			break
		}
		t.Error("python: " + line)
	}
	if err := peer.Wait(); err != nil {
		t.Fatalf("python: %v\n%s", err, peer.Stderr())
	}
}
