package shm

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/fastsys"
	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/tracker"
)

// Segment is a mapped shared memory segment: a named file in /dev/shm
// (Create, Open) or an anonymous memfd (NewAnonymous, FromFile).
//
// A Segment is safe for concurrent use by multiple goroutines. The memory
// itself is not synchronized: coordinate access to it with a lock from
// package semaphore, or with atomics.
//
// A Segment carries a finalizer, the safety net that unmaps it should
// Close be forgotten: do not set one of your own on it.
type Segment struct {
	name string // without the leading slash; "" for anonymous segments
	size int

	// mu orders Close against the copying methods (ReadAt, WriteAt,
	// File), which must never touch an unmapped range.
	mu     sync.RWMutex
	closed atomic.Bool
	m      mapping
}

// mapping is the raw resource behind a Segment: what the safety net
// releases if Close is forgotten.
//
// The safety net is a finalizer on the Segment (set by newSegment,
// cleared by Close), not the runtime.AddCleanup over the raw resource
// that mpsync uses elsewhere: a cleanup needs the resource in an object
// of its own and boxes its argument in a third, and on a machine that
// empties the TLB at every system call (the benchmarks' VMs) those
// allocations and the cleanup's bookkeeping cost an attach 3-5% (W6, 21
// interleaved runs against C). What makes a cleanup safer does not apply
// here: a Segment holds no pointer but its name, so it can be in no cycle
// that would keep its finalizer from running, and its resurrection for
// one cycle holds only its own hundred bytes.
type mapping struct {
	addr unsafe.Pointer
	size int
	fd   int // kept for anonymous segments (to hand them on); -1 otherwise

	// viewTaken is set once Bytes has handed out a view into the
	// mapping. From then on the range is never simply unmapped: Close
	// replaces it with private zero pages so a stale view cannot crash
	// the process, and the forgotten-Close safety net leaves it mapped.
	viewTaken atomic.Bool
}

// finalize is the safety net run by the garbage collector for a Segment
// that was never closed.
func (s *Segment) finalize() { s.m.release() }

// release frees the raw resource: the descriptor, and the mapping unless
// a view into it was handed out.
func (m *mapping) release() {
	if m.fd >= 0 {
		unix.Close(m.fd)
	}
	if !m.viewTaken.Load() {
		munmap(m.addr, m.size, false)
	}
}

// Create creates a new segment of size bytes, zero-filled, and maps it.
//
// An empty name makes a random one: "psm_" and 16 hex digits (64 random
// bits). Otherwise name is 1 to 251 bytes with an optional leading slash
// ("x" and "/x" are the same segment, as in Python) and no other slash or
// NUL byte.
//
// Creation is exclusive: an existing name is an error matching
// [fs.ErrExist]. The file's mode is 0600 unless [WithMode] says otherwise.
// The file gets its name only once it is sized, mapped and registered
// with the resource tracker, so a process killed at any instant leaves no
// name behind that the tracker does not know of.
// Bad arguments give errors matching [fs.ErrInvalid] that say which
// argument and why.
//
// A segment is sparse unless [Reserve] (or [WithInit]) is given: /dev/shm
// gives it memory page by page, as each page is first written, by any
// process. Should /dev/shm be full by then (Docker's default is 64 MB),
// the write kills the process with SIGBUS. Create checks that /dev/shm has
// room for size bytes (an error matching [syscall.ENOSPC] if not), but
// that check is no promise: other processes may take the room afterwards.
// With Reserve, Create allocates every page before it returns, and a full
// /dev/shm is an error matching [syscall.ENOSPC] from Create, never a
// SIGBUS later. Either way a failed Create leaves nothing in /dev/shm.
func Create(name string, size int, opts ...Option) (*Segment, error) {
	const op = "shm.Create"
	o := options{mode: 0o600}
	for _, opt := range opts {
		opt(&o)
	}
	if size <= 0 {
		return nil, errs.Invalid(op, "size", "%d: must be positive", size)
	}
	if o.mode&^fs.ModePerm != 0 {
		return nil, errs.Invalid(op, "mode", "%v: only permission bits are allowed", o.mode)
	}
	prefix := names.ShmPrefix
	if o.prefix != "" {
		if name != "" {
			return nil, errs.Invalid(op, "RandomPrefix", "%q given with the name %q: a prefix is for random names", o.prefix, name)
		}
		if _, err := names.Check(op, o.prefix+names.Random("")); err != nil {
			return nil, errs.Invalid(op, "RandomPrefix", "%q cannot start a name: %v", o.prefix, err)
		}
		prefix = strings.TrimPrefix(o.prefix, "/")
	}
	if name != "" {
		var err error
		if name, err = names.Check(op, name); err != nil {
			return nil, err
		}
	}
	if name == "" && o.init == nil {
		return createRandom(op, prefix, size, o)
	}
	return createPublished(op, name, prefix, size, o)
}

