package semaphore

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/goid"
	"github.com/mpsync/mpsync/internal/handle"
	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/semword"
	"github.com/mpsync/mpsync/shm"
)

// Kinds of SemLock, as in CPython's _multiprocessing.
const (
	RecursiveMutex = 0 // RLock: the owning goroutine may acquire again
	SemaphoreKind  = 1 // Lock (maxvalue 1), Semaphore, BoundedSemaphore
)

// SemLock is a named POSIX semaphore (glibc's /dev/shm/sem.NAME) with the
// semantics of CPython's _multiprocessing.SemLock, so that Go shares it
// with Python's multiprocessing (and with C code using sem_open):
//
//   - Python: multiprocessing.get_context("spawn").Lock() (or Semaphore,
//     RLock, BoundedSemaphore) has a name (lock._semlock.name); Go opens it
//     with OpenSemLock(name, kind, maxvalue) using the kind and maxvalue of
//     the Python class (see the table in the package doc).
//   - Go: NewSemLock creates one; Python rebuilds it from the name with
//     _multiprocessing.SemLock._rebuild(0, kind, maxvalue, "/" + name).
//
// The semaphore itself stores only its value: kind and maxvalue travel
// beside the name, and a recursive SemLock's owner and count are private
// to each handle, exactly as in CPython. A SemLock has no owner-death
// recovery; use Lock and RLock for that.
//
// Operations are Go atomics and futex calls on glibc's sem_t layout, not
// calls into libc, and interoperate with sem_wait and sem_post in other
// processes.
type SemLock struct {
	noCopy   noCopy
	seg      *shm.Segment
	s        *semword.Sem
	name     string
	kind     int
	maxvalue uint32
	h        handle.Handle // of seg

	// Per-handle recursion state, as CPython keeps it.
	mu    sync.Mutex
	owner uint64 // goroutine holding a RecursiveMutex; 0 if none
	count int    // acquisitions by this handle not yet released
}

var _ sync.Locker = (*SemLock)(nil)

// NewSemLock creates a named semaphore of kind (RecursiveMutex or
// SemaphoreKind) with initial value value, which Release may not take
// above maxvalue. An empty name makes a random one ("mps-" and 16 hex
// digits). Creation is exclusive, as with sem_open(O_CREAT|O_EXCL), and
// atomic: no process sees it half-made.
func NewSemLock(kind, value, maxvalue int, name string) (*SemLock, error) {
	const op = "semaphore.NewSemLock"
	if kind != RecursiveMutex && kind != SemaphoreKind {
		return nil, errs.Invalid(op, "kind", "%d: must be RecursiveMutex (0) or SemaphoreKind (1)", kind)
	}
	if err := checkMaxvalue(op, kind, maxvalue); err != nil {
		return nil, err
	}
	if value < 0 || value > maxvalue {
		return nil, errs.Invalid(op, "value", "%d: must be between 0 and maxvalue %d", value, maxvalue)
	}
	init := shm.WithInit(func(mem []byte) error {
		semword.Init(mem, uint32(value))
		return nil
	})
	file := ""
	opts := []shm.Option{init}
	if name == "" {
		opts = append(opts, shm.RandomPrefix(semFilePrefix+names.SemPrefix))
	} else {
		clean, err := names.Check(op, name)
		if err != nil {
			return nil, err
		}
		file = semFilePrefix + clean
	}
	seg, err := shm.Create(file, semword.Size, opts...)
	if err != nil {
		return nil, semErr(op, err)
	}
	return newSemLock(seg, strings.TrimPrefix(seg.Name(), semFilePrefix), kind, maxvalue), nil
}

// semFilePrefix starts the file of every named semaphore in /dev/shm, as
// glibc's sem_open names them.
const semFilePrefix = "sem."

// OpenSemLock opens the named semaphore name (with or without its leading
// slash) as a SemLock of kind and maxvalue, as CPython's SemLock._rebuild
// does.
func OpenSemLock(name string, kind, maxvalue int) (*SemLock, error) {
	const op = "semaphore.OpenSemLock"
	if kind != RecursiveMutex && kind != SemaphoreKind {
		return nil, errs.Invalid(op, "kind", "%d: must be RecursiveMutex (0) or SemaphoreKind (1)", kind)
	}
	if err := checkMaxvalue(op, kind, maxvalue); err != nil {
		return nil, err
	}
	clean, err := names.Check(op, name)
	if err != nil {
		return nil, err
	}
	seg, err := shm.Open(semFilePrefix + clean)
	if err != nil {
		return nil, semErr(op, err)
	}
	if seg.Size() != semword.Size {
		seg.Close()
		return nil, fmt.Errorf("%s %s: %d bytes, not a named semaphore (%d): %w", op, clean, seg.Size(), semword.Size, errs.ErrCorrupt)
	}
	return newSemLock(seg, clean, kind, maxvalue), nil
}

