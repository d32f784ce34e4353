package resourcetracker_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/internal/tracker/server"
	resourcetracker "github.com/mpsync/mpsync/resource_tracker"
	"github.com/mpsync/mpsync/shm"
)

const nobody = 65534

func init() {
	// squat, run as another user, lays traps for our processes: a tracker
	// file that looks alive (its lock held) under the smallest possible
	// name, listening on the abstract socket of that name and on the
	// fixed name older trackers used, counting who connects; and a dead
	// registry listing args[0] (with its inode), a file no live process
	// of ours lists. It answers "count" with the number of connections.
	proctest.Register("squat", func(h *proctest.Helper) {
		trk := csrc.TrkPrefix + "0000000000000000"
		reg := csrc.RegPrefix + "0000000000000001"
		f, err := os.OpenFile(names.Dir+trk, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			h.Fatalf("%v", err)
		}
		lock := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: csrc.RegAliveByte, Len: 1}
		if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lock); err != nil {
			h.Fatalf("%v", err)
		}
		f.WriteString("MPSTRK1\x00")
		var count atomic.Int64
		for _, sock := range []string{"@" + trk, "@mpsync-tracker-0"} {
			ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
			if err != nil {
				h.Fatalf("listen %s: %v", sock, err)
			}
			go func() {
				for {
					if c, err := ln.Accept(); err == nil {
						count.Add(1)
						c.Close()
					}
				}
			}()
		}
		var st unix.Stat_t
		if err := unix.Stat(names.Dir+h.Args[0], &st); err != nil {
			h.Fatalf("%v", err)
		}
		data := make([]byte, csrc.RegHeaderSize+2*csrc.RegSlotSize)
		copy(data, csrc.RegMagic)
		binary.NativeEndian.PutUint64(data[csrc.RegOffID:], 1)
		binary.NativeEndian.PutUint32(data[csrc.RegOffHigh:], 2)
		slot := data[csrc.RegHeaderSize+csrc.RegSlotSize:]
		binary.NativeEndian.PutUint32(slot, 1)
		binary.NativeEndian.PutUint64(slot[csrc.RegSlotOffIno:], st.Ino)
		copy(slot[csrc.RegSlotOffName:], h.Args[0])
		if err := os.WriteFile(names.Dir+reg, data, 0o644); err != nil {
			h.Fatalf("%v", err)
		}
		h.Ready()
		for h.ReadLine() == "count" {
			h.Printf("%d", count.Load())
		}
	})
}

// TestOtherUserCannotTakeOurTracker: another user squats the names a
// tracker could use and plants a registry; our processes neither connect
// to the squatter nor obey its registry, and our own tracker still cleans
// up after a killed process.
func TestOtherUserCannotTakeOurTracker(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test runs a helper as another user (nobody): run the tests as root")
	}
	// A file that no live process of ours lists: only the planted
	// registry names it.
	bait := unlistedPrefix + "bait-" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(names.Dir+bait, []byte("ours"), 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(names.Dir + bait)
	sq := proctest.Command(t, "squat", bait)
	sq.RunAs(nobody, nobody)
	sq.Start()
	defer os.Remove(names.Dir + csrc.TrkPrefix + "0000000000000000")
	defer os.Remove(names.Dir + csrc.RegPrefix + "0000000000000001")

	p := proctest.Start(t, "make")
	entries := strings.Fields(p.Recv())
	if pid := waitTracker(t); pid == sq.Pid() {
		t.Fatalf("our tracker is the squatter")
	}
	p.Kill()
	if left := gone(entries); len(left) > 0 {
		t.Errorf("left after a kill, with a squatter about: %v", left)
	}
	if !exists(bait) {
		t.Errorf("the tracker obeyed another user's registry and unlinked %s", bait)
	}
	sq.Send("count")
	if n := sq.Recv(); n != "0" {
		t.Errorf("%s of our connections went to the squatter", n)
	}
}

func init() {
	// identity prints this process's registry entry and waits to be
	// killed.
	proctest.Register("identity", func(h *proctest.Helper) {
		id, err := proc.Self()
		if err != nil {
			h.Fatalf("%v", err)
		}
		h.Ready()
		h.Printf("%s%016x", csrc.RegPrefix, id)
		select {}
	})
}

