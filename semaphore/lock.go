package semaphore

import (
	"context"
	"errors"
	"sync"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/goid"
	"github.com/mpsync/mpsync/internal/handle"
	"github.com/mpsync/mpsync/internal/object"
	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/robust"
)

// Lock is a mutual exclusion lock shared between processes: a robust
// process-shared lock in a small named object, like multiprocessing.Lock
// but recovered when its holder dies.
//
// The owner of a Lock is a process, not a goroutine or an OS thread: any
// goroutine of the owning process may release it (as with sync.Mutex),
// and another process may not. Acquiring a free Lock and releasing an
// uncontended one are a single atomic instruction each, with no system
// call.
//
// If the owning process dies holding the lock, the next acquirer gets it
// with [ErrOwnerDead] (see [Lock.MarkConsistent]). Many goroutines of one process
// waiting for the lock occupy one OS thread between them.
//
// In the terms of the Go memory model, extended to processes: the n'th
// release of a Lock is synchronized before the m'th acquisition returns,
// for n < m, whichever processes make them.
//
// A Lock must not be copied after first use. It is safe for concurrent use
// by multiple goroutines.
type Lock struct {
	noCopy noCopy
	h      handle.Handle
	l      robust.Lock
	// What h.Res points at for a Lock created in an arena: held here (as
	// l is), it costs a million such Locks no allocation of its own.
	ownObj object.Object
}

var _ sync.Locker = (*Lock)(nil)

// NewLock creates a new, unlocked Lock with a random name (or the one
// WithName gives).
func NewLock(opts ...Option) (*Lock, error) {
	l := new(Lock)
	obj, err := create("semaphore.NewLock", csrc.KindLock, 0, true, opts, &l.ownObj, nil)
	if err != nil {
		return nil, err
	}
	return l.attach(obj), nil
}

// OpenLock opens the Lock called name, created by NewLock in any process
// (or by libmpsync's C API). A name that is not a Lock is an error
// matching [ErrTypeMismatch]; a missing one matches fs.ErrNotExist.
func OpenLock(name string) (*Lock, error) {
	obj, err := open("semaphore.OpenLock", name, 0, true, csrc.KindLock)
	if err != nil {
		return nil, err
	}
	return new(Lock).attach(obj), nil
}

// attach makes l, a zero Lock, the handle of obj.
func (l *Lock) attach(obj *object.Object) *Lock {
	l.h.Res = obj
	l.l.Init(obj.LockArea())
	return l
}

// Acquire locks l, waiting as long as ctx allows. It returns nil with the
// lock held; [ErrOwnerDead] with the lock held (its previous owner died);
// [ErrNotRecoverable], [ErrClosed], or ctx's error without it. Like
// x/sync/semaphore, it fails when ctx is already done, even if the lock
// is free. It returns within a few milliseconds of ctx's end.
func (l *Lock) Acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.h.Check(); err != nil {
		return err
	}
	return l.l.Lock(ctx)
}

// TryAcquire locks l if it is free, without waiting, and reports whether
// it did. A lock whose owner died is taken, with [ErrOwnerDead].
//
// Note that while correct uses of TryAcquire do exist, they are rare, and
// use of TryAcquire is often a sign of a deeper problem in a particular use
// of locks.
func (l *Lock) TryAcquire() (bool, error) {
	if err := l.h.Check(); err != nil {
		return false, err
	}
	return l.l.TryLock()
}

// Release unlocks l. It returns [ErrNotOwner] if this process does not hold
// l (releasing an unlocked lock is an error, as in Python), and
// [ErrNotRecoverable] if l was taken with [ErrOwnerDead] and not marked
// consistent: it is then unusable for everyone.
func (l *Lock) Release() error {
	if err := l.h.Check(); err != nil {
		return err
	}
	return l.l.Unlock()
}

// MarkConsistent declares that the state l protects, left behind by an
// owner that died, has been repaired; call it while holding l after
// Acquire or TryAcquire returned [ErrOwnerDead].
func (l *Lock) MarkConsistent() error {
	if err := l.h.Check(); err != nil {
		return err
	}
	return l.l.MarkConsistent()
}

// Lock locks l, waiting as long as it takes; with Unlock it makes Lock a
// sync.Locker. Lock cannot report errors: if the previous owner died, it
// marks the lock consistent and returns holding it (use Acquire to be told
// of owner death); if l is closed or not recoverable, it panics.
func (l *Lock) Lock() {
	// The free-lock path is small enough to be inlined into the caller.
	if !l.l.FastLock() {
		l.lockSlow()
	}
}

func (l *Lock) lockSlow() {
	if l.h.Closed() {
		panic("semaphore: Lock of a closed Lock")
	}
	if err := l.l.Lock(context.Background()); err != nil {
		lockFailed(err, &l.l)
	}
}

// Unlock unlocks l; it panics if this process does not hold l.
func (l *Lock) Unlock() {
	if !l.l.FastUnlock() {
		l.unlockSlow()
	}
}

func (l *Lock) unlockSlow() {
	if l.h.Closed() {
		panic("semaphore: Unlock of a closed Lock")
	}
	if err := l.l.Unlock(); err != nil {
		panic("semaphore: Unlock of " + l.Name() + ": " + err.Error())
	}
}