// checkMaxvalue checks a SemLock's maxvalue: at most ValueMax, and at
// least 1 for a RecursiveMutex (Python's RLock has 1) or 0 for a
// SemaphoreKind (Python's BoundedSemaphore(0), never releasable).
func checkMaxvalue(op string, kind, maxvalue int) error {
	least := 1
	if kind == SemaphoreKind {
		least = 0
	}
	if maxvalue < least || maxvalue > ValueMax {
		return errs.Invalid(op, "maxvalue", "%d: must be between %d and %d", maxvalue, least, ValueMax)
	}
	return nil
}

// semErr reports shm's error under op and the semaphore's own name (its
// file's name less "sem.").
func semErr(op string, err error) error {
	return errs.RelabelPath(op, err, func(file string) string { return strings.TrimPrefix(file, semFilePrefix) })
}

func newSemLock(seg *shm.Segment, name string, kind, maxvalue int) *SemLock {
	return &SemLock{seg: seg, h: handle.Handle{Res: seg}, s: semword.New(seg.Bytes()), name: name, kind: kind, maxvalue: uint32(maxvalue)}
}

func (l *SemLock) check() error {
	if l.h.Closed() {
		return errs.ErrClosed
	}
	return nil
}

// Acquire takes the semaphore, waiting as long as ctx allows. For a
// RecursiveMutex already held by the calling goroutine it only counts.
func (l *SemLock) Acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.check(); err != nil {
		return err
	}
	if l.recurse() {
		return nil
	}
	if err := l.s.Wait(ctx); err != nil {
		return err
	}
	l.acquired()
	return nil
}

// TryAcquire is Acquire without waiting.
func (l *SemLock) TryAcquire() (bool, error) {
	if err := l.check(); err != nil {
		return false, err
	}
	if l.recurse() {
		return true, nil
	}
	if !l.s.TryWait() {
		return false, nil
	}
	l.acquired()
	return true, nil
}

// recurse counts a recursive acquisition by the owning goroutine.
func (l *SemLock) recurse() bool {
	if l.kind != RecursiveMutex {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count > 0 && l.owner == goid.Current() {
		l.count++
		return true
	}
	return false
}

func (l *SemLock) acquired() {
	l.mu.Lock()
	l.owner = goid.Current()
	l.count++
	l.mu.Unlock()
}

// Release releases the semaphore. A RecursiveMutex must be held by the
// calling goroutine ([ErrNotOwner] otherwise) and is posted when its count
// reaches zero; a SemaphoreKind SemLock refuses to go above maxvalue
// ([ErrTooManyReleases]), checked atomically.
func (l *SemLock) Release() error {
	if err := l.check(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kind == RecursiveMutex {
		if l.count == 0 || l.owner != goid.Current() {
			return errs.ErrNotOwner
		}
		if l.count > 1 {
			l.count--
			return nil
		}
	}
	if err := l.s.Post(l.maxvalue); err != nil {
		return err
	}
	if l.count > 0 {
		l.count--
	}
	if l.count == 0 {
		l.owner = 0
	}
	return nil
}

// Lock is Acquire for sync.Locker; it panics on a closed SemLock.
func (l *SemLock) Lock() {
	if err := l.Acquire(context.Background()); err != nil {
		panic("semaphore: Lock: " + err.Error())
	}
}

// Unlock is Release for sync.Locker; it panics on misuse.
func (l *SemLock) Unlock() {
	if err := l.Release(); err != nil {
		panic("semaphore: Unlock: " + err.Error())
	}
}

// Value returns the semaphore's value (sem_getvalue).
func (l *SemLock) Value() (int, error) {
	if err := l.check(); err != nil {
		return 0, err
	}
	return l.s.Value(), nil
}

// Count returns how many acquisitions this handle holds (CPython's
// _count()).
func (l *SemLock) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count
}

// IsMine reports whether the calling goroutine holds the SemLock through
// this handle (CPython's _is_mine()).
func (l *SemLock) IsMine() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count > 0 && l.owner == goid.Current()
}

// Kind returns RecursiveMutex or SemaphoreKind.
func (l *SemLock) Kind() int { return l.kind }

// MaxValue returns the value Release may not exceed.
func (l *SemLock) MaxValue() int { return int(l.maxvalue) }

// Name returns the semaphore's name without a leading slash; Python's
// sem_open wants it with one.
func (l *SemLock) Name() string { return l.name }

// Close releases this handle (not the semaphore). It is idempotent.
func (l *SemLock) Close() error {
	return l.h.Close()
}

// Unlink removes the semaphore's name (sem_unlink); a second call returns
// an error matching fs.ErrNotExist.
func (l *SemLock) Unlink() error {
	if err := shm.Unlink(semFilePrefix + l.name); err != nil {
		return semErr("semaphore.SemLock.Unlink", err)
	}
	return nil
}
