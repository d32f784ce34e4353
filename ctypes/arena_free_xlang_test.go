package ctypes_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/internal/cbuild"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

// arenaFreeObjects is how many objects the cross-language free tests
// free each way.
const arenaFreeObjects = 1000

// blockOf returns the offset part of an anonymous object's handle,
// "arena/#<off>.<gen>".
func blockOf(t *testing.T, handle string) string {
	t.Helper()
	_, h, ok := strings.Cut(handle, "/#")
	off, _, ok2 := strings.Cut(h, ".")
	if !ok || !ok2 {
		t.Fatalf("%q is not an anonymous object's handle", handle)
	}
	return off
}

// TestArenaFreeAcrossLanguages runs the tests of freeing arena objects
// from C and Python on one build of libmpsync.
func TestArenaFreeAcrossLanguages(t *testing.T) {
	lib := cbuild.Build(t)
	t.Run("C", func(t *testing.T) { arenaFreeInC(t, lib) })
	t.Run("Python", func(t *testing.T) { arenaFreeInPython(t, lib) })
	t.Run("KilledC", func(t *testing.T) { arenaKilledCAllocators(t, lib) })
	t.Run("CrashedC", func(t *testing.T) { arenaCrashedCAllocator(t, lib) })
}

// arenaFreeInC: a C program frees, through libmpsync, objects Go
// made in an arena (anonymous Values by handle with mps_arena_free, named
// Locks by mps_object_unlink); Go finds them gone, reuses every freed
// block for its next objects, and the checker walks the arena. Then the
// reverse: Go frees, and the C program's next objects take the freed
// blocks.
func arenaFreeInC(t *testing.T, lib *cbuild.Lib) {
	const n = arenaFreeObjects
	exe := lib.Program(t, "testdata/peer_arena_free.c")
	a, _, _ := arenaObjects(t, n) // Values v<i>, Locks l<i>
	peer := proctest.Exec(t, exe, a.Name())
	peer.Start()
	free := func(cmd, what string) {
		t.Helper()
		peer.Send("%s %s", cmd, what)
		if got := peer.Recv(); got != "freed" {
			t.Fatalf("C peer: %s %s: %s", cmd, what, got)
		}
	}
	before, err := a.Check()
	if err != nil {
		t.Fatal(err)
	}

	// C frees what Go made.
	var handles, freed []string
	for i := range n {
		v, err := ctypes.NewValue(int64(i), ctypes.In(a))
		if err != nil {
			t.Fatal(err)
		}
		handles = append(handles, v.Name())
		v.Close()
	}
	for i, h := range handles {
		if i%2 == 0 {
			free("free", h[len(a.Name())+1:])
			freed = append(freed, blockOf(t, h))
		}
	}
	for i := range n {
		if i%2 == 0 {
			free("unlink", fmt.Sprintf("l%d", i))
		}
	}
	peer.Send("free %s", handles[0][len(a.Name())+1:])
	if got, want := peer.Recv(), fmt.Sprintf("error %d", syscall.ENOENT); got != want {
		t.Errorf("C freeing twice: %q, want %q", got, want)
	}
	st, err := a.Check()
	if err != nil {
		t.Fatalf("after C freed: %v", err)
	}
	if st.Objects != before.Objects || st.Names != before.Names-n/2 {
		t.Errorf("after C freed: %d objects %d names, want %d and %d", st.Objects, st.Names, before.Objects, before.Names-n/2)
	}
	for i, h := range handles {
		v, err := ctypes.OpenValue[int64](h)
		if i%2 == 0 {
			if !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%s, freed by C: %v, want fs.ErrNotExist", h, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if v.Get() != int64(i) {
			t.Fatalf("%s = %d, want %d", h, v.Get(), i)
		}
		v.Close()
	}
	for i := range n {
		_, err := semaphore.OpenLock(fmt.Sprintf("%s/l%d", a.Name(), i))
		if i%2 == 0 && !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("l%d, freed by C: %v, want fs.ErrNotExist", i, err)
		}
		if i%2 == 1 && err != nil {
			t.Fatalf("l%d: %v", i, err)
		}
	}
	// Go's next Values of that size take exactly the blocks C freed, and
	// the names C freed can be taken again.
	var reused []string
	var made []*ctypes.Value[int64]
	for range n / 2 {
		v, err := ctypes.NewValue[int64](1, ctypes.In(a))
		if err != nil {
			t.Fatal(err)
		}
		reused = append(reused, blockOf(t, v.Name()))
		made = append(made, v)
	}
	for _, v := range made {
		if err := v.Unlink(); err != nil {
			t.Fatal(err)
		}
		v.Close()
	}
	for i := 0; i < n; i += 2 {
		l, err := semaphore.NewLock(semaphore.In(a), semaphore.WithName(fmt.Sprintf("l%d", i)))
		if err != nil {
			t.Fatalf("l%d again: %v", i, err)
		}
		l.Close()
	}
	slices.Sort(freed)
	slices.Sort(reused)
	if !slices.Equal(freed, reused) {
		t.Errorf("Go reused blocks %v, want those C freed %v", reused, freed)
	}

	// The reverse: Go frees the odd Values, C makes Values in their blocks.
	freed = nil
	for i, h := range handles {
		if i%2 == 1 {
			v, err := ctypes.OpenValue[int64](h)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Unlink(); err != nil {
				t.Fatal(err)
			}
			v.Close()
			freed = append(freed, blockOf(t, h))
		}
	}
	peer.Send("make %d", n/2)
	reused = nil
	for range n / 2 {
		h := peer.Recv()
		reused = append(reused, blockOf(t, h))
		v, err := ctypes.OpenValue[int64](h)
		if err != nil {
			t.Fatalf("made by C: %v", err)
		}
		if v.Get() != 7 {
			t.Fatalf("%s = %d, want 7", h, v.Get())
		}
		v.Close()
	}
	peer.Expect(fmt.Sprintf("made %d", n/2))
	peer.CloseStdin()
	if err := peer.Wait(); err != nil {
		t.Fatalf("C peer: %v\n%s", err, peer.Stderr())
	}
	// Free blocks are taken last in, first out: C's Values take exactly
	// the blocks Go freed last.
	slices.Sort(freed)
	slices.Sort(reused)
	if !slices.Equal(freed, reused) {
		t.Errorf("C made Values in blocks %v, want those Go freed %v", reused, freed)
	}
	if st, err = a.Check(); err != nil {
		t.Fatalf("at the end: %v", err)
	}
	if st.Objects != before.Objects+n/2 || st.Names != before.Names {
		t.Errorf("at the end: %d objects %d names, want %d and %d", st.Objects, st.Names, before.Objects+n/2, before.Names)
	}
}

