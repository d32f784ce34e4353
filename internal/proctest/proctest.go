// Package proctest runs real helper processes for mpsync's cross-process
// tests: the test binary re-runs itself in a named helper role, the
// pattern of Go's own os/exec tests.
//
// A test file registers its helpers in init, and the package's TestMain
// hands over to Main:
//
//	func init() {
//		proctest.Register("increment", func(h *proctest.Helper) {
//			seg, err := shm.Open(h.Args[0])
//			if err != nil {
//				h.Fatalf("open: %v", err)
//			}
//			h.Ready()            // the parent's Start returns now
//			cmd := h.ReadLine()  // wait for an order
//			…
//			h.Printf("done %d", n)
//		})
//	}
//
//	func TestMain(m *testing.M) { proctest.Main(m) }
//
//	p := proctest.Start(t, "increment", seg.Name())
//	p.Send("go")
//	p.Expect("done 100")
//
// The parent talks to the helper by lines: Send writes to its stdin,
// Recv reads its stdout. The helper's stderr is kept for failure messages.
// Kill sends SIGKILL. Every helper is killed, if still running, when its
// test ends.
//
// PrivateShm runs a helper on a /dev/shm of its own (a small tmpfs in a
// private mount namespace; root only), which FillShm fills to the last
// page: RunSpaceCases and ServeSpaceCases check, on it, that calls fail
// with ENOSPC instead of SIGBUS and leave nothing behind.
//
// Main also checks for leaks: after the tests it lists the entries in
// /dev/shm that look like mpsync's (see names.Ours) and were not there
// before, and fails the run naming them. Registered helpers that no test
// started fail a full run too.
package proctest

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proc"
	_ "github.com/mpsync/mpsync/internal/tracker" // test binaries can be the tracker they start
	"github.com/mpsync/mpsync/internal/tracker/server"
)

const (
	envHelper = "MPSYNC_TEST_HELPER"
	// ReadyLine is the line a helper prints when it is set up. Programs
	// that are not Go helpers (C and Python peers, see Exec) print it too.
	ReadyLine = "proctest: ready"
	// recvTimeout bounds every wait for a helper's line, so that a
	// hung helper fails the test instead of hanging it.
	recvTimeout = 2 * time.Minute
)

var (
	mu        sync.Mutex
	helpers   = map[string]func(*Helper){}
	started   = map[string]bool{}
	benchOnly = map[string]bool{}
	atExit    []func()
)

// AtExit registers f to run once the tests have run, before the leak
// check: for fixtures shared by several tests, such as a built library.
func AtExit(f func()) {
	mu.Lock()
	atExit = append(atExit, f)
	mu.Unlock()
}

// Register makes fn runnable as helper name. It is meant for init
// functions; a duplicate name panics.
func Register(name string, fn func(h *Helper)) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := helpers[name]; dup {
		panic("proctest: helper " + strconv.Quote(name) + " registered twice")
	}
	helpers[name] = fn
}

// RegisterForBenchmark is Register for a helper that only benchmarks
// start, so that a run of the tests alone does not report it unused.
func RegisterForBenchmark(name string, fn func(h *Helper)) {
	Register(name, fn)
	mu.Lock()
	benchOnly[name] = true
	mu.Unlock()
}

// Main runs m's tests, or, in a helper process, the helper. It never
// returns. Call it from TestMain.
func Main(m *testing.M) {
	if name := os.Getenv(envHelper); name != "" {
		os.Exit(runHelper(name))
	}
	before := shmEntries()
	code := m.Run()
	mu.Lock()
	for _, f := range atExit {
		f()
	}
	mu.Unlock()
	if code == 0 {
		if left := leaks(before); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: the tests left these in /dev/shm: %s\n", strings.Join(left, " "))
			code = 1
		}
	}
	if code == 0 && fullRun() {
		for _, name := range unstarted() {
			fmt.Fprintf(os.Stderr, "FAIL: helper %q is registered but no test started it\n", name)
			code = 1
		}
	}
	os.Exit(code)
}

// fullRun reports whether every test ran (no -run or -skip filter).
func fullRun() bool {
	for _, f := range []string{"test.run", "test.skip"} {
		if fl := flag.Lookup(f); fl != nil && fl.Value.String() != "" {
			return false
		}
	}
	return true
}

