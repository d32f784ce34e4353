package resourcetracker_test

// Tests of liveness across pid namespaces, untracked objects and names
// replaced under the tracker: processes here are real (helpers are this
// test binary run again), killed with SIGKILL, and some run in nested pid
// namespaces (unshare --pid --mount-proc), whose /proc shows none of the
// others, as in a container sharing the host's /dev/shm.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/internal/tracker/server"
	resourcetracker "github.com/mpsync/mpsync/resource_tracker"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

func init() {
	// Every lv- helper prints, after Ready, one line: its identity in hex,
	// then what it made.

	// lv-make makes a segment, a named semaphore, a Lock and a Value and
	// waits to be killed.
	proctest.Register("lv-make", func(h *proctest.Helper) {
		id := selfID(h)
		entries, err := makeObjects(nil)
		if err != nil {
			h.Fatalf("%v", err)
		}
		h.Ready()
		h.Printf("%x %s", id, strings.Join(entries, " "))
		select {}
	})
	// lv-open opens the entries args (each as what it is: a named
	// semaphore, a Lock, or a segment); then, on the order "open NAME",
	// opens segment NAME and says "opened"; on "exit" it exits. Else it
	// waits to be killed.
	proctest.Register("lv-open", func(h *proctest.Helper) {
		id := selfID(h)
		for _, e := range h.Args {
			var err error
			switch {
			case strings.HasPrefix(e, "sem."):
				_, err = semaphore.OpenSemLock(strings.TrimPrefix(e, "sem."), semaphore.SemaphoreKind, 1)
			case strings.HasPrefix(e, "mps_lock_"):
				_, err = semaphore.OpenLock(e)
			default:
				_, err = shm.Open(e)
			}
			if err != nil {
				h.Fatalf("open %s: %v", e, err)
			}
		}
		h.Ready()
		h.Printf("%x", id)
		for {
			f := strings.Fields(h.ReadLine())
			switch {
			case len(f) == 1 && f[0] == "exit":
				return
			case len(f) == 2 && f[0] == "open":
				if _, err := shm.Open(f[1]); err != nil {
					h.Fatalf("open %s: %v", f[1], err)
				}
				h.Printf("opened")
			default:
				h.Fatalf("unknown order %q", f)
			}
		}
	})
	// lv-untracked makes an untracked Lock, Value and segment and waits
	// to be killed.
	proctest.Register("lv-untracked", func(h *proctest.Helper) {
		id := selfID(h)
		l, err := semaphore.NewLock(semaphore.Untracked())
		if err != nil {
			h.Fatalf("%v", err)
		}
		v, err := ctypes.NewValue[int32](1, ctypes.Untracked())
		if err != nil {
			h.Fatalf("%v", err)
		}
		seg, err := shm.Create("", 4096, shm.Untracked())
		if err != nil {
			h.Fatalf("%v", err)
		}
		h.Ready()
		h.Printf("%x %s %s %s", id, l.Name(), v.Name(), seg.Name())
		select {}
	})
	// lv-hold makes a Lock and a segment, takes the lock, and waits to be
	// killed.
	proctest.Register("lv-hold", func(h *proctest.Helper) {
		id := selfID(h)
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
		h.Printf("%x %s %s", id, l.Name(), seg.Name())
		select {}
	})
	// lv-create creates the segment args[0] and waits to be killed.
	proctest.Register("lv-create", func(h *proctest.Helper) {
		id := selfID(h)
		if _, err := shm.Create(h.Args[0], 4096); err != nil {
			h.Fatalf("%v", err)
		}
		h.Ready()
		h.Printf("%x", id)
		select {}
	})
}

// selfID makes the helper's identity first, so that it is there to print.
func selfID(h *proctest.Helper) uint64 {
	id, err := proc.Self()
	if err != nil {
		h.Fatalf("proc.Self: %v", err)
	}
	return id
}