// arenaFreeInPython: the mpsync package frees objects Go made in an
// arena (unlink() of an open Value, and of a closed Lock by name); Go
// finds every name gone, the rest intact, and the checker walks the
// arena.
func arenaFreeInPython(t *testing.T, lib *cbuild.Lib) {
	const n = arenaFreeObjects
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is required for the cross-language tests: %v", err)
	}
	a, _, _ := arenaObjects(t, n)
	before, err := a.Check()
	if err != nil {
		t.Fatal(err)
	}
	peer := proctest.Exec(t, python, "testdata/peer_arena_free.py", a.Name(), strconv.Itoa(n))
	peer.Cmd.Env = append(peer.Cmd.Environ(), "MPSYNC_LIB="+filepath.Join(lib.Dir, "libmpsync.so.0"))
	peer.Start()
	peer.Expect(fmt.Sprintf("freed %d", n))
	if err := peer.Wait(); err != nil {
		t.Fatalf("python: %v\n%s", err, peer.Stderr())
	}
	for i := range n {
		v, verr := ctypes.OpenValue[int64](fmt.Sprintf("%s/v%d", a.Name(), i))
		l, lerr := semaphore.OpenLock(fmt.Sprintf("%s/l%d", a.Name(), i))
		if i%2 == 0 {
			if !errors.Is(verr, fs.ErrNotExist) || !errors.Is(lerr, fs.ErrNotExist) {
				t.Fatalf("v%d, l%d freed by Python: %v, %v; want fs.ErrNotExist", i, i, verr, lerr)
			}
			continue
		}
		if verr != nil || lerr != nil {
			t.Fatalf("v%d, l%d: %v, %v", i, i, verr, lerr)
		}
		if v.Get() != int64(3*i+1) {
			t.Fatalf("v%d = %d, want %d", i, v.Get(), 3*i+1)
		}
		v.Close()
		l.Close()
	}
	st, err := a.Check()
	if err != nil {
		t.Fatal(err)
	}
	if st.Objects != before.Objects-n || st.Names != before.Names-n {
		t.Errorf("%d objects %d names, want %d and %d", st.Objects, st.Names, before.Objects-n, before.Names-n)
	}
}

