// Package server is mpsync's resource tracker: the process that unlinks
// what dead processes leave in /dev/shm, and never what a live process
// still uses. Its client, in every program, is package internal/tracker
// (and libmpsync's registry.c).
//
// # How it works
//
// Every process that uses mpsync has an identity and a registry file in
// /dev/shm (package proc), on which it holds a file lock the kernel drops
// when it dies; the registry lists the names the process created or
// opened, each with its inode. Each client keeps a connection to the
// tracker. The tracker sleeps until a connection ends, then asks the
// kernel, through the registry's lock, whether its owner is gone — exact
// across pid namespaces, since no pid is involved — and for each dead
// registry unlinks every name it lists unless
//
//   - a live registry lists it too, with the inode of the file now under
//     that name (a live process that used a file since replaced under the
//     same name does not keep the new one),
//   - the file under that name is not the one registered (another inode:
//     it was replaced),
//   - the file is marked untracked (csrc.UntrackedMode), or
//   - a process that this tracker's /proc shows has it open or mapped
//     (programs that use it without mpsync, such as CPython's
//     SharedMemory); such names are retried at each sweep.
//
// It moves the name aside (rename to "mps-reap-<random>") before a last
// look at the moved file's inode and at the live registries, and only
// then unlinks it, or puts it back: an opener registers before it checks
// that its name still leads to its file, so it is either seen, or fails.
//
// It then removes the registry. A registry whose lock is free is dead
// whatever its contents, so one never completed or filled with garbage
// goes too. Registries are read with pread, never mapped, so a truncated
// one cannot fault the tracker. A sweep catches what connections cannot
// tell: every 5 s while some live registry's owner is not connected here
// (a C program whose tracker died, a process of another network
// namespace) or a name is still held, every 60 s otherwise — asleep in
// between. A 60 s sweep is skipped when no name has been created,
// deleted or renamed in /dev/shm since the last one (the folder's
// timestamps and size tell), so an idle tracker does not wake its threads.
// A sweep that finds every owner alive and no name held reads only the
// registries' headers, not the names they list, with raw system calls
// (package fastsys): its cost does not grow with what live processes use.
//
// The tracker publishes itself as /dev/shm/mps-trk-<16 hex digits>, a file
// of its user's that it holds the same kind of lock on, and listens on
// the abstract Unix socket of that name. Another user can neither guess
// the name before it exists nor make a file owned by us, and each side
// checks the other's credentials (SO_PEERCRED). Trackers that cannot
// reach each other (other network namespaces sharing one /dev/shm) each
// serve their own clients and are harmless to each other: a dead registry
// is reaped under a second file lock, by one of them only. When two that
// can reach each other run, the one with the larger name retires. A
// tracker exits a few seconds after it has nothing left to watch.
//
// Environment: MPSYNC_TRACKER_ROLE=1 makes a process the tracker;
// MPSYNC_TRACKER_LOG names its log file (default
// $TMPDIR/mpsync-tracker-<uid>.log), one line per name it unlinks;
// MPSYNC_NO_TRACKER=1 in a client turns tracking off;
// MPSYNC_TEST_TRACKER_BACKSTOP (tests only) replaces the 60 s period.
package server

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/fastsys"
	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proc"
)

const (
	envLog = "MPSYNC_TRACKER_LOG"
	// envBackstop, for tests only, sets the period of the sweep that
	// connections make rare (a Go duration; default backstop).
	envBackstop = "MPSYNC_TEST_TRACKER_BACKSTOP"

	trkMagic   = "MPSTRK1\x00"    // a tracker file: magic, pid uint32 at 8
	sweepEvery = 5 * time.Second  // while some live registry has no connection here
	backstop   = 60 * time.Second // otherwise: connections tell every death
	idleExit   = 3 * time.Second
	reaperByte = 1 // a registry byte locked by the tracker reaping it
)

// LogPath returns where the tracker logs what it unlinks.
func LogPath() string {
	if p := os.Getenv(envLog); p != "" {
		return p
	}
	return filepath.Join(os.TempDir(), "mpsync-tracker-"+strconv.Itoa(os.Getuid())+".log")
}

// Running returns the pid of a tracker of this user that this process can
// reach, as its file records it, or 0.
func Running() int {
	name := csrc.FindTracker("")
	if name == "" {
		return 0
	}
	f, err := os.Open(names.Dir + name)
	if err != nil {
		return 0
	}
	defer f.Close()
	var b [12]byte
	if _, err := f.ReadAt(b[:], 0); err != nil || string(b[:8]) != trkMagic {
		return 0
	}
	return int(binary.NativeEndian.Uint32(b[8:]))
}

