package resourcetracker_test

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/internal/cbuild"
	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/internal/tracker/server"
	resourcetracker "github.com/mpsync/mpsync/resource_tracker"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

func TestMain(m *testing.M) { proctest.Main(m) }

func init() {
	// make creates a segment, a named semaphore, a Lock and a Value, prints
	// their /dev/shm entries on one line and waits to be killed.
	proctest.Register("make", func(h *proctest.Helper) {
		entries, err := makeObjects(h.Args)
		if err != nil {
			h.Fatalf("%v", err)
		}
		h.Ready()
		h.Printf("%s", strings.Join(entries, " "))
		select {}
	})
	// open opens the segment args[0], says "opened", and exits on an order
	// (or waits to be killed).
	proctest.Register("open", func(h *proctest.Helper) {
		seg, err := shm.Open(h.Args[0])
		if err != nil {
			h.Fatalf("shm.Open: %v", err)
		}
		_ = seg
		h.Ready()
		h.Printf("opened")
		h.ReadLine()
	})
	// tree starts args[0] children in its own process group, each making
	// objects, makes its own, and prints every entry.
	proctest.Register("tree", func(h *proctest.Helper) {
		n, _ := strconv.Atoi(h.Args[0])
		exe, _ := os.Executable()
		var all []string
		for range n {
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), "MPSYNC_TEST_HELPER=make")
			out, _ := cmd.StdoutPipe()
			cmd.Stdin, _ = os.Open(os.DevNull)
			if err := cmd.Start(); err != nil {
				h.Fatalf("start: %v", err)
			}
			buf := make([]byte, 4096)
			got := ""
			for strings.Count(got, "\n") < 2 {
				k, err := out.Read(buf)
				if err != nil {
					h.Fatalf("child: %v", err)
				}
				got += string(buf[:k])
			}
			all = append(all, strings.Fields(strings.SplitN(got, "\n", 2)[1])...)
		}
		own, err := makeObjects(nil)
		if err != nil {
			h.Fatalf("%v", err)
		}
		h.Ready()
		h.Printf("%s", strings.Join(append(all, own...), " "))
		select {}
	})
	// untracked creates an untracked segment and waits to be killed.
	proctest.Register("untracked", func(h *proctest.Helper) {
		seg, err := shm.Create("", 4096, shm.Untracked())
		if err != nil {
			h.Fatalf("%v", err)
		}
		h.Ready()
		h.Printf("%s", seg.Name())
		select {}
	})
}

// makeObjects creates one object of each sort and returns their /dev/shm
// entries.
func makeObjects(args []string) ([]string, error) {
	seg, err := shm.Create("", 4096)
	if err != nil {
		return nil, err
	}
	sl, err := semaphore.NewSemLock(semaphore.SemaphoreKind, 1, 1, "")
	if err != nil {
		return nil, err
	}
	l, err := semaphore.NewLock()
	if err != nil {
		return nil, err
	}
	v, err := ctypes.NewValue[int64](1)
	if err != nil {
		return nil, err
	}
	return []string{seg.Name(), "sem." + sl.Name(), l.Name(), v.Name()}, nil
}