// newArena makes an arena of size bytes that the test's cleanup closes
// and unlinks.
func newArena(t *testing.T, size int) *shm.Arena {
	t.Helper()
	a, err := shm.NewArena("", size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Close()
		a.Unlink()
	})
	return a
}

// arenaKilledCAllocators runs three C processes that allocate and
// free in one arena through libmpsync (the same journal as Go's) and
// SIGKILLs one at a random moment, 50 times. As for Go's allocators
// (shm's TestArenaKilledAllocators), each kill may leave what the victim
// held (a Lock and an Array, both named) but never an inconsistent arena:
// Go's checker walks it after every kill, and at the end every object
// left has a name and there are no more than the victims could hold.
func arenaKilledCAllocators(t *testing.T, lib *cbuild.Lib) {
	exe := lib.Program(t, "testdata/peer_arena_free.c")
	a := newArena(t, 4<<20)
	const workers, kills = 3, 50
	procs := make([]*proctest.Proc, workers)
	gen := 0
	start := func(int) *proctest.Proc {
		gen++
		p := proctest.Exec(t, exe, a.Name(), "churn", fmt.Sprintf("c%d", gen))
		p.Start()
		return p
	}
	proctest.KillAtRandom(t, procs, kills, start, func() error { _, err := a.Check(); return err })
	for _, p := range procs {
		p.Send("stop")
		p.Expect("stopped")
		if err := p.Wait(); err != nil {
			t.Fatalf("C churner: %v\n%s", err, p.Stderr())
		}
	}
	st, err := a.Check()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after %d kills: %d objects left, %d lock takeovers", kills, st.Objects, st.Recovered)
	if st.Objects > 2*kills || st.Objects != st.Names {
		t.Errorf("%d objects (%d named) left after %d kills of processes holding at most 2 named ones each", st.Objects, st.Names, kills)
	}
}

// cCrashSteps are the steps of libmpsync's allocation and free at which
// MPSYNC_TEST_CRASH_AT kills the process: the steps of Go's allocator
// (internal/arena's crash points), under the same names.
var cCrashSteps = []string{
	"alloc: journal written", "alloc: announced", "alloc: block taken", "alloc: block written",
	"alloc: initialised", "alloc: published", "alloc: named", "alloc: counted", "alloc: done",
	"free: journal written", "free: announced", "free: name deleted", "free: block freed",
	"free: listed", "free: done",
}

// arenaCrashedCAllocator kills a C process at each step of an
// allocation (of an anonymous Value, a named Value, and a named Lock
// from a free list) and of a free, as SIGKILL would, and checks what Go
// finds once the allocator lock has been taken over and the journal
// replayed — by Go's checker, or first by another C process: a
// consistent arena in which the allocation never happened and the free,
// once announced, did.
func arenaCrashedCAllocator(t *testing.T, lib *cbuild.Lib) {
	exe := lib.Program(t, "testdata/peer_arena_free.c")
	for _, step := range cCrashSteps {
		shapes := []string{"value -", "value new", "lock new"}
		if strings.HasPrefix(step, "free") {
			shapes = []string{"free victim"}
		} else if step == "alloc: named" {
			shapes = shapes[1:] // anonymous objects have no name to enter
		}
		for _, order := range shapes {
			for _, replayer := range []string{"Go", "C"} {
				t.Run(step+"/"+order+"/"+replayer, func(t *testing.T) { crashCAt(t, exe, step, order, replayer) })
			}
		}
	}
}