// Serve runs the tracker: it returns its exit status once it has had
// nothing to watch for a few seconds, or at once if another tracker of
// this user already serves here.
func Serve() int {
	signal.Ignore(syscall.SIGPIPE, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if csrc.FindTracker("") != "" {
		return 0
	}
	logf, _ := os.OpenFile(LogPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	logger := log.New(io.Discard, fmt.Sprintf("mpsync tracker %d: ", os.Getpid()), log.LstdFlags)
	if logf != nil {
		logger.SetOutput(logf)
	}
	ln, self, err := publish()
	if err != nil {
		logger.Printf("cannot start: %v", err)
		return 1
	}
	t := &tracker{self: self, log: logger, suspects: map[uint64]*suspect{}, pending: map[string]Entry{}, connected: map[uint64]int{}}
	t.backstop = backstop
	if d, err := time.ParseDuration(os.Getenv(envBackstop)); err == nil && d > 0 {
		t.backstop = d
	}
	deaths, hellos := make(chan uint64, 64), make(chan uint64, 64)
	go t.accept(ln, hellos, deaths)
	t.sweep()
	nextSweep := t.nextSweep(time.Now())
	var idleSince time.Time
	timer := time.NewTimer(sweepEvery)
	for {
		select {
		case id := <-deaths:
			t.suspects[id] = &suspect{at: time.Now(), wait: time.Millisecond}
		case id := <-hellos:
			// A registry the last sweep saw unwatched may be watched now.
			if t.unwatched[id] {
				delete(t.unwatched, id)
				if len(t.unwatched) == 0 && len(t.pending) == 0 {
					nextSweep = time.Now().Add(t.backstop)
				}
			}
		case <-timer.C:
		}
		now := time.Now()
		if t.checkSuspects(now) {
			t.reap()
		}
		if !now.Before(nextSweep) {
			if !t.unchanged() && t.sweep() && t.retire() {
				unix.Unlink(names.Dir + t.self)
				return 0
			}
			nextSweep = t.nextSweep(now)
		}
		if t.clients.Load() == 0 && t.registries == 0 && len(t.pending) == 0 && len(t.suspects) == 0 {
			if idleSince.IsZero() {
				idleSince = now
			} else if now.Sub(idleSince) >= idleExit {
				unix.Unlink(names.Dir + t.self)
				return 0
			}
		} else {
			idleSince = time.Time{}
		}
		wait := time.Until(nextSweep)
		if !idleSince.IsZero() {
			wait = min(wait, idleExit-now.Sub(idleSince))
		}
		for _, s := range t.suspects {
			wait = min(wait, time.Until(s.at.Add(s.wait)))
		}
		timer.Reset(max(wait, time.Millisecond))
	}
}

// publish makes the tracker's file (locked, then linked, so it is never
// seen unlocked while the tracker lives) and listens on the abstract
// socket of the same name, bound before the name appears.
func publish() (*net.UnixListener, string, error) {
	fd, err := unix.Open(names.Dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, "", err
	}
	defer unix.Close(fd) // the lock stays with the open description: keep it
	lock := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: csrc.RegAliveByte, Len: 1}
	if unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lock) != nil {
		return nil, "", err
	}
	head := make([]byte, 16)
	copy(head, trkMagic)
	binary.NativeEndian.PutUint32(head[8:], uint32(os.Getpid()))
	if err := unix.Fallocate(fd, 0, 0, int64(len(head))); err != nil {
		return nil, "", err
	}
	if _, err := unix.Pwrite(fd, head, 0); err != nil {
		return nil, "", err
	}
	for range 8 {
		var rnd [8]byte
		rand.Read(rnd[:])
		name := csrc.TrkPrefix + hex.EncodeToString(rnd[:])
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: "@" + name, Net: "unix"})
		if err != nil {
			continue
		}
		err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, names.Dir+name, unix.AT_SYMLINK_FOLLOW)
		if err == nil {
			// Keep the description, and so the lock, for the tracker's life.
			keep, _ := unix.Dup(fd)
			unix.CloseOnExec(keep)
			return ln, name, nil
		}
		ln.Close()
		if err != unix.EEXIST {
			return nil, "", err
		}
	}
	return nil, "", unix.EEXIST
}

