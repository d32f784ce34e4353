package shm_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/shm"
)

func TestMain(m *testing.M) { proctest.Main(m) }

// create makes a segment with a random name that the test removes.
func create(t *testing.T, size int, opts ...shm.Option) *shm.Segment {
	t.Helper()
	seg, err := shm.Create("", size, opts...)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		seg.Close()
		seg.Unlink()
	})
	return seg
}

// testName returns a fixed name unique to the test, for cases that need
// to choose the name.
func testName(t *testing.T) string {
	return names.TestPrefix + strings.ReplaceAll(t.Name(), "/", "_") + "-" + strconv.Itoa(os.Getpid())
}

func TestCreateOpen(t *testing.T) {
	seg := create(t, 1000)
	if !regexp.MustCompile(`^psm_[0-9a-f]{16}$`).MatchString(seg.Name()) {
		t.Errorf("random name %q is not psm_ and 16 hex digits", seg.Name())
	}
	if seg.Size() != 1000 || len(seg.Bytes()) != 1000 {
		t.Errorf("Size() = %d, len(Bytes()) = %d, want 1000", seg.Size(), len(seg.Bytes()))
	}
	copy(seg.Bytes(), "hello")

	for _, name := range []string{seg.Name(), "/" + seg.Name()} {
		other, err := shm.Open(name)
		if err != nil {
			t.Fatalf("Open(%q): %v", name, err)
		}
		if other.Name() != seg.Name() || other.Size() != 1000 {
			t.Errorf("Open(%q): Name() = %q, Size() = %d; want %q, 1000 (not page-rounded)", name, other.Name(), other.Size(), seg.Name())
		}
		if got := string(other.Bytes()[:5]); got != "hello" {
			t.Errorf("Open(%q) reads %q, want hello", name, got)
		}
		other.Bytes()[999] = 'z'
		if seg.Bytes()[999] != 'z' {
			t.Errorf("a write through one mapping is not seen through the other")
		}
		other.Close()
	}

	st, err := os.Stat(names.Dir + seg.Name())
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode %v, want 0600", perm)
	}
}

func TestRandomNamesDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		seg := create(t, 1)
		if seen[seg.Name()] {
			t.Fatalf("name %q made twice", seg.Name())
		}
		seen[seg.Name()] = true
	}
}

// TestRandomPrefix: random names start with the prefix asked for, with
// and without WithInit (the two ways Create makes a file).
func TestRandomPrefix(t *testing.T) {
	prefix := names.TestPrefix + "prefix-"
	for _, opts := range [][]shm.Option{nil, {shm.WithInit(func([]byte) error { return nil })}} {
		seg, err := shm.Create("", 10, append(opts, shm.RandomPrefix("/"+prefix))...)
		if err != nil {
			t.Fatal(err)
		}
		seg.Close()
		seg.Unlink()
		if rest, ok := strings.CutPrefix(seg.Name(), prefix); !ok || len(rest) != 16 {
			t.Errorf("name %q, want %q and 16 hex digits", seg.Name(), prefix)
		}
	}
}

func TestChosenNameAndMode(t *testing.T) {
	name := testName(t)
	seg, err := shm.Create("/"+name, 10, shm.WithMode(0o640))
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Unlink()
	defer seg.Close()
	if seg.Name() != name {
		t.Errorf("Name() = %q, want %q (without the slash)", seg.Name(), name)
	}
	st, err := os.Stat(names.Dir + name)
	if err != nil {
		t.Fatal(err)
	}
	// The umask may clear bits, never add them.
	if perm := st.Mode().Perm(); perm&^0o640 != 0 || perm&0o600 != 0o600 {
		t.Errorf("mode %v, want 0640 less the umask", perm)
	}
	if _, err := shm.Create(name, 10); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create of an existing name: %v, want fs.ErrExist", err)
	}
}

func TestReadWriteAt(t *testing.T) {
	seg := create(t, 16)
	if n, err := seg.WriteAt([]byte("abc"), 13); n != 3 || err != nil {
		t.Fatalf("WriteAt at the end: %d, %v", n, err)
	}
	buf := make([]byte, 5)
	if n, err := seg.ReadAt(buf, 11); n != 5 || err != nil || !bytes.Equal(buf, []byte("\x00\x00abc")) {
		t.Errorf("ReadAt = %d, %v, %q", n, err, buf)
	}
	if n, err := seg.ReadAt(buf, 14); n != 2 || err == nil {
		t.Errorf("ReadAt past the end = %d, %v; want 2 and io.EOF", n, err)
	}
	if _, err := seg.WriteAt([]byte("abcd"), 13); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("WriteAt past the end: %v, want fs.ErrInvalid", err)
	}
	if _, err := seg.ReadAt(buf, -1); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("ReadAt at -1: %v, want fs.ErrInvalid", err)
	}
}

