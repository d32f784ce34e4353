package ctypes_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/internal/cbuild"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

var venv struct {
	once   sync.Once
	python string
	err    error
}

// installedPython returns the python of a virtual environment into which
// the mpsync package (csrc/python) is pip-installed as a user installs it:
// offline, with the setuptools python3 has (--no-build-isolation). It is
// made once per test binary and removed at its end.
func installedPython(t *testing.T) string {
	t.Helper()
	root := cbuild.ModuleRoot(t)
	venv.once.Do(func() {
		dir, err := os.MkdirTemp("", "mpsync-venv-")
		if err != nil {
			venv.err = err
			return
		}
		proctest.AtExit(func() { os.RemoveAll(dir) })
		// pip and setuptools write build files beside the sources: install a copy.
		src := filepath.Join(dir, "src")
		if venv.err = os.CopyFS(src, os.DirFS(filepath.Join(root, "csrc", "python"))); venv.err != nil {
			return
		}
		// The environment sees python3's own packages (its setuptools, and
		// its pip, sparing the copy ensurepip would install: a minute on a
		// loaded machine).
		env := filepath.Join(dir, "env")
		mkenv := []string{"python3", "-m", "venv", "--system-site-packages", "--without-pip", env}
		if exec.Command("python3", "-c", "import pip").Run() != nil {
			mkenv = slices.Delete(mkenv, 5, 6)
		}
		for _, args := range [][]string{
			mkenv,
			{filepath.Join(env, "bin", "python"), "-m", "pip", "install", "--no-build-isolation", "--no-index",
				"--disable-pip-version-check", "--quiet", src},
		} {
			if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				venv.err = fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
		venv.python = filepath.Join(env, "bin", "python")
	})
	if venv.err != nil {
		t.Fatalf("installing the mpsync Python package: %v", venv.err)
	}
	return venv.python
}

// pythonEnv is the environment of a Python process using the installed
// package on lib.
func pythonEnv(lib *cbuild.Lib) []string {
	return append(os.Environ(), "MPSYNC_LIB="+filepath.Join(lib.Dir, "libmpsync.so.0"), "PYTHONDONTWRITEBYTECODE=1")
}

// TestPythonPackage pip-installs the mpsync package into a fresh virtual
// environment and runs its unittest suite (csrc/python/tests: the port of
// CPython's multiprocessing tests and mpsync's own) against it.
func TestPythonPackage(t *testing.T) {
	python := installedPython(t)
	lib := cbuild.Build(t)
	where := exec.Command(python, "-c", "import mpsync; print(mpsync.__file__)")
	where.Dir, where.Env = t.TempDir(), pythonEnv(lib)
	if out, err := where.Output(); err != nil || !strings.HasPrefix(string(out), filepath.Dir(filepath.Dir(python))) {
		t.Fatalf("import mpsync in the virtual environment: %q, %v (want the installed package)", out, err)
	}
	cmd := exec.Command(python, "-m", "unittest", "discover", "-v", "-s", filepath.Join(cbuild.ModuleRoot(t), "csrc", "python", "tests"))
	cmd.Dir, cmd.Env = t.TempDir(), pythonEnv(lib)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "skipped") {
		t.Fatalf("python -m unittest: %v\n%s", err, out)
	}
	t.Log(regexp.MustCompile(`Ran \d+ tests? in .*`).FindString(string(out)))
}

// TestPythonPackageSharesWithGo has a Python process using the installed
// package and this Go process share a Lock, a Value, an Array, a
// ShareableList and a segment, made once by Go and once by Python: both
// count under the locks (the totals are exact) and read what the other
// wrote.
func TestPythonPackageSharesWithGo(t *testing.T) {
	const n = 2000
	python := installedPython(t)
	lib := cbuild.Build(t)
	script := filepath.Join(cbuild.ModuleRoot(t), "ctypes", "testdata", "peer_package.py")
	share := func(t *testing.T, peer *proctest.Proc, l *semaphore.Lock, v *ctypes.Value[int64], a *ctypes.Array[float64], sl *ctypes.ShareableList, seg *shm.Segment) {
		peer.Send("go")
		for range n {
			l.Lock()
			x, _ := a.At(0)
			a.Set(0, x+1)
			l.Unlock()
			v.Lock()
			v.Set(v.Get() + 1)
			v.Unlock()
		}
		peer.Expect("done SynchronizedValue SynchronizedArray q d")
		if got := v.Get(); got != 2*n {
			t.Errorf("value = %d, want %d (Go and Python adding under its lock)", got, 2*n)
		}
		if got, _ := a.At(0); got != 2*n {
			t.Errorf("array[0] = %g, want %d (Go and Python adding under the Lock)", got, 2*n)
		}
		if got, err := sl.Get(1); got != "from python" {
			t.Errorf("list[1] = %v (%v), want what Python wrote", got, err)
		}
		if got := string(seg.Bytes()[:6]); got != "python" {
			t.Errorf("segment = %q, want what Python wrote", got)
		}
	}

	t.Run("made by Go", func(t *testing.T) {
		l, err := semaphore.NewLock()
		if err != nil {
			t.Fatal(err)
		}
		cleanup(t, l)
		v, err := ctypes.NewValue[int64](0)
		if err != nil {
			t.Fatal(err)
		}
		cleanup(t, v)
		a, err := ctypes.NewArray[float64](4)
		if err != nil {
			t.Fatal(err)
		}
		cleanup(t, a)
		sl, err := ctypes.NewShareableList([]any{"from go", "0123456789abcdef"}, "")
		if err != nil {
			t.Fatal(err)
		}
		cleanup(t, sl)
		seg, err := shm.Create("", 64)
		if err != nil {
			t.Fatal(err)
		}
		cleanup(t, seg)
		peer := proctest.Exec(t, python, script, "open", strconv.Itoa(n), l.Name(), v.Name(), a.Name(), sl.Name(), seg.Name())
		peer.Cmd.Env = pythonEnv(lib)
		peer.Start()
		share(t, peer, l, v, a, sl, seg)
		if err := peer.Wait(); err != nil {
			t.Fatalf("python: %v\n%s", err, peer.Stderr())
		}
	})

	t.Run("made by Python", func(t *testing.T) {
		peer := proctest.Exec(t, python, script, "create", strconv.Itoa(n))
		peer.Cmd.Env = pythonEnv(lib)
		peer.Start()
		names := strings.Fields(peer.Recv())
		if len(names) != 6 || names[0] != "names" {
			t.Fatalf("python: %q, want names and five names", names)
		}
		l, err := semaphore.OpenLock(names[1])
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		v, err := ctypes.OpenValue[int64](names[2])
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		a, err := ctypes.OpenArray[float64](names[3])
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		sl, err := ctypes.OpenShareableList(names[4])
		if err != nil {
			t.Fatal(err)
		}
		defer sl.Close()
		seg, err := shm.Open(names[5])
		if err != nil {
			t.Fatal(err)
		}
		defer seg.Close()
		share(t, peer, l, v, a, sl, seg)
		if err := sl.Set(0, "from go"); err != nil {
			t.Fatal(err)
		}
		copy(seg.Bytes()[6:], "go")
		peer.Send("check")
		peer.Expect("left from go go")
		if err := peer.Wait(); err != nil {
			t.Fatalf("python: %v\n%s", err, peer.Stderr())
		}
	})
}

