package semaphore_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

func TestMain(m *testing.M) { proctest.Main(m) }

// newLock makes a Lock that the test unlinks.
func newLock(t testing.TB) *semaphore.Lock {
	t.Helper()
	l, err := semaphore.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		l.Unlink()
	})
	return l
}

// newSegment makes a shared segment that the test unlinks.
func newSegment(t testing.TB, size int) *shm.Segment {
	t.Helper()
	seg, err := shm.Create("", size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		seg.Close()
		seg.Unlink()
	})
	return seg
}

// counter is a plain (non-atomic) int64 in a shared segment, the classic
// state a lock protects.
func counter(seg *shm.Segment) *int64 { return (*int64)(unsafe.Pointer(&seg.Bytes()[0])) }

func init() {
	// increment opens lock args[0] and segment args[1] and adds 1 to the
	// counter args[2] times under the lock, after an order from the
	// parent so that all helpers start together.
	proctest.Register("increment", func(h *proctest.Helper) {
		l, err := semaphore.OpenLock(h.Args[0])
		if err != nil {
			h.Fatalf("OpenLock: %v", err)
		}
		seg, err := shm.Open(h.Args[1])
		if err != nil {
			h.Fatalf("shm.Open: %v", err)
		}
		n, _ := strconv.Atoi(h.Args[2])
		c := counter(seg)
		h.Ready()
		h.ReadLine()
		for range n {
			l.Lock()
			*c++
			l.Unlock()
		}
		h.Printf("done")
	})
	// hold acquires lock args[0], says "locked" and then its identity (in
	// hex), and works inside the critical section (changing a shared
	// word) until it is killed.
	proctest.Register("hold", func(h *proctest.Helper) {
		l, err := semaphore.OpenLock(h.Args[0])
		if err != nil {
			h.Fatalf("OpenLock: %v", err)
		}
		seg, err := shm.Open(h.Args[1])
		if err != nil {
			h.Fatalf("shm.Open: %v", err)
		}
		c := counter(seg)
		h.Ready()
		if err := l.Acquire(context.Background()); err != nil && !errors.Is(err, semaphore.ErrOwnerDead) {
			h.Fatalf("Acquire: %v", err)
		}
		h.Printf("locked")
		self, err := proc.Self()
		if err != nil {
			h.Fatalf("proc.Self: %v", err)
		}
		h.Printf("%x", self) // its identity: a test may pin its registry
		for {
			*c++
		}
	})
}

func TestLockBasics(t *testing.T) {
	l := newLock(t)
	ctx := t.Context()
	if err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if locked, pid, dead := l.Locked(); !locked || pid != os.Getpid() || dead {
		t.Errorf("Locked() = %v, %d, %v; want true, %d, false", locked, pid, dead, os.Getpid())
	}
	if ok, err := l.TryAcquire(); ok || err != nil {
		t.Errorf("TryAcquire of a held lock = %v, %v", ok, err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); !errors.Is(err, semaphore.ErrNotOwner) {
		t.Errorf("Release of an unlocked lock: %v, want ErrNotOwner", err)
	}
	if ok, err := l.TryAcquire(); !ok || err != nil {
		t.Errorf("TryAcquire of a free lock = %v, %v", ok, err)
	}
	l.Unlock()

	// A done context fails even when the lock is free.
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Acquire(done); !errors.Is(err, context.Canceled) {
		t.Errorf("Acquire with a done context: %v", err)
	}
	if locked, _, _ := l.Locked(); locked {
		t.Errorf("a failed Acquire left the lock held")
	}
}

func TestLockBadInput(t *testing.T) {
	if _, err := semaphore.OpenLock("mps-test-no-such-lock"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenLock of a missing name: %v, want fs.ErrNotExist", err)
	}
	if _, err := semaphore.OpenLock("a/b/c"); !errors.Is(err, fs.ErrInvalid) { // "a/b" is object b of arena a
		t.Errorf("OpenLock(a/b/c): %v, want fs.ErrInvalid", err)
	}
	e, err := semaphore.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Unlink()
	defer e.Close()
	_, err = semaphore.OpenLock(e.Name())
	if !errors.Is(err, semaphore.ErrTypeMismatch) || !bytes.Contains([]byte(err.Error()), []byte("event")) || !bytes.Contains([]byte(err.Error()), []byte("lock")) {
		t.Errorf("OpenLock of an event: %v, want ErrTypeMismatch naming both kinds", err)
	}
	// A plain segment is not an mpsync object.
	seg := newSegment(t, 4096)
	if _, err := semaphore.OpenLock(seg.Name()); err == nil {
		t.Errorf("OpenLock of a zeroed segment succeeded")
	}
	copy(seg.Bytes(), "JUNK")
	if _, err := semaphore.OpenLock(seg.Name()); !errors.Is(err, semaphore.ErrCorrupt) {
		t.Errorf("OpenLock of a segment of junk: %v, want ErrCorrupt", err)
	}

	l, err := semaphore.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlink()
	l.Close()
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := l.Acquire(t.Context()); !errors.Is(err, semaphore.ErrClosed) {
		t.Errorf("Acquire after Close: %v, want ErrClosed", err)
	}
	if _, err := l.TryAcquire(); !errors.Is(err, semaphore.ErrClosed) {
		t.Errorf("TryAcquire after Close: %v, want ErrClosed", err)
	}
	if err := l.Release(); !errors.Is(err, semaphore.ErrClosed) {
		t.Errorf("Release after Close: %v, want ErrClosed", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Lock after Close did not panic")
			}
		}()
		l.Lock()
	}()

	// A lock held when its handle closes stays held; its Unlock panics.
	held, err := semaphore.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlink()
	held.Lock()
	held.Close()
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Unlock after Close did not panic")
			}
		}()
		held.Unlock()
	}()
}