func TestBadInput(t *testing.T) {
	long := strings.Repeat("a", names.Max+1)
	missing := testName(t)
	tests := []struct {
		what string
		err  error
		want []error
	}{
		{"Create name \"/\" alone", createErr("/", 10), []error{fs.ErrInvalid}},
		{"Create name too long", createErr(long, 10), []error{fs.ErrInvalid, syscall.ENAMETOOLONG}},
		{"Create slash inside", createErr("a/b", 10), []error{fs.ErrInvalid}},
		{"Create NUL inside", createErr("a\x00b", 10), []error{fs.ErrInvalid}},
		{"Create dot-dot", createErr("..", 10), []error{fs.ErrInvalid}},
		{"Create size 0", createErr("", 0), []error{fs.ErrInvalid}},
		{"Create size -1", createErr("", -1), []error{fs.ErrInvalid}},
		{"Create size larger than /dev/shm", createErr("", 1<<60), []error{syscall.ENOSPC}},
		{"Create with a non-permission mode bit", createErr("", 10, shm.WithMode(fs.ModeDir|0o600)), []error{fs.ErrInvalid}},
		{"Create with a name and a RandomPrefix", createErr(missing, 10, shm.RandomPrefix("x-")), []error{fs.ErrInvalid}},
		{"Create with a RandomPrefix holding a slash", createErr("", 10, shm.RandomPrefix("a/b")), []error{fs.ErrInvalid}},
		{"Create with a RandomPrefix too long", createErr("", 10, shm.RandomPrefix(long[:names.Max-15])), []error{fs.ErrInvalid}},
		{"Open empty name", openErr(""), []error{fs.ErrInvalid}},
		{"Open name too long", openErr(long), []error{fs.ErrInvalid, syscall.ENAMETOOLONG}},
		{"Open slash inside", openErr("/a/b"), []error{fs.ErrInvalid}},
		{"Open NUL inside", openErr("a\x00"), []error{fs.ErrInvalid}},
		{"Open missing", openErr(missing), []error{fs.ErrNotExist}},
		{"Unlink missing", shm.Unlink(missing), []error{fs.ErrNotExist}},
		{"Unlink bad name", shm.Unlink("a/b"), []error{fs.ErrInvalid}},
		{"NewAnonymous size 0", anonErr(0), []error{fs.ErrInvalid}},
		{"FromFile nil", fromFileErr(nil), []error{fs.ErrInvalid}},
	}
	for _, tt := range tests {
		for _, want := range tt.want {
			if !errors.Is(tt.err, want) {
				t.Errorf("%s: error %v, want one matching %v", tt.what, tt.err, want)
			}
		}
		if tt.err != nil && tt.err.Error() == "" {
			t.Errorf("%s: empty message", tt.what)
		}
	}
	// The messages say which argument and why.
	if err := createErr("", 0); !strings.Contains(err.Error(), "size") || !strings.Contains(err.Error(), "positive") {
		t.Errorf("size error %q does not name the argument and the reason", err)
	}
	if _, err := os.Stat(names.Dir + "a"); err == nil {
		t.Errorf("a failed Create left /dev/shm/a behind")
	}
}

func createErr(name string, size int, opts ...shm.Option) error {
	seg, err := shm.Create(name, size, opts...)
	if err == nil {
		seg.Close()
		seg.Unlink()
	}
	return err
}

func openErr(name string) error {
	seg, err := shm.Open(name)
	if err == nil {
		seg.Close()
	}
	return err
}

func anonErr(size int) error {
	seg, err := shm.NewAnonymous(size)
	if err == nil {
		seg.Close()
	}
	return err
}

func fromFileErr(f *os.File) error {
	seg, err := shm.FromFile(f)
	if err == nil {
		seg.Close()
	}
	return err
}

func TestOpenEmptyFile(t *testing.T) {
	name := testName(t)
	if err := os.WriteFile(names.Dir+name, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(names.Dir + name)
	if err := openErr(name); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Open of a 0-byte segment: %v, want fs.ErrInvalid", err)
	}
}

func TestCloseAndUnlink(t *testing.T) {
	seg, err := shm.Create("", 100)
	if err != nil {
		t.Fatal(err)
	}
	view := seg.Bytes()
	copy(view, "data")
	if err := seg.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := seg.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if b := seg.Bytes(); b != nil {
		t.Errorf("Bytes after Close = %d bytes, want nil", len(b))
	}
	if _, err := seg.ReadAt(make([]byte, 1), 0); !errors.Is(err, shm.ErrClosed) || !errors.Is(err, fs.ErrClosed) {
		t.Errorf("ReadAt after Close: %v, want ErrClosed", err)
	}
	if _, err := seg.WriteAt([]byte("x"), 0); !errors.Is(err, shm.ErrClosed) {
		t.Errorf("WriteAt after Close: %v, want ErrClosed", err)
	}
	if _, err := seg.File(); !errors.Is(err, shm.ErrClosed) {
		t.Errorf("File after Close: %v, want ErrClosed", err)
	}
	// A stale view does not crash; it no longer reaches the segment.
	view[0] = 'X'
	other, err := shm.Open(seg.Name())
	if err != nil {
		t.Fatalf("Open after the creator's Close: %v", err)
	}
	if got := string(other.Bytes()[:4]); got != "data" {
		t.Errorf("segment holds %q, want data (the stale view must not write through)", got)
	}
	other.Close()
	// Python's close(); unlink() idiom.
	if err := seg.Unlink(); err != nil {
		t.Errorf("Unlink after Close: %v", err)
	}
	if err := seg.Unlink(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second Unlink: %v, want fs.ErrNotExist", err)
	}
	if _, err := shm.Open(seg.Name()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open after Unlink: %v, want fs.ErrNotExist", err)
	}
}