func unstarted() []string {
	mu.Lock()
	defer mu.Unlock()
	var out []string
	for name := range helpers {
		if !started[name] && !benchOnly[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Helper is the helper process's side of the conversation.
type Helper struct {
	// Args are the arguments the parent passed to Start.
	Args []string
	in   *bufio.Reader
}

func runHelper(name string) int {
	mu.Lock()
	fn := helpers[name]
	mu.Unlock()
	if fn == nil {
		fmt.Fprintf(os.Stderr, "proctest: no helper named %q\n", name)
		return 2
	}
	if err := mountPrivateShm(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fn(&Helper{Args: os.Args[1:], in: bufio.NewReader(os.Stdin)})
	return 0
}

// Ready tells the parent that the helper is set up; the parent's Start
// returns when it sees this.
func (h *Helper) Ready() { fmt.Println(ReadyLine) }

// Printf sends one line to the parent (a newline is added).
func (h *Helper) Printf(format string, args ...any) {
	fmt.Printf(strings.TrimSuffix(format, "\n")+"\n", args...)
}

// ReadLine waits for the next line from the parent, without its newline.
// If the parent closed the conversation, the helper exits with status 0.
func (h *Helper) ReadLine() string {
	line, err := h.in.ReadString('\n')
	if err != nil && line == "" {
		os.Exit(0)
	}
	return strings.TrimSuffix(line, "\n")
}

// Fatalf reports a failure on stderr and exits with status 1; the
// parent's test shows the message.
func (h *Helper) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "helper: "+format+"\n", args...)
	os.Exit(1)
}

// Proc is a helper process seen from the test.
type Proc struct {
	// Cmd is the command; adjust it (ExtraFiles, SysProcAttr, Env)
	// between Command and Start.
	Cmd *exec.Cmd

	t       testing.TB
	name    string
	stdin   io.WriteCloser
	lines   chan string
	stderr  syncBuffer
	done    chan struct{}
	waitErr error
	wrapped bool // started by StartIn: the helper may be the wrapper's child
}

// Command prepares helper name with args, without starting it.
func Command(t testing.TB, name string, args ...string) *Proc {
	t.Helper()
	mu.Lock()
	_, ok := helpers[name]
	started[name] = true
	mu.Unlock()
	if !ok {
		t.Fatalf("proctest: no helper named %q", name)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("proctest: %v", err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), envHelper+"="+name)
	return &Proc{Cmd: cmd, t: t, name: name}
}

// Exec prepares an external program (a C or Python peer) that speaks the
// same line protocol: it prints ReadyLine when set up, then reads orders
// on stdin and answers on stdout.
func Exec(t testing.TB, program string, args ...string) *Proc {
	return &Proc{Cmd: exec.Command(program, args...), t: t, name: program}
}

// Start starts helper name with args and waits until it is ready.
func Start(t testing.TB, name string, args ...string) *Proc {
	t.Helper()
	p := Command(t, name, args...)
	p.Start()
	return p
}

// StartIn starts helper name with args under a wrapper command that runs
// the rest of its arguments, such as unshare for another pid namespace,
// and waits until it is ready.
func StartIn(t testing.TB, wrapper []string, name string, args ...string) *Proc {
	t.Helper()
	p := Command(t, name, args...)
	path, err := exec.LookPath(wrapper[0])
	if err != nil {
		t.Fatalf("proctest: %v (the tests need it: install it)", err)
	}
	p.Cmd.Args = append(append(append([]string{}, wrapper...), p.Cmd.Path), args...)
	p.Cmd.Path = path
	p.wrapped = true
	p.Start()
	return p
}

// NestedPidNamespace is a wrapper for StartIn: the helper runs as pid 1 of
// a new pid namespace with its own /proc, as in a container, and is
// killed with the wrapper.
var NestedPidNamespace = []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"}

// Start starts the prepared helper and waits for its Ready.
func (p *Proc) Start() {
	p.t.Helper()
	var err error
	if p.stdin, err = p.Cmd.StdinPipe(); err != nil {
		p.t.Fatalf("proctest: %v", err)
	}
	stdout, err := p.Cmd.StdoutPipe()
	if err != nil {
		p.t.Fatalf("proctest: %v", err)
	}
	p.Cmd.Stderr = &p.stderr
	if err := p.Cmd.Start(); err != nil {
		p.t.Fatalf("proctest: start helper %s: %v", p.name, err)
	}
	p.lines = make(chan string, 1024)
	p.done = make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.waitErr = p.Cmd.Wait()
		close(p.done)
	}()
	p.t.Cleanup(func() {
		p.Cmd.Process.Kill()
		<-p.done
	})
	p.Expect(ReadyLine)
}

// Pid returns the helper's process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Send writes one line to the helper (a newline is added).
func (p *Proc) Send(format string, args ...any) {
	p.t.Helper()
	if _, err := fmt.Fprintf(p.stdin, strings.TrimSuffix(format, "\n")+"\n", args...); err != nil {
		p.t.Fatalf("proctest: send to helper %s: %v\nstderr:\n%s", p.name, err, p.Stderr())
	}
}

// Recv returns the helper's next line. It fails the test if the helper
// exits first or says nothing for two minutes.
func (p *Proc) Recv() string {
	p.t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			<-p.done
			p.t.Fatalf("proctest: helper %s exited (%v) before sending a line\nstderr:\n%s", p.name, p.waitErr, p.Stderr())
		}
		return line
	case <-time.After(recvTimeout):
		p.t.Fatalf("proctest: helper %s sent nothing for %v\nstderr:\n%s", p.name, recvTimeout, p.Stderr())
	}
	return ""
}