// startLV starts an lv- helper, under wrapper if not nil, and returns it
// with its identity and the rest of its line.
func startLV(t *testing.T, wrapper []string, name string, args ...string) (*proctest.Proc, uint64, []string) {
	t.Helper()
	var p *proctest.Proc
	if wrapper != nil {
		p = proctest.StartIn(t, wrapper, name, args...)
	} else {
		p = proctest.Start(t, name, args...)
	}
	f := strings.Fields(p.Recv())
	if len(f) == 0 {
		t.Fatalf("%s said nothing", name)
	}
	id, err := strconv.ParseUint(f[0], 16, 64)
	if err != nil {
		t.Fatalf("%s's identity %q: %v", name, f[0], err)
	}
	return p, id, f[1:]
}

// waitFor polls cond for up to d and reports whether it became true.
func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// inode returns the inode of dir+entry, 0 if there is none.
func inode(dir, entry string) uint64 {
	var st syscall.Stat_t
	if syscall.Lstat(dir+entry, &st) != nil {
		return 0
	}
	return st.Ino
}

// registryOf returns the registry of identity id as the tracker reads it.
func registryOf(t *testing.T, id uint64) server.Registry {
	t.Helper()
	for _, r := range server.Registries() {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no registry for identity %x", id)
	return server.Registry{}
}

// TestTrackerInOtherPidNamespace: a tracker that runs in another pid
// namespace than a creator — whose /proc does not show the creator, nor
// its mappings — never unlinks the live creator's objects when another
// user of them dies, and unlinks them once the creator is killed. Both
// ways round: tracker nested and creator outside (the creator's pid means
// nothing to the tracker), and creator nested (its pid, 1, is init to the
// tracker).
//
// The processes run in a box: a mount namespace with a /dev/shm of its
// own and a network namespace of its own, so that the tracker started
// there is the only one that sees that /dev/shm and the only one its
// clients can reach; the test looks into it through /proc/<box>/root.
func TestTrackerInOtherPidNamespace(t *testing.T) {
	for _, c := range []struct {
		name                         string
		trackerNested, creatorNested bool
	}{
		{"tracker nested, creator outside", true, false},
		{"tracker outside, creator nested", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			box := startBox(t, 64<<20)
			dir, outside, nested := box.dir, box.outside, box.nested

			// The tracker: this test binary in the tracker role.
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			logPath := t.TempDir() + "/tracker.log"
			wrapper := outside
			if c.trackerNested {
				wrapper = nested
			}
			trk := exec.Command(wrapper[0], append(append([]string{}, wrapper[1:]...), exe)...)
			trk.Env = append(os.Environ(), "MPSYNC_TRACKER_ROLE=1", "MPSYNC_TRACKER_LOG="+logPath)
			trk.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := trk.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				syscall.Kill(-trk.Process.Pid, syscall.SIGKILL)
				trk.Wait()
			})
			trkPid := trk.Process.Pid // nsenter without --pid execs: this is the tracker
			if c.trackerNested {
				trkPid = 1 // the first process of its namespace
			}
			trackers := func() []string { return box.entries(csrc.TrkPrefix) }
			if !waitFor(10*time.Second, func() bool { return len(trackers()) == 1 }) {
				t.Fatalf("the tracker did not publish itself in the box: %v", trackers())
			}

			// The opener runs outside: nested, it would be pid 1 like
			// a nested tracker, which would make a tracker that went by
			// pids take it for alive — and keep the names it lists.
			creatorW, openerW := outside, outside
			if c.creatorNested {
				creatorW = nested
			}
			creator, creatorID, entries := startLV(t, creatorW, "lv-make")
			if len(entries) != 4 {
				t.Fatalf("lv-make made %v", entries)
			}
			opener, openerID, _ := startLV(t, openerW, "lv-open", entries...)
			if got := trackers(); len(got) != 1 {
				t.Fatalf("the clients in the box started a tracker of their own: %v", got)
			}
			for _, e := range entries {
				if inode(dir, e) == 0 {
					t.Fatalf("%s is not in the box's /dev/shm", e)
				}
			}
			regExists := func(id uint64) bool { return inode(dir, proctest.RegistryFile(id)) != 0 }

			// The opener dies: the tracker wakes, reaps its registry, and
			// must keep everything, since the creator lives.
			opener.Kill()
			if !waitFor(10*time.Second, func() bool { return !regExists(openerID) }) {
				t.Fatalf("the tracker did not reap the killed opener's registry")
			}
			time.Sleep(300 * time.Millisecond)
			for _, e := range entries {
				if inode(dir, e) == 0 {
					t.Errorf("%s unlinked while its creator, in another pid namespace than the tracker, lives", e)
				}
			}
			if !regExists(creatorID) {
				t.Errorf("the live creator's registry was removed")
			}
			if t.Failed() {
				return
			}

			// The creator dies: everything goes, by this tracker.
			creator.Kill()
			if !waitFor(20*time.Second, func() bool {
				for _, e := range entries {
					if inode(dir, e) != 0 {
						return false
					}
				}
				return !regExists(creatorID)
			}) {
				t.Fatalf("objects or registry of the killed creator left in the box")
			}
			log, _ := os.ReadFile(logPath)
			for _, e := range entries {
				want := fmt.Sprintf("mpsync tracker %d: ", trkPid)
				found := false
				for _, line := range strings.Split(string(log), "\n") {
					found = found || strings.Contains(line, want) && strings.Contains(line, " "+e+":")
				}
				if !found {
					t.Errorf("the tracker's log has no line of %q unlinking %s:\n%s", want, e, log)
				}
			}
		})
	}
}

