package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// w11 is tracker_leaks: processes killed with SIGKILL, then the objects
// they made that are still in /dev/shm once the survivors had time to
// clean up, for mpsync and for Python's multiprocessing.
func w11(p *peers) *Workload {
	w := &Workload{ID: "W11", Name: "tracker_leaks"}
	for _, sc := range []struct{ name, arg string }{
		{"creator killed", "0"},
		{"process group killed: parent + 3 children", "3"},
	} {
		c := &Case{Name: sc.name, Unit: "left", Lower: true, Targets: []Target{upTo(0, "")}, Count: true,
			NoCPU: "a count of objects left behind"}
		c.Impls = []*Impl{
			{Name: "mpsync", Run: func(cfg *Config) (Measurement, error) {
				exe, err := os.Executable()
				if err != nil {
					return Measurement{}, err
				}
				cmd := command(exe, sc.arg)
				cmd.Env = append(os.Environ(), envRole+"=leak")
				return killAndCount(cmd, true, sc.arg != "0", settle(cfg))
			}},
			{Name: "Python multiprocessing", Run: func(cfg *Config) (Measurement, error) {
				if p.python == "" {
					return Measurement{}, &missingError{"python3 not found"}
				}
				mode := []string{"single"}
				if sc.arg != "0" {
					mode = []string{"tree", sc.arg}
				}
				script := filepath.Join(p.dir, "peers", "python", "leak.py")
				return killAndCount(command(p.python, append([]string{script}, mode...)...), false, sc.arg != "0", settle(cfg))
			}},
		}
		w.Cases = append(w.Cases, c)
	}
	return w
}

// settle is how long the survivors of a kill get to clean up: 3 s, or 1 s
// in a quick run.
func settle(cfg *Config) time.Duration {
	if cfg.Quick {
		return time.Second
	}
	return 3 * time.Second
}

// killAndCount starts cmd in a process group of its own, reads the
// /dev/shm entries it made (after a "ready" line if ready), kills it — the
// whole group if group — with SIGKILL, gives the survivors time to
// clean up (wait), and counts those entries still there. It then removes them, so
// that the run leaves nothing behind; it touches nothing else (other
// processes may be creating entries meanwhile).
func killAndCount(cmd *exec.Cmd, ready, group bool, wait time.Duration) (Measurement, error) {
	cmd.SysProcAttr.Setpgid = true
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Measurement{}, err
	}
	if err := cmd.Start(); err != nil {
		return Measurement{}, err
	}
	r := bufio.NewReader(out)
	line, _ := r.ReadString('\n')
	if ready {
		line, _ = r.ReadString('\n')
	}
	entries := strings.Fields(line)
	if group {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	} else {
		cmd.Process.Kill()
	}
	cmd.Wait()
	var left []string
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		left = left[:0]
		for _, e := range entries {
			if _, err := os.Stat("/dev/shm/" + e); err == nil {
				left = append(left, e)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if !group {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // what survived the creator
	}
	for _, e := range left {
		os.Remove("/dev/shm/" + e)
	}
	return Measurement{Value: float64(len(left)), Checks: map[string]string{"made": strconv.Itoa(len(entries))}}, nil
}
