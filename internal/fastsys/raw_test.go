package fastsys

import (
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestRaw checks the system call stub against the kernel: results come
// back, a failure comes back as -1 and its errno, and a pointer argument
// reaches the kernel.
func TestRaw(t *testing.T) {
	if pid, e := raw(unix.SYS_GETPID, 0, 0, 0, 0, 0, 0); e != 0 || int(pid) != os.Getpid() {
		t.Errorf("getpid: %d, %v; want %d", pid, e, os.Getpid())
	}
	if r, e := raw(unix.SYS_CLOSE, ^uintptr(0), 0, 0, 0, 0, 0); e != unix.EBADF || r != ^uintptr(0) {
		t.Errorf("close(-1): %#x, %v; want -1, EBADF", r, e)
	}
	f, err := os.CreateTemp(t.TempDir(), "raw")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("12345"); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if _, e := raw(unix.SYS_FSTAT, f.Fd(), uintptr(unsafe.Pointer(&st)), 0, 0, 0, 0); e != 0 || st.Size != 5 {
		t.Errorf("fstat: %v, size %d; want size 5", e, st.Size)
	}
	// Six arguments: pread64 (fd, buf, count, offset), then mmap's six.
	var buf [3]byte
	if n, e := raw(unix.SYS_PREAD64, f.Fd(), uintptr(unsafe.Pointer(&buf[0])), 3, 2, 0, 0); e != 0 || n != 3 || string(buf[:]) != "345" {
		t.Errorf("pread: %d, %v, %q; want 3, 0, \"345\"", n, e, buf[:])
	}
	addr, e := raw(unix.SYS_MMAP, 0, 4096, unix.PROT_READ, unix.MAP_SHARED, f.Fd(), 0)
	if e != 0 {
		t.Fatalf("mmap: %v", e)
	}
	if got := *(*[5]byte)(*(*unsafe.Pointer)(unsafe.Pointer(&addr))); string(got[:]) != "12345" {
		t.Errorf("mapped %q, want \"12345\"", got[:])
	}
	if _, e := raw(unix.SYS_MUNMAP, addr, 4096, 0, 0, 0, 0); e != 0 {
		t.Errorf("munmap: %v", e)
	}
}

// TestCPath checks how paths are put together: dir and name joined and
// NUL-terminated; a NUL inside, or a path that does not fit, refused.
func TestCPath(t *testing.T) {
	var p cPath
	if err := p.set("/dev/shm/", "psm_1"); err != nil || string(p[:15]) != "/dev/shm/psm_1\x00" {
		t.Errorf("set: %v, %q", err, p[:15])
	}
	if err := p.set("/dev/shm/", ""); err != nil || string(p[:10]) != "/dev/shm/\x00" {
		t.Errorf("set of the folder: %v, %q", err, p[:10])
	}
	for _, name := range []string{"a\x00b", strings.Repeat("n", len(p)-9)} {
		if err := p.set("/dev/shm/", name); err != unix.EINVAL {
			t.Errorf("set(%q...) = %v, want EINVAL", name[:3], err)
		}
	}
	if err := p.set("/dev/shm/", strings.Repeat("n", len(p)-10)); err != nil {
		t.Errorf("the longest path that fits: %v", err)
	}
}
