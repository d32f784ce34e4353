package ctypes_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/internal/cbuild"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/internal/race"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

// arenaObjects makes n named Value[int64]s (v<i> = 3i+1) and n named
// Locks (l<i>) in a new arena, an anonymous Value (7) and an Event.
func arenaObjects(t *testing.T, n int) (*shm.Arena, *ctypes.Value[int64], *semaphore.Event) {
	a, err := shm.NewArena("", 64<<20, shm.MaxNames(2*max(n, arenaXlangObjects())+16))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := a.Check(); err != nil {
			t.Errorf("arena at the end: %v", err)
		}
		a.Close()
		a.Unlink()
	})
	for i := range n {
		v, err := ctypes.NewValue(int64(3*i+1), ctypes.In(a), ctypes.WithName(fmt.Sprintf("v%d", i)))
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		v.Close()
		l, err := semaphore.NewLock(semaphore.In(a), semaphore.WithName(fmt.Sprintf("l%d", i)))
		if err != nil {
			t.Fatalf("lock %d: %v", i, err)
		}
		l.Close()
	}
	h, err := ctypes.NewValue[int64](7, ctypes.In(a))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	e, err := semaphore.NewEvent(semaphore.In(a), semaphore.WithName("event"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return a, h, e
}

// checkArenaObjects checks what the peer wrote: v<i> = -(3i+1), the
// anonymous Value 8, the Event set; and that every Lock is free.
func checkArenaObjects(t *testing.T, a *shm.Arena, n int, h *ctypes.Value[int64], e *semaphore.Event) {
	t.Helper()
	for i := range n {
		v, err := ctypes.OpenValue[int64](fmt.Sprintf("%s/v%d", a.Name(), i))
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Get(); got != -int64(3*i+1) {
			t.Fatalf("v%d = %d, want %d", i, got, -(3*i + 1))
		}
		v.Close()
		l, err := semaphore.OpenLock(fmt.Sprintf("%s/l%d", a.Name(), i))
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := l.TryAcquire(); !ok || err != nil {
			t.Fatalf("l%d: TryAcquire %v, %v; want it free", i, ok, err)
		}
		l.Unlock()
		l.Close()
	}
	if got := h.Get(); got != 8 {
		t.Errorf("anonymous value %s = %d, want 8", h.Name(), got)
	}
	if ok, err := e.Wait(context.Background()); !ok || err != nil {
		t.Errorf("event: %v, %v", ok, err)
	}
}

// arenaXlangObjects is how many Values and Locks the cross-language
// arena tests make: 10^5 objects, a tenth of it under the race detector.
func arenaXlangObjects() int {
	if race.Enabled {
		return 5000
	}
	return 50000
}

// TestArenaFromC: 10^5 objects (50,000 Values, 50,000 Locks) made by Go
// in an arena are opened by name from a C program through libmpsync,
// every value checked and rewritten under its compact lock, every lock
// taken; an anonymous Value by its handle, an Event set. Go then checks
// every value.
func TestArenaFromC(t *testing.T) {
	n := arenaXlangObjects()
	lib := cbuild.Build(t)
	exe := lib.Program(t, "testdata/peer_arena.c")
	a, h, e := arenaObjects(t, n)
	peer := proctest.Exec(t, exe, a.Name(), strconv.Itoa(n), h.Name())
	peer.Start()
	peer.Expect(fmt.Sprintf("checked %d objects %d names %d", n, 2*n+2, 2*n+1))
	if err := peer.Wait(); err != nil {
		t.Fatalf("C peer: %v\n%s", err, peer.Stderr())
	}
	checkArenaObjects(t, a, n, h, e)
}

// TestArenaFromPython: the same 10^5 objects opened from Python through
// the mpsync package (mpsync.Arena, arena-qualified names), every value
// checked and rewritten under its compact lock (mps_value_acquire).
func TestArenaFromPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is required for the cross-language tests: %v", err)
	}
	n := arenaXlangObjects()
	lib := cbuild.Build(t)
	a, h, e := arenaObjects(t, n)
	peer := proctest.Exec(t, python, "testdata/peer_arena.py", a.Name(), strconv.Itoa(n), h.Name())
	peer.Cmd.Env = append(peer.Cmd.Environ(), "MPSYNC_LIB="+filepath.Join(lib.Dir, "libmpsync.so.0"))
	peer.Start()
	peer.Expect(fmt.Sprintf("checked %d objects %d names %d", n, 2*n+2, 2*n+1))
	if err := peer.Wait(); err != nil {
		t.Fatalf("python: %v\n%s", err, peer.Stderr())
	}
	checkArenaObjects(t, a, n, h, e)
}