// TestBrokenRegistries: registries that are garbage, empty, cut short,
// or claim impossible sizes — dead ones, and a live one truncated under
// the tracker — never crash the tracker; the dead ones are removed
// whether or not they ever had a header, and the live one once its owner
// dies.
func TestBrokenRegistries(t *testing.T) {
	live := proctest.Start(t, "identity")
	liveReg := live.Recv()
	tracker := waitTracker(t)
	header := make([]byte, csrc.RegHeaderSize)
	copy(header, csrc.RegMagic)
	binary.NativeEndian.PutUint32(header[csrc.RegOffHigh:], csrc.RegSlots)
	broken := map[string][]byte{
		"garbage":           []byte(strings.Repeat("not a registry ", 500)),
		"empty":             nil,
		"header cut short":  header[:20],
		"high beyond slots": append(header[:csrc.RegOffHigh:csrc.RegOffHigh], 0xff, 0xff, 0xff, 0xff),
		"high, no slots":    header,
	}
	var files []string
	i := 0
	for what, data := range broken {
		i++
		name := fmt.Sprintf("%s%016x", csrc.RegPrefix, 0xdead0000+i)
		if err := os.WriteFile(names.Dir+name, data, 0o600); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		defer os.Remove(names.Dir + name)
		files = append(files, name)
	}
	if err := os.Truncate(names.Dir+liveReg, 10); err != nil {
		t.Fatal(err)
	}
	// A death makes the tracker look at every registry.
	p := proctest.Start(t, "make")
	entries := strings.Fields(p.Recv())
	p.Kill()
	if left := gone(append(entries, files...)); len(left) > 0 {
		t.Errorf("left: %v", left)
	}
	if !exists(liveReg) {
		t.Errorf("the live owner's truncated registry was removed")
	}
	if syscall.Kill(tracker, 0) != nil || resourcetracker.Running() != tracker {
		t.Fatalf("the tracker %d died reading broken registries", tracker)
	}
	live.Kill()
	if left := gone([]string{liveReg}); len(left) > 0 {
		t.Errorf("the dead owner's truncated registry is left: %v", left)
	}
}

func init() {
	// full-shm runs in a private /dev/shm of 1 MiB with tracking on. It
	// answers orders: "identity" makes this process's identity, "fill"
	// fills /dev/shm to the last page, "free" gives the room back, "open
	// NAME" opens a segment, answering "ok" or the error.
	proctest.Register("full-shm", func(h *proctest.Helper) {
		h.Ready()
		for {
			order := strings.Fields(h.ReadLine())
			var err error
			switch order[0] {
			case "identity":
				_, err = proc.Self()
			case "fill":
				h.FillShm(0)
			case "free":
				h.FreeShm()
			case "plant":
				err = os.WriteFile(names.Dir+order[1], make([]byte, 4096), 0o600)
			case "open":
				var seg *shm.Segment
				if seg, err = shm.Open(order[1]); err == nil {
					seg.Close()
				}
			case "ls":
				ents, _ := os.ReadDir(names.Dir)
				var all []string
				for _, e := range ents {
					all = append(all, e.Name())
				}
				h.Printf("%s", strings.Join(all, " "))
				continue
			}
			switch {
			case err == nil:
				h.Printf("ok")
			case errors.Is(err, syscall.ENOSPC):
				h.Printf("ENOSPC %v", err)
			default:
				h.Printf("error %v", err)
			}
		}
	})
}

