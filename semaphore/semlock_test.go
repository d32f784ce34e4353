package semaphore_test

import (
	"context"
	"errors"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mpsync/mpsync/internal/cbuild"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
)

func init() {
	// semlock-count opens SemLock args[0] as a Lock (kind 1, max 1) and
	// adds 1 to the counter of segment args[1] args[2] times under it.
	proctest.Register("semlock-count", func(h *proctest.Helper) {
		l, err := semaphore.OpenSemLock(h.Args[0], semaphore.SemaphoreKind, 1)
		if err != nil {
			h.Fatalf("OpenSemLock: %v", err)
		}
		c := counter(openSeg(h, h.Args[1]))
		n, _ := strconv.Atoi(h.Args[2])
		h.Ready()
		h.ReadLine()
		for range n {
			l.Lock()
			*c++
			l.Unlock()
		}
		h.Printf("done")
	})
}

func TestSemLockSemantics(t *testing.T) {
	for _, tc := range []struct {
		kind, value, max int
	}{{2, 1, 1}, {1, 2, 1}, {1, -1, 1}, {1, 1, 0}, {1, 0, -1}, {0, 0, 0}} {
		if _, err := semaphore.NewSemLock(tc.kind, tc.value, tc.max, ""); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("NewSemLock(%d, %d, %d): %v, want fs.ErrInvalid", tc.kind, tc.value, tc.max, err)
		}
	}
	r, err := semaphore.NewSemLock(semaphore.RecursiveMutex, 1, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Unlink()
	defer r.Close()
	if !strings.HasPrefix(r.Name(), "mps-") {
		t.Errorf("random SemLock name %q", r.Name())
	}
	ctx := t.Context()
	r.Acquire(ctx)
	r.Acquire(ctx)
	if !r.IsMine() || r.Count() != 2 {
		t.Errorf("IsMine %v, Count %d after two acquisitions", r.IsMine(), r.Count())
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := r.Release(); !errors.Is(err, semaphore.ErrNotOwner) {
			t.Errorf("Release by another goroutine: %v, want ErrNotOwner", err)
		}
	}()
	wg.Wait()
	r.Release()
	r.Release()
	if v, _ := r.Value(); v != 1 {
		t.Errorf("value %d after full release, want 1", v)
	}

	l, err := semaphore.NewSemLock(semaphore.SemaphoreKind, 1, 1, "mps-test-semlock")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlink()
	defer l.Close()
	if _, err := semaphore.NewSemLock(semaphore.SemaphoreKind, 1, 1, "/mps-test-semlock"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("NewSemLock of an existing name: %v, want fs.ErrExist", err)
	}
	if err := l.Release(); !errors.Is(err, semaphore.ErrTooManyReleases) {
		t.Errorf("release of a free lock: %v, want ErrTooManyReleases", err)
	}
	if _, err := semaphore.OpenSemLock("mps-test-no-such-sem", 1, 1); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenSemLock of a missing name: %v", err)
	}
	l.Close()
	if err := l.Acquire(ctx); !errors.Is(err, semaphore.ErrClosed) {
		t.Errorf("Acquire after Close: %v", err)
	}
}

// TestSemLockWithGlibc has a C process using glibc's sem_wait and sem_post
// and a Go process using SemLock increment one counter under the same
// named semaphore at the same time: the count is exact.
func TestSemLockWithGlibc(t *testing.T) {
	const each = 100000
	exe := filepath.Join(t.TempDir(), "glibc_sem")
	cbuild.Run(t, cbuild.CC(), "-O2", "-Wall", "-Werror", "-pthread", "-o", exe, "testdata/glibc_sem.c")
	l, err := semaphore.NewSemLock(semaphore.SemaphoreKind, 1, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlink()
	defer l.Close()
	seg := newSegment(t, 8)
	c := proctest.Exec(t, exe, l.Name(), seg.Name(), strconv.Itoa(each))
	c.Start()
	g := proctest.Start(t, "semlock-count", l.Name(), seg.Name(), strconv.Itoa(each))
	c.Send("go")
	g.Send("go")
	c.Expect("done")
	g.Expect("done")
	if got := *counter(seg); got != 2*each {
		t.Errorf("counter = %d, want %d", got, 2*each)
	}
}

func python(t *testing.T) string {
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is required for the cross-language tests: %v", err)
	}
	return p
}

// TestSemLockWithPython shares multiprocessing's own Lock, Semaphore and
// BoundedSemaphore(0) with Go, in both directions.
func TestSemLockWithPython(t *testing.T) {
	const each = 2000
	ctx := t.Context()
	seg := newSegment(t, 8)

	// Python creates; Go opens by name.
	py := proctest.Exec(t, python(t), "testdata/peer_semlock.py", "create")
	py.Start()
	f := strings.Fields(py.Recv())
	if len(f) != 4 || f[0] != "names" {
		t.Fatalf("python said %q", f)
	}
	lock, err := semaphore.OpenSemLock(f[1], semaphore.SemaphoreKind, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	sem, err := semaphore.OpenSemLock(f[2], semaphore.SemaphoreKind, semaphore.ValueMax)
	if err != nil {
		t.Fatal(err)
	}
	defer sem.Close()
	// Python's BoundedSemaphore(0) has maxvalue 0: never acquirable, and
	// every release fails, in Python (ValueError) as in Go.
	zero, err := semaphore.OpenSemLock(f[3], semaphore.SemaphoreKind, 0)
	if err != nil {
		t.Fatalf("OpenSemLock of Python's BoundedSemaphore(0): %v", err)
	}
	defer zero.Close()
	if ok, _ := zero.TryAcquire(); ok {
		t.Errorf("Go acquired Python's BoundedSemaphore(0)")
	}
	if err := zero.Release(); !errors.Is(err, semaphore.ErrTooManyReleases) {
		t.Errorf("Go release of Python's BoundedSemaphore(0): %v, want ErrTooManyReleases", err)
	}
	py.Send("release-zero")
	py.Expect("ValueError")
	py.Send("acquire-sem")
	py.Expect("ok")
	py.Send("acquire-sem")
	py.Expect("ok")
	if ok, _ := sem.TryAcquire(); ok {
		t.Errorf("Go acquired a semaphore Python had taken to 0")
	}
	py.Send("release-sem")
	py.Expect("ok")
	if err := sem.Acquire(ctx); err != nil {
		t.Errorf("Go Acquire after Python's release: %v", err)
	}
	sem.Release()
	py.Send("count %s %d", seg.Name(), each)
	for range each {
		lock.Lock()
		*counter(seg)++
		lock.Unlock()
	}
	py.Expect("counted")
	py.Send("exit")
	if err := py.Wait(); err != nil {
		t.Fatalf("python: %v\n%s", err, py.Stderr())
	}
	if got := *counter(seg); got != 2*each {
		t.Errorf("counter = %d, want %d", got, 2*each)
	}

	// Go creates; Python rebuilds it from the name.
	*counter(seg) = 0
	mine, err := semaphore.NewSemLock(semaphore.SemaphoreKind, 1, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Unlink()
	defer mine.Close()
	py = proctest.Exec(t, python(t), "testdata/peer_semlock.py", "open", mine.Name())
	py.Start()
	py.Send("count %s %d", seg.Name(), each)
	for range each {
		if err := mine.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
		*counter(seg)++
		mine.Release()
	}
	py.Expect("counted")
	py.Send("exit")
	if err := py.Wait(); err != nil {
		t.Fatalf("python: %v\n%s", err, py.Stderr())
	}
	if got := *counter(seg); got != 2*each {
		t.Errorf("counter = %d, want %d", got, 2*each)
	}
}
