package main

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	resourcetracker "github.com/mpsync/mpsync/resource_tracker"
)

// w14 is tracker_cost: what a resource tracker costs while it has nothing
// to do, and how soon it cleans up after a process killed with SIGKILL —
// mpsync's tracker against CPython's multiprocessing resource tracker.
//
// Idle wake-ups: one client process holds one tracked object (mpsync: a
// helper that created a 4 KiB segment; Python: a python3 process that
// created a SharedMemory, which starts its resource tracker as a child)
// and waits. The tracker's context switches, voluntary and involuntary,
// summed over all its threads (/proc/<pid>/task/*/status), are counted
// over 10 s (5 s scaled to 10 s with -quick), with the CPU time of
// those threads over the same window, both trackers side by
// side in the same seconds, once, 5 s after the client started (2 s with
// -quick): the tracker at rest, not its start-up. Threads are looked at every half second:
// one born in the window counts from 0, one that ends in it counts up
// to its last look (the switches of its last half second are lost; the
// "threads" check shows how many there were at the start and the end).
//
// mpsync's tracker is the user's one, shared by every mpsync process that
// reaches it: other processes' connections and deaths wake it, and they
// cannot be told apart from its own wake-ups. The case reports how many
// clients were connected during the window (the tracker's sockets, less
// its listener): the helper, the bench itself once an earlier workload
// made it a client, and "others" — anything else, a run beside tests for
// example. For a clean figure run the bench alone, or in a mount and
// network namespace of its own with a private /dev/shm (see README).
// "tracker=fresh" says the helper started the tracker (none ran before);
// "tracker=running" that it joined one already running.
//
// SIGKILL → gone: a creator makes 4 tracked objects (mpsync: a segment, a
// Lock, a Value and a named SemLock; Python: three SharedMemory segments
// and a spawn-context Lock, its named semaphore — the same mix of three
// segment files and one semaphore) and, once its tracker is at rest (has
// accepted it, or read its registrations) and 100 ms more, is killed with
// SIGKILL; the time until the last of its /dev/shm entries is deleted is
// taken from inotify (IN_DELETE on /dev/shm), from just before kill(2).
// 7 repetitions (3 with -quick), after a warm-up. CPython's
// tracker cleans up when its pipe reaches end-of-file, that is when every
// process holding the write end is gone: here the creator alone holds it
// (the tracker is its child), so the kill closes it. Entries still there
// 5 s after the kill are reported as not removed.
func w14(p *peers) *Workload {
	w := &Workload{ID: "W14", Name: "tracker_cost"}
	idle := &Case{Name: "idle wake-ups, 1 client holding 1 object", Unit: "per 10 s", Lower: true,
		Targets: []Target{upTo(20, "")}, Count: true, Window: true, Op: "10 s"}
	idle.Impls = []*Impl{
		{Name: "mpsync", Run: idleMpsync},
		{Name: "Python multiprocessing", Run: func(cfg *Config) (Measurement, error) { return idlePython(p, cfg) }},
	}
	gone := &Case{Name: "SIGKILL → 4 objects gone", Unit: "ms", Lower: true, Targets: []Target{upTo(100, "")}, Reps: killReps,
		NoCPU: "a latency of the tracker's clean-up, not an operation's cost"}
	gone.Impls = []*Impl{
		{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) {
			exe, err := os.Executable()
			if err != nil {
				return Measurement{}, err
			}
			cmd := command(exe, "0")
			cmd.Env = append(os.Environ(), envRole+"=leak")
			return killAndTime(cmd, true, nil)
		}},
		{Name: "Python multiprocessing", Run: func(cfg *Config) (Measurement, error) {
			if p.python == "" {
				return Measurement{}, &missingError{"python3 not found"}
			}
			cmd := command(p.python, filepath.Join(p.dir, "peers", "python", "tracker_cost.py"), "kill")
			return killAndTime(cmd, false, pythonTrackerCaughtUp)
		}},
	}
	w.Cases = []*Case{idle, gone}
	return w
}

const (
	idleLook  = 500 * time.Millisecond // how often the tracker's threads are read
	goneLimit = 5 * time.Second        // how long a kill's entries may take to go
)

// idleSettle is how long the client has run before the window opens: 5 s
// (2 s with -quick, half a second in the suite's own test), so that what
// is counted is the tracker at rest, not its start-up — a fresh Go
// tracker's runtime keeps a thread busy for a few seconds after its first
// work (measured: ~35 switches between 2 and 4 s after start, none after).
func idleSettle(cfg *Config) time.Duration {
	switch {
	case cfg.Shrink > 1:
		return 500 * time.Millisecond
	case cfg.Quick:
		return 2 * time.Second
	}
	return 5 * time.Second
}

