package semaphore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/futex"
	"github.com/mpsync/mpsync/internal/goid"
	"github.com/mpsync/mpsync/internal/handle"
	"github.com/mpsync/mpsync/internal/object"
	"github.com/mpsync/mpsync/internal/robust"
)

// Payload of a condition: the kind and name of its lock, then four
// counters, written under the lock except that waiters take tokens
// without it. There is no table of waiters, so there is no limit on their
// number: a waiter takes a ticket and counts itself in nwait, then
// sleeps on seq until a token it may take appears. Notify(n) hands out
// min(n, nwait) tokens, which only waiters holding a ticket older than
// bound may take, bumps seq and wakes sleepers. A waiter that dies is
// never told apart: it stays in nwait until a notification counts it, and
// the token that notification adds is taken by a live waiter instead (one
// spurious wake-up later at most), so it never swallows a notification.
const (
	condFormat      = 2 // an earlier layout's table of 128 waiter slots had 128 here
	offCondKind     = 0
	offCondFormat   = 4
	offCondSeq      = 8  // bumped by every notification; the futex
	offCondFlags    = 12 // condImplicitLock
	offCondLockName = 16
	offCondNext     = offCondLockName + 256 // the next ticket
	offCondBound    = offCondNext + 4       // tickets older than this may take tokens
	offCondWaiting  = offCondBound + 4      // waiters neither notified nor gone (nwait)
	offCondTokens   = offCondWaiting + 4    // notifications not yet taken
	condPayload     = offCondTokens + 4

	condImplicitLock = 1 // the lock was made by NewCondition for this condition

	// condCountMax bounds the counters: more would be garbage.
	condCountMax = 1<<31 - 1
)

// CondLock is the lock of a Condition: a *Lock or an *RLock.
type CondLock interface {
	Lock()
	Unlock()
	Name() string
	robustLock() (*robust.Lock, int)
}

func (l *Lock) robustLock() (*robust.Lock, int)  { return &l.l, csrc.KindLock }
func (r *RLock) robustLock() (*robust.Lock, int) { return r.l, csrc.KindRLock }

// Condition is a condition variable shared between processes, like
// multiprocessing.Condition: processes wait, holding its lock, until
// another notifies them. Wait releases the lock while it waits and takes
// it back before returning; waits must sit in a loop that re-checks the
// condition (or use WaitFor), since a notification only says that the
// state may have changed:
//
//	c.Lock()
//	for !ready() {
//		if err := c.Wait(ctx); err != nil { … }
//	}
//	… use the state …
//	c.Unlock()
//
// Waiting or notifying requires holding the lock: for an RLock, held by
// the calling goroutine; for a Lock, held by this process. A waiter that
// dies (even killed with SIGKILL) is skipped by Notify, so a notification
// always goes to a live waiter. Any number of goroutines, across all
// processes, may wait at once. Notify(n) wakes n of the waiters that were
// waiting when it was called, not necessarily the oldest; a waiter that
// died may cost one spurious wake-up to a later waiter.
//
// A Condition must not be copied after first use. It is safe for
// concurrent use.
type Condition struct {
	noCopy       noCopy
	h            handle.Handle
	lock         CondLock
	rl           *robust.Lock
	rkind        int
	ownLock      bool           // the lock was made or opened by the condition: Close closes it
	implicitLock bool           // the lock was made for the condition: Unlink unlinks it
	seq          *atomic.Uint32 // bumped by every notification; the futex
	next         *atomic.Uint32 // the next ticket
	bound        *atomic.Uint32 // tickets older than this may take tokens
	nwait        *atomic.Uint32 // waiters neither notified nor gone
	tokens       *atomic.Uint32 // notifications not yet taken
}

// NewCondition creates a condition variable using lock, a *Lock or an
// *RLock that other processes can open too. A nil lock makes a new RLock,
// as in Python, which the Condition then closes and unlinks with itself.
func NewCondition(lock CondLock, opts ...Option) (*Condition, error) {
	const op = "semaphore.NewCondition"
	own := false
	if lock == nil {
		r, err := NewRLock(sameArena(opts)...)
		if err != nil {
			return nil, err
		}
		lock, own = r, true
	}
	_, kind := lock.robustLock()
	lockName := lock.Name()
	obj, err := create(op, csrc.KindCondition, condPayload, false, opts, nil, func(o *object.Object) error {
		p := o.Payload()
		binary.NativeEndian.PutUint32(p[offCondKind:], uint32(kind))
		binary.NativeEndian.PutUint32(p[offCondFormat:], condFormat)
		if own {
			binary.NativeEndian.PutUint32(p[offCondFlags:], condImplicitLock)
		}
		copy(p[offCondLockName:offCondNext-1], lockName)
		return nil
	})
	if err != nil {
		if own {
			lock.(*RLock).Close()
			lock.(*RLock).Unlink()
		}
		return nil, err
	}
	return newCondition(obj, lock, own, own), nil
}