// TestPythonPackageFindsInstalledLibrary installs libmpsync into an empty
// prefix, as the README says, and has the installed package find it
// without MPSYNC_LIB: through pkg-config (the PKG_CONFIG_PATH of the C
// recipe), and through the loader (LD_LIBRARY_PATH).
func TestPythonPackageFindsInstalledLibrary(t *testing.T) {
	python := installedPython(t)
	prefix := t.TempDir()
	cbuild.Run(t, "make", "-C", filepath.Join(cbuild.ModuleRoot(t), "csrc"), "--no-print-directory",
		"BUILDDIR="+t.TempDir(), "PREFIX="+prefix, "install")
	libdir := filepath.Join(prefix, "lib")
	base := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "MPSYNC_LIB=") || strings.HasPrefix(kv, "LD_LIBRARY_PATH=") ||
			strings.HasPrefix(kv, "PKG_CONFIG_PATH=")
	})
	for _, how := range []string{"PKG_CONFIG_PATH=" + filepath.Join(libdir, "pkgconfig"), "LD_LIBRARY_PATH=" + libdir} {
		cmd := exec.Command(python, "-c", "import mpsync; mpsync.Lock().unlink(); "+
			"print(next(l.split()[-1] for l in open('/proc/self/maps') if 'libmpsync' in l))")
		cmd.Dir, cmd.Env = t.TempDir(), append(base, how, "PYTHONDONTWRITEBYTECODE=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), libdir+"/libmpsync.so.0.") {
			t.Errorf("with %s: import mpsync loaded %q, %v; want the library in %s", how, out, err, libdir)
		}
	}
}

// TestPythonPackageSharesWithC has a Python process using the installed
// package make a Lock and a segment, and a C process (csrc's peer_lock,
// linked against libmpsync) count with it under the Lock (the total is
// exact); then a C process holding the Lock is SIGKILLed, and Python's
// next acquire raises OwnerDeadError with the Lock held.
func TestPythonPackageSharesWithC(t *testing.T) {
	const n = 3000
	python := installedPython(t)
	lib := cbuild.Build(t)
	peerLock := lib.Program(t, "testdata/peer_lock.c")
	py := proctest.Exec(t, python, filepath.Join(cbuild.ModuleRoot(t), "ctypes", "testdata", "peer_with_c.py"), strconv.Itoa(n))
	py.Cmd.Env = pythonEnv(lib)
	py.Start()
	names := strings.Fields(py.Recv())
	if len(names) != 3 || names[0] != "names" {
		t.Fatalf("python: %q, want names LOCK SEGMENT", names)
	}
	c := proctest.Exec(t, peerLock, "count", names[1], names[2], strconv.Itoa(n))
	c.Start()
	c.Send("go")
	py.Send("go")
	c.Expect("done")
	py.Expect("done")
	py.Send("total")
	py.Expect(fmt.Sprintf("total %d", 2*n))
	if err := c.Wait(); err != nil {
		t.Fatalf("C: %v\n%s", err, c.Stderr())
	}

	holder := proctest.Exec(t, peerLock, "hold", names[1])
	holder.Start()
	holder.Expect("locked")
	holder.Kill()
	py.Send("take")
	py.Expect("owner-dead")
	py.Send("bye")
	if err := py.Wait(); err != nil {
		t.Fatalf("python: %v\n%s", err, py.Stderr())
	}
}