// TestUntrackedNeverUnlinked: untracked objects (a Lock, a Value, a
// segment) stay when other processes that opened them exit, normally or
// by SIGKILL, while their creator lives, and after it dies too (and a
// reader that came later is gone as well). Both
// defences are checked: openers do not list untracked objects in their
// registries, and the tracker leaves a file with the untracked mark alone
// even when a dead registry lists it (as one would that opened the
// segment in the moment between its creation and its marking).
func TestUntrackedNeverUnlinked(t *testing.T) {
	creator, creatorID, entries := startLV(t, nil, "lv-untracked")
	if len(entries) != 3 {
		t.Fatalf("lv-untracked made %v", entries)
	}
	inos := map[string]uint64{}
	for _, e := range entries {
		t.Cleanup(func() { os.Remove(names.Dir + e) })
		fi, err := os.Stat(names.Dir + e)
		if err != nil || fi.Mode()&os.ModeSticky == 0 {
			t.Fatalf("%s: %v, mode %v: want the untracked mark (sticky bit)", e, err, fi.Mode())
		}
		inos[e] = inode(names.Dir, e)
	}
	stay := func(when string) {
		t.Helper()
		for _, e := range entries {
			if inode(names.Dir, e) != inos[e] {
				t.Errorf("untracked %s unlinked %s", e, when)
			}
		}
	}
	for _, how := range []string{"exit", "kill"} {
		opener, openerID, _ := startLV(t, nil, "lv-open", entries...)
		if r := registryOf(t, openerID); len(r.Entries) != 0 {
			t.Errorf("an opener registered untracked objects: %v", r.Entries)
		}
		if how == "exit" {
			opener.Send("exit")
			if err := opener.Wait(); err != nil {
				t.Fatal(err)
			}
		} else {
			opener.Kill()
		}
		if !waitFor(10*time.Second, func() bool { return !proctest.RegistryExists(openerID) }) {
			t.Fatalf("the tracker did not reap the registry of an opener that ended by %s", how)
		}
		stay("after an opener's " + how)
	}

	// A dead registry that lists them, then the creator's death: the
	// tracker reaps both, and unlinks none of them.
	forged := forgeRegistry(t, entries, inos)
	creator.Kill()
	if !waitFor(10*time.Second, func() bool {
		return !proctest.RegistryExists(creatorID) && !proctest.RegistryExists(forged)
	}) {
		t.Fatalf("the tracker did not reap the dead creator's registry and the forged one")
	}
	time.Sleep(300 * time.Millisecond)
	stay("after their creator died")

	// With the creator gone, a last reader comes and goes.
	reader, readerID, _ := startLV(t, nil, "lv-open", entries...)
	reader.Kill()
	if !waitFor(10*time.Second, func() bool { return !proctest.RegistryExists(readerID) }) {
		t.Fatalf("the tracker did not reap the registry of the last reader")
	}
	time.Sleep(300 * time.Millisecond)
	stay("after a reader that came after their creator's death died too")
	objs, err := resourcetracker.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if inos[o.Name] != 0 && (!o.Untracked || o.Stale()) {
			t.Errorf("mpsync-ls: %s untracked %v, stale %v", o.Name, o.Untracked, o.Stale())
		}
	}
	for _, e := range entries {
		if err := os.Remove(names.Dir + e); err != nil {
			t.Errorf("removing %s: %v", e, err)
		}
	}
}