// OpenCondition opens the Condition called name, and its lock.
func OpenCondition(name string) (*Condition, error) {
	const op = "semaphore.OpenCondition"
	obj, err := open(op, name, condPayload, false, csrc.KindCondition)
	if err != nil {
		return nil, err
	}
	p := obj.Payload()
	kind := int(binary.NativeEndian.Uint32(p[offCondKind:]))
	format := binary.NativeEndian.Uint32(p[offCondFormat:])
	lockName := string(p[offCondLockName : offCondNext-1])
	if i := strings.IndexByte(lockName, 0); i >= 0 {
		lockName = lockName[:i]
	}
	var lock CondLock
	switch {
	case format != condFormat:
		err = fmt.Errorf("%s %s: payload format %d, want %d: %w", op, obj.Name(), format, condFormat, errs.ErrVersion)
	case kind == csrc.KindLock:
		lock, err = OpenLock(lockName)
	case kind == csrc.KindRLock:
		lock, err = OpenRLock(lockName)
	default:
		err = fmt.Errorf("%s %s: lock kind %d: %w", op, obj.Name(), kind, errs.ErrCorrupt)
	}
	if err != nil {
		obj.Close()
		return nil, err
	}
	implicit := binary.NativeEndian.Uint32(p[offCondFlags:])&condImplicitLock != 0
	return newCondition(obj, lock, true, implicit && kind == csrc.KindRLock), nil
}

func newCondition(obj *object.Object, lock CondLock, own, implicit bool) *Condition {
	c := &Condition{h: handle.Handle{Res: obj}, lock: lock, ownLock: own, implicitLock: implicit}
	c.rl, c.rkind = lock.robustLock()
	base := unsafe.Pointer(&obj.Payload()[0])
	word := func(off int) *atomic.Uint32 { return (*atomic.Uint32)(unsafe.Add(base, off)) }
	c.seq, c.next, c.bound = word(offCondSeq), word(offCondNext), word(offCondBound)
	c.nwait, c.tokens = word(offCondWaiting), word(offCondTokens)
	return c
}

// Locker returns the condition's lock.
func (c *Condition) Locker() CondLock { return c.lock }

// Lock locks the condition's lock.
func (c *Condition) Lock() { c.lock.Lock() }

// Unlock unlocks the condition's lock.
func (c *Condition) Unlock() { c.lock.Unlock() }

// held reports whether the caller holds the lock, and returns the
// recursion token to use.
func (c *Condition) held() (uint64, bool) {
	if c.rkind == csrc.KindRLock {
		g := goid.Current()
		ok, _ := c.rl.HeldBy(g)
		return g, ok
	}
	return 0, c.rl.HeldByProcess()
}

// Wait releases the lock, waits until notified or until ctx ends, and
// takes the lock back (always, even when ctx has ended). It returns nil
// when notified, ctx's error otherwise (within a few milliseconds of its
// end), [ErrNotOwner] if the caller does not hold the lock, or [ErrOwnerDead]
// if, while it waited, another holder of the lock died (the lock is held).
// If another process wrote garbage into the condition's counters, it
// returns an error matching [ErrCorrupt], also with the lock held, and
// resets the garbage counter to zero.
func (c *Condition) Wait(ctx context.Context) error {
	if err := c.h.Check(); err != nil {
		return err
	}
	g, ok := c.held()
	if !ok {
		return ErrNotOwner
	}
	if err := c.sane("Wait"); err != nil {
		return err
	}
	ticket := c.next.Add(1) - 1
	c.nwait.Add(1)
	n := 1
	var err error
	if c.rkind == csrc.KindRLock {
		n, err = c.rl.ReleaseAll(g)
	} else {
		err = c.rl.Unlock()
	}
	if err != nil {
		c.leave()
		return err
	}

	// A token is looked for before each sleep and after each slice: one
	// left by a dead waiter, or garbage in the counters, comes with no
	// change of seq.
	notified := false
	tryTake := func(bool) error {
		var err error
		if notified, err = c.take(ticket); notified {
			return errNotified
		}
		return err
	}
	var waitErr error
	for waitErr == nil {
		seq := c.seq.Load()
		if waitErr = tryTake(false); waitErr == nil {
			waitErr = waitSleep.Wait(ctx, c.seq, seq, tryTake)
		}
	}
	if notified {
		waitErr = nil
	}

	var lockErr error
	if c.rkind == csrc.KindRLock {
		lockErr = c.rl.RestoreAll(context.Background(), g, n)
	} else {
		lockErr = c.rl.Lock(context.Background())
	}
	if lockErr != nil && !errors.Is(lockErr, ErrOwnerDead) {
		return lockErr // not held: the counters are left as they are
	}
	if !notified && !errors.Is(waitErr, ErrCorrupt) {
		// A last look, with the lock held: a notification that came
		// while this waiter gave up is still its to take.
		var takeErr error
		if notified, takeErr = c.take(ticket); takeErr != nil {
			waitErr = takeErr
		}
	}
	if !notified {
		c.leave()
	}
	switch {
	case lockErr != nil:
		return lockErr
	case notified:
		return nil
	}
	return waitErr
}