// idleWindow is how long wake-ups are counted: 10 s, 5 s with -quick
// (the figure is scaled to 10 s), 1 s in the suite's own test.
func idleWindow(cfg *Config) time.Duration {
	switch {
	case cfg.Shrink > 1:
		return time.Second
	case cfg.Quick:
		return 5 * time.Second
	}
	return 10 * time.Second
}

// killReps is the number of SIGKILL repetitions: 7, 3 with -quick, or
// -reps if larger.
func killReps(cfg *Config) int {
	switch {
	case cfg.Shrink > 1:
		return cfg.Reps
	case cfg.Quick:
		return max(cfg.Reps, 3)
	}
	return max(cfg.Reps, 7)
}

// idleMpsync counts mpsync's tracker's wake-ups while a helper holds one
// segment.
func idleMpsync(cfg *Config) (Measurement, error) {
	fresh := resourcetracker.Running() == 0
	h, err := startRole("hold")
	if err != nil {
		return Measurement{}, err
	}
	defer h.wait() // the helper unlinks its segment and exits

	// Running makes a probe connection, which wakes the tracker: before
	// the window.
	pid := resourcetracker.Running()
	if pid == 0 {
		return Measurement{}, fmt.Errorf("no tracker runs after the helper made a segment")
	}
	time.Sleep(idleSettle(cfg))
	before := trackerClients(pid)
	m, err := countSwitches(pid, idleWindow(cfg))
	if err != nil {
		return Measurement{}, fmt.Errorf("tracker %d: %w", pid, err)
	}
	m.Checks["clients"] = describeClients(max(before, trackerClients(pid)))
	m.Checks["tracker"] = map[bool]string{true: "fresh", false: "running"}[fresh]
	return m, nil
}

// idlePython counts the wake-ups of CPython's resource tracker while the
// process that started it holds one SharedMemory.
func idlePython(p *peers, cfg *Config) (Measurement, error) {
	if p.python == "" {
		return Measurement{}, &missingError{"python3 not found"}
	}
	cmd := command(p.python, filepath.Join(p.dir, "peers", "python", "tracker_cost.py"), "idle")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return Measurement{}, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Measurement{}, err
	}
	if err := cmd.Start(); err != nil {
		return Measurement{}, err
	}
	defer func() {
		in.Close() // the client unlinks its segment and exits; then its tracker
		cmd.Wait()
	}()
	if line, err := bufio.NewReader(out).ReadString('\n'); strings.TrimSpace(line) != "ready" {
		return Measurement{}, fmt.Errorf("python client said %q (%v), want ready", line, err)
	}
	pid, err := childRunning(cmd.Process.Pid, "resource_tracker", 5*time.Second)
	if err != nil {
		return Measurement{}, err
	}
	time.Sleep(idleSettle(cfg))
	m, err := countSwitches(pid, idleWindow(cfg))
	if err != nil {
		return Measurement{}, fmt.Errorf("resource tracker %d: %w", pid, err)
	}
	return m, nil
}

// threadLife is what a thread has done so far: its voluntary plus
// involuntary context switches, and its CPU time in ns (schedstat's
// first field: user + system).
type threadLife struct{ switches, cpu uint64 }

// threadSwitches returns, for each thread of process pid, its context
// switches and CPU time so far.
func threadSwitches(pid int) (map[int]threadLife, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	m := map[int]threadLife{}
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name(), "status"))
		if err != nil {
			continue // the thread just ended
		}
		var n uint64
		found := 0
		for _, line := range strings.Split(string(data), "\n") {
			k, v, _ := strings.Cut(line, ":")
			if k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches" {
				x, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("%s/status: %q", e.Name(), line)
				}
				n += x
				found++
			}
		}
		sched, err := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(sched))
		if len(f) == 0 {
			return nil, fmt.Errorf("%s/schedstat: %q", e.Name(), sched)
		}
		cpu, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s/schedstat: %q", e.Name(), sched)
		}
		if found == 2 {
			m[tid] = threadLife{n, cpu}
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("no thread of process %d readable", pid)
	}
	return m, nil
}