// tracker is the tracker's state, owned by Serve's goroutine (clients is
// shared with the connection goroutines).
type tracker struct {
	self       string // this tracker's file name
	log        *log.Logger
	clients    atomic.Int64
	registries int                 // live registries seen at the last look
	unwatched  map[uint64]bool     // live ones among them whose owner is not connected here
	mu         sync.Mutex          // guards connected
	connected  map[uint64]int      // identities of the connected clients, with their connections
	suspects   map[uint64]*suspect // clients whose connection ended
	pending    map[string]Entry    // names whose users are gone but that a process holds
	backstop   time.Duration       // the sweep period when connections tell every death
	seen       dirLook             // /dev/shm as the last sweep began: see unchanged
	quiet      bool                // the last sweep left nothing to look at again: see unchanged
}

// suspect is a client whose connection ended but whose registry was
// still locked at the last look: the kernel releases the two in turn as
// the process's files are closed. It is looked at again after wait,
// which doubles, for a second; then the sweeps take over.
type suspect struct {
	at   time.Time
	wait time.Duration
}

// accept takes connections from processes of this user, learns their
// identities, and reports each connection's end on deaths.
func (t *tracker) accept(ln *net.UnixListener, hellos, deaths chan<- uint64) {
	uid := uint32(os.Getuid())
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if peerUID(c) != uid {
			c.Close()
			continue
		}
		t.clients.Add(1)
		go func() {
			var b [8]byte
			_, err := io.ReadFull(c, b[:])
			id := binary.NativeEndian.Uint64(b[:])
			if err != nil {
				id = 0
			}
			t.connect(id, 1)
			if id != 0 {
				hellos <- id
			}
			io.Copy(io.Discard, c) // clients never write more: this waits for the end
			c.Close()
			t.connect(id, -1)
			t.clients.Add(-1)
			if id != 0 {
				deaths <- id
			}
		}()
	}
}

// unchanged reports whether a sweep due now would find what the last one
// found, and can be skipped: that sweep left nothing to look at again (no
// registry whose owner is not connected here, no name still held, no
// other tracker's or set-aside file) and no name has come, gone or moved
// in /dev/shm since it began. What a sweep could then see differently,
// a watched registry whose owner died, that owner's connection reports.
//
// It asks with one raw stat of /dev/shm (see lookAtDir), not through
// package syscall or os, whose calls wake the Go runtime's monitor
// thread, which then polls every 20 µs until this process is idle again.
// An inotify watch would tell the same, but it charges every process
// that creates or removes a name in /dev/shm an event queued in the
// kernel, a few percent of a segment's create: to spare this tracker one
// sweep a minute.
func (t *tracker) unchanged() bool {
	if !t.quiet || len(t.unwatched) > 0 || len(t.pending) > 0 {
		return false
	}
	return t.seen.settled() && lookAtDir().same(t.seen)
}

// dirLook is what a stat of /dev/shm tells of changes to its names: a
// name created, removed or renamed sets the directory's change and
// modification times to the time of the change and changes its size.
type dirLook struct {
	ctime, mtime unix.Timespec
	size         int64
	at           time.Time // when the look was taken; zero if it failed
}

// dirTimeSlack bounds how far a change's timestamp can fall behind the
// clock: file systems stamp with a coarse clock (one tick, 1 to 10 ms)
// unless the times were looked at since the last change.
const dirTimeSlack = 100 * time.Millisecond

func lookAtDir() dirLook { return lookAt(names.Dir) }

func lookAt(dir string) dirLook {
	var st unix.Stat_t
	if fastsys.Stat(dir, "", &st) != nil {
		return dirLook{}
	}
	return dirLook{ctime: st.Ctim, mtime: st.Mtim, size: st.Size, at: time.Now()}
}

// settled reports whether the last change before the look was long enough
// before it that any change after it must carry a later time.
func (d dirLook) settled() bool {
	return !d.at.IsZero() && d.at.Sub(time.Unix(d.ctime.Unix())) > dirTimeSlack
}

func (d dirLook) same(e dirLook) bool {
	return !d.at.IsZero() && d.ctime == e.ctime && d.mtime == e.mtime && d.size == e.size
}

// nextSweep returns when to sweep after now: asleep until a connection
// ends, unless something only a sweep can see is about — a live registry
// whose owner is not connected here, or names still held.
func (t *tracker) nextSweep(now time.Time) time.Time {
	if len(t.unwatched) > 0 || len(t.pending) > 0 {
		return now.Add(sweepEvery)
	}
	return now.Add(t.backstop)
}

