package ctypes_test

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/internal/cbuild"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
)

// family is one side's handles of the objects TestPythonFamilySharesWithGo
// shares.
type family struct {
	rlock     *semaphore.RLock
	sem, bsem *semaphore.Semaphore
	event     *semaphore.Event
	cond      *semaphore.Condition
	barrier   *semaphore.Barrier
	counts    *ctypes.Array[int64]
}

// TestPythonFamilySharesWithGo has a Python process using the installed
// package and this Go process share an RLock, a Semaphore, a
// BoundedSemaphore, an Event, a Condition and a Barrier, made once by Go
// and once by Python: counts kept under the Semaphore and the RLock are
// exact, the Barrier's action runs once a round, each side waits on the
// Condition for the other's change, the Event set by Python wakes Go, and
// both sides are refused a release past the BoundedSemaphore's bound.
func TestPythonFamilySharesWithGo(t *testing.T) {
	const n, rounds = 1000, 200
	python := installedPython(t)
	lib := cbuild.Build(t)
	script := filepath.Join(cbuild.ModuleRoot(t), "ctypes", "testdata", "peer_family.py")
	action := func(f *family) func() error {
		return func() error {
			x, err := f.counts.At(2)
			if err == nil {
				err = f.counts.Set(2, x+1)
			}
			return err
		}
	}
	share := func(t *testing.T, peer *proctest.Proc, f *family) {
		ctx := t.Context()
		add := func(i int) {
			x, _ := f.counts.At(i)
			f.counts.Set(i, x+1)
		}
		peer.Send("go")
		for range n {
			if err := f.sem.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
			add(0)
			f.sem.Release()
			f.rlock.Lock()
			f.rlock.Lock()
			add(1)
			f.rlock.Unlock()
			f.rlock.Unlock()
		}
		for i := range rounds {
			if _, err := f.barrier.Wait(ctx); err != nil {
				t.Fatalf("barrier round %d: %v", i, err)
			}
		}
		f.cond.Lock()
		f.counts.Set(3, 1)
		if err := f.cond.NotifyAll(); err != nil {
			t.Error(err)
		}
		if ok, err := f.cond.WaitFor(ctx, func() bool { x, _ := f.counts.At(3); return x == 2 }); !ok || err != nil {
			t.Errorf("WaitFor Python's change: %v, %v", ok, err)
		}
		f.cond.Unlock()
		if err := f.bsem.Release(); !errors.Is(err, semaphore.ErrTooManyReleases) {
			t.Errorf("BoundedSemaphore released past its bound: %v, want ErrTooManyReleases", err)
		}
		if ok, err := f.event.Wait(ctx); !ok || err != nil {
			t.Errorf("Event.Wait: %v, %v", ok, err)
		}
		peer.Expect("done bounded")
		for i, want := range []int64{2 * n, 2 * n, rounds, 2} {
			if got, _ := f.counts.At(i); got != want {
				t.Errorf("counts[%d] = %d, want %d", i, got, want)
			}
		}
	}

	t.Run("made by Go", func(t *testing.T) {
		var f family
		var err error
		must := func(o interface {
			Close() error
			Unlink() error
		}, e error) {
			if e != nil {
				t.Fatal(e)
			}
			cleanup(t, o)
		}
		f.rlock, err = semaphore.NewRLock()
		must(f.rlock, err)
		f.sem, err = semaphore.NewSemaphore(1)
		must(f.sem, err)
		f.bsem, err = semaphore.NewBoundedSemaphore(1)
		must(f.bsem, err)
		f.event, err = semaphore.NewEvent()
		must(f.event, err)
		f.cond, err = semaphore.NewCondition(nil)
		must(f.cond, err)
		f.counts, err = ctypes.NewRawArray[int64](4)
		must(f.counts, err)
		f.barrier, err = semaphore.NewBarrier(2, action(&f))
		must(f.barrier, err)
		peer := proctest.Exec(t, python, script, "open", strconv.Itoa(n), strconv.Itoa(rounds), f.rlock.Name(), f.sem.Name(),
			f.bsem.Name(), f.event.Name(), f.cond.Name(), f.barrier.Name(), f.counts.Name())
		peer.Cmd.Env = pythonEnv(lib)
		peer.Start()
		share(t, peer, &f)
		if err := peer.Wait(); err != nil {
			t.Fatalf("python: %v\n%s", err, peer.Stderr())
		}
	})

	t.Run("made by Python", func(t *testing.T) {
		peer := proctest.Exec(t, python, script, "create", strconv.Itoa(n), strconv.Itoa(rounds))
		peer.Cmd.Env = pythonEnv(lib)
		peer.Start()
		names := strings.Fields(peer.Recv())
		if len(names) != 8 || names[0] != "names" {
			t.Fatalf("python: %q, want names and seven names", names)
		}
		var f family
		var err error
		must := func(o interface{ Close() error }, e error) {
			if e != nil {
				t.Fatal(e)
			}
			t.Cleanup(func() { o.Close() })
		}
		f.rlock, err = semaphore.OpenRLock(names[1])
		must(f.rlock, err)
		f.sem, err = semaphore.OpenSemaphore(names[2])
		must(f.sem, err)
		f.bsem, err = semaphore.OpenSemaphore(names[3])
		must(f.bsem, err)
		f.event, err = semaphore.OpenEvent(names[4])
		must(f.event, err)
		f.cond, err = semaphore.OpenCondition(names[5])
		must(f.cond, err)
		f.barrier, err = semaphore.OpenBarrier(names[6])
		must(f.barrier, err)
		f.barrier.SetAction(action(&f))
		f.counts, err = ctypes.OpenArray[int64](names[7])
		must(f.counts, err)
		share(t, peer, &f)
		peer.Send("bye")
		if err := peer.Wait(); err != nil {
			t.Fatalf("python: %v\n%s", err, peer.Stderr())
		}
	})
}