// countSwitches counts the context switches of every thread of process
// pid over window, reading them every idleLook, and returns them scaled
// to 10 s, with the CPU time of those threads over the window (also per
// 10 s). Threads that begin in the window count from 0; threads that end
// in it count up to their last look.
func countSwitches(pid int, window time.Duration) (Measurement, error) {
	first, err := threadSwitches(pid)
	if err != nil {
		return Measurement{}, err
	}
	start := time.Now()
	last := maps.Clone(first)
	var now map[int]threadLife
	for end := start.Add(window); ; {
		time.Sleep(min(idleLook, max(time.Until(end), 0)))
		if now, err = threadSwitches(pid); err != nil {
			return Measurement{}, fmt.Errorf("ended during the window: %v", err)
		}
		maps.Copy(last, now)
		if !time.Now().Before(end) {
			break
		}
	}
	elapsed := time.Since(start)
	var total, cpu uint64
	for tid, n := range last {
		// first[tid] is zero for a thread born in the window.
		total += n.switches - first[tid].switches
		cpu += n.cpu - first[tid].cpu
	}
	threads := strconv.Itoa(len(first))
	if len(now) != len(first) || len(last) != len(first) {
		threads = fmt.Sprintf("%d→%d (%d ended)", len(first), len(now), len(last)-len(now))
	}
	per10s := float64(10*time.Second) / float64(elapsed)
	return Measurement{
		Value: float64(total) * per10s,
		CPU:   float64(cpu) * per10s,
		Checks: map[string]string{
			"threads": threads,
			"window":  fmt.Sprintf("%.0f s", elapsed.Seconds()),
		},
	}, nil
}

// trackerClients returns the number of connections mpsync's tracker pid
// holds: its sockets, less its listener.
func trackerClients(pid int) int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return max(n-1, 0)
}

// describeClients names the tracker's clients during W14's idle window:
// the helper, this bench process if it is a client (an earlier workload
// gave it an identity, whose registry it holds open), and others.
func describeClients(n int) string {
	names := []string{"helper"}
	if holdsRegistry() {
		names = append(names, "bench")
	}
	if others := n - len(names); others != 0 {
		names = append(names, fmt.Sprintf("%d others", others))
	}
	return strings.Join(names, "+")
}

// holdsRegistry reports whether this process holds an mpsync registry
// open (it has an identity, and so a connection to the tracker): whether
// one of its files is one of /dev/shm's mps-reg-… entries. Compared by
// inode: a registry is made unnamed and linked later, so its descriptor's
// link in /proc does not show the name.
func holdsRegistry() bool {
	regs, _ := filepath.Glob("/dev/shm/mps-reg-*")
	inodes := map[uint64]bool{}
	for _, r := range regs {
		var st unix.Stat_t
		if unix.Stat(r, &st) == nil {
			inodes[st.Ino] = true
		}
	}
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		var st unix.Stat_t
		if unix.Stat("/proc/self/fd/"+e.Name(), &st) == nil && inodes[st.Ino] && st.Dev == devShm() {
			return true
		}
	}
	return false
}

// devShm returns the device of /dev/shm.
func devShm() uint64 {
	var st unix.Stat_t
	unix.Stat("/dev/shm", &st)
	return st.Dev
}

// childRunning finds the child of process ppid whose command line
// contains word, waiting up to limit for it to appear (a child shows its
// parent's command line until it has exec'd).
func childRunning(ppid int, word string, limit time.Duration) (int, error) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				continue
			}
			// pid (comm) state ppid …: comm may hold spaces and parentheses.
			i := bytes.LastIndexByte(stat, ')')
			f := strings.Fields(string(stat[i+1:]))
			if len(f) < 2 || f[1] != strconv.Itoa(ppid) {
				continue
			}
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if bytes.Contains(cmdline, []byte(word)) {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no child of process %d running %s after %v", ppid, word, limit)
}

// killSettle is how long a creator and its tracker are left alone
// before the kill, once the tracker has caught up.
const killSettle = 100 * time.Millisecond

// killAndTime starts cmd in a process group of its own, reads the
// /dev/shm entries it made (after a "ready" line if ready), waits for its
// tracker to have caught up (caughtUp, if not nil) and killSettle more,
// kills it with SIGKILL and returns the time, in ms, until the last of
// those entries was deleted. It then kills what is left of the group
// (CPython's tracker, if still there) and removes entries left behind,
// touching nothing else.
func killAndTime(cmd *exec.Cmd, ready bool, caughtUp func(creator int) error) (Measurement, error) {
	cmd.SysProcAttr.Setpgid = true
	// A file, not a pipe: CPython's tracker inherits the creator's stderr,
	// and Wait must not wait for it to close. It holds what went wrong.
	errf, err := os.CreateTemp("", "mpsync-bench-stderr-")
	if err != nil {
		return Measurement{}, err
	}
	defer os.Remove(errf.Name())
	defer errf.Close()
	cmd.Stderr = errf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Measurement{}, err
	}
	if err := cmd.Start(); err != nil {
		return Measurement{}, err
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	said := func() string {
		b, _ := os.ReadFile(errf.Name())
		return strings.TrimSpace(string(b))
	}
	r := bufio.NewReader(out)
	line, _ := r.ReadString('\n')
	if ready {
		line, _ = r.ReadString('\n')
	}
	entries := strings.Fields(line)
	if len(entries) == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		return Measurement{}, fmt.Errorf("%s made nothing: %s", filepath.Base(cmd.Path), said())
	}
	dw, err := watchDeletes("/dev/shm")
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return Measurement{}, err
	}
	defer dw.Close()
	for _, e := range entries {
		if _, err := os.Stat("/dev/shm/" + e); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return Measurement{}, fmt.Errorf("%s is not there before the kill: %v", e, err)
		}
	}
	if caughtUp != nil {
		if err := caughtUp(cmd.Process.Pid); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return Measurement{}, err
		}
	}
	time.Sleep(killSettle)
	killed := time.Now()
	cmd.Process.Kill()
	last, left := dw.waitGone(entries, killed.Add(goneLimit))
	cmd.Wait()
	for _, e := range left {
		os.Remove("/dev/shm/" + e)
	}
	if len(left) > 0 {
		return Measurement{}, fmt.Errorf("not removed: %d of %d entries still there %v after the kill", len(left), len(entries), goneLimit)
	}
	return Measurement{
		Value:  fromNs(float64(last.Sub(killed).Nanoseconds()), "ms"),
		Checks: map[string]string{"removed": fmt.Sprintf("%d of %d", len(entries), len(entries))},
	}, nil
}