// crashCAt runs one case of arenaCrashedCAllocator: a fresh arena with a
// named Value "victim" and a free Lock-sized block, a C process told
// order and killed at step, the journal replayed by replayer ("Go" or
// "C"), and Go's checks.
func crashCAt(t *testing.T, exe, step, order, replayer string) {
	a := newArena(t, 1<<20)
	victim, err := ctypes.NewValue(int64(1), ctypes.In(a), ctypes.WithName("victim"))
	if err != nil {
		t.Fatal(err)
	}
	victim.Close()
	gone, err := semaphore.NewLock(semaphore.In(a), semaphore.WithName("gone"))
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	if err := gone.Unlink(); err != nil { // its block goes on the free list
		t.Fatal(err)
	}
	before, err := a.Check()
	if err != nil {
		t.Fatal(err)
	}

	peer := proctest.Exec(t, exe, a.Name())
	peer.Cmd.Env = append(os.Environ(), "MPSYNC_TEST_CRASH_AT="+step)
	peer.Start()
	peer.Send("%s", order)
	var status syscall.WaitStatus
	if err := peer.Wait(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			status = ee.Sys().(syscall.WaitStatus)
		}
	}
	if !status.Signaled() || status.Signal() != syscall.SIGKILL {
		t.Fatalf("the C process was not killed at %q: %v\nstdout: %q\nstderr: %s", step, status, peer.Rest(), peer.Stderr())
	}

	if replayer == "C" {
		// A free of a block that is not there: libmpsync takes the lock
		// (over from the dead holder, replaying its journal) before it
		// finds that out.
		c := proctest.Exec(t, exe, a.Name())
		c.Start()
		c.Send("free #10.1")
		if got := c.Recv(); !strings.HasPrefix(got, "error ") {
			t.Fatalf("C replayer: free of no block: %s", got)
		}
		c.CloseStdin()
		if err := c.Wait(); err != nil {
			t.Fatalf("C replayer: %v\n%s", err, c.Stderr())
		}
	}
	after, err := a.Check() // takes the lock (over, if no C process did), walks the arena
	if err != nil {
		t.Fatal(err)
	}
	freeing := strings.HasPrefix(order, "free")
	// Every step of an allocation is before its journal is cleared: all
	// are undone. A free is done once announced.
	happened := freeing && step != "free: journal written"
	want := before
	if happened {
		want.Objects, want.Names = before.Objects-1, before.Names-1
	}
	if after.Objects != want.Objects || after.Names != want.Names {
		t.Errorf("after the kill: %d objects, %d names; want %d and %d", after.Objects, after.Names, want.Objects, want.Names)
	}
	if after.Recovered != before.Recovered+1 {
		t.Errorf("the lock was taken over %d times, want once", after.Recovered-before.Recovered)
	}

	// What the names say: the victim is there until its free happened;
	// "new" is not there, and can be made.
	_, err = ctypes.OpenValue[int64](a.Name() + "/victim")
	if freeing && happened != errors.Is(err, fs.ErrNotExist) || !freeing && err != nil {
		t.Errorf("opening the victim after the kill: %v", err)
	}
	if order == "value new" || order == "lock new" {
		var o interface{ Close() error }
		if order == "value new" {
			o, err = ctypes.NewValue(int64(2), ctypes.In(a), ctypes.WithName("new"))
		} else {
			o, err = semaphore.NewLock(semaphore.In(a), semaphore.WithName("new"))
		}
		if err != nil {
			t.Fatalf("making %q after the kill: %v", order, err)
		}
		o.Close()
		if _, err := a.Check(); err != nil {
			t.Fatal(err)
		}
	}
}