// errNotified ends a Condition's sleep once its waiter has taken a token.
var errNotified = errors.New("notified")

// take takes a token if there is one for the waiter holding ticket.
func (c *Condition) take(ticket uint32) (bool, error) {
	for {
		tok := c.tokens.Load()
		if tok > condCountMax {
			return false, c.sane("Wait")
		}
		if tok == 0 || int32(c.bound.Load()-ticket) <= 0 {
			return false, nil
		}
		if c.tokens.CompareAndSwap(tok, tok-1) {
			return true, nil
		}
	}
}

// leave uncounts a waiter that goes without a notification. The caller
// holds the lock.
func (c *Condition) leave() {
	if w := c.nwait.Load(); w > 0 && w <= condCountMax {
		c.nwait.Store(w - 1)
	}
}

// sane checks the counters that can hold garbage, resetting one that
// does to zero. The caller holds the lock, or takes only tokens.
func (c *Condition) sane(op string) error {
	var bad []string
	for _, w := range []struct {
		name string
		word *atomic.Uint32
	}{{"waiting", c.nwait}, {"tokens", c.tokens}} {
		if v := w.word.Load(); v > condCountMax && w.word.CompareAndSwap(v, 0) {
			bad = append(bad, fmt.Sprintf("%s %#x", w.name, v))
		}
	}
	if bad != nil {
		return fmt.Errorf("semaphore.Condition.%s %s: counters hold %s: %w", op, c.Name(), strings.Join(bad, ", "), ErrCorrupt)
	}
	return nil
}

// Notify wakes up to n of the goroutines waiting when it is called, in
// any process; waiters that died are not counted. The caller must hold
// the lock ([ErrNotOwner] otherwise). The woken waiters return from Wait
// once they can take the lock back. It returns an error matching
// [ErrCorrupt] if another process wrote garbage into the counters (reset to
// zero: waiters still sleeping then wake on a later notification).
func (c *Condition) Notify(n int) error {
	if err := c.h.Check(); err != nil {
		return err
	}
	if _, ok := c.held(); !ok {
		return ErrNotOwner
	}
	if err := c.sane("Notify"); err != nil {
		return err
	}
	w := c.nwait.Load()
	if n <= 0 || w == 0 {
		return nil
	}
	k := w
	if uint64(n) < uint64(k) {
		k = uint32(n)
	}
	c.nwait.Store(w - k)
	c.bound.Store(c.next.Load())
	c.tokens.Add(k)
	c.seq.Add(1)
	futex.Wake(c.seq, int(min(k, futex.MaxWake)))
	return nil
}

// NotifyAll wakes every waiter. The caller must hold the lock.
func (c *Condition) NotifyAll() error { return c.Notify(condCountMax) }

// WaitFor waits until pred returns true, re-checking it after every
// notification, and returns pred's last result: (true, nil), or pred's
// value when ctx ended together with ctx's error. The caller holds the
// lock; pred is called with it held.
func (c *Condition) WaitFor(ctx context.Context, pred func() bool) (bool, error) {
	for {
		if pred() {
			return true, nil
		}
		if err := c.Wait(ctx); err != nil {
			if errors.Is(err, ErrOwnerDead) || ctx.Err() != nil {
				return pred(), err
			}
			return false, err
		}
	}
}

// Close closes the condition and the lock it opened or made. A lock given
// to NewCondition stays open.
func (c *Condition) Close() error {
	err := c.h.Close()
	if c.ownLock {
		err = errors.Join(err, c.lock.(interface{ Close() error }).Close())
	}
	return err
}

// Unlink removes the condition's name, and that of its lock if the
// condition made the lock (NewCondition with a nil lock), from whichever
// process calls it.
func (c *Condition) Unlink() error {
	err := c.h.Unlink()
	if c.implicitLock {
		err = errors.Join(err, c.lock.(*RLock).Unlink())
	}
	return err
}

// Name returns the Condition's name without a leading slash; pass it to OpenCondition
// in another process.
func (c *Condition) Name() string { return c.h.Name() }