// pythonTrackerCaughtUp waits until the resource tracker that CPython
// process creator started has read every registration written so far:
// until it sleeps reading its (then empty) pipe. Killed earlier, the
// creator would be timed together with its tracker's start-up (some
// 50 ms of imports), which mpsync's creator never is: it says it is ready
// once its tracker has accepted it.
func pythonTrackerCaughtUp(creator int) error {
	pid, err := childRunning(creator, "resource_tracker", 5*time.Second)
	if err != nil {
		return err
	}
	wchan := fmt.Sprintf("/proc/%d/wchan", pid)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(wchan)
		switch {
		case err != nil || string(b) == "0" || string(b) == "":
			// The kernel does not say (no permission): give it time.
			time.Sleep(500 * time.Millisecond)
			return nil
		case string(b) == "pipe_read":
			return nil
		}
	}
	return fmt.Errorf("resource tracker %d never waited on its pipe", pid)
}

// deleteWatch reports deletions in a folder, through inotify.
type deleteWatch struct {
	dir string
	f   *os.File
}

func watchDeletes(dir string) (*deleteWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_DELETE|unix.IN_MOVED_FROM|unix.IN_MOVED_TO); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify %s: %w", dir, err)
	}
	// Non-blocking: the File goes through the poller, and read deadlines work.
	return &deleteWatch{dir: dir, f: os.NewFile(uintptr(fd), "inotify")}, nil
}

func (w *deleteWatch) Close() error { return w.f.Close() }

// waitGone waits until every one of names has been deleted, or until the
// deadline, and returns when the last of them went and those left. A file
// renamed first and deleted under its new name (mpsync's tracker sets a
// name aside before it unlinks it) is gone when that name is deleted. If
// the event queue overflowed, the names are looked at directly.
func (w *deleteWatch) waitGone(names []string, deadline time.Time) (last time.Time, left []string) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	movedFrom := map[uint32]string{} // rename cookie → a wanted name
	aside := map[string]string{}     // a wanted file's new name → its name
	w.f.SetReadDeadline(deadline)
	buf := make([]byte, 64<<10)
	for len(want) > 0 {
		n, err := w.f.Read(buf)
		now := time.Now()
		if err != nil {
			break
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameAt := off + unix.SizeofInotifyEvent
			off = nameAt + int(ev.Len)
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				for name := range want {
					if _, err := os.Stat(filepath.Join(w.dir, name)); err != nil {
						delete(want, name)
						last = now
					}
				}
				continue
			}
			name := string(bytes.TrimRight(buf[nameAt:min(off, n)], "\x00"))
			switch {
			case ev.Mask&unix.IN_MOVED_FROM != 0 && want[name]:
				movedFrom[ev.Cookie] = name
			case ev.Mask&unix.IN_MOVED_TO != 0 && movedFrom[ev.Cookie] != "":
				aside[name] = movedFrom[ev.Cookie]
				delete(movedFrom, ev.Cookie)
			case ev.Mask&unix.IN_DELETE != 0 && aside[name] != "":
				delete(want, aside[name])
				delete(aside, name)
				last = now
			case ev.Mask&unix.IN_DELETE != 0 && want[name]:
				delete(want, name)
				last = now
			}
		}
	}
	for name := range want {
		if _, err := os.Stat(filepath.Join(w.dir, name)); err == nil {
			left = append(left, name)
		} else {
			last = time.Now() // gone, its event missed: late rather than early
		}
	}
	return last, left
}