// Rest waits for the helper to exit (for at most two minutes) and returns
// the lines it sent that were not received yet: after Kill, everything it
// managed to say before it died.
func (p *Proc) Rest() []string {
	p.t.Helper()
	var out []string
	timeout := time.After(recvTimeout)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				return out
			}
			out = append(out, line)
		case <-timeout:
			p.t.Fatalf("proctest: helper %s did not exit within %v\nstderr:\n%s", p.name, recvTimeout, p.Stderr())
			return out
		}
	}
}

// Expect fails the test unless the helper's next line is want.
func (p *Proc) Expect(want string) {
	p.t.Helper()
	if got := p.Recv(); got != want {
		p.t.Fatalf("proctest: helper %s said %q, want %q\nstderr:\n%s", p.name, got, want, p.Stderr())
	}
}

// CloseStdin ends the conversation: the helper's ReadLine sees EOF.
func (p *Proc) CloseStdin() { p.stdin.Close() }

// KillAtRandom keeps len(procs) processes running, procs[i] made by
// start(i), and kills times SIGKILLs one of them at random after a pause
// of up to 3 ms; after each kill it runs check (its error ends the test)
// and puts start(i)'s new process in the victim's place.
func KillAtRandom(t testing.TB, procs []*Proc, kills int, start func(i int) *Proc, check func() error) {
	t.Helper()
	for i := range procs {
		procs[i] = start(i)
	}
	for range kills {
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		i := rand.IntN(len(procs))
		procs[i].Kill()
		if err := check(); err != nil {
			t.Fatalf("after a kill: %v", err)
		}
		procs[i] = start(i)
	}
}

// Kill sends SIGKILL and waits until the helper is gone. A helper started
// by StartIn may be its wrapper's child (unshare --fork), which the
// wrapper's death only kills a moment later: Kill sends SIGKILL to the
// helper itself, then to the wrapper, and waits until each is gone, its
// files closed and its file locks released.
func (p *Proc) Kill() {
	if !p.wrapped {
		p.Cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		return
	}
	pids := wrapperChain(p.Pid())
	var fds []int
	for _, pid := range pids {
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			fds = append(fds, fd)
		}
	}
	for i := len(fds) - 1; i >= 0; i-- { // the helper first, at the moment chosen
		unix.PidfdSendSignal(fds[i], unix.SIGKILL, nil, 0)
	}
	p.Cmd.Process.Signal(syscall.SIGKILL)
	for _, fd := range fds {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for deadline := time.Now().Add(recvTimeout); time.Now().Before(deadline); {
			if n, err := unix.Poll(pfd, 1000); n > 0 || err != nil && err != unix.EINTR {
				break
			}
		}
		unix.Close(fd)
	}
	<-p.done
}

// Stop stops the helper with SIGSTOP and returns once every thread of it
// has stopped (the signal alone takes effect a moment later). Continue
// lets it go on.
func (p *Proc) Stop() {
	p.t.Helper()
	if p.wrapped {
		p.t.Fatalf("proctest: Stop of helper %s: not for a helper in a wrapper", p.name)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		p.t.Fatalf("proctest: stop helper %s: %v", p.name, err)
	}
	for deadline := time.Now().Add(recvTimeout); !allStopped(p.Pid()); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			p.t.Fatalf("proctest: helper %s did not stop within %v", p.name, recvTimeout)
		}
	}
}

// Continue sends SIGCONT to a helper that Stop stopped.
func (p *Proc) Continue() {
	p.t.Helper()
	if err := p.Cmd.Process.Signal(syscall.SIGCONT); err != nil {
		p.t.Fatalf("proctest: continue helper %s: %v", p.name, err)
	}
}