// connect counts a connection of the client id (0: a probe) in or out.
func (t *tracker) connect(id uint64, n int) {
	if id == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.connected[id] += n; t.connected[id] <= 0 {
		delete(t.connected, id)
	}
}

// peerUID returns the user of the process at the other end of c, or an
// impossible uid if it cannot be told.
func peerUID(c *net.UnixConn) uint32 {
	uid := ^uint32(0)
	raw, err := c.SyscallConn()
	if err != nil {
		return uid
	}
	raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			uid = cred.Uid
		}
	})
	return uid
}

// checkSuspects looks at the suspects that are due and reports whether
// one of them has died.
func (t *tracker) checkSuspects(now time.Time) bool {
	died := false
	for id, s := range t.suspects {
		if now.Before(s.at.Add(s.wait)) {
			continue
		}
		if !proc.Alive(id) {
			died = true
			delete(t.suspects, id)
			continue
		}
		s.at, s.wait = now, 2*s.wait
		if s.wait > time.Second {
			delete(t.suspects, id)
		}
	}
	return died
}

// sweep is the slow look at everything: dead trackers' files, dead
// registries, names still held. It reports whether another live tracker
// has a smaller name: one this tracker may have to retire for.
func (t *tracker) sweep() (smaller bool) {
	// Look at the folder first: a change made after this is one the next
	// sweep must see.
	t.seen = lookAtDir()
	t.quiet = true
	ents, _ := fastsys.ReadDirNames(names.Dir)
	for _, e := range ents {
		if _, ok := hexSuffix(e, names.ReapPrefix); ok {
			t.quiet = false // removed once a minute old, by a sweep
			// Set aside by a tracker that died before it decided: it
			// was being reaped, and is the one file no name reaches.
			var st unix.Stat_t
			if unix.Lstat(names.Dir+e, &st) == nil && st.Uid == uint32(os.Getuid()) &&
				time.Since(time.Unix(st.Ctim.Unix())) > time.Minute {
				unix.Unlink(names.Dir + e)
			}
			continue
		}
		if _, ok := hexSuffix(e, csrc.TrkPrefix); !ok || e == t.self {
			continue
		}
		t.quiet = false // its tracker may die with no change in /dev/shm
		if alive, ok := trackerLives(e); ok && !alive {
			unix.Unlink(names.Dir + e)
		} else if ok {
			smaller = smaller || e < t.self
		}
	}
	t.reap()
	return smaller
}

// retire reports whether another tracker that this one's clients can
// reach runs under a smaller name: then this one steps down, and its
// clients, seeing their connections end, go to that one.
func (t *tracker) retire() bool {
	other := csrc.FindTracker(t.self)
	return other != "" && other < t.self
}

// reap removes what the dead registries list and nobody else uses, then
// the registries, and retries the names that were still held.
func (t *tracker) reap() {
	regs := registryHeads()
	someDead := false
	t.registries = 0
	t.unwatched = map[uint64]bool{}
	t.mu.Lock()
	for _, r := range regs {
		someDead = someDead || !r.Alive
		if r.Alive {
			t.registries++
			if t.connected[r.ID] == 0 {
				t.unwatched[r.ID] = true
			}
		}
	}
	t.mu.Unlock()
	if !someDead && len(t.pending) == 0 {
		return
	}
	// Someone died, or names are held: read what the registries list.
	regs = allRegistries()
	live := liveNames(regs)
	held := &heldSet{}
	var moved []setAside
	for name, e := range t.pending {
		delete(t.pending, name)
		if a, ok := t.setAside(e, "held earlier", live, held); ok {
			moved = append(moved, a)
		}
	}
	t.settle(moved)
	for _, r := range regs {
		if !r.Alive {
			t.reapRegistry(r, live, held)
		}
	}
}

// reapRegistry releases every name of the dead registry r and removes it,
// under the reaper lock, so that of several trackers only one does it.
func (t *tracker) reapRegistry(r Registry, live map[string][]uint64, held *heldSet) {
	fd, st := ownFile(r.File)
	if fd < 0 {
		return
	}
	defer unix.Close(fd)
	lock := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: reaperByte, Len: 1}
	if unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lock) != nil {
		return // another tracker is at it
	}
	if alive, err := csrc.AliveLock(fd); err != nil || alive {
		return
	}
	again, _ := readRegistry(fd, true) // under the lock
	owner := fmt.Sprintf("pid %d, %s", again.Pid, r.File)
	var moved []setAside
	for _, e := range again.Entries {
		if a, ok := t.setAside(e, owner, live, held); ok {
			moved = append(moved, a)
		}
	}
	t.settle(moved)
	var now unix.Stat_t
	if unix.Stat(names.Dir+r.File, &now) == nil && now.Ino == st.Ino {
		unix.Unlink(names.Dir + r.File)
	}
}