// createRandom is Create under a random name, without WithInit: a name
// no one else can make (64 random bits), so it can be registered before
// the file exists, with no inode, and created with one exclusive open —
// cheaper than createPublished's anonymous file and link (measured here:
// the link alone costs a quarter of a create), and as safe: a process
// killed at any point leaves its name listed, and an entry whose inode is
// unknown names whatever file has that name, which is only ever its own.
// The entry keeps inode 0 for good: the fstat and second registration
// that would fill it in cost a sixth of a create, and would only matter
// were someone to unlink this segment and make another under its random
// name (then that file goes when this process has gone).
func createRandom(op, prefix string, size int, o options) (*Segment, error) {
	var addr unsafe.Pointer
	name, err := names.Exclusive("", true, prefix, func(name string) error {
		var reg csrc.Tracked
		if !o.untracked {
			var err error
			if reg, err = tracker.Track(name, 0, 0); err != nil {
				return err
			}
		}
		fd, err := fastsys.Open(names.Dir, name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(o.mode))
		if err == nil {
			if addr, err = sizeAndMap(fd, size, o.reserve); err == nil && o.untracked {
				if _, err = track(fd, name, true); err != nil {
					munmap(addr, size, fastsys.Small(size))
				}
			}
			fastsys.Close(fd, true) // the mapping, or the name, keeps the file
			if err != nil {
				// Unlinking frees what a failed reservation may have allocated.
				fastsys.Unlink(names.Dir, name, !o.reserve || fastsys.Small(size))
			}
		}
		if err != nil {
			reg.Undo()
		}
		return err
	})
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return newSegment(name, size, addr, -1), nil
}

// createPublished makes every named segment: the file is made with
// O_TMPFILE, sized (allocated in full for Reserve and WithInit), mapped,
// initialised, registered with the tracker, and only then linked under
// its name (linkat fails with EEXIST if the name is taken, exactly like
// O_EXCL). So no one sees a half-made segment, and a process killed at any
// instant leaves no name that its registry does not list: before the link
// the file has no name, and it is freed with its last descriptor.
func createPublished(op, name, prefix string, size int, o options) (*Segment, error) {
	random := name == ""
	if random {
		name = names.Random(prefix) // replaced should the link find it taken
	}
	fd, err := fastsys.Open(names.Dir, "", unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, uint32(o.mode))
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: names.Dir, Err: err}
	}
	reserve := o.reserve || o.init != nil
	defer fastsys.Close(fd, !reserve || fastsys.Small(size)) // frees the file if it never got a name
	addr, err := sizeAndMap(fd, size, reserve)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	s := newSegment(name, size, addr, -1)
	if o.init != nil {
		if err := o.init(s.Bytes()); err != nil {
			s.Close()
			return nil, err
		}
	}
	// Registered before it gets its name: a process killed in between
	// leaves an entry for a name that never appeared (harmless: the
	// tracker checks the inode), never a name no registry lists.
	s.name, err = names.Exclusive(name, random, prefix, func(name string) error {
		reg, err := track(fd, name, o.untracked)
		if err != nil {
			return err
		}
		err = fastsys.Link(fd, names.Dir, name)
		if err != nil {
			reg.Undo() // EEXIST: the entry is put back as it was, for this process's own segment of the name, if any
		}
		return err
	})
	if err != nil {
		s.Close()
		return nil, &fs.PathError{Op: op, Path: s.name, Err: err}
	}
	return s, nil
}