// TestLockCounter has 4 processes add 100,000 each to a plain shared int
// under one Lock: the total is exact.
func TestLockCounter(t *testing.T) {
	const procs, each = 4, 100000
	l := newLock(t)
	seg := newSegment(t, 8)
	var ps []*proctest.Proc
	for range procs {
		ps = append(ps, proctest.Start(t, "increment", l.Name(), seg.Name(), strconv.Itoa(each)))
	}
	for _, p := range ps {
		p.Send("go")
	}
	for _, p := range ps {
		p.Expect("done")
	}
	if got := *counter(seg); got != procs*each {
		t.Errorf("counter = %d, want %d", got, procs*each)
	}
}

// TestLockWaitersBitAlone: a lock word of the waiters bit alone, which a
// C release by subtraction leaves when a waiter set the bit after the
// releaser looked (mpsync.h), is a free lock: Go takes it keeping the bit
// (someone may sleep), and the release, on the slow path then, empties
// the word.
func TestLockWaitersBitAlone(t *testing.T) {
	const waiters = 1 << 31
	l := newLock(t)
	_, word := raw(t, l.Name())
	self := proc.MustSelf()
	takes := []struct {
		name string
		take func() error
	}{
		{"TryAcquire", func() error {
			ok, err := l.TryAcquire()
			if !ok && err == nil {
				err = errors.New("the lock was not taken")
			}
			return err
		}},
		{"Acquire", func() error { return l.Acquire(t.Context()) }},
	}
	for _, tc := range takes {
		word.Store(waiters)
		if locked, pid, _ := l.Locked(); locked || pid != 0 {
			t.Errorf("%s: the waiters bit alone reads as Locked() = %v, pid %d; want free", tc.name, locked, pid)
		}
		if err := tc.take(); err != nil {
			t.Fatalf("%s of a word of the waiters bit alone: %v", tc.name, err)
		}
		if w := word.Load(); w != self|waiters {
			t.Errorf("%s: word %#x, want the identity with the waiters bit %#x", tc.name, w, self|waiters)
		}
		if err := l.Release(); err != nil {
			t.Fatalf("%s: Release: %v", tc.name, err)
		}
		if w := word.Load(); w != 0 {
			t.Errorf("%s: word after Release %#x, want 0", tc.name, w)
		}
	}
}