// forgeRegistry writes the registry of a dead process (no liveness lock
// held) that lists entries with their inodes, and returns its identity;
// the test removes it if the tracker has not.
func forgeRegistry(t *testing.T, entries []string, inos map[string]uint64) uint64 {
	t.Helper()
	var id uint64
	for id&0x3fffffff == 0 || id&0x3fffffff == 0x3fffffff {
		id = rand.Uint64() & csrc.IDMask
	}
	data := make([]byte, csrc.RegHeaderSize+(len(entries)+1)*csrc.RegSlotSize)
	le := binary.NativeEndian
	copy(data, csrc.RegMagic)
	le.PutUint64(data[csrc.RegOffID:], id)
	le.PutUint32(data[csrc.RegOffHigh:], uint32(len(entries)+1))
	for i, e := range entries {
		slot := data[csrc.RegHeaderSize+(i+1)*csrc.RegSlotSize:]
		le.PutUint32(slot, 1)
		le.PutUint64(slot[csrc.RegSlotOffIno:], inos[e])
		copy(slot[csrc.RegSlotOffName:], e)
	}
	path := names.Dir + proctest.RegistryFile(id)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path) })
	r := registryOf(t, id)
	if r.Alive || len(r.Entries) != len(entries) {
		t.Fatalf("forged registry reads as %+v", r)
	}
	return id
}

// TestReplacedNameKept: a process opens segment x; x is unlinked and a new
// file made under its name, which no one registers, holds or marks; the
// process is killed. The tracker reaps its registry, which lists x, and
// must leave the new x alone: it is not the file that was registered.
func TestReplacedNameKept(t *testing.T) {
	name := names.Random(unlistedPrefix + "replaced-")
	path := names.Dir + name
	t.Cleanup(func() { os.Remove(path) })
	if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	a, aID, _ := startLV(t, nil, "lv-open", name)
	if r := registryOf(t, aID); len(r.Entries) != 1 || r.Entries[0].Name != name {
		t.Fatalf("A's registry lists %v, want %s", r.Entries, name)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("a new file, not A's"), 0o600); err != nil {
		t.Fatal(err)
	}
	ino := inode(names.Dir, name)
	a.Kill()
	if !waitFor(10*time.Second, func() bool { return !proctest.RegistryExists(aID) }) {
		t.Fatalf("the tracker did not reap the killed process's registry")
	}
	if waitFor(3*time.Second, func() bool { return inode(names.Dir, name) != ino }) {
		t.Fatalf("the new %s was unlinked (or replaced) after the tracker reaped A", name)
	}
	if log, _ := os.ReadFile(resourcetracker.LogPath()); strings.Contains(string(log), " "+name+":") {
		t.Errorf("the tracker's log names %s", name)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// TestReplacedNameLastUserGone: segment x is opened by P, then unlinked
// and created anew under the same name by Q, which is killed. P never
// used the new x: its last user is Q, so it must go — while P still
// lives, and in any case once P is gone too, when nothing is left to say
// it was ever used (P's entry names the old inode).
func TestReplacedNameLastUserGone(t *testing.T) {
	name := names.Random(unlistedPrefix + "replaced-")
	path := names.Dir + name
	t.Cleanup(func() { os.Remove(path) })
	if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	p, pID, _ := startLV(t, nil, "lv-open", name)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	q, qID, _ := startLV(t, nil, "lv-create", name)
	q.Kill()
	if !waitFor(10*time.Second, func() bool { return !proctest.RegistryExists(qID) }) {
		t.Fatalf("the tracker did not reap the killed creator's registry")
	}
	if left := gone([]string{name}); len(left) > 0 {
		t.Errorf("%s, made by a process now dead and used by no one else, is left while an opener of the file it replaced lives", name)
	}
	p.Send("exit")
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return !proctest.RegistryExists(pID) }) {
		t.Fatalf("the tracker did not reap the registry of the opener that exited")
	}
	if left := gone([]string{name}); len(left) > 0 {
		t.Errorf("%s is left after every process that used it, or its name, is gone", name)
	}
}

