package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

// The bench binary re-runs itself in a role to give mpsync's cross-process
// workloads a second (Go) process, as the tests do.
const envRole = "MPSYNC_BENCH_ROLE"

// roles are the helper processes' programs, keyed by name; each gets its
// arguments, says "ready" on stdout, and reads orders from stdin.
var roles = map[string]func(args []string, in *bufio.Reader){
	"pong": rolePong, "count": roleCount, "event-pong": roleEventPong, "barrier": roleBarrier,
	"leak": roleLeak, "hold": roleHold,
}

// runRole runs this process's role, if it has one, and exits.
func runRole() {
	name := os.Getenv(envRole)
	if name == "" {
		return
	}
	role, ok := roles[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "bench: no role %q\n", name)
		os.Exit(2)
	}
	role(os.Args[1:], bufio.NewReader(os.Stdin))
	os.Exit(0)
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench role:", err)
		os.Exit(1)
	}
}

// rolePong answers each release of semaphore args[0] with a release of
// args[1], 2×args[2] times (the first args[2] a warm-up, see handOvers),
// and reports its CPU time over the others.
func rolePong(args []string, in *bufio.Reader) {
	a, err := semaphore.OpenSemaphore(args[0])
	must(err)
	b, err := semaphore.OpenSemaphore(args[1])
	must(err)
	n, _ := strconv.Atoi(args[2])
	fmt.Println("ready")
	ctx := context.Background()
	roleRounds(n, func() {
		must(a.Acquire(ctx))
		must(b.Release())
	})
}

// roleRounds runs round n times, then n times more, and reports its CPU
// time over the second n: a hand-over role's side of handOvers.
func roleRounds(n int, round func()) {
	for range n {
		round()
	}
	c0 := cpuTime()
	for range n {
		round()
	}
	reportCPU(c0)
}

// roleCount adds 1 args[2] times to the int64 at offset 0 of segment
// args[1] under lock args[0], after an order line; then it says "done"
// and reports its CPU time.
func roleCount(args []string, in *bufio.Reader) {
	l, err := semaphore.OpenLock(args[0])
	must(err)
	seg, err := shm.Open(args[1])
	must(err)
	n, _ := strconv.Atoi(args[2])
	c := counterOf(seg)
	fmt.Println("ready")
	in.ReadString('\n')
	c0 := cpuTime()
	for range n {
		l.Lock()
		*c++
		l.Unlock()
	}
	fmt.Println("done")
	reportCPU(c0)
}

// roleEventPong waits for event args[0], clears it and sets args[1],
// 2×args[2] times (the first args[2] a warm-up), and reports its CPU time
// over the others.
func roleEventPong(args []string, in *bufio.Reader) {
	a, err := semaphore.OpenEvent(args[0])
	must(err)
	b, err := semaphore.OpenEvent(args[1])
	must(err)
	n, _ := strconv.Atoi(args[2])
	fmt.Println("ready")
	ctx := context.Background()
	roleRounds(n, func() {
		_, err := a.Wait(ctx)
		must(err)
		a.Clear()
		must(b.Set())
	})
}

// roleBarrier waits on barrier args[0] 2×args[1] times (the first args[1]
// a warm-up), and reports its CPU time over the others.
func roleBarrier(args []string, in *bufio.Reader) {
	b, err := semaphore.OpenBarrier(args[0])
	must(err)
	n, _ := strconv.Atoi(args[1])
	fmt.Println("ready")
	ctx := context.Background()
	roleRounds(n, func() {
		_, err := b.Wait(ctx)
		must(err)
	})
}

// helper is a running role process.
type helper struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startRole starts a role process and waits for its "ready".
func startRole(role string, args ...string) (*helper, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := command(exe, args...)
	cmd.Env = append(os.Environ(), envRole+"="+role)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h := &helper{cmd: cmd, in: in, out: bufio.NewReader(out)}
	if err := h.expect("ready"); err != nil {
		h.kill()
		return nil, err
	}
	return h, nil
}

func (h *helper) send(line string) error {
	_, err := io.WriteString(h.in, line+"\n")
	return err
}

func (h *helper) expect(want string) error {
	line, err := h.out.ReadString('\n')
	if got := strings.TrimSpace(line); got != want {
		return fmt.Errorf("role %s said %q (%v), want %q", h.cmd.Env[len(h.cmd.Env)-1], got, err, want)
	}
	return nil
}

// wait waits for the role to exit.
func (h *helper) wait() error {
	h.in.Close()
	return h.cmd.Wait()
}

// finish ends a measurement with one helper: it adds the CPU time the
// helper reports to s, waits for the helper to exit, and returns the
// measurement of n operations in unit.
func (h *helper) finish(s spent, n int, unit string) (Measurement, error) {
	cpu, err := h.cpu()
	if err != nil {
		h.kill()
		return Measurement{}, err
	}
	s.cpu += cpu
	return s.perOp(n, unit), h.wait()
}

func (h *helper) kill() {
	h.cmd.Process.Kill()
	h.cmd.Wait()
}

// roleLeak creates a segment, a named semaphore, a Lock and a Value (and,
// with args[0] = N > 0, starts N children doing the same), prints every
// /dev/shm entry on one line and waits to be killed: W11.
func roleLeak(args []string, in *bufio.Reader) {
	seg, err := shm.Create("", 4096)
	must(err)
	sl, err := semaphore.NewSemLock(semaphore.SemaphoreKind, 1, 1, "")
	must(err)
	l, err := semaphore.NewLock()
	must(err)
	v, err := ctypes.NewValue[int64](0)
	must(err)
	all := []string{seg.Name(), "sem." + sl.Name(), l.Name(), v.Name()}
	n, _ := strconv.Atoi(args[0])
	for range n {
		h, err := startRole("leak", "0")
		must(err)
		line, _ := h.out.ReadString('\n')
		all = append(all, strings.Fields(line)...)
	}
	fmt.Println("ready")
	fmt.Println(strings.Join(all, " "))
	select {}
}

// roleHold creates one tracked object — a 4 KiB segment, or a Lock with
// args[0] = "lock" — says "ready", and waits for stdin to end; then it
// unlinks the object and exits: the client of W14's idle tracker.
func roleHold(args []string, in *bufio.Reader) {
	var obj interface{ Unlink() error }
	if len(args) > 0 && args[0] == "lock" {
		l, err := semaphore.NewLock()
		must(err)
		obj = l
	} else {
		seg, err := shm.Create("", 4096)
		must(err)
		obj = seg
	}
	fmt.Println("ready")
	io.Copy(io.Discard, in)
	must(obj.Unlink())
}
