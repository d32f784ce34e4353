package semaphore

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/handle"
	"github.com/mpsync/mpsync/internal/object"
	"github.com/mpsync/mpsync/internal/semword"
)

// ValueMax is the largest value a semaphore can hold (SEM_VALUE_MAX).
const ValueMax = semword.ValueMax

// Payload of a semaphore object: a glibc sem_t, then its maximum value.
const (
	semPayload = semword.Size + 8
	offSemMax  = semword.Size
)

// Semaphore is a counting semaphore shared between processes, like
// multiprocessing.Semaphore (NewSemaphore) and BoundedSemaphore
// (NewBoundedSemaphore). Acquire takes one unit, waiting while there is
// none; Release returns one. Any goroutine of any process may release.
//
// The count lives in a glibc-compatible sem_t inside the object, so C code
// can also use it with libmpsync. A semaphore has no owner, so a process
// that dies after acquiring simply never releases: there is no
// owner-death recovery, as with POSIX semaphores.
//
// A Semaphore must not be copied after first use. It is safe for
// concurrent use.
type Semaphore struct {
	noCopy noCopy
	h      handle.Handle
	s      *semword.Sem
	max    uint32
}

var _ sync.Locker = (*Semaphore)(nil)

// NewSemaphore creates a semaphore with initial value value (0 to
// ValueMax) that may be released up to ValueMax.
func NewSemaphore(value int, opts ...Option) (*Semaphore, error) {
	return newSemaphore("semaphore.NewSemaphore", csrc.KindSemaphore, value, ValueMax, opts)
}

// NewBoundedSemaphore creates a semaphore with initial value value that
// refuses ([ErrTooManyReleases]) a Release that would take it above value.
// As in Python, value may be 0: such a semaphore can never be acquired,
// and every Release returns [ErrTooManyReleases].
func NewBoundedSemaphore(value int, opts ...Option) (*Semaphore, error) {
	return newSemaphore("semaphore.NewBoundedSemaphore", csrc.KindBoundedSemaphore, value, value, opts)
}

func newSemaphore(op string, kind, value, max int, opts []Option) (*Semaphore, error) {
	if value < 0 || value > ValueMax {
		return nil, errs.Invalid(op, "value", "%d: must be between 0 and %d", value, ValueMax)
	}
	obj, err := create(op, kind, semPayload, false, opts, nil, func(o *object.Object) error {
		p := o.Payload()
		semword.Init(p, uint32(value))
		binary.NativeEndian.PutUint32(p[offSemMax:], uint32(max))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return openedSemaphore(obj)
}

// OpenSemaphore opens the Semaphore or BoundedSemaphore called name.
func OpenSemaphore(name string) (*Semaphore, error) {
	obj, err := open("semaphore.OpenSemaphore", name, semPayload, false, csrc.KindSemaphore, csrc.KindBoundedSemaphore)
	if err != nil {
		return nil, err
	}
	return openedSemaphore(obj)
}

func openedSemaphore(obj *object.Object) (*Semaphore, error) {
	p := obj.Payload()
	max := binary.NativeEndian.Uint32(p[offSemMax:])
	if max == 0 && obj.Info.Kind != csrc.KindBoundedSemaphore || max > ValueMax {
		obj.Close()
		return nil, fmt.Errorf("semaphore %s: maximum value %d: %w", obj.Name(), max, errs.ErrCorrupt)
	}
	return &Semaphore{h: handle.Handle{Res: obj}, s: semword.New(p), max: max}, nil
}

// Acquire takes one unit, waiting while the value is 0, as long as ctx
// allows. It fails when ctx is already done, and returns within a few
// milliseconds of ctx's end, taking nothing.
func (s *Semaphore) Acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.h.Check(); err != nil {
		return err
	}
	return s.s.Wait(ctx)
}

// TryAcquire takes one unit if the value is positive.
func (s *Semaphore) TryAcquire() (bool, error) {
	if err := s.h.Check(); err != nil {
		return false, err
	}
	return s.s.TryWait(), nil
}

// Release returns one unit, waking a waiter. Above the maximum it returns
// [ErrTooManyReleases] and changes nothing.
func (s *Semaphore) Release() error {
	if err := s.h.Check(); err != nil {
		return err
	}
	return s.s.Post(s.max)
}

// Value returns the current value. It may be stale as soon as it returns.
func (s *Semaphore) Value() (int, error) {
	if err := s.h.Check(); err != nil {
		return 0, err
	}
	return s.s.Value(), nil
}

// MaxValue returns the value Release may not exceed: ValueMax, or a
// BoundedSemaphore's initial value.
func (s *Semaphore) MaxValue() int { return int(s.max) }

// Lock is Acquire for sync.Locker; it panics on a closed semaphore.
func (s *Semaphore) Lock() {
	if err := s.Acquire(context.Background()); err != nil {
		panic("semaphore: Lock: " + err.Error())
	}
}

// Unlock is Release for sync.Locker; it panics on a release above the
// maximum or a closed semaphore.
func (s *Semaphore) Unlock() {
	if err := s.Release(); err != nil {
		panic("semaphore: Unlock: " + err.Error())
	}
}

// Name returns the Semaphore's name without a leading slash; pass it to
// OpenSemaphore in another process (a BoundedSemaphore too).
func (s *Semaphore) Name() string { return s.h.Name() }

// Close releases this process's handle of s; the Semaphore (or
// BoundedSemaphore) remains for other processes until it is unlinked. It
// is idempotent. Units this process acquired are not given back: release
// them first if others need them. Methods called after Close return
// [ErrClosed].
func (s *Semaphore) Close() error { return s.h.Close() }

// Unlink removes the Semaphore's name so that no other process can open it;
// processes that have it open keep using it. Call it once, in one
// process; a second call returns an error matching fs.ErrNotExist. It
// works after Close.
func (s *Semaphore) Unlink() error { return s.h.Unlink() }