// TestFullShmRegistry: with /dev/shm full, a process's first open (which
// needs its identity's registry) and a later one (which needs the
// registry's next page) fail with ENOSPC: no SIGBUS, nothing left behind.
func TestFullShmRegistry(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test mounts a small tmpfs on a private /dev/shm: run the tests as root")
	}
	for _, identityFirst := range []bool{false, true} {
		p := proctest.Command(t, "full-shm")
		p.PrivateShm(1 << 20)
		p.Cmd.Env = append(p.Cmd.Env, "MPSYNC_NO_TRACKER=") // tracked, as programs are
		p.Start()
		p.Send("plant seg")
		p.Expect("ok")
		if identityFirst {
			p.Send("identity")
			p.Expect("ok")
		}
		p.Send("fill")
		p.Expect("ok")
		p.Send("ls")
		before := p.Recv()
		p.Send("open seg")
		if got := p.Recv(); !strings.HasPrefix(got, "ENOSPC ") {
			t.Errorf("identity made first %v: open in a full /dev/shm: %s, want ENOSPC", identityFirst, got)
		}
		p.Send("ls")
		if after := p.Recv(); after != before {
			t.Errorf("identity made first %v: /dev/shm held %q, then %q", identityFirst, before, after)
		}
		p.Send("free")
		p.Expect("ok")
		p.Send("open seg")
		p.Expect("ok")
		p.CloseStdin()
		if err := p.Wait(); err != nil {
			t.Errorf("identity made first %v: the helper died: %v\n%s", identityFirst, err, p.Stderr())
		}
	}
}

// TestTrackersInTwoNetworkNamespaces: processes in another network
// namespace (where our tracker's socket is out of reach) share our
// /dev/shm and start a tracker of their own. The two trackers are
// harmless to each other: each process's objects stay while it lives,
// and go when it dies, whichever tracker sees it first.
func TestTrackersInTwoNetworkNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test makes a network namespace: run the tests as root")
	}
	outer := proctest.Start(t, "make")
	outerEntries := strings.Fields(outer.Recv())
	inner := proctest.StartIn(t, []string{"unshare", "--net"}, "make")
	innerEntries := strings.Fields(inner.Recv())
	trackers := func() int {
		n := 0
		ents, _ := os.ReadDir(names.Dir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), csrc.TrkPrefix) {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(10 * time.Second); trackers() < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := trackers(); n < 2 {
		t.Fatalf("%d trackers published; want one per network namespace", n)
	}
	outer.Kill()
	if left := gone(outerEntries); len(left) > 0 {
		t.Errorf("the outer process's objects are left: %v", left)
	}
	for _, e := range innerEntries {
		if !exists(e) {
			t.Errorf("the live inner process's %s was unlinked", e)
		}
	}
	inner.Kill()
	if left := gone(innerEntries); len(left) > 0 {
		t.Errorf("the inner process's objects are left: %v", left)
	}
}

// openedSegments keeps open-on-order's segments reachable, so mapped.
var openedSegments []*shm.Segment

func init() {
	// open-on-order opens each segment it is sent and keeps it, answering
	// "ok" or "missing" (fs.ErrNotExist).
	proctest.Register("open-on-order", func(h *proctest.Helper) {
		h.Ready()
		for {
			seg, err := shm.Open(h.ReadLine())
			switch {
			case err == nil:
				openedSegments = append(openedSegments, seg) // mapped until the helper dies
				h.Printf("ok")
			case errors.Is(err, fs.ErrNotExist):
				h.Printf("missing")
			default:
				h.Printf("error %v", err)
			}
		}
	})
	// make-segment creates a segment, prints its name and waits to be
	// killed.
	proctest.Register("make-segment", func(h *proctest.Helper) {
		seg, err := shm.Create("", 4096)
		if err != nil {
			h.Fatalf("%v", err)
		}
		h.Ready()
		h.Printf("%s", seg.Name())
		select {}
	})
}

// TestOpenRacingTheReap: a process opens a segment just as the tracker
// reaps it after its creator's death. Either the open fails (the name is
// gone), or the segment stays as long as the opener lives: never a
// successful open of a name the tracker then unlinks.
func TestOpenRacingTheReap(t *testing.T) {
	opener := proctest.Start(t, "open-on-order")
	var opened []string
	for i := range 40 {
		c := proctest.Start(t, "make-segment")
		name := c.Recv()
		c.Kill()
		time.Sleep(time.Duration(i%8) * 500 * time.Microsecond)
		opener.Send("%s", name)
		switch got := opener.Recv(); got {
		case "ok":
			opened = append(opened, name)
		case "missing":
		default:
			t.Fatalf("open %s: %s", name, got)
		}
	}
	time.Sleep(300 * time.Millisecond) // longer than any reap
	for _, name := range opened {
		if !exists(name) {
			t.Errorf("%s was unlinked while the live opener uses it", name)
		}
	}
	t.Logf("%d of 40 opens won the race", len(opened))
	opener.Kill()
	if left := gone(opened); len(left) > 0 {
		t.Errorf("left after the opener died too: %v", left)
	}
}

