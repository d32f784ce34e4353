package cdll_test

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/internal/cbuild"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
)

// TestPythonSharesLockAndValue: a Python process loads libmpsync.so with
// Python's own ctypes and, together with this Go process, increments an
// mpsync Value under an mpsync Lock, both opened by name: the count is
// exact.
func TestPythonSharesLockAndValue(t *testing.T) {
	const each = 3000
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is required for the cross-language tests: %v", err)
	}
	lib := cbuild.Build(t)
	l, err := semaphore.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { l.Close(); l.Unlink() }()
	v, err := ctypes.NewRawValue[int64](0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { v.Close(); v.Unlink() }()
	p := proctest.Exec(t, python, "testdata/lock_value.py", l.Name(), v.Name(), strconv.Itoa(each))
	p.Cmd.Env = append(p.Cmd.Environ(), "MPSYNC_LIB="+filepath.Join(lib.Dir, "libmpsync.so.0"))
	p.Start()
	p.Send("go")
	for range each {
		l.Lock()
		v.Set(v.Get() + 1)
		l.Unlock()
	}
	p.Expect("done")
	if err := p.Wait(); err != nil {
		t.Fatalf("python: %v\n%s", err, p.Stderr())
	}
	if got := v.Get(); got != 2*each {
		t.Errorf("value = %d, want %d", got, 2*each)
	}
}