// allStopped reports whether every thread of process pid is in the
// stopped state ("T" in /proc/<pid>/task/<tid>/stat).
func allStopped(pid int) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, err := os.ReadDir(dir)
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile(dir + task.Name() + "/stat")
		i := bytes.LastIndexByte(b, ')')
		if err != nil || i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
			return false
		}
	}
	return true
}

// wrapperChain returns pid and its descendants in its session: a wrapper
// and the helper it runs, not the trackers they start (those run in
// sessions of their own).
func wrapperChain(pid int) []int {
	sid, err := unix.Getsid(pid)
	if err != nil {
		return []int{pid}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(out[i]) + "/task")
		for _, task := range tasks {
			b, _ := os.ReadFile("/proc/" + strconv.Itoa(out[i]) + "/task/" + task.Name() + "/children")
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					if s, err := unix.Getsid(c); err == nil && s == sid {
						out = append(out, c)
					}
				}
			}
		}
	}
	return out
}

// Wait waits for the helper to exit (for at most two minutes) and returns
// its exit error: nil for status 0, an *exec.ExitError otherwise.
func (p *Proc) Wait() error {
	p.t.Helper()
	select {
	case <-p.done:
		return p.waitErr
	case <-time.After(recvTimeout):
		p.t.Fatalf("proctest: helper %s did not exit within %v\nstderr:\n%s", p.name, recvTimeout, p.Stderr())
	}
	return nil
}

// Stderr returns what the helper wrote to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// RunAs makes the helper run as another user. The test binary is copied
// into a directory that user can read, since the build directory is
// private. Only root can do this; the caller checks.
func (p *Proc) RunAs(uid, gid uint32) {
	p.t.Helper()
	dir, err := os.MkdirTemp("", "mpsync-helper-")
	if err != nil {
		p.t.Fatalf("proctest: %v", err)
	}
	p.t.Cleanup(func() { os.RemoveAll(dir) })
	exe := filepath.Join(dir, "helper.test")
	data, err := os.ReadFile(p.Cmd.Path)
	if err == nil {
		err = os.WriteFile(exe, data, 0o755)
	}
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		p.t.Fatalf("proctest: copy the test binary: %v", err)
	}
	p.Cmd.Path = exe
	p.Cmd.Args[0] = exe
	p.Cmd.Dir = dir
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// shmEntries lists the entries of /dev/shm that look like mpsync's.
func shmEntries() map[string]bool {
	ents, _ := os.ReadDir(names.Dir)
	out := map[string]bool{}
	for _, e := range ents {
		if names.Ours(e.Name()) {
			out[e.Name()] = true
		}
	}
	return out
}

// leaks returns the entries of ours that appeared since before and are
// still there. Test packages run in parallel, so an entry that another
// live process holds open or mapped, or lists in its tracker registry, is
// taken to be that process's; an entry that only dead processes list is
// the resource tracker's to remove, and is waited for (up to 30 s); an
// entry that disappears within a few seconds was in the middle of its
// creator's close-then-unlink. An entry is reported only if every look
// found it left: a look reads every registry and every process's
// mappings while other packages' tests change them (one making and
// unlinking tens of thousands of objects next door), and one look can miss the
// registry or the mapping that accounts for an entry.
func leaks(before map[string]bool) []string {
	// This process's registry is told from others' by its identity, which
	// C code may have made without package proc hearing of it (package shm
	// registers through csrc): proc.Self learns it (or makes one, with an
	// empty registry).
	proc.Self()
	start := time.Now()
	var every map[string]bool // left at every look so far
	for {
		owners := map[string][]server.Registry{}
		for _, r := range server.Registries() {
			for _, e := range r.Entries {
				owners[e.Name] = append(owners[e.Name], r)
			}
		}
		held := proc.HeldInodes(names.Dir)
		var left []string
		trackerWork := false
		for e := range shmEntries() {
			var st unix.Stat_t
			if before[e] || unix.Stat(names.Dir+e, &st) == nil && held[st.Ino] {
				continue
			}
			liveOther, deadOnly := false, len(owners[e]) > 0
			for _, r := range owners[e] {
				if r.Alive {
					deadOnly = false
					liveOther = liveOther || !proc.Is(r.ID)
				}
			}
			if liveOther {
				continue
			}
			if every == nil || every[e] {
				trackerWork = trackerWork || deadOnly
				left = append(left, e)
			}
		}
		every = map[string]bool{}
		for _, e := range left {
			every[e] = true
		}
		wait := 3 * time.Second
		if trackerWork {
			wait = 30 * time.Second
		}
		if len(left) == 0 || time.Since(start) > wait {
			sort.Strings(left)
			return left
		}
		time.Sleep(100 * time.Millisecond)
	}
}
