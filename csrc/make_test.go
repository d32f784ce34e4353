package csrc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mpsync/mpsync/internal/cbuild"
)

// TestMain gives the C programs the tests run, and this test binary, a
// tracker to start (a Go binary that is not a mpsync Go program cannot
// be its own): every process that has an identity is watched, so that a
// forked child killed mid-test leaves no registry behind.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mpsync-csrc-test-")
	if err == nil {
		var exe string
		if exe, err = cbuild.BuildTracker("..", dir); err == nil {
			os.Setenv("MPSYNC_TRACKER", exe)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir) // a running tracker keeps its binary
	os.Exit(code)
}

// TestMakeTest builds libmpsync with its Makefile and runs the targets
// that make test runs: the C tests plainly, under AddressSanitizer and
// UBSan, and (the multi-threaded ones) under ThreadSanitizer, and the
// check of the exported symbols against mpsync.symbols.
func TestMakeTest(t *testing.T) {
	want := map[string]string{
		"test-plain":   " passed, 0 failed, 0 skipped",
		"test-asan":    " passed, 0 failed, 0 skipped",
		"test-tsan":    " passed, 0 failed, 0 skipped",
		"test-symbols": "the exports match mpsync.symbols",
	}
	dir := t.TempDir() // one build of the library for every target
	for _, target := range []string{"test-plain", "test-asan", "test-tsan", "test-symbols"} {
		t.Run(target, func(t *testing.T) {
			out := cbuild.Run(t, "make", "--no-print-directory", "BUILDDIR="+dir, target)
			if !strings.Contains(out, want[target]) {
				t.Errorf("make %s:\n%s", target, out)
			}
			t.Log(lastLine(out))
		})
	}
}

// TestInstall installs into an empty prefix and builds a C program against
// the installed header, library and mpsync.pc, as a user would.
func TestInstall(t *testing.T) {
	prefix := t.TempDir()
	cbuild.Run(t, "make", "--no-print-directory", "BUILDDIR="+t.TempDir(), "PREFIX="+prefix, "install")
	for _, f := range []string{"include/mpsync.h", "lib/libmpsync.so.0", "lib/libmpsync.so", "lib/libmpsync.a", "lib/pkgconfig/mpsync.pc", "bin/mpsync-tracker"} {
		if _, err := os.Stat(filepath.Join(prefix, f)); err != nil {
			t.Errorf("install: %v", err)
		}
	}
	soname := cbuild.Run(t, "objdump", "-p", filepath.Join(prefix, "lib/libmpsync.so.0"))
	if !strings.Contains(soname, "SONAME               libmpsync.so.0") {
		t.Errorf("libmpsync.so.0 has no soname libmpsync.so.0:\n%s", soname)
	}
	cmd := exec.Command("pkg-config", "--cflags", "--libs", "mpsync")
	cmd.Env = append(os.Environ(), "PKG_CONFIG_PATH="+filepath.Join(prefix, "lib/pkgconfig"))
	flags, err := cmd.Output()
	if err != nil {
		t.Fatalf("pkg-config: %v", err)
	}
	exe := filepath.Join(t.TempDir(), "version")
	args := append([]string{"-Wall", "-Werror", "-o", exe, "testdata/test_version.c", "-Itestdata"}, strings.Fields(string(flags))...)
	cbuild.Run(t, cbuild.CC(), append(args, "-Wl,-rpath,"+filepath.Join(prefix, "lib"))...)
	cbuild.Run(t, exe)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