// gone waits until none of entries is in /dev/shm, for at most 20 s, and
// returns the ones left.
func gone(entries []string) []string {
	deadline := time.Now().Add(20 * time.Second)
	for {
		var left []string
		for _, e := range entries {
			if _, err := os.Stat(names.Dir + e); err == nil {
				left = append(left, e)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func exists(name string) bool {
	_, err := os.Stat(names.Dir + name)
	return err == nil
}

// TestKilledCreator: a child that creates a segment, a named semaphore, a
// Lock and a Value is killed with SIGKILL: all four are unlinked, since
// no one else uses them.
func TestKilledCreator(t *testing.T) {
	p := proctest.Start(t, "make")
	entries := strings.Fields(p.Recv())
	if len(entries) != 4 {
		t.Fatalf("child made %v", entries)
	}
	for _, e := range entries {
		if !exists(e) {
			t.Fatalf("%s missing before the kill", e)
		}
	}
	p.Kill()
	if left := gone(entries); len(left) > 0 {
		t.Errorf("left in /dev/shm after the creator's death: %v", left)
	}
	// The tracker writes its log line just after the unlink: wait for it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		log, err := os.ReadFile(resourcetracker.LogPath())
		if err == nil && strings.Contains(string(log), entries[0]) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the tracker's log does not name %s: %v", entries[0], err)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLiveUserKeepsIt: the creator dies while another process still has
// the segment open: it stays until that process is gone too.
func TestLiveUserKeepsIt(t *testing.T) {
	p := proctest.Start(t, "make")
	entries := strings.Fields(p.Recv())
	user := proctest.Start(t, "open", entries[0])
	user.Expect("opened")
	p.Kill()
	if left := gone(entries[1:]); len(left) > 0 {
		t.Errorf("objects only the dead creator used are left: %v", left)
	}
	time.Sleep(300 * time.Millisecond) // several tracker rounds
	if !exists(entries[0]) {
		t.Fatalf("segment %s unlinked while a live process uses it", entries[0])
	}
	user.Send("exit")
	if err := user.Wait(); err != nil {
		t.Fatal(err)
	}
	if left := gone(entries[:1]); len(left) > 0 {
		t.Errorf("segment left after its last user exited: %v", left)
	}
}

// TestUnrelatedOpenerDoesNotDestroy is CPython's bug (gh-82300) turned
// around: an unrelated process that opens a segment by name and exits must
// not take it away from its creator, who is alive.
func TestUnrelatedOpenerDoesNotDestroy(t *testing.T) {
	seg, err := shm.Create("", 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Unlink()
	defer seg.Close()
	p := proctest.Start(t, "open", seg.Name())
	p.Expect("opened")
	p.Send("exit")
	p.Wait()
	p2 := proctest.Start(t, "open", seg.Name())
	p2.Expect("opened")
	p2.Kill()
	time.Sleep(300 * time.Millisecond)
	if !exists(seg.Name()) {
		t.Fatalf("segment unlinked after an unrelated opener exited, while its creator lives")
	}
}

// TestProcessGroupKilled kills a parent and its children at once: nothing
// of theirs is left once the tracker notices.
func TestProcessGroupKilled(t *testing.T) {
	p := proctest.Command(t, "tree", "3")
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.Start()
	entries := strings.Fields(p.Recv())
	if len(entries) != 16 {
		t.Fatalf("tree made %d objects: %v", len(entries), entries)
	}
	syscall.Kill(-p.Pid(), syscall.SIGKILL)
	p.Wait()
	if left := gone(entries); len(left) > 0 {
		t.Errorf("left after the whole group was killed: %v", left)
	}
}

// TestTrackerKilled: the tracker killed with SIGKILL mid-run is replaced,
// and the new one still cleans up what the old one knew.
func TestTrackerKilled(t *testing.T) {
	p := proctest.Start(t, "make")
	entries := strings.Fields(p.Recv())
	pid := waitTracker(t)
	syscall.Kill(pid, syscall.SIGKILL)
	p.Kill()
	if left := gone(entries); len(left) > 0 {
		t.Errorf("left after the tracker was killed: %v", left)
	}
	if now := resourcetracker.Running(); now == pid {
		t.Errorf("the killed tracker %d is still the one running", pid)
	}
}

func waitTracker(t *testing.T) int {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if pid := resourcetracker.Running(); pid != 0 {
			return pid
		}
	}
	t.Fatal("no tracker is running")
	return 0
}

// TestUntrackedSurvives: an Untracked segment outlives its creator.
func TestUntrackedSurvives(t *testing.T) {
	p := proctest.Start(t, "untracked")
	name := p.Recv()
	defer shm.Unlink(name)
	p.Kill()
	time.Sleep(300 * time.Millisecond)
	if !exists(name) {
		t.Fatalf("untracked segment %s was unlinked", name)
	}
	if err := shm.Unlink(name); err != nil {
		t.Fatal(err)
	}
	if err := shm.Unlink(name); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second unlink: %v", err)
	}
}

// TestRandomKills runs a 4-process workload 200 times (20 with -short),
// killing every process with SIGKILL at a random moment: nothing is left.
func TestRandomKills(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	var all []string
	for r := range rounds {
		var ps []*proctest.Proc
		for range 4 {
			p := proctest.Command(t, "make")
			p.Start()
			ps = append(ps, p)
		}
		for _, p := range ps {
			if r%2 == 0 {
				time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			}
			all = append(all, strings.Fields(p.Recv())...)
			p.Kill()
		}
	}
	if left := gone(all); len(left) > 0 {
		t.Errorf("%d of %d objects left after %d rounds of kills: %v", len(left), len(all), rounds, left)
	}
}

func init() {
	// hold-lock creates a Lock and a segment, takes the lock, prints both
	// names and its pid, and waits to be killed.
	proctest.Register("hold-lock", func(h *proctest.Helper) {
		l, err := semaphore.NewLock()
		if err != nil {
			h.Fatalf("%v", err)
		}
		seg, err := shm.Create("", 1000)
		if err != nil {
			h.Fatalf("%v", err)
		}
		l.Lock()
		h.Ready()
		h.Printf("%s %s %d", l.Name(), seg.Name(), os.Getpid())
		select {}
	})
}

// TestList shows what mpsync-ls reports: kinds, sizes, users and a lock's
// holder — and, once the users are gone with no tracker to clean up, that
// the objects are stale and RemoveStale takes them away.
func TestList(t *testing.T) {
	p := proctest.Start(t, "hold-lock")
	f := strings.Fields(p.Recv())
	lockName, segName, pid := f[0], f[1], f[2]
	find := func(objs []resourcetracker.Object, name string) *resourcetracker.Object {
		for i := range objs {
			if objs[i].Name == name {
				return &objs[i]
			}
		}
		t.Fatalf("List has no %s", name)
		return nil
	}
	objs, err := resourcetracker.List()
	if err != nil {
		t.Fatal(err)
	}
	l, s := find(objs, lockName), find(objs, segName)
	helper, err := strconv.Atoi(pid)
	if err != nil {
		t.Fatal(err)
	}
	user := resourcetracker.User{Pid: helper, Alive: true}
	// The lock's size and when it was taken depend on the build and the
	// run; the rest is what mpsync-ls shows.
	ignore := cmpopts.IgnoreFields(resourcetracker.Object{}, "Size", "LockHeldSince", "LockWaitedSince")
	wantLock := resourcetracker.Object{Name: lockName, Kind: "lock", Users: []resourcetracker.User{user}, LockOwner: &user, Held: true}
	if diff := cmp.Diff(wantLock, *l, ignore); diff != "" {
		t.Errorf("lock entry (-want +got):\n%s", diff)
	}
	wantSeg := resourcetracker.Object{Name: segName, Kind: "segment", Size: 1000, Users: []resourcetracker.User{user}, Held: true}
	if diff := cmp.Diff(wantSeg, *s); diff != "" || s.Stale() {
		t.Errorf("segment entry (-want +got):\n%s", diff)
	}

	// A named semaphore (glibc's sem_t) is recognised by its layout, and
	// its value read.
	sem, err := semaphore.NewSemLock(semaphore.SemaphoreKind, 3, 5, "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { sem.Close(); sem.Unlink() }()
	if objs, err = resourcetracker.List(); err != nil {
		t.Fatal(err)
	}
	if e := find(objs, "sem."+strings.TrimPrefix(sem.Name(), "/")); e.Kind != "named semaphore" || e.SemValue != 3 {
		t.Errorf("named semaphore entry: kind %q, value %d; want named semaphore, 3", e.Kind, e.SemValue)
	}
	p.Kill()
	if left := gone([]string{lockName, segName}); len(left) > 0 {
		t.Errorf("the tracker left %v", left)
	}
}

// TestRemoveStale: objects whose registered users are all dead are stale;
// RemoveStale unlinks them and nothing else.
func TestRemoveStale(t *testing.T) {
	live, err := shm.Create("", 64)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Unlink()
	defer live.Close()
	// A dead process's registry that never got its header.
	headless := csrc.RegPrefix + "00000000dead0001"
	if err := os.WriteFile(names.Dir+headless, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(names.Dir + headless)
	// A killed tracker's file: nobody holds its lock.
	deadTracker := names.Random(csrc.TrkPrefix)
	if err := os.WriteFile(names.Dir+deadTracker, make([]byte, 16), 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(names.Dir + deadTracker)
	// The files of the trackers that live (this process's among them).
	if resourcetracker.Running() == 0 {
		t.Fatal("no tracker runs for this process")
	}
	var liveTrackers []string
	for _, f := range trackerFiles() {
		if f != deadTracker && !server.DeadTracker(f) {
			liveTrackers = append(liveTrackers, f)
		}
	}
	if len(liveTrackers) == 0 {
		t.Fatal("no live tracker's file in /dev/shm")
	}
	removed, err := resourcetracker.RemoveStale()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range removed {
		if n == live.Name() {
			t.Errorf("RemoveStale removed %s, which this live process uses", n)
		}
	}
	if !exists(live.Name()) {
		t.Errorf("live segment gone")
	}
	if exists(headless) {
		t.Errorf("RemoveStale left the dead registry %s, which has no header", headless)
	}
	if exists(deadTracker) {
		t.Errorf("RemoveStale left the dead tracker's file %s", deadTracker)
	}
	for _, n := range liveTrackers {
		if !exists(n) {
			t.Errorf("RemoveStale removed %s, the file of a live tracker", n)
		}
	}
}

func init() {
	// untracked-objects creates an untracked Lock and Value and waits to
	// be killed.
	proctest.Register("untracked-objects", func(h *proctest.Helper) {
		l, err := semaphore.NewLock(semaphore.Untracked())
		if err != nil {
			h.Fatalf("%v", err)
		}
		v, err := ctypes.NewValue[int32](1, ctypes.Untracked())
		if err != nil {
			h.Fatalf("%v", err)
		}
		h.Ready()
		h.Printf("%s %s", l.Name(), v.Name())
		select {}
	})
}

// TestUntrackedObjects: semaphore.Untracked and ctypes.Untracked objects
// outlive their creator too.
func TestUntrackedObjects(t *testing.T) {
	p := proctest.Start(t, "untracked-objects")
	entries := strings.Fields(p.Recv())
	for _, e := range entries {
		defer os.Remove(names.Dir + e)
	}
	p.Kill()
	time.Sleep(300 * time.Millisecond)
	for _, e := range entries {
		if !exists(e) {
			t.Errorf("untracked object %s was unlinked", e)
		}
	}
}

// TestCProgramKilled: a C program linking libmpsync creates a segment and
// is killed with SIGKILL: the segment is gone once the tracker notices
// (C programs list their objects in a registry of their own; the tracker
// of the user, here started by this Go process, cleans up after them).
func TestCProgramKilled(t *testing.T) {
	own, err := shm.Create("", 64) // registers this process, so a tracker runs
	if err != nil {
		t.Fatal(err)
	}
	defer own.Unlink()
	defer own.Close()
	exe := cbuild.Build(t).Program(t, "testdata/peer_shm.c")
	p := proctest.Exec(t, exe, "create", "4096")
	p.Start()
	name := p.Recv()
	if !exists(name) {
		t.Fatalf("C program's segment %s missing", name)
	}
	p.Kill()
	if left := gone([]string{name}); len(left) > 0 {
		t.Errorf("the killed C program's segment is left: %v", left)
	}
}

// TestCProgramStartsTracker: a C program linking libmpsync starts the
// tracker (mpsync-tracker, named by $MPSYNC_TRACKER) when none runs, and
// that tracker cleans up after it. To be sure no tracker runs, the C
// program runs as another user (trackers are per user), which needs root.
func TestCProgramStartsTracker(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running the C program as a user with no tracker needs root")
	}
	const nobody = 65534
	dir, err := os.MkdirTemp("", "mpsync-ctracker-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	root := cbuild.ModuleRoot(t)
	trackerExe, err := cbuild.BuildTracker(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	build := dir + "/build"
	cbuild.Run(t, "make", "-C", root+"/csrc", "--no-print-directory", "BUILDDIR="+build)
	peer := dir + "/peer_shm"
	cbuild.Run(t, cbuild.CC(), "-O2", "-I"+root+"/csrc", "-o", peer, root+"/csrc/testdata/peer_shm.c",
		"-L"+build, "-lmpsync", "-Wl,-rpath,"+build)

	p := proctest.Exec(t, peer, "create", "4096")
	p.Cmd.Env = append(os.Environ(), "MPSYNC_TRACKER="+trackerExe)
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	p.Start()
	name := p.Recv()
	pid := 0
	for deadline := time.Now().Add(10 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		pid = processOf(nobody, trackerExe)
	}
	if pid == 0 {
		t.Fatalf("the C program started no tracker for its user")
	}
	p.Kill()
	if left := gone([]string{name}); len(left) > 0 {
		t.Errorf("the killed C program's segment is left: %v", left)
	}
}

// processOf returns the pid of a process of uid running exe, or 0.
func processOf(uid uint32, exe string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+e.Name(), &st) != nil || st.Uid != uid {
			continue
		}
		if target, err := os.Readlink("/proc/" + e.Name() + "/exe"); err == nil && target == exe {
			return pid
		}
	}
	return 0
}

func init() {
	// wait-lock waits for Lock args[0], says "locked" once it has it, and
	// waits to be killed.
	proctest.Register("wait-lock", func(h *proctest.Helper) {
		l, err := semaphore.OpenLock(h.Args[0])
		if err != nil {
			h.Fatalf("%v", err)
		}
		h.Ready()
		l.Lock()
		h.Printf("locked")
		select {}
	})
}

// TestListLockTimes: a lock taken under contention shows how long it has
// been held; one that others wait for shows how long they have waited.
func TestListLockTimes(t *testing.T) {
	l, err := semaphore.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlink()
	defer l.Close()
	l.Lock()
	p := proctest.Start(t, "wait-lock", l.Name())
	var o *resourcetracker.Object
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if o = listed(t, l.Name()); !o.LockWaitedSince.IsZero() {
			break
		}
	}
	if o.LockOwner == nil || o.LockOwner.Pid != os.Getpid() || o.LockWaitedSince.IsZero() || time.Since(o.LockWaitedSince) > time.Minute {
		t.Errorf("a lock another process waits for: %+v", *o)
	}
	l.Unlock()
	p.Expect("locked")
	o = listed(t, l.Name())
	if o.LockOwner == nil || o.LockOwner.Pid != p.Pid() || o.LockHeldSince.IsZero() || time.Since(o.LockHeldSince) > time.Minute {
		t.Errorf("a lock taken under contention: %+v, want held by %d with a time", *o, p.Pid())
	}
}

func listed(t *testing.T, name string) *resourcetracker.Object {
	objs, err := resourcetracker.List()
	if err != nil {
		t.Fatal(err)
	}
	for i := range objs {
		if objs[i].Name == name {
			return &objs[i]
		}
	}
	t.Fatalf("List has no %s", name)
	return nil
}
