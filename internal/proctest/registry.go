package proctest

import (
	"fmt"
	"io"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/names"
)

// reaperByte is the registry byte a tracker locks (F_OFD_SETLK) while it
// reaps a dead registry (internal/tracker/server): a tracker that cannot
// take it leaves the registry alone.
const reaperByte = 1

// RegistryFile returns the /dev/shm entry of the registry of identity id.
func RegistryFile(id uint64) string { return fmt.Sprintf("%s%016x", csrc.RegPrefix, id) }

// PinRegistry keeps the registry of identity id in /dev/shm after its
// owner dies, until the test ends: it holds the lock a tracker needs to
// reap it, so that a test can look at a dead process's registry (and at
// what it lists) without racing the tracker. It does not touch the
// liveness lock: the registry's owner is dead to everyone once it dies.
// The lock is dropped by the function it returns, or when the test ends;
// the next reap (any client's end, or a sweep) then removes the registry.
func PinRegistry(t testing.TB, id uint64) (unpin func()) {
	t.Helper()
	path := names.Dir + RegistryFile(id)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("proctest: pin registry: %v", err)
	}
	lock := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: reaperByte, Len: 1}
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lock); err != nil {
		unix.Close(fd)
		t.Fatalf("proctest: pin registry %s: %v", path, err)
	}
	var once sync.Once
	unpin = func() { once.Do(func() { unix.Close(fd) }) }
	t.Cleanup(unpin)
	return unpin
}

// RegistryExists reports whether the registry of identity id is in
// /dev/shm.
func RegistryExists(id uint64) bool {
	_, err := os.Lstat(names.Dir + RegistryFile(id))
	return err == nil
}
