package tracker

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proc"
)

const (
	// envRole makes a process the tracker: the program re-runs its own
	// binary with it set, and this package's init serves.
	envRole = "MPSYNC_TRACKER_ROLE"
	// envLog names the tracker's log file; the default is
	// $TMPDIR/mpsync-tracker-<uid>.log.
	envLog = "MPSYNC_TRACKER_LOG"

	pollEvery = 50 * time.Millisecond
	idleExit  = 3 * time.Second
)

func init() {
	if os.Getenv(envRole) == "1" {
		os.Exit(Serve())
	}
}

// socketName is the abstract Unix socket (no file) that both locks the
// tracker's singleton and lets clients see it alive.
func socketName() string { return "@mpsync-tracker-" + strconv.Itoa(os.Getuid()) }

// LogPath returns where the tracker logs what it unlinks.
func LogPath() string {
	if p := os.Getenv(envLog); p != "" {
		return p
	}
	return filepath.Join(os.TempDir(), "mpsync-tracker-"+strconv.Itoa(os.Getuid())+".log")
}

// ensureTracker connects to this user's tracker, starting one if there is
// none, and returns the connection (-1 if no tracker could be reached
// within two seconds).
func ensureTracker() int {
	if c, err := dial(); err == nil {
		return c
	}
	spawn()
	for i := 0; i < 100; i++ {
		time.Sleep(20 * time.Millisecond)
		if c, err := dial(); err == nil {
			return c
		}
	}
	return -1
}

// keepTracker holds the connection c to the tracker and, whenever the
// tracker goes away, starts another and connects again.
func keepTracker(c int) {
	for {
		if c < 0 {
			time.Sleep(time.Second)
		} else {
			var b [1]byte
			unix.Read(c, b[:]) // blocks until the tracker goes away
			unix.Close(c)
			time.Sleep(10 * time.Millisecond)
		}
		c = ensureTracker()
	}
}

func dial() (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: socketName()}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// spawn starts a tracker: this program's binary in the tracker role, in a
// session of its own with no terminal and no inherited pipes, so that it
// outlives us and no one waits for its output.
func spawn() {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envRole+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if cmd.Start() == nil {
		go cmd.Wait() // reap it when it exits
	}
}

// Serve runs the tracker: it returns its exit status once it has had
// nothing to watch for a few seconds, or at once if another tracker of
// this user is running.
func Serve() int {
	signal.Ignore(syscall.SIGPIPE, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	ln, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 1
	}
	if err := unix.Bind(ln, &unix.SockaddrUnix{Name: socketName()}); err != nil {
		return 0 // another tracker holds the name: it does the job
	}
	if unix.Listen(ln, 128) != nil {
		return 1
	}
	logf, _ := os.OpenFile(LogPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	logger := log.New(logf, fmt.Sprintf("mpsync tracker %d: ", os.Getpid()), log.LstdFlags)
	if logf == nil {
		logger.SetOutput(nilWriter{})
	}
	var clients atomic.Int64
	go accept(ln, &clients)
	t := &tracker{regs: map[string]*watched{}, log: logger}
	idleSince := time.Now()
	for {
		t.scan()
		t.reap()
		if len(t.regs) > 0 || len(t.pending) > 0 || clients.Load() > 0 {
			idleSince = time.Now()
		} else if time.Since(idleSince) > idleExit {
			return 0
		}
		time.Sleep(pollEvery)
	}
}

type nilWriter struct{}

func (nilWriter) Write(p []byte) (int, error) { return len(p), nil }

// accept takes connections from processes of this user and holds them
// open: a client sees the tracker die when its connection ends.
func accept(ln int, clients *atomic.Int64) {
	uid := uint32(os.Getuid())
	for {
		c, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
		if err != nil {
			continue
		}
		cred, err := unix.GetsockoptUcred(c, unix.SOL_SOCKET, unix.SO_PEERCRED)
		if err != nil || cred.Uid != uid {
			unix.Close(c)
			continue
		}
		clients.Add(1)
		go func() {
			var b [64]byte
			for {
				if n, err := unix.Read(c, b[:]); n <= 0 || err != nil {
					break
				}
			}
			unix.Close(c)
			clients.Add(-1)
		}()
	}
}

// tracker is the tracker's state.
type tracker struct {
	regs    map[string]*watched // registry file name → its mapping
	pending []leftover          // names whose users are gone but that a process still holds
	log     *log.Logger
}

type watched struct {
	owner proc.ID
	mem   []byte
}

type leftover struct {
	name  string
	ino   uint64
	owner proc.ID
}

// scan maps the registries in /dev/shm that it does not know yet: its
// user's, well-formed ones.
func (t *tracker) scan() {
	ents, _ := os.ReadDir(names.Dir)
	uid := uint32(os.Getuid())
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, regPrefix) || t.regs[name] != nil {
			continue
		}
		fd, err := unix.Open(names.Dir+name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Uid != uid || st.Size != regSize {
			unix.Close(fd)
			continue
		}
		mem, err := unix.Mmap(fd, 0, regSize, unix.PROT_READ, unix.MAP_SHARED)
		unix.Close(fd)
		if err != nil {
			continue
		}
		if string(mem[:8]) != regMagic {
			unix.Munmap(mem) // not complete yet: next round
			continue
		}
		owner := proc.FromWord(binary.NativeEndian.Uint64(mem[8:16]))
		// libmpsync's C code keeps its own registry, suffixed "-c".
		if RegistryName(owner) != name && RegistryName(owner)+"-c" != name {
			unix.Munmap(mem)
			continue
		}
		t.regs[name] = &watched{owner: owner, mem: mem}
	}
}