func TestUnlinkKeepsMappings(t *testing.T) {
	seg, err := shm.Create("", 10)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	copy(seg.Bytes(), "still")
	if err := seg.Unlink(); err != nil {
		t.Fatal(err)
	}
	if got := string(seg.Bytes()[:5]); got != "still" {
		t.Errorf("after Unlink the mapping reads %q", got)
	}
}

// TestForgottenClose checks the garbage collector's safety net: a segment
// dropped without Close is unmapped.
func TestForgottenClose(t *testing.T) {
	name := func() string {
		seg := create(t, 4096)
		other, err := shm.Open(seg.Name())
		if err != nil {
			t.Fatal(err)
		}
		_ = other // dropped without Close, and Bytes never called
		return seg.Name()
	}()
	mapped := func() int {
		maps, err := os.ReadFile("/proc/self/maps")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(maps), names.Dir+name+"\n")
	}
	for i := 0; i < 20 && mapped() > 1; i++ {
		runtime.GC()
	}
	if n := mapped(); n != 1 {
		t.Errorf("%d mappings of %s remain, want 1 (the unreachable segment's should be gone)", n, name)
	}
}

func TestPermission(t *testing.T) {
	if os.Geteuid() != 0 {
		// Another user's segment: without root we cannot become another
		// user, but a mode of 0 denies this user in the same way.
		seg := create(t, 10, shm.WithMode(0))
		if err := openErr(seg.Name()); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Open of a mode-0 segment: %v, want fs.ErrPermission", err)
		}
		return
	}
	// As root, a helper running as nobody opens root's 0600 segment.
	seg := create(t, 10)
	p := proctest.Command(t, "open-expect-permission", seg.Name())
	p.RunAs(65534, 65534)
	p.Start()
	p.Expect("permission denied ok")
	if err := p.Wait(); err != nil {
		t.Fatalf("helper: %v\n%s", err, p.Stderr())
	}
}

func init() {
	proctest.Register("open-expect-permission", func(h *proctest.Helper) {
		h.Ready()
		if os.Geteuid() == 0 {
			h.Fatalf("still root")
		}
		err := openErr(h.Args[0])
		if !errors.Is(err, fs.ErrPermission) {
			h.Fatalf("Open as uid %d: %v, want fs.ErrPermission", os.Geteuid(), err)
		}
		h.Printf("permission denied ok")
	})
}

func TestWithInit(t *testing.T) {
	var sawName bool
	seg, err := shm.Create("", 100, shm.WithInit(func(mem []byte) error {
		if len(mem) != 100 {
			return fmt.Errorf("init got %d bytes", len(mem))
		}
		// Not yet visible by any name: no file in /dev/shm has the
		// mapping's inode. (Stat, not Open: opening another process's
		// segment would make this process one of its users.)
		ino := mappedInode(t, unsafe.Pointer(&mem[0]))
		ents, _ := os.ReadDir(names.Dir)
		for _, e := range ents {
			var st syscall.Stat_t
			if syscall.Stat(names.Dir+e.Name(), &st) == nil && st.Ino == ino {
				sawName = true
			}
		}
		copy(mem, "init")
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Unlink()
	defer seg.Close()
	if sawName {
		t.Errorf("the segment was visible by name before init returned")
	}
	other, err := shm.Open(seg.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if string(other.Bytes()[:4]) != "init" || other.Size() != 100 {
		t.Errorf("opened segment: %q, %d bytes", other.Bytes()[:4], other.Size())
	}

	// A chosen name that exists fails like O_EXCL; an init error leaves
	// nothing behind.
	if _, err := shm.Create(seg.Name(), 10, shm.WithInit(func([]byte) error { return nil })); !errors.Is(err, fs.ErrExist) {
		t.Errorf("WithInit on an existing name: %v, want fs.ErrExist", err)
	}
	boom := errors.New("boom")
	name := testName(t)
	if _, err := shm.Create(name, 10, shm.WithInit(func([]byte) error { return boom })); !errors.Is(err, boom) {
		t.Errorf("init error: %v, want boom", err)
	}
	if _, err := os.Stat(names.Dir + name); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("failed init left %s: %v", name, err)
	}
}

// mappedInode returns the inode of the file mapped at addr, from
// /proc/self/maps.
func mappedInode(t *testing.T, addr unsafe.Pointer) uint64 {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	a := uint64(uintptr(addr))
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		l, _ := strconv.ParseUint(lo, 16, 64)
		h, _ := strconv.ParseUint(hi, 16, 64)
		if l <= a && a < h {
			ino, _ := strconv.ParseUint(f[4], 10, 64)
			return ino
		}
	}
	t.Fatalf("address %p is not mapped", addr)
	return 0
}
