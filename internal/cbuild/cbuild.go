// Package cbuild builds libmpsync and C programs against it from Go tests
// and the benchmark suite (bench), the way a C user would: make in csrc, then the compiler with the flags
// pkg-config gives for the build tree (mpsync-uninstalled.pc).
package cbuild

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mpsync/mpsync/internal/platform" // Linux and cgo only
)

// Lib is a built libmpsync.
type Lib struct {
	// Dir holds libmpsync.so*, libmpsync.a and the .pc files.
	Dir string
	// Src is the csrc folder.
	Src string
}

// ModuleRoot returns the folder of mpsync's go.mod, found upwards from the
// working directory (a test's working directory is its package folder).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err == nil {
		dir, err = FindModuleRoot(dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// FindModuleRoot returns the folder of the go.mod at or above dir.
func FindModuleRoot(dir string) (string, error) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("cbuild: no go.mod above %s", dir)
		}
		dir = parent
	}
}

// Build runs make in csrc with a private build folder and returns the
// library. Each call builds afresh, so parallel test packages never share
// a build folder.
func Build(t testing.TB, targets ...string) *Lib {
	t.Helper()
	return BuildIn(t, t.TempDir(), targets...)
}

// BuildIn is Build into dir, which the caller removes: for a library
// shared by several tests of one test binary.
func BuildIn(t testing.TB, dir string, targets ...string) *Lib {
	t.Helper()
	l, err := Make(ModuleRoot(t), dir, targets...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Make is BuildIn for a program rather than a test: it runs make in the
// csrc folder of the module at root, building into dir.
func Make(root, dir string, targets ...string) (*Lib, error) {
	src := filepath.Join(root, "csrc")
	args := append([]string{"-C", src, "--no-print-directory", "BUILDDIR=" + dir}, targets...)
	if _, err := Command("make", args...); err != nil {
		return nil, err
	}
	return &Lib{Dir: dir, Src: src}, nil
}

// Program compiles the C file src (relative to csrc, or absolute) against
// the library with the flags pkg-config gives for mpsync, and returns the
// path of the executable, which runs with the library found by rpath. The
// executable lives in the library's folder.
func (l *Lib) Program(t testing.TB, src string) string {
	t.Helper()
	out, err := l.Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Compile is Program returning its error: it links libmpsync.so (the
// shared library, as pkg-config's flags do for a C user), with an rpath
// to the library's folder.
func (l *Lib) Compile(src string) (string, error) {
	if !filepath.IsAbs(src) {
		src = filepath.Join(l.Src, src)
	}
	cmd := exec.Command("pkg-config", "--cflags", "--libs", "mpsync")
	cmd.Env = append(os.Environ(), "PKG_CONFIG_PATH="+l.Dir)
	flags, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cbuild: pkg-config mpsync: %v", err)
	}
	out := filepath.Join(l.Dir, "bin", strings.TrimSuffix(filepath.Base(src), ".c"))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	args := []string{"-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out, src}
	args = append(args, strings.Fields(string(flags))...)
	args = append(args, "-Wl,-rpath,"+l.Dir)
	if _, err := Command(CC(), args...); err != nil {
		return "", err
	}
	return out, nil
}

// CC returns the C compiler to use: $CC, or cc.
func CC() string {
	if cc := os.Getenv("CC"); cc != "" {
		return cc
	}
	return "cc"
}

// Run runs a build command and fails the test with its output if it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := Command(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Command runs a build command and returns its output, or an error that
// holds the command line and the output.
func Command(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// BuildTracker builds the mpsync-tracker command into dir and returns its
// path, for C programs under test: they start it (named by
// $MPSYNC_TRACKER) when no tracker runs, as an installed libmpsync starts
// the installed one. root is the module root.
func BuildTracker(root, dir string) (string, error) {
	exe := filepath.Join(dir, "mpsync-tracker")
	cmd := exec.Command("go", "build", "-o", exe, "./resource_tracker/cmd/mpsync-tracker")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build mpsync-tracker: %v\n%s", err, out)
	}
	return exe, nil
}