// TestReplacedNameReopened: P opens segment x; x is unlinked and made
// anew by Q; P opens the new x too. P's registry must now name the new
// file: Q's death leaves it to P, and P's death takes it away.
func TestReplacedNameReopened(t *testing.T) {
	name := names.Random(unlistedPrefix + "replaced-")
	path := names.Dir + name
	t.Cleanup(func() { os.Remove(path) })
	if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	p, pID, _ := startLV(t, nil, "lv-open", name)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	q, qID, _ := startLV(t, nil, "lv-create", name)
	p.Send("open %s", name)
	p.Expect("opened")
	ino := inode(names.Dir, name)
	if r := registryOf(t, pID); len(r.Entries) != 1 || r.Entries[0].Name != name || r.Entries[0].Ino != ino {
		t.Errorf("P's registry lists %+v, want %s with the new file's inode %d", r.Entries, name, ino)
	}
	q.Kill()
	if !waitFor(10*time.Second, func() bool { return !proctest.RegistryExists(qID) }) {
		t.Fatalf("the tracker did not reap the killed creator's registry")
	}
	time.Sleep(300 * time.Millisecond)
	if inode(names.Dir, name) != ino {
		t.Fatalf("%s unlinked while P, which opened it, lives", name)
	}
	p.Kill()
	if left := gone([]string{name}); len(left) > 0 {
		t.Errorf("%s is left after both its users were killed", name)
	}
}

// TestListAcrossPidNamespaces: mpsync-ls (List) shows a process in a
// nested pid namespace, that made a segment and holds a Lock, as a live
// user and holder in another namespace (its pid, 1, is its own
// namespace's), next to a user in ours; once it is killed, as dead —
// while its registry is there (kept from the tracker for the test), not
// only once it is gone.
func TestListAcrossPidNamespaces(t *testing.T) {
	holder, holderID, f := startLV(t, proctest.NestedPidNamespace, "lv-hold")
	lockName, segName := f[0], f[1]
	opener, _, _ := startLV(t, nil, "lv-open", lockName, segName)
	unpin := proctest.PinRegistry(t, holderID)

	check := func(alive bool) {
		t.Helper()
		for _, name := range []string{lockName, segName} {
			o := listed(t, name)
			var nested, ours *resourcetracker.User
			for i, u := range o.Users {
				if u.OtherNamespace {
					nested = &o.Users[i]
				} else {
					ours = &o.Users[i]
				}
			}
			if len(o.Users) != 2 || nested == nil || ours == nil {
				t.Fatalf("%s: users %+v, want one in another pid namespace and one in ours", name, o.Users)
			}
			if nested.Pid != 1 || nested.Alive != alive {
				t.Errorf("%s: nested user %+v, want pid 1, alive %v", name, *nested, alive)
			}
			if ours.Pid != opener.Pid() || !ours.Alive {
				t.Errorf("%s: user %+v, want pid %d, alive", name, *ours, opener.Pid())
			}
			if o.Stale() {
				t.Errorf("%s: stale while a user lives", name)
			}
			if name != lockName {
				continue
			}
			if lo := o.LockOwner; lo == nil || lo.Pid != 1 || !lo.OtherNamespace || lo.Alive != alive || o.LockOwnerDead {
				t.Errorf("%s: lock owner %+v (dead-owner mark %v), want pid 1 in another namespace, alive %v", name, lo, o.LockOwnerDead, alive)
			}
		}
	}
	check(true)
	holder.Kill()
	check(false)

	unpin()
	opener.Kill()
	if left := gone([]string{lockName, segName}); len(left) > 0 {
		t.Errorf("left after both users died: %v", left)
	}
}

