package semaphore_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mpsync/mpsync/internal/cbuild"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
)

var (
	libOnce sync.Once
	lib     *cbuild.Lib
	peerExe = map[string]string{}
)

// cPeer builds libmpsync once per test binary, and the C program src
// (relative to csrc) once, and returns the program's path.
func cPeer(t *testing.T, src string) string {
	t.Helper()
	libOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mpsync-semaphore-c-")
		if err != nil {
			t.Fatal(err)
		}
		proctest.AtExit(func() { os.RemoveAll(dir) })
		lib = cbuild.BuildIn(t, dir)
	})
	if lib == nil {
		t.Fatal("libmpsync did not build (see the first test that needed it)")
	}
	if peerExe[src] == "" {
		peerExe[src] = lib.Program(t, src)
	}
	return peerExe[src]
}

// peerLock builds the C lock peer against libmpsync.
func peerLock(t *testing.T) string { return cPeer(t, "testdata/peer_lock.c") }

// TestLockCounterWithC is TestLockCounter with two C processes among the
// four: Go and C contend on the same lock word, and C's releases by
// subtraction race Go's and C's waiters setting the waiters bit.
func TestLockCounterWithC(t *testing.T) {
	const each = 100000
	exe := peerLock(t)
	l := newLock(t)
	seg := newSegment(t, 8)
	var ps []*proctest.Proc
	for range 2 {
		c := proctest.Exec(t, exe, "count", l.Name(), seg.Name(), strconv.Itoa(each))
		c.Start()
		ps = append(ps, c)
	}
	for range 2 {
		ps = append(ps, proctest.Start(t, "increment", l.Name(), seg.Name(), strconv.Itoa(each)))
	}
	for _, p := range ps {
		p.Send("go")
	}
	for _, p := range ps {
		p.Expect("done")
	}
	if got := *counter(seg); got != 4*each {
		t.Errorf("counter = %d, want %d", got, 4*each)
	}
	if _, word := raw(t, l.Name()); word.Load() != 0 {
		t.Errorf("lock word after the last release %#x, want 0", word.Load())
	}
}

// TestOwnerDeathAcrossLanguages kills a C holder (Go recovers the lock)
// and a Go holder (C recovers it).
func TestOwnerDeathAcrossLanguages(t *testing.T) {
	exe := peerLock(t)
	l := newLock(t)
	seg := newSegment(t, 8)

	c := proctest.Exec(t, exe, "hold", l.Name())
	c.Start()
	c.Expect("locked")
	c.Kill()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := l.Acquire(ctx); !errors.Is(err, semaphore.ErrOwnerDead) {
		t.Fatalf("Go Acquire after the C holder died: %v, want ErrOwnerDead", err)
	}
	l.MarkConsistent()
	l.Release()

	g := proctest.Start(t, "hold", l.Name(), seg.Name())
	g.Expect("locked")
	g.Kill()
	c = proctest.Exec(t, exe, "acquire", l.Name())
	c.Start()
	c.Expect("acquired " + strconv.Itoa(-int(syscall.EOWNERDEAD)))
	if err := c.Wait(); err != nil {
		t.Fatalf("C peer: %v\n%s", err, c.Stderr())
	}
	if locked, _, _ := l.Locked(); locked {
		t.Errorf("the lock is still held after the C peer released it")
	}
}