// TestArenaMadeInC: a C program makes 10^5 objects (50,000 Values and
// 50,000 Locks, and an anonymous Value) in an arena Go made, through
// mps_arena_object_create; Go opens every one, checks every value, takes
// every lock, and the arena's checker walks it.
func TestArenaMadeInC(t *testing.T) {
	lib := cbuild.Build(t)
	exe := lib.Program(t, "testdata/peer_arena_make.c")
	checkMadeElsewhere(t, func(a *shm.Arena, n int) *proctest.Proc {
		return proctest.Exec(t, exe, a.Name(), strconv.Itoa(n))
	})
}

// TestArenaMadeInPython: the same, made by the mpsync package (arena=).
func TestArenaMadeInPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is required for the cross-language tests: %v", err)
	}
	lib := cbuild.Build(t)
	checkMadeElsewhere(t, func(a *shm.Arena, n int) *proctest.Proc {
		p := proctest.Exec(t, python, "testdata/peer_arena_make.py", a.Name(), strconv.Itoa(n))
		p.Cmd.Env = append(p.Cmd.Environ(), "MPSYNC_LIB="+filepath.Join(lib.Dir, "libmpsync.so.0"))
		return p
	})
}

// checkMadeElsewhere runs the peer start returns on a new arena: it makes
// Values c<i> = 5i+2 and Locks k<i> for i < n, and an anonymous Value 11
// whose handle it prints ("made N HANDLE"). Go opens and checks them all,
// and the arena's checker walks it.
func checkMadeElsewhere(t *testing.T, start func(a *shm.Arena, n int) *proctest.Proc) {
	n := arenaXlangObjects()
	a, _, _ := arenaObjects(t, 0)
	peer := start(a, n)
	peer.Start()
	var made, handle string
	line := peer.Recv()
	if _, err := fmt.Sscan(line, &made, new(int), &handle); err != nil || made != "made" {
		t.Fatalf("peer said %q\n%s", line, peer.Stderr())
	}
	if err := peer.Wait(); err != nil {
		t.Fatalf("peer: %v\n%s", err, peer.Stderr())
	}
	for i := range n {
		v, err := ctypes.OpenValue[int64](fmt.Sprintf("%s/c%d", a.Name(), i))
		if err != nil {
			t.Fatal(err)
		}
		v.Lock()
		if got := v.Get(); got != int64(5*i+2) {
			t.Fatalf("c%d = %d, want %d", i, got, 5*i+2)
		}
		v.Unlock()
		v.Close()
		l, err := semaphore.OpenLock(fmt.Sprintf("%s/k%d", a.Name(), i))
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := l.TryAcquire(); !ok || err != nil {
			t.Fatalf("k%d: TryAcquire %v, %v; want it free", i, ok, err)
		}
		l.Unlock()
		l.Close()
	}
	h, err := ctypes.OpenValue[int64](handle)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if got := h.Get(); got != 11 {
		t.Errorf("%s = %d, want 11", handle, got)
	}
	if st, err := a.Check(); err != nil || st.Objects != 2*n+3 {
		t.Errorf("Check: %+v, %v; want %d objects", st, err, 2*n+3)
	}
}
