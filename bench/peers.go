package main

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/mpsync/mpsync/internal/cbuild"
)

// The peers' sources travel inside the binary, so the suite runs from any
// working directory.
//
//go:embed peers
var peerSources embed.FS

// peers compiles and runs the C and Python peer programs. They live in a
// temporary folder for the run.
type peers struct {
	dir string

	mu       sync.Mutex
	compiled map[string]string // C source name → executable, or "" + err
	errs     map[string]error
	python   string // python3's path, or "" if missing
	cc       string

	libOnce sync.Once
	lib     *cbuild.Lib // libmpsync built for the "mpsync from C" rows
	libErr  error
}

func newPeers() (*peers, error) {
	dir, err := os.MkdirTemp("", "mpsync-bench-")
	if err != nil {
		return nil, err
	}
	err = fs.WalkDir(peerSources, "peers", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := peerSources.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return nil, err
	}
	p := &peers{dir: dir, compiled: map[string]string{}, errs: map[string]error{}}
	p.python, _ = exec.LookPath("python3")
	p.cc = os.Getenv("CC")
	if p.cc == "" {
		p.cc = "cc"
	}
	return p, nil
}

func (p *peers) close() { os.RemoveAll(p.dir) }

// cProgram returns the executable built from peers/c/<name>.c, compiling
// it on first use with extra linker flags.
func (p *peers) cProgram(name string, ldflags ...string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if exe, ok := p.compiled[name]; ok {
		return exe, p.errs[name]
	}
	if _, err := exec.LookPath(p.cc); err != nil {
		p.compiled[name], p.errs[name] = "", &missingError{"no C compiler (" + p.cc + ")"}
		return "", p.errs[name]
	}
	src := filepath.Join(p.dir, "peers", "c", name+".c")
	exe := filepath.Join(p.dir, name)
	if slices.Contains(ldflags, "-shared") {
		exe += ".so"
	}
	args := append([]string{"-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o", exe, src}, ldflags...)
	out, err := exec.Command(p.cc, append(args, "-lpthread")...).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("compile %s: %v\n%s", name, err, out)
	}
	p.compiled[name], p.errs[name] = exe, err
	return exe, err
}

// cLibrary returns the shared library built from peers/c/<name>.c.
func (p *peers) cLibrary(name string) (string, error) {
	return p.cProgram(name, "-shared", "-fPIC")
}

// mpsProgram returns the executable built from peers/c/<name>.c against
// libmpsync, compiling the library (from the module's csrc) and the
// program on first use, both as internal/cbuild builds them for the
// tests. It links the shared library, as the pkg-config line of the
// README does: that is how a C user gets libmpsync, and a call through
// the PLT is part of what they pay (on W1, linking libmpsync.a saved
// about 1 ns of 18 per acquire+release; the C futex lock, inlined, took
// 14).
func (p *peers) mpsProgram(name string) (string, error) {
	p.libOnce.Do(func() {
		root, err := sourceRoot()
		if err != nil {
			p.libErr = &missingError{"libmpsync's sources: " + err.Error()}
			return
		}
		p.lib, p.libErr = cbuild.Make(root, filepath.Join(p.dir, "libmpsync"))
	})
	if p.libErr != nil {
		return "", p.libErr
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	key := "libmpsync:" + name
	if exe, ok := p.compiled[key]; ok {
		return exe, p.errs[key]
	}
	exe, err := p.lib.Compile(filepath.Join(p.dir, "peers", "c", name+".c"))
	p.compiled[key], p.errs[key] = exe, err
	return exe, err
}

// sourceRoot finds the module whose csrc the "mpsync from C" rows build:
// above the working directory (go run ./bench), else above this file's
// folder when it was compiled.
func sourceRoot() (string, error) {
	if wd, err := os.Getwd(); err == nil {
		if root, err := cbuild.FindModuleRoot(wd); err == nil {
			if _, err := os.Stat(filepath.Join(root, "csrc", "mpsync.h")); err == nil {
				return root, nil
			}
		}
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("no go.mod with csrc above the working directory")
	}
	return cbuild.FindModuleRoot(filepath.Dir(file))
}

// runMps runs a peer built against libmpsync once and returns its
// metrics. If no tracker runs, the first such peer starts one: this
// binary, which serves as mpsync's tracker in that role, as a Go program
// using mpsync does.
func (p *peers) runMps(name string, args ...string) (map[string]float64, error) {
	exe, err := p.mpsProgram(name)
	if err != nil {
		return nil, err
	}
	cmd := command(exe, args...)
	if self, err := os.Executable(); err == nil {
		cmd.Env = append(os.Environ(), "MPSYNC_TRACKER="+self)
	}
	return runMetrics(cmd)
}

// command is exec.Command for every process the bench starts (peers,
// roles, the processes W11 and W14 kill): the kernel SIGKILLs it if this
// process dies first, so that an interrupted run leaves no peer waiting
// forever. (A peer's own children are its business: each sleeps only
// while its parent lives.)
func command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// runC runs a C peer once and returns the metrics it printed.
func (p *peers) runC(name string, args ...string) (map[string]float64, error) {
	exe, err := p.cProgram(name)
	if err != nil {
		return nil, err
	}
	return runMetrics(command(exe, args...))
}

// runPython runs peers/python/<name>.py once and returns its metrics.
func (p *peers) runPython(name string, args ...string) (map[string]float64, error) {
	if p.python == "" {
		return nil, &missingError{"python3 not found"}
	}
	script := filepath.Join(p.dir, "peers", "python", name+".py")
	return runMetrics(command(p.python, append([]string{script}, args...)...))
}

// runMetrics runs a peer, the run's peerPrefix in its environment, and
// parses its "name value" lines.
func runMetrics(cmd *exec.Cmd) (map[string]float64, error) {
	cmd.Env = append(cmd.Environ(), "MPSYNC_BENCH_PREFIX="+peerPrefix)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %s", filepath.Base(cmd.Path), err, strings.TrimSpace(stderr.String()))
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: bad line %q", filepath.Base(cmd.Path), sc.Text())
		}
		m[f[0]] = v
	}
	return m, nil
}

// metric picks one named value from a peer's metrics.
func metric(m map[string]float64, err error, name string) (float64, error) {
	if err != nil {
		return 0, err
	}
	v, ok := m[name]
	if !ok {
		return 0, fmt.Errorf("peer printed no %s", name)
	}
	return v, nil
}