// Close releases this process's handle of l; the Lock remains for other
// processes until it is unlinked. Close is idempotent. A lock this
// process holds stays held, as if the process had died: the next acquirer
// gets [ErrOwnerDead] once this process exits. Lock and Unlock panic after
// Close, Acquire and Release return [ErrClosed].
func (l *Lock) Close() error {
	l.l.Retire()
	return l.h.Close()
}

// Locked reports whether some process holds l; which one: its pid as it
// recorded it, in its own pid namespace (a process in another container
// may have a pid that names nothing, or someone else, here), or 0 if that
// is unknown; and whether that holder is dead: it died holding l, and the
// next to acquire l gets [ErrOwnerDead] (mpsync-ls shows it as "(dead)").
// The answer may be stale as soon as it is returned.
func (l *Lock) Locked() (held bool, pid int, dead bool) {
	id := l.l.Holder()
	if id == 0 {
		return l.l.Taken(), 0, false
	}
	return true, proc.PidOf(id), !proc.Alive(id)
}

// lockFailed handles an error of a sync.Locker-style Lock.
func lockFailed(err error, l *robust.Lock) {
	if errors.Is(err, ErrOwnerDead) {
		l.MarkConsistent()
		return
	}
	panic("semaphore: Lock: " + err.Error())
}

// RLock is a recursive lock shared between processes, like
// multiprocessing.RLock: the goroutine that holds it may acquire it again,
// and must release it as many times. Other goroutines, in this process or
// another, wait. Only the owning goroutine may release it.
//
// It is otherwise a Lock: robust ([ErrOwnerDead] when the owning process
// dies), cancellable, one OS thread per waiting process. It must not be
// copied after first use.
type RLock struct {
	noCopy noCopy
	h      handle.Handle
	l      *robust.Lock
}

var _ sync.Locker = (*RLock)(nil)

// NewRLock creates a new, unlocked RLock.
func NewRLock(opts ...Option) (*RLock, error) {
	obj, err := create("semaphore.NewRLock", csrc.KindRLock, 0, true, opts, nil, nil)
	if err != nil {
		return nil, err
	}
	return &RLock{h: handle.Handle{Res: obj}, l: robust.New(obj.LockArea())}, nil
}

// OpenRLock opens the RLock called name.
func OpenRLock(name string) (*RLock, error) {
	obj, err := open("semaphore.OpenRLock", name, 0, true, csrc.KindRLock)
	if err != nil {
		return nil, err
	}
	return &RLock{h: handle.Handle{Res: obj}, l: robust.New(obj.LockArea())}, nil
}

// Acquire locks r for the calling goroutine, or counts one more
// acquisition if it already holds r. Errors as for Lock.Acquire.
func (r *RLock) Acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.h.Check(); err != nil {
		return err
	}
	return r.l.LockRecursive(ctx, goid.Current())
}

// TryAcquire is Acquire without waiting.
func (r *RLock) TryAcquire() (bool, error) {
	if err := r.h.Check(); err != nil {
		return false, err
	}
	return r.l.TryLockRecursive(goid.Current())
}

// Release undoes one Acquire by the calling goroutine; r is free once the
// count reaches zero. Release by a goroutine that does not hold r returns
// [ErrNotOwner].
func (r *RLock) Release() error {
	if err := r.h.Check(); err != nil {
		return err
	}
	return r.l.UnlockRecursive(goid.Current())
}

// MarkConsistent is [Lock.MarkConsistent].
func (r *RLock) MarkConsistent() error {
	if err := r.h.Check(); err != nil {
		return err
	}
	return r.l.MarkConsistent()
}

// Lock is Acquire for sync.Locker, with Lock.Lock's handling of errors.
func (r *RLock) Lock() {
	if r.h.Closed() {
		panic("semaphore: Lock of a closed RLock")
	}
	if err := r.l.LockRecursive(context.Background(), goid.Current()); err != nil {
		lockFailed(err, r.l)
	}
}

// Unlock is Release; it panics if the calling goroutine does not hold r.
func (r *RLock) Unlock() {
	if err := r.l.UnlockRecursive(goid.Current()); err != nil {
		panic("semaphore: Unlock of " + r.Name() + ": " + err.Error())
	}
}

// HeldByMe reports whether the calling goroutine holds r, and how many
// times.
func (r *RLock) HeldByMe() (bool, int) { return r.l.HeldBy(goid.Current()) }

// noCopy makes go vet's copylocks check flag copies.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// Name returns the Lock's name without a leading slash; pass it to OpenLock
// in another process.
func (l *Lock) Name() string { return l.h.Name() }

// Unlink removes the Lock's name so that no other process can open it;
// processes that have it open keep using it. Call it once, in one
// process; a second call returns an error matching fs.ErrNotExist. It
// works after Close.
func (l *Lock) Unlink() error { return l.h.Unlink() }

// Name returns the RLock's name without a leading slash; pass it to OpenRLock
// in another process.
func (r *RLock) Name() string { return r.h.Name() }

// Close releases this process's handle of r; the RLock remains for other
// processes until it is unlinked. It is idempotent. It does not release r
// if a goroutine of this process holds it: it stays held, as if the
// process had died (the next acquirer gets [ErrOwnerDead] once this process
// exits).
func (r *RLock) Close() error { return r.h.Close() }

// Unlink removes the RLock's name so that no other process can open it;
// processes that have it open keep using it. Call it once, in one
// process; a second call returns an error matching fs.ErrNotExist. It
// works after Close.
func (r *RLock) Unlink() error { return r.h.Unlink() }
