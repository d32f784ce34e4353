package semaphore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/futex"
	"github.com/mpsync/mpsync/internal/goid"
	"github.com/mpsync/mpsync/internal/handle"
	"github.com/mpsync/mpsync/internal/object"
	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/robust"
)

// Payload of a condition: the kind and name of its lock, then one slot per
// possible waiter. A slot is claimed, notified and freed under the lock;
// its state word is also the futex its waiter sleeps on.
const (
	condSlots       = 128
	condSlotSize    = 24 // uint64 owner, uint32 state, uint32 ticket, 8 spare
	offSlotState    = 8
	offSlotTicket   = 12
	offCondKind     = 0
	offCondSlots    = 4
	offCondTicket   = 8
	offCondFlags    = 12 // condImplicitLock
	offCondLockName = 16
	offCondSlot0    = offCondLockName + 256
	condPayload     = offCondSlot0 + condSlots*condSlotSize

	condImplicitLock = 1 // the lock was made by NewCondition for this condition

	slotFree     = 0
	slotWaiting  = 1
	slotNotified = 2
)

// CondLock is the lock of a Condition: a *Lock or an *RLock.
type CondLock interface {
	Lock()
	Unlock()
	Name() string
	robustLock() (*robust.Lock, int)
}

func (l *Lock) robustLock() (*robust.Lock, int)  { return l.l, csrc.KindLock }
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
// always goes to a live waiter. Up to 128 goroutines, across all
// processes, may wait at once.
//
// A Condition must not be copied after first use. It is safe for
// concurrent use.
type Condition struct {
	noCopy       noCopy
	h            handle.Handle
	lock         CondLock
	rl           *robust.Lock
	rkind        int
	ownLock      bool // the lock was made or opened by the condition: Close closes it
	implicitLock bool // the lock was made for the condition: Unlink unlinks it
	ticket       *atomic.Uint32
	slots        [condSlots]condSlot
}

type condSlot struct {
	owner  *atomic.Uint64 // pid|tag word of the waiter
	state  *atomic.Uint32 // slotFree, slotWaiting, slotNotified; futex
	ticket *atomic.Uint32 // arrival order
	index  int            // the slot's place in the payload, for messages
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
	obj, err := create(op, csrc.KindCondition, condPayload, false, opts, func(o *object.Object) error {
		p := o.Payload()
		binary.NativeEndian.PutUint32(p[offCondKind:], uint32(kind))
		binary.NativeEndian.PutUint32(p[offCondSlots:], condSlots)
		if own {
			binary.NativeEndian.PutUint32(p[offCondFlags:], condImplicitLock)
		}
		copy(p[offCondLockName:offCondSlot0-1], lockName)
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
	nslots := binary.NativeEndian.Uint32(p[offCondSlots:])
	lockName := string(p[offCondLockName : offCondSlot0-1])
	if i := strings.IndexByte(lockName, 0); i >= 0 {
		lockName = lockName[:i]
	}
	var lock CondLock
	switch {
	case nslots != condSlots:
		err = fmt.Errorf("%s %s: %d waiter slots, want %d: %w", op, obj.Name(), nslots, condSlots, errs.ErrCorrupt)
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
	c.ticket = (*atomic.Uint32)(unsafe.Add(base, offCondTicket))
	for i := range c.slots {
		s := unsafe.Add(base, offCondSlot0+i*condSlotSize)
		c.slots[i] = condSlot{owner: (*atomic.Uint64)(s), state: (*atomic.Uint32)(unsafe.Add(s, offSlotState)), ticket: (*atomic.Uint32)(unsafe.Add(s, offSlotTicket)), index: i}
	}
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
// end), ErrNotOwner if the caller does not hold the lock, or ErrOwnerDead
// if, while it waited, another holder of the lock died (the lock is held).
// If another process wrote garbage into its waiter slot, it returns an
// error matching ErrCorrupt, also with the lock held.
func (c *Condition) Wait(ctx context.Context) error {
	if err := c.h.Check(); err != nil {
		return err
	}
	g, ok := c.held()
	if !ok {
		return ErrNotOwner
	}
	slot, err := c.claimSlot()
	if err != nil {
		return err
	}
	n := 1
	if c.rkind == csrc.KindRLock {
		n, err = c.rl.ReleaseAll(g)
	} else {
		err = c.rl.Unlock()
	}
	if err != nil {
		slot.state.Store(slotFree)
		return err
	}

	waitErr := waitSleep.Wait(ctx, slot.state, slotWaiting, nil)

	var lockErr error
	if c.rkind == csrc.KindRLock {
		lockErr = c.rl.RestoreAll(context.Background(), g, n)
	} else {
		lockErr = c.rl.Lock(context.Background())
	}
	state := slot.state.Load()
	slot.owner.Store(0)
	slot.state.Store(slotFree)
	switch {
	case lockErr != nil:
		return lockErr
	case state == slotNotified:
		return nil
	case state != slotWaiting && state != slotFree:
		// Only the waiter and Notify write the slot, Notify only
		// slotNotified, or slotFree for a waiter it took for dead (then
		// this is a spurious wake-up): anything else is garbage.
		return fmt.Errorf("semaphore.Condition.Wait %s: waiter slot %d holds state %d: %w",
			c.Name(), slot.index, state, ErrCorrupt)
	}
	return waitErr
}

// claimSlot takes a free slot, or else one whose waiter died (checking
// liveness, a file-lock test, only when no slot is free). The caller
// holds the lock.
func (c *Condition) claimSlot() (*condSlot, error) {
	for pass := 0; pass < 2; pass++ {
		for i := range c.slots {
			s := &c.slots[i]
			if s.state.Load() != slotFree && (pass == 0 || proc.Alive(s.owner.Load())) {
				continue
			}
			s.owner.Store(proc.MustSelf())
			s.ticket.Store(c.ticket.Add(1))
			s.state.Store(slotWaiting)
			return s, nil
		}
	}
	return nil, fmt.Errorf("semaphore: Condition.Wait %s: more than %d waiters", c.Name(), condSlots)
}

// Notify wakes up to n waiters, oldest first; waiters that died are
// skipped. The caller must hold the lock (ErrNotOwner otherwise). The
// woken waiters return from Wait once they can take the lock back.
func (c *Condition) Notify(n int) error {
	if err := c.h.Check(); err != nil {
		return err
	}
	if _, ok := c.held(); !ok {
		return ErrNotOwner
	}
	if n <= 0 {
		return nil
	}
	var waiting []*condSlot
	for i := range c.slots {
		if c.slots[i].state.Load() == slotWaiting {
			waiting = append(waiting, &c.slots[i])
		}
	}
	sort.Slice(waiting, func(i, j int) bool {
		return int32(waiting[i].ticket.Load()-waiting[j].ticket.Load()) < 0
	})
	for _, s := range waiting {
		if n == 0 {
			break
		}
		if !proc.Alive(s.owner.Load()) {
			s.owner.Store(0)
			s.state.Store(slotFree)
			continue
		}
		s.state.Store(slotNotified)
		futex.Wake(s.state, 1)
		n--
	}
	return nil
}

// NotifyAll wakes every waiter. The caller must hold the lock.
func (c *Condition) NotifyAll() error { return c.Notify(condSlots) }

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