// TestOwnerDeath kills a lock holder with SIGKILL at a random point in its
// critical section, 200 times: each time the next acquirer (Acquire and
// TryAcquire in turn) gets the lock with ErrOwnerDead, never hangs, and
// its release leaves the lock area clean.
func TestOwnerDeath(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	l := newLock(t)
	seg := newSegment(t, 8)
	_, word := raw(t, l.Name())
	since := (*atomic.Int64)(unsafe.Add(unsafe.Pointer(word), 24)) // the lock area's since field
	for i := range rounds {
		p := proctest.Start(t, "hold", l.Name(), seg.Name())
		p.Expect("locked")
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
		p.Kill()
		// Acquire waits (a contended acquisition), TryAcquire takes the
		// lock over at once (an uncontended one).
		var err error
		if i%2 == 0 {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			err = l.Acquire(ctx)
			cancel()
		} else if ok, tryErr := l.TryAcquire(); !ok {
			t.Fatalf("round %d: TryAcquire after the holder's death: %v, %v; want true, ErrOwnerDead", i, ok, tryErr)
		} else {
			err = tryErr
		}
		if !errors.Is(err, semaphore.ErrOwnerDead) {
			t.Fatalf("round %d: acquiring after the holder's death: %v, want ErrOwnerDead", i, err)
		}
		if err := l.MarkConsistent(); err != nil {
			t.Fatalf("round %d: MarkConsistent: %v", i, err)
		}
		if err := l.Release(); err != nil {
			t.Fatalf("round %d: Release: %v", i, err)
		}
		// The takeover stamped when it took the lock; its release clears
		// the stamp, which would otherwise show as the next holder's.
		if w, s := word.Load(), since.Load(); w != 0 || s != 0 {
			t.Fatalf("round %d: after the release, word %#x and since %d, want 0 and 0", i, w, s)
		}
	}
	// A holder that dies and is not marked consistent makes the lock
	// unrecoverable.
	p := proctest.Start(t, "hold", l.Name(), seg.Name())
	p.Expect("locked")
	id, err := strconv.ParseUint(p.Recv(), 16, 64)
	if err != nil {
		t.Fatalf("the holder's identity: %v", err)
	}
	// Locked reads a holder's pid from its registry: keep the dead
	// holder's from the tracker, which reaps it within milliseconds.
	proctest.PinRegistry(t, id)
	p.Kill()
	if locked, pid, dead := l.Locked(); !locked || pid != p.Pid() || !dead {
		t.Errorf("Locked() after the holder's death = %v, %d, %v; want true, %d, true", locked, pid, dead, p.Pid())
	}
	if err := l.Acquire(t.Context()); !errors.Is(err, semaphore.ErrOwnerDead) {
		t.Fatalf("Acquire: %v", err)
	}
	if err := l.Release(); !errors.Is(err, semaphore.ErrNotRecoverable) {
		t.Errorf("Release without MarkConsistent: %v, want ErrNotRecoverable", err)
	}
	if err := l.Acquire(t.Context()); !errors.Is(err, semaphore.ErrNotRecoverable) {
		t.Errorf("Acquire of an unrecoverable lock: %v, want ErrNotRecoverable", err)
	}
}

// TestCancel checks that a wait for a lock held by another process ends
// promptly when its context does.
func TestCancel(t *testing.T) {
	l := newLock(t)
	seg := newSegment(t, 8)
	p := proctest.Start(t, "hold", l.Name(), seg.Name())
	p.Expect("locked")

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := l.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Acquire with a deadline: %v, want DeadlineExceeded", err)
	}
	// Generous bounds: the promise is milliseconds; a loaded machine
	// must not make this test flaky.
	if d := time.Since(start); d > time.Second {
		t.Errorf("Acquire returned %v after a 30ms deadline", d)
	}

	ctx, cancel = context.WithCancel(t.Context())
	go func() {
		time.Sleep(30 * time.Millisecond)
		cancel()
	}()
	start = time.Now()
	if err := l.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Acquire cancelled: %v, want Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Acquire returned %v after cancellation at 30ms", d)
	}
	if locked, pid, dead := l.Locked(); !locked || pid != p.Pid() || dead {
		t.Errorf("after the failed waits the lock is held by %d, want the helper %d", pid, p.Pid())
	}
}

// TestManyGoroutines has 10,000 goroutines of this process contend on one
// Lock with another process: the count is exact, and the process never
// runs more than ~20 OS threads, since goroutines queue in the process
// rather than each blocking a thread in the kernel.
func TestManyGoroutines(t *testing.T) {
	const goroutines, each, helperEach = 10000, 10, 50000
	l := newLock(t)
	seg := newSegment(t, 8)
	c := counter(seg)
	p := proctest.Start(t, "increment", l.Name(), seg.Name(), strconv.Itoa(helperEach))

	stopSampling := proctest.ThreadCeiling(t, 20)
	p.Send("go")
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				l.Lock()
				*c++
				l.Unlock()
			}
		}()
	}
	wg.Wait()
	p.Expect("done")
	stopSampling()
	if got, want := *c, int64(goroutines*each+helperEach); got != want {
		t.Errorf("counter = %d, want %d", got, want)
	}
}

// TestArenaLockAllocations checks what creating a Lock in an arena costs
// the Go heap: the handle alone (holding its object and its robust lock),
// nothing per option, so that a million of them stay cheap for the
// garbage collector (W12 measures the time).
func TestArenaLockAllocations(t *testing.T) {
	a, err := shm.NewArena("", 1<<20, shm.MaxNames(4))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Unlink()
	defer a.Close()
	allocs := proctest.CreateAllocs(t, func() (*semaphore.Lock, error) {
		return semaphore.NewLock(semaphore.In(a), semaphore.WithName("l"))
	})
	if allocs > 1 {
		t.Errorf("NewLock in an arena: %v allocations, want 1", allocs)
	}
}
