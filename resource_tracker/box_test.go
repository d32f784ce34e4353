package resourcetracker_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proctest"
)

func init() {
	// lv-box holds a mount namespace with a /dev/shm of its own and a
	// network namespace of its own (so that no tracker outside can be
	// reached from it) for others to enter (nsenter), until it is killed.
	// It never uses mpsync itself.
	proctest.Register("lv-box", func(h *proctest.Helper) {
		h.Ready()
		for {
			h.ReadLine()
		}
	})
}

// shmBox is a world of its own for a test's processes: a /dev/shm that no
// other process sees (nor any other test package's leak check), and a
// network namespace in which the only tracker is one started inside. The
// test sees the box's /dev/shm as dir.
type shmBox struct {
	dir     string   // the box's /dev/shm, from here: /proc/<box>/root/dev/shm/
	outside []string // a StartIn wrapper: run in the box, in this pid namespace
	nested  []string // a StartIn wrapper: run in the box, in a nested pid namespace
}

// startBox makes a box with a /dev/shm of size bytes. When the test ends,
// every process left in it (a tracker, say) is killed, and its /dev/shm
// goes with the last of them.
func startBox(t *testing.T, size int64) *shmBox {
	t.Helper()
	p := proctest.Command(t, "lv-box")
	p.PrivateShm(size)
	p.Cmd.SysProcAttr.Unshareflags |= syscall.CLONE_NEWNET
	p.Start()
	pid := strconv.Itoa(p.Pid())
	mnt, err := os.Readlink("/proc/" + pid + "/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killNamespace(mnt, p.Pid()) })
	outside := []string{"nsenter", "-t", pid, "-m", "-n"}
	return &shmBox{
		dir:     "/proc/" + pid + "/root" + names.Dir,
		outside: outside,
		nested:  append(append([]string{}, outside...), proctest.NestedPidNamespace...),
	}
}

// killNamespace kills the processes of mount namespace mnt ("mnt:[N]")
// other than except, and waits until they are gone.
func killNamespace(mnt string, except int) {
	ents, _ := os.ReadDir("/proc")
	var fds []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == except {
			continue
		}
		if ns, err := os.Readlink("/proc/" + e.Name() + "/ns/mnt"); err != nil || ns != mnt {
			continue
		}
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			fds = append(fds, fd)
		}
	}
	for _, fd := range fds {
		unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 10000)
		unix.Close(fd)
	}
}

// exists reports whether entry is in the box's /dev/shm.
func (b *shmBox) exists(entry string) bool { return inode(b.dir, entry) != 0 }

// entries lists the box's /dev/shm entries that start with prefix, or
// look like mpsync's objects if prefix is "".
func (b *shmBox) entries(prefix string) []string {
	ents, _ := os.ReadDir(b.dir)
	var out []string
	for _, e := range ents {
		if prefix == "" && names.Ours(e.Name()) || prefix != "" && strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// describe says what entry is, for failure messages.
func (b *shmBox) describe(entry string) string {
	fi, err := os.Stat(b.dir + entry)
	if err != nil {
		return entry + " (gone)"
	}
	return fmt.Sprintf("%s (%d bytes, %s old)", entry, fi.Size(), time.Since(fi.ModTime()).Round(time.Millisecond))
}