// heldSet tells whether some process has a file of /dev/shm open or
// mapped (proc.HeldInodes). It scans /proc, milliseconds of work with a
// few dozen processes, only when first asked: a reap whose dead names
// are all gone or listed by a live registry, the usual case (a creator
// unlinks its objects; its partners exit before or after it), asks
// nothing, so that a process's exit costs its tracker no scan.
type heldSet struct {
	inodes  map[uint64]bool
	scanned bool
}

// allRegistries is Registries; tests count its calls.
var allRegistries = Registries

// heldInodes is proc.HeldInodes; tests count its calls.
var heldInodes = proc.HeldInodes

// has reports whether a process other than the tracker holds inode ino.
func (h *heldSet) has(ino uint64) bool {
	if !h.scanned {
		h.inodes, h.scanned = heldInodes(names.Dir), true
	}
	return h.inodes[ino]
}

// liveNames maps each name the live registries among regs list to the
// inodes they list it with.
func liveNames(regs []Registry) map[string][]uint64 {
	live := map[string][]uint64{}
	for _, r := range regs {
		if r.Alive {
			for _, e := range r.Entries {
				live[e.Name] = append(live[e.Name], e.Ino)
			}
		}
	}
	return live
}

// setAside is a name a dead process registered, moved aside to be
// unlinked unless a last look finds it in use.
type setAside struct {
	e     Entry
	aside string // where the file is now
	ino   uint64 // the file that was moved
	owner string // for the log
}

// setAside takes a name a dead process registered out of reach, unless
// something still uses it (see the package doc): a name some process
// holds open or mapped goes on the pending list instead. It moves the
// name aside (atomically: from now on no one can open it) and reports
// what it moved; settle then decides.
func (t *tracker) setAside(e Entry, owner string, live map[string][]uint64, held *heldSet) (setAside, bool) {
	path := names.Dir + e.Name
	var st unix.Stat_t
	if unix.Lstat(path, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG ||
		e.Ino != 0 && st.Ino != e.Ino || st.Mode&csrc.UntrackedMode != 0 {
		return setAside{}, false // gone, replaced, or untracked
	}
	for _, ino := range live[e.Name] {
		if ino == 0 || ino == st.Ino {
			return setAside{}, false // a live process uses this very file
		}
	}
	if held.has(st.Ino) {
		t.pending[e.Name] = e
		return setAside{}, false
	}
	a := setAside{e: e, aside: names.Dir + names.Random(names.ReapPrefix), owner: owner}
	if unix.Renameat2(unix.AT_FDCWD, path, unix.AT_FDCWD, a.aside, unix.RENAME_NOREPLACE) != nil ||
		unix.Lstat(a.aside, &st) != nil {
		return setAside{}, false
	}
	a.ino = st.Ino
	return a, true
}

// settle looks once more at the live registries, read afresh, and at the
// files moved aside: a process that opened one before the move registers
// it before it checks that the name is still there (shm.Open), so it is
// either seen now, or found the name gone and failed. A file still in use,
// or not the one registered (replaced meanwhile), is put back and looked
// at again at the next sweep; the others are unlinked.
func (t *tracker) settle(moved []setAside) {
	if len(moved) == 0 {
		return
	}
	live := liveNames(Registries())
	for _, a := range moved {
		inUse := a.e.Ino != 0 && a.ino != a.e.Ino
		for _, ino := range live[a.e.Name] {
			inUse = inUse || ino == 0 || ino == a.ino
		}
		if inUse {
			if unix.Renameat2(unix.AT_FDCWD, a.aside, unix.AT_FDCWD, names.Dir+a.e.Name, unix.RENAME_NOREPLACE) != nil {
				unix.Unlink(a.aside) // the name was taken meanwhile: that file is the name's now
			}
			t.pending[a.e.Name] = a.e
			continue
		}
		if unix.Unlink(a.aside) == nil {
			t.log.Printf("unlinked leaked %s: its last user (%s) is gone", a.e.Name, a.owner)
		}
	}
}
