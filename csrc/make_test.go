package csrc

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// TestInstall installs into an empty prefix, builds a C program there
// with the README's pkg-config line, exactly as written, and runs it with
// nothing but the rpath mpsync.pc gives; then uninstalls and expects the
// prefix empty again.
func TestInstall(t *testing.T) {
	prefix := t.TempDir()
	make := func(target string, args ...string) {
		t.Helper()
		cbuild.Run(t, "make", append([]string{"--no-print-directory", "BUILDDIR=" + t.TempDir(), "PREFIX=" + prefix, target}, args...)...)
	}
	make("install")
	for _, f := range []string{"include/mpsync.h", "lib/libmpsync.so.0", "lib/libmpsync.so", "lib/libmpsync.a",
		"lib/pkgconfig/mpsync.pc", "bin/mpsync-tracker", "bin/mpsync-ls", "share/man/man3/mpsync.3",
		"share/man/man3/mps_lock.3", "share/man/man3/mps_lock_acquire.3"} {
		if _, err := os.Stat(filepath.Join(prefix, f)); err != nil {
			t.Errorf("install: %v", err)
		}
	}
	soname := cbuild.Run(t, "objdump", "-p", filepath.Join(prefix, "lib/libmpsync.so.0"))
	if !strings.Contains(soname, "SONAME               libmpsync.so.0") {
		t.Errorf("libmpsync.so.0 has no soname libmpsync.so.0:\n%s", soname)
	}

	dir := t.TempDir()
	for _, f := range []string{"test_version.c", "check.h"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "test_version.c" {
			f = "prog.c"
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	line := readmeLine(t, "cc prog.c ")
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PKG_CONFIG_PATH="+filepath.Join(prefix, "lib/pkgconfig"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's %q: %v\n%s", line, err, out)
	}
	run := exec.Command(filepath.Join(dir, "a.out"))
	run.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "LD_LIBRARY_PATH=") })
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("a program built with the README's line: %v\n%s", err, out)
	}

	make("uninstall")
	if left, err := os.ReadDir(prefix); err != nil || len(left) > 0 {
		t.Errorf("uninstall left %v in the prefix (%v)", left, err)
	}
}

// TestInstallDestdir stages an install under DESTDIR: every file lands
// below it, the paths written into mpsync.pc are without it, and
// uninstall with the same DESTDIR removes every file again.
func TestInstallDestdir(t *testing.T) {
	destdir, build := t.TempDir(), t.TempDir()
	const prefix = "/opt/mpsync-test"
	cbuild.Run(t, "make", "--no-print-directory", "BUILDDIR="+build, "PREFIX="+prefix, "DESTDIR="+destdir, "install")
	pc, err := os.ReadFile(filepath.Join(destdir, prefix, "lib/pkgconfig/mpsync.pc"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(pc), "prefix="+prefix+"\n") || strings.Contains(string(pc), destdir) {
		t.Errorf("mpsync.pc under DESTDIR:\n%s", pc)
	}
	cbuild.Run(t, "make", "--no-print-directory", "BUILDDIR="+build, "PREFIX="+prefix, "DESTDIR="+destdir, "uninstall")
	if left := filesUnder(t, destdir); len(left) > 0 {
		t.Errorf("uninstall left %q under DESTDIR", left)
	}
}

// TestManPages checks that the man pages name only functions the library
// exports, and name every one of them.
func TestManPages(t *testing.T) {
	build := t.TempDir()
	cbuild.Run(t, "make", "--no-print-directory", "BUILDDIR="+build)
	exported := map[string]bool{}
	for _, l := range strings.Split(cbuild.Run(t, "objdump", "-T", filepath.Join(build, "libmpsync.so.0")), "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && strings.HasPrefix(f[len(f)-1], "mps_") && strings.Contains(l, " MPSYNC_0.") {
			exported[f[len(f)-1]] = false
		}
	}
	pages, _ := filepath.Glob("man/*.3")
	for _, page := range pages {
		src, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		_, after, _ := strings.Cut(string(src), "\n.SH NAME\n")
		names, _, _ := strings.Cut(after, ` \-`)
		self := strings.TrimSuffix(filepath.Base(page), ".3")
		for _, n := range strings.Split(names, ", ") {
			if _, ok := exported[n]; ok {
				exported[n] = true
			} else if n != self {
				t.Errorf("%s names %q, which libmpsync does not export", page, n)
			}
		}
	}
	for n, covered := range exported {
		if !covered {
			t.Errorf("%s has no man page: add it to the NAME line of a page in man/", n)
		}
	}
}

// readmeLine returns the line of the module's README that starts with
// prefix, without its trailing comment.
func readmeLine(t *testing.T, prefix string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(l, prefix) {
			l, _, _ = strings.Cut(l, "#")
			return strings.TrimSpace(l)
		}
	}
	t.Fatalf("README.md has no line starting %q", prefix)
	return ""
}

// filesUnder lists the files and links below dir (not the folders).
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var left []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			left = append(left, strings.TrimPrefix(path, dir))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return left
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