func init() {
	// lv-create-loop makes, closes and unlinks objects of kind args[0] in
	// a loop until it is killed.
	proctest.Register("lv-create-loop", func(h *proctest.Helper) {
		id := selfID(h)
		var closeUnlink func() error
		make := map[string]func() error{
			"segment": func() error {
				s, err := shm.Create("", 4096)
				if err == nil {
					closeUnlink = func() error { s.Close(); return s.Unlink() }
				}
				return err
			},
			"segment-reserved": func() error {
				s, err := shm.Create("", 4096, shm.Reserve())
				if err == nil {
					closeUnlink = func() error { s.Close(); return s.Unlink() }
				}
				return err
			},
			"lock": func() error {
				l, err := semaphore.NewLock()
				if err == nil {
					closeUnlink = func() error { l.Close(); return l.Unlink() }
				}
				return err
			},
			"semlock": func() error {
				l, err := semaphore.NewSemLock(semaphore.SemaphoreKind, 1, 1, "")
				if err == nil {
					closeUnlink = func() error { l.Close(); return l.Unlink() }
				}
				return err
			},
		}[h.Args[0]]
		h.Ready()
		h.Printf("%x", id)
		for {
			if err := make(); err != nil {
				h.Fatalf("%v", err)
			}
			if err := closeUnlink(); err != nil {
				h.Fatalf("%v", err)
			}
		}
	})
}

// TestKilledWhileCreating kills, 20 times for each sort of object, a
// process that does nothing but create, close and unlink objects, at a
// random moment: whatever it was creating when it died must not be left
// in /dev/shm. A create that makes the name visible before the process
// has registered it leaves the name for ever when killed in between:
// shm.Create without WithInit opens the name with O_CREAT|O_EXCL, then
// sizes, maps and registers it, and FAILS here (about half the kills
// leave a segment, empty or sized). Objects and named semaphores are made
// unnamed (O_TMPFILE), registered, then linked, and pass.
func TestKilledWhileCreating(t *testing.T) {
	for _, kind := range []string{"segment", "segment-reserved", "lock", "semlock"} {
		t.Run(kind, func(t *testing.T) {
			// In a box: what is left is this test's alone, and leaks
			// no other test package's leak check can trip over.
			box := startBox(t, 64<<20)
			var ids []uint64
			for range 20 {
				p, id, _ := startLV(t, box.outside, "lv-create-loop", kind)
				ids = append(ids, id)
				time.Sleep(time.Duration(500+rand.IntN(3000)) * time.Microsecond)
				p.Kill()
			}
			if !waitFor(10*time.Second, func() bool {
				for _, id := range ids {
					if box.exists(proctest.RegistryFile(id)) {
						return false
					}
				}
				return true
			}) {
				t.Fatalf("the tracker did not reap the killed processes' registries")
			}
			var left []string
			if !waitFor(3*time.Second, func() bool { left = box.entries(""); return len(left) == 0 }) {
				for _, e := range left {
					t.Errorf("left in /dev/shm by a process killed while creating it: %s", box.describe(e))
				}
			}
		})
	}
}

// unlistedPrefix names the files these tests make on purpose without
// registering them, which live for seconds: outside names.Ours, so that
// the leak checks of test packages running meanwhile do not take them for
// leaks (each test removes its own).
const unlistedPrefix = "mps-unlisted-"

// TestFailedCreateKeepsRegistration: a create of a name this process
// already uses that fails (EEXIST) leaves the process's registry naming
// the file the process maps, not the attempt's discarded file; else the
// tracker would take the process for no user of its own segment, and,
// the process gone, leave the name to no one. (C's mps_shm_create: the
// same check in test_shm.c.)
func TestFailedCreateKeepsRegistration(t *testing.T) {
	name := names.TestPrefix + "recreate-" + names.Random("")
	seg, err := shm.Create(name, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer shm.Unlink(name)
	defer seg.Close()
	id := proc.MustSelf()
	listed := func() uint64 {
		for _, e := range registryOf(t, id).Entries {
			if e.Name == name {
				return e.Ino
			}
		}
		return 0
	}
	want := inode(names.Dir, name)
	if got := listed(); got != want {
		t.Fatalf("after Create the registry lists %s with inode %d, the file is %d", name, got, want)
	}
	for _, opts := range [][]shm.Option{nil, {shm.Reserve()}, {shm.WithInit(func([]byte) error { return nil })}} {
		if _, err := shm.Create(name, 4096, opts...); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("a second Create: %v, want fs.ErrExist", err)
		}
		if got := listed(); got != want {
			t.Errorf("after a failed Create the registry lists %s with inode %d, the file is %d", name, got, want)
		}
	}
}