func init() {
	// own-tracker makes a segment, so that it starts a tracker of its own
	// (it runs in a network namespace of its own), and prints that
	// tracker's pid; sent "next", it waits for another tracker to serve
	// and prints its pid.
	proctest.Register("own-tracker", func(h *proctest.Helper) {
		seg, err := shm.Create("", 8)
		if err != nil {
			h.Fatalf("Create: %v", err)
		}
		defer seg.Unlink()
		running := func(not int) int {
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if pid := resourcetracker.Running(); pid != 0 && pid != not {
					return pid
				}
			}
			h.Fatalf("no tracker serves")
			return 0
		}
		h.Ready()
		first := running(0)
		h.Printf("%d", first)
		h.ReadLine()
		h.Printf("%d", running(first))
		h.ReadLine()
	})
}

// TestKilledTrackerReaped: a process whose tracker (its child) is killed
// starts another and reaps the dead one, which does not stay a zombie for
// as long as the process runs.
func TestKilledTrackerReaped(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test makes a network namespace: run the tests as root")
	}
	before := trackerFiles()
	p := proctest.StartIn(t, []string{"unshare", "--net"}, "own-tracker")
	first, err := strconv.Atoi(p.Recv())
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.Send("next")
	second, err := strconv.Atoi(p.Recv())
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(second, syscall.SIGKILL) // it would sit idle for seconds after the test
	state := ""
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", first))
		if err != nil {
			state = ""
			break
		}
		// pid (comm) state ...: the state follows the last ')'.
		state = strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))[0]
	}
	if state != "" {
		t.Errorf("the killed tracker %d is still there, in state %s (Z: a zombie nobody reaps)", first, state)
	}
	helper := p.Pid()
	p.Send("done")
	p.Wait()
	// Leave nothing behind: the second tracker reaps the helper's
	// registry when the helper's connection ends; then it is killed, and
	// the files of both killed trackers go (the host's tracker, in
	// another network namespace, would remove them only at a sweep).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !slices.ContainsFunc(server.Registries(), func(r server.Registry) bool { return r.Pid == helper }) {
			break
		}
	}
	syscall.Kill(second, syscall.SIGKILL)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		left := 0
		for _, f := range trackerFiles() {
			if !slices.Contains(before, f) {
				if server.DeadTracker(f) {
					os.Remove(names.Dir + f)
				} else {
					left++
				}
			}
		}
		if left == 0 || time.Now().After(deadline) {
			break
		}
	}
}

// trackerFiles lists the tracker files in /dev/shm.
func trackerFiles() []string {
	var out []string
	ents, _ := os.ReadDir(names.Dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), csrc.TrkPrefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestQuietTrackerSeesNewRegistry: a tracker whose clients are all
// connected skips its safety sweeps while no name comes or goes in
// /dev/shm (so that, idle, it does not wake), and sweeps at the next one
// once a name has come: a dead registry planted while it is quiet, whose
// owner never connected (a process killed before it reached the
// tracker), is removed. In a box with a tracker of its own, sweeping
// every 100 ms.
func TestQuietTrackerSeesNewRegistry(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test makes mount and network namespaces: run the tests as root")
	}
	box := startBox(t, 16<<20)
	t.Setenv("MPSYNC_TEST_TRACKER_BACKSTOP", "100ms")
	p := proctest.StartIn(t, box.outside, "own-tracker")
	if _, err := strconv.Atoi(p.Recv()); err != nil {
		t.Fatal(err)
	}
	// Quiet ticks: the client's registry and segment are older than a
	// few sweeps, so the tracker's ticks skip their sweeps.
	time.Sleep(time.Second)
	name := fmt.Sprintf("%s%016x", csrc.RegPrefix, 0xdead0042)
	if err := os.WriteFile(box.dir+name, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for box.exists(name) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if box.exists(name) {
		os.Remove(box.dir + name)
		t.Fatalf("a dead registry planted while the tracker was quiet is still there after 5 s (sweeps every 100 ms)")
	}
}