// Open opens and maps the existing segment called name (with or without
// its leading slash), whoever created it: mpsync, Python's
// multiprocessing.shared_memory, shm_open(3) or libmpsync. Size reports the
// size it was created with.
//
// A missing name matches [fs.ErrNotExist]; another user's segment that
// this process may not open matches [fs.ErrPermission]; a segment of size
// 0 cannot be mapped and matches [fs.ErrInvalid].
func Open(name string) (*Segment, error) {
	const op = "shm.Open"
	name, err := names.Check(op, name)
	if err != nil {
		return nil, err
	}
	fd, err := fastsys.Open(names.Dir, name, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	defer fastsys.Close(fd, true) // the name, or the mapping, keeps the file
	size, addr, st, err := statAndMap(op, fd)
	if err == nil {
		if err = trackOpened(name, &st); err != nil {
			munmap(addr, size, fastsys.Small(size))
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return newSegment(name, size, addr, -1), nil
}

// Unlink removes the segment called name from /dev/shm. Mappings that
// exist stay valid until closed. A missing name matches [fs.ErrNotExist].
func Unlink(name string) error {
	const op = "shm.Unlink"
	clean, err := names.Check(op, name)
	if err != nil {
		return err
	}
	if err := unix.Unlink(names.Dir + clean); err != nil {
		return &fs.PathError{Op: op, Path: clean, Err: err}
	}
	tracker.Forget(clean)
	return nil
}

func newSegment(name string, size int, addr unsafe.Pointer, fd int) *Segment {
	s := &Segment{name: name, size: size, m: mapping{addr: addr, size: size, fd: fd}}
	runtime.SetFinalizer(s, (*Segment).finalize)
	return s
}

// sizeAndMap gives the new, empty file fd size bytes and maps it. With
// reserve the bytes are allocated now (see Reserve); without, the file is
// sparse, and only checkRoom's best effort stands between a full /dev/shm
// and a SIGBUS when it is written. On failure the caller discards the
// file.
func sizeAndMap(fd, size int, reserve bool) (unsafe.Pointer, error) {
	// checkRoom stays in front of large reservations: fallocate would take
	// all the room there is before failing and giving it back, and other
	// processes could fail meanwhile.
	if !reserve || !fastsys.Small(size) {
		if err := checkRoom(fd, size); err != nil {
			return nil, err
		}
	}
	if reserve {
		if err := fastsys.Fallocate(fd, size); err != nil {
			return nil, fmt.Errorf("fallocate %d bytes: %w", size, err)
		}
	} else if err := fastsys.Ftruncate(fd, int64(size)); err != nil {
		return nil, fmt.Errorf("ftruncate %d bytes: %w", size, err)
	}
	return mapShared(fd, size)
}

// room caches the free bytes of /dev/shm, so that small segments need not
// pay for a statfs (a microsecond and more here) on every Create.
var room struct {
	avail atomic.Uint64 // bytes free at the last statfs; 0 never
	at    atomic.Int64  // when, in nanoseconds since roomEpoch
}

// roomEpoch is where room's times count from: time.Since reads only the
// monotonic clock, where time.Now reads the wall clock too.
var roomEpoch = time.Now()

// roomTTL is how long a statfs result stands in for small segments.
const roomTTL = int64(time.Second)

// checkRoom refuses sizes that the file system behind fd cannot hold, so
// that touching a sparse mapping is unlikely to fault with SIGBUS for want
// of room. It is best effort: another process may take the room in
// between, so a segment smaller than a sixteenth of the room seen within
// the last second is not checked again.
func checkRoom(fd, size int) error {
	now := int64(time.Since(roomEpoch))
	if uint64(size) <= room.avail.Load()/16 && now-room.at.Load() < roomTTL {
		return nil
	}
	var st unix.Statfs_t
	if err := fastsys.Fstatfs(fd, &st); err != nil {
		return err
	}
	if st.Blocks == 0 { // a tmpfs mounted without a size limit
		return nil
	}
	avail := st.Bavail * uint64(st.Bsize)
	room.avail.Store(avail)
	room.at.Store(now)
	if uint64(size) > avail {
		return fmt.Errorf("statfs: %d bytes wanted, %d free: %w", size, avail, unix.ENOSPC)
	}
	return nil
}

// statAndMap maps the whole of the existing file fd, and returns its
// fstat too.
func statAndMap(op string, fd int) (int, unsafe.Pointer, unix.Stat_t, error) {
	var st unix.Stat_t
	if err := fastsys.Fstat(fd, &st); err != nil {
		return 0, nil, st, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, nil, st, errs.Invalid(op, "name", "not a regular file")
	}
	if st.Size <= 0 {
		return 0, nil, st, errs.Invalid(op, "name", "the segment has size 0: nothing to map")
	}
	if uint64(st.Size) > uint64(maxInt) {
		return 0, nil, st, unix.EFBIG
	}
	addr, err := mapShared(fd, int(st.Size))
	return int(st.Size), addr, st, err
}

// trackOpened registers the file just opened under name (st is its
// fstat), then checks that the name still leads to it: the tracker sets a
// name aside before it reads the registries one last time and unlinks, so
// a file registered here is either seen by that last look, or already
// gone from its name — then the open fails as if it had come a moment
// later.
func trackOpened(name string, st *unix.Stat_t) error {
	reg, err := tracker.Track(name, st.Ino, st.Mode)
	if err != nil || reg.Had {
		return err // had: listed for this file since before the open, so seen by any reap
	}
	var now unix.Stat_t
	if err := fastsys.Stat(names.Dir, name, &now); err != nil || now.Ino != st.Ino {
		reg.Undo()
		return unix.ENOENT
	}
	return nil
}

// track registers the file fd, made by this process under name, with the
// tracker, or marks it untracked (csrc.UntrackedMode) so that no one who
// opens it later registers it either. It returns what to undo should the
// create fail.
func track(fd int, name string, untracked bool) (csrc.Tracked, error) {
	var st unix.Stat_t
	if err := fastsys.Fstat(fd, &st); err != nil {
		return csrc.Tracked{}, err
	}
	if untracked {
		return csrc.Tracked{}, unix.Fchmod(fd, st.Mode&0o777|csrc.UntrackedMode)
	}
	return tracker.Track(name, st.Ino, st.Mode)
}

const maxInt = int(^uint(0) >> 1)

// Name returns the segment's name without the leading slash, as Python's
// SharedMemory.name does, or "" for an anonymous segment. It is valid
// after Close.
func (s *Segment) Name() string { return s.name }

// Size returns the segment's size in bytes, as created (not rounded up to
// a page). It is valid after Close.
func (s *Segment) Size() int { return s.size }

// Bytes returns the segment's memory as a slice: a view into the shared
// mapping, not a copy. Writes through it are seen by every process that
// maps the segment.
//
// The view is valid until Close. After Close, Bytes returns nil, and views
// taken earlier no longer reach the segment: they read zeros and their
// writes are lost, but they never crash the process. (The address range
// then stays reserved, without memory behind it, for the life of the
// process.)
//
// The view trusts the file to keep its size. If another process truncates
// the segment's file (ftruncate to a smaller size), touching a page of the
// view beyond the new end raises SIGBUS, which kills the process: Go
// cannot turn it into an error there. ReadAt and WriteAt can: prefer them
// where a copy will do and other processes are not trusted to keep the
// size.
func (s *Segment) Bytes() []byte {
	s.m.viewTaken.Store(true)
	if s.closed.Load() {
		return nil
	}
	return unsafe.Slice((*byte)(s.m.addr), s.size)
}

// ReadAt copies len(p) bytes from offset off of the segment into p,
// implementing io.ReaderAt. After Close it returns [ErrClosed]. If another
// process truncated the segment's file below the range, it returns an
// error matching [ErrTruncated] (and [io.ErrUnexpectedEOF]) instead of
// crashing; p may then hold part of the range.
func (s *Segment) ReadAt(p []byte, off int64) (int, error) {
	const op = "shm.Segment.ReadAt"
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed.Load() {
		return 0, ErrClosed
	}
	if off < 0 || off > int64(s.size) {
		return 0, errs.Invalid(op, "offset", "%d is outside the segment's %d bytes", off, s.size)
	}
	n, err := s.copyGuarded(op, p, unsafe.Slice((*byte)(s.m.addr), s.size)[off:], off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// WriteAt copies p into the segment at offset off, implementing
// io.WriterAt. Writing past the end is an error matching [fs.ErrInvalid]
// and writes nothing. After Close it returns [ErrClosed]. If another
// process truncated the segment's file below the range, it returns an
// error matching [ErrTruncated] instead of crashing; part of p may have
// been written.
func (s *Segment) WriteAt(p []byte, off int64) (int, error) {
	const op = "shm.Segment.WriteAt"
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed.Load() {
		return 0, ErrClosed
	}
	if off < 0 || off > int64(s.size) || int64(len(p)) > int64(s.size)-off {
		return 0, errs.Invalid(op, "offset", "%d bytes at %d do not fit in the segment's %d bytes", len(p), off, s.size)
	}
	return s.copyGuarded(op, unsafe.Slice((*byte)(s.m.addr), s.size)[off:], p, off)
}

// copyGuarded copies src to dst, one of which is the mapping from offset
// off, for ReadAt and WriteAt. A page past the end of a file that another
// process truncated faults with SIGBUS; with the runtime's panic-on-fault
// set for this goroutine that is a panic, turned here into [ErrTruncated],
// instead of the death of the process. Faults elsewhere panic on.
func (s *Segment) copyGuarded(op string, dst, src []byte, off int64) (n int, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		f, ok := r.(interface{ Addr() uintptr })
		if _, isRuntime := r.(runtime.Error); !ok || !isRuntime ||
			f.Addr()-uintptr(s.m.addr) >= uintptr(s.size) {
			panic(r)
		}
		n, err = 0, fmt.Errorf("%s: %v: %d bytes at offset %d: %w", op, s, min(len(dst), len(src)), off, ErrTruncated)
	}()
	return copy(dst, src), nil
}

// Close unmaps the segment from this process. The segment itself remains
// until it is unlinked (by any process). Close is idempotent: a second
// call does nothing and returns nil. Views from Bytes are detached as
// described there.
func (s *Segment) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	runtime.SetFinalizer(s, nil)
	m := &s.m
	var errFd, errMap error
	if m.fd >= 0 {
		errFd = unix.Close(m.fd)
	}
	if m.viewTaken.Load() {
		// Replace the shared pages with private zero pages, keeping the
		// range mapped, so a view still held cannot fault.
		_, errMap = unix.MmapPtr(-1, 0, m.addr, uintptr(m.size), unix.PROT_READ|unix.PROT_WRITE,
			unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED|unix.MAP_NORESERVE)
	} else {
		errMap = munmap(m.addr, m.size, fastsys.Small(m.size))
	}
	runtime.KeepAlive(s)
	return errors.Join(wrapOp("close", s.name, errFd), wrapOp("close", s.name, errMap))
}

// Unlink removes the segment's name from /dev/shm, so no one can open it
// any more; mappings that exist, this one included, stay valid until they
// are closed. Call it once across all processes, typically in the creator:
// a second call returns an error matching [fs.ErrNotExist]. It may be
// called before or after Close. For an anonymous segment, which has no
// name, it does nothing and returns nil.
func (s *Segment) Unlink() error {
	if s.name == "" {
		return nil
	}
	if err := fastsys.Unlink(names.Dir, s.name, fastsys.Small(s.size)); err != nil {
		return &fs.PathError{Op: "unlink", Path: s.name, Err: err}
	}
	tracker.Forget(s.name)
	return nil
}

// File returns a new *os.File for the segment, for handing it to a child
// process through exec.Cmd.ExtraFiles; the child maps it with [FromFile].
// The caller closes the file. For a named segment this opens the name
// again (so it fails with [fs.ErrNotExist] once unlinked); for an
// anonymous one it duplicates the descriptor. After Close it returns
// [ErrClosed].
func (s *Segment) File() (*os.File, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	var fd int
	var err error
	if s.m.fd >= 0 {
		fd, err = unix.FcntlInt(uintptr(s.m.fd), unix.F_DUPFD_CLOEXEC, 0)
	} else {
		fd, err = fastsys.Open(names.Dir, s.name, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, wrapOp("file", s.name, err)
	}
	return os.NewFile(uintptr(fd), s.fileName()), nil
}

func (s *Segment) fileName() string {
	if s.name == "" {
		return "mpsync-anonymous-segment"
	}
	return names.Dir + s.name
}

// String describes the segment for logs.
func (s *Segment) String() string {
	if s.name == "" {
		return fmt.Sprintf("shm.Segment(anonymous, %d bytes)", s.size)
	}
	return fmt.Sprintf("shm.Segment(%s, %d bytes)", s.name, s.size)
}

func wrapOp(op, name string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(syscall.Errno); ok {
		return &fs.PathError{Op: op, Path: name, Err: err}
	}
	return err
}