// reap processes the registries whose owners are gone, and retries the
// names that were still held.
func (t *tracker) reap() {
	var dead []string
	for name, w := range t.regs {
		if !proc.Alive(w.owner) {
			dead = append(dead, name)
		}
	}
	if len(dead) == 0 && len(t.pending) == 0 {
		return
	}
	// What the living use, gathered once for the round: the names in
	// their registries, and the /dev/shm files any process holds.
	live := map[string]bool{}
	for name, w := range t.regs {
		if !slices.Contains(dead, name) {
			t.each(w, func(n string, _ uint64) { live[n] = true })
		}
	}
	held := proc.HeldUnder(names.Dir)
	pending := t.pending
	t.pending = nil
	for _, l := range pending {
		t.release(l, live, held)
	}
	for _, name := range dead {
		w := t.regs[name]
		t.each(w, func(n string, ino uint64) { t.release(leftover{n, ino, w.owner}, live, held) })
		unix.Munmap(w.mem)
		delete(t.regs, name)
		os.Remove(names.Dir + name)
	}
}

// each calls f with every name registered in w.
func (t *tracker) each(w *watched, f func(name string, ino uint64)) {
	high := int(min((*atomic.Uint32)(unsafe.Pointer(&w.mem[offHighMark])).Load(), regSlots))
	for i := 1; i < high; i++ {
		off := regHeader + i*regSlot
		state := (*atomic.Uint32)(unsafe.Pointer(&w.mem[off])).Load()
		if state != slotUsed {
			continue
		}
		ino := binary.NativeEndian.Uint64(w.mem[off+offSlotIno:])
		raw := w.mem[off+offSlotName : off+regSlot]
		if j := bytes.IndexByte(raw, 0); j >= 0 {
			raw = raw[:j]
		}
		f(string(raw), ino)
	}
}

// release unlinks a dead owner's name if nothing uses it any more: no live
// registry lists it and no process holds it. One held by a process (that
// uses it outside mpsync) goes back on the pending list.
func (t *tracker) release(l leftover, live, held map[string]bool) {
	if _, err := names.Check("tracker", l.name); err != nil || live[l.name] {
		return
	}
	path := names.Dir + l.name
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil || l.ino != 0 && st.Ino != l.ino {
		return // gone already, or another file took the name
	}
	if held[path] {
		t.pending = append(t.pending, l)
		return
	}
	if unix.Unlink(path) == nil {
		t.log.Printf("unlinked leaked %s: its last user, pid %d, is gone", l.name, l.owner.Pid)
	}
}

// Owners maps each name listed in a registry in /dev/shm to the processes
// whose registries list it: for leak checks, which leave to the tracker
// what dead processes left.
func Owners() map[string][]proc.ID {
	t := &tracker{regs: map[string]*watched{}}
	t.scan()
	out := map[string][]proc.ID{}
	for _, w := range t.regs {
		t.each(w, func(n string, _ uint64) { out[n] = append(out[n], w.owner) })
		unix.Munmap(w.mem)
	}
	return out
}
