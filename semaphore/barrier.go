package semaphore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/futex"
	"github.com/mpsync/mpsync/internal/handle"
	"github.com/mpsync/mpsync/internal/object"
	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/race"
	"github.com/mpsync/mpsync/internal/robust"
)

// Payload of a barrier, guarded by its lock area: parties, broken, the
// number waiting, the generation (the futex waiters sleep on), the last
// generation that a break or reset ended, the sleepers, a bit per
// generation (mod 64) that completed, then the identity of each waiting
// party.
const (
	offBarParties    = 0
	offBarBroken     = 4
	offBarCount      = 8
	offBarGen        = 12
	offBarLastBroken = 16
	offBarSleep      = 20 // processes that may sleep on the generation futex
	offBarOKBits     = 24
	offBarWaiters    = 32
	maxParties       = 1 << 16
)

// Barrier makes a fixed number of parties, in any processes, wait for each
// other, like threading.Barrier and multiprocessing.Barrier: each calls
// Wait, and all return once the last has arrived. It is reusable: then the
// next round begins.
//
// A barrier breaks — every waiter gets [ErrBroken], and so does every later
// Wait until Reset — when Abort is called, when a waiting party's context
// ends (as a timeout does in Python), when the action fails, and when a
// waiting party's process dies, so that the others never hang.
//
// A Barrier must not be copied after first use. It is safe for concurrent
// use.
type Barrier struct {
	noCopy  noCopy
	h       handle.Handle
	l       *robust.Lock
	parties int // from the payload's size, which no process can change
	// partiesWord is the parties word of the payload, for display.
	partiesWord *atomic.Uint32
	broken      *atomic.Uint32
	count       *atomic.Uint32
	gen         *atomic.Uint32
	// lastBroken and okBits record how generations ended (see completed).
	lastBroken *atomic.Uint32
	sleep      *atomic.Uint32
	okBits     *atomic.Uint64
	waiters    []atomic.Uint64

	mu     sync.Mutex
	action func() error
}

// NewBarrier creates a barrier for parties parties (at least 1). action,
// which may be nil, runs in the party that arrives last, before any party
// is released; if it returns an error the barrier breaks and that party's
// Wait returns the error. Other processes that open the barrier set their
// own action with SetAction (the action runs in whichever process arrives
// last, with that process's action).
func NewBarrier(parties int, action func() error, opts ...Option) (*Barrier, error) {
	const op = "semaphore.NewBarrier"
	if parties < 1 || parties > maxParties {
		return nil, errs.Invalid(op, "parties", "%d: must be between 1 and %d", parties, maxParties)
	}
	obj, err := create(op, csrc.KindBarrier, uint64(offBarWaiters+8*parties), true, opts, nil, func(o *object.Object) error {
		binary.NativeEndian.PutUint32(o.Payload()[offBarParties:], uint32(parties))
		// No generation was broken: generation 0 is not "last broken".
		binary.NativeEndian.PutUint32(o.Payload()[offBarLastBroken:], ^uint32(0))
		return nil
	})
	if err != nil {
		return nil, err
	}
	b := newBarrier(obj, parties)
	b.action = action
	return b, nil
}

// OpenBarrier opens the Barrier called name, with no action (see
// SetAction).
func OpenBarrier(name string) (*Barrier, error) {
	const op = "semaphore.OpenBarrier"
	obj, err := open(op, name, offBarWaiters+8, true, csrc.KindBarrier)
	if err != nil {
		return nil, err
	}
	// The payload's size, checked when the object was opened, says how
	// many parties there are; the parties word, which a process may
	// overwrite, is only for display (and Reset rewrites it).
	size := obj.Info.PayloadSize
	parties := (size - offBarWaiters) / 8
	if parties < 1 || parties > maxParties || size != offBarWaiters+8*parties {
		obj.Close()
		return nil, fmt.Errorf("%s %s: a payload of %d bytes is not a barrier's: %w", op, obj.Name(), size, errs.ErrCorrupt)
	}
	return newBarrier(obj, int(parties)), nil
}

func newBarrier(obj *object.Object, parties int) *Barrier {
	p := unsafe.Pointer(&obj.Payload()[0])
	return &Barrier{
		h:           handle.Handle{Res: obj},
		l:           robust.New(obj.LockArea()),
		parties:     parties,
		partiesWord: (*atomic.Uint32)(unsafe.Add(p, offBarParties)),
		broken:      (*atomic.Uint32)(unsafe.Add(p, offBarBroken)),
		count:       (*atomic.Uint32)(unsafe.Add(p, offBarCount)),
		gen:         (*atomic.Uint32)(unsafe.Add(p, offBarGen)),
		lastBroken:  (*atomic.Uint32)(unsafe.Add(p, offBarLastBroken)),
		sleep:       (*atomic.Uint32)(unsafe.Add(p, offBarSleep)),
		okBits:      (*atomic.Uint64)(unsafe.Add(p, offBarOKBits)),
		waiters:     unsafe.Slice((*atomic.Uint64)(unsafe.Add(p, offBarWaiters)), parties),
	}
}

// SetAction sets the action this handle runs when its party arrives last.
func (b *Barrier) SetAction(action func() error) {
	b.mu.Lock()
	b.action = action
	b.mu.Unlock()
}

// lock takes the barrier's internal lock; a holder that died broke the
// barrier's bookkeeping, so the barrier is broken and the lock repaired.
// It fails, not holding the lock, when ctx ends first (with ctx's error),
// and for a lock that is not recoverable (something other than mpsync
// wrote into it): the barrier can never work again, and the error matches
// [ErrBroken] too.
func (b *Barrier) lock(ctx context.Context, op string) error {
	err := b.l.Lock(ctx)
	switch {
	case errors.Is(err, ErrOwnerDead):
		b.breakLocked()
		b.l.MarkConsistent()
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return err // ctx's end (seen by the sleep's own clock, maybe before ctx's timer)
	case err != nil:
		return fmt.Errorf("%s %s: internal lock: %w: %w", op, b.Name(), ErrBroken, err)
	}
	return nil
}

// breakLocked breaks the barrier and releases its waiters; the caller
// holds the internal lock.
func (b *Barrier) breakLocked() {
	b.broken.Store(1)
	b.count.Store(0)
	b.endGen(false)
}

// endGen ends the current generation, recording whether it completed
// (ok), and wakes its sleepers; the caller holds the internal lock.
func (b *Barrier) endGen(ok bool) {
	gen := b.gen.Load()
	bit := uint64(1) << (gen % 64)
	if ok {
		b.okBits.Store(b.okBits.Load() | bit)
	} else {
		b.okBits.Store(b.okBits.Load() &^ bit)
		b.lastBroken.Store(gen)
	}
	b.gen.Store(gen + 1)
	if b.sleep.Load() != 0 {
		futex.Wake(b.gen, futex.MaxWake)
	}
}

// Wait waits until all parties have called Wait, and returns this party's
// arrival index, from 0 for the first to Parties()-1 for the last. It
// returns [ErrBroken] if the barrier is or becomes broken, and ctx's error
// (within a few milliseconds, breaking the barrier for everyone, as a
// timeout does in Python) if ctx ends first; the last party to arrive
// releases the round even with a ctx that has ended. A ctx that ends
// while Wait waits for the barrier's internal lock (another process holds
// it and does not let go) returns ctx's error without arriving and
// without breaking the barrier; once arrived, a party whose ctx ends
// takes that lock to break the barrier, as long as its holder lives. A
// process that dies holding it breaks the barrier. Shared state that another
// process corrupted (an arrival count of Parties() or more) breaks the
// barrier too: the error matches both [ErrBroken] and [ErrCorrupt], and Reset
// repairs it.
//
// A party reports how its own round ended even if its process was stopped
// while later rounds completed, broke or were reset: the barrier remembers
// the last 64 rounds, and that every round after the last break completed;
// a party further behind whose round is not after the last break gets
// [ErrBroken], since it cannot tell.
func (b *Barrier) Wait(ctx context.Context) (int, error) {
	race.Release(unsafe.Pointer(b.gen))
	i, err := b.wait(ctx)
	race.Acquire(unsafe.Pointer(b.gen))
	return i, err
}

func (b *Barrier) wait(ctx context.Context) (int, error) {
	const op = "semaphore.Barrier.Wait"
	index, gen, last, err := b.arrive(ctx, op)
	if err != nil || last {
		return index, err
	}
	// The others often arrive within microseconds: look before sleeping.
	if !waitSpin.Until(func() bool { return b.gen.Load() != gen }) {
		b.sleep.Add(1)
		var stop error // the handle's closing, or the internal lock's failure
		err = barrierSleep.Wait(ctx, b.gen, gen, func(timedOut bool) error {
			// A dead holder of the lock may have died before it counted
			// itself in, where partyDied cannot see it.
			if timedOut && b.gen.Load() == gen && (b.partyDied(gen) || b.l.HolderDied()) {
				_, stop = b.settle(op, gen, true)
			}
			if stop == nil {
				stop = b.h.Check()
			}
			return stop
		})
		b.sleep.Add(^uint32(0))
		if stop != nil {
			return index, stop
		}
	}
	// The usual end: the generation completed (its bit is set before the
	// generation moves on), and no lock is needed to know it.
	if err == nil && b.completed(gen) {
		return index, nil
	}
	// A ctx that ended breaks the barrier, unless it completed just then.
	ok, lerr := b.settle(op, gen, err != nil)
	switch {
	case lerr != nil:
		return index, lerr
	case ok:
		return index, nil
	case err != nil:
		return index, err
	}
	return index, ErrBroken
}

// arrive records this party's arrival in the current generation, under
// the internal lock, and returns its index and the generation. The last
// party to arrive (last) releases the generation and the others.
func (b *Barrier) arrive(ctx context.Context, op string) (index int, gen uint32, last bool, err error) {
	if err := b.h.Check(); err != nil {
		return 0, 0, false, err
	}
	// Waiting for the lock, this party has not arrived: a ctx that ends
	// meanwhile leaves the barrier as it is.
	if err := b.lock(ctx, op); err != nil {
		return 0, 0, false, err
	}
	if b.broken.Load() != 0 {
		b.l.Unlock()
		return 0, 0, false, ErrBroken
	}
	gen = b.gen.Load()
	// The count is shared memory that a buggy process may have scribbled
	// on: read it once and check it before it indexes anything.
	count := b.count.Load()
	if count >= uint32(b.parties) {
		b.breakLocked()
		b.l.Unlock()
		return 0, 0, false, fmt.Errorf("%s %s: %d parties already waiting, of %d: %w: %w",
			op, b.Name(), count, b.parties, ErrBroken, ErrCorrupt)
	}
	index = int(count)
	last = index == b.parties-1
	// A ctx that already ended may not wait, but the last party does not.
	if err := ctx.Err(); err != nil && !last {
		b.breakLocked()
		b.l.Unlock()
		return 0, 0, false, err
	}
	// The identity goes first: a waiter looking for dead parties reads
	// the count, then the identities below it, never a stale one.
	b.waiters[index].Store(proc.MustSelf())
	b.count.Store(count + 1)
	if last {
		return index, gen, true, b.release(gen)
	}
	b.l.Unlock()
	return index, gen, false, nil
}

// settle takes the internal lock, breaks the barrier if brk and
// generation gen still waits, and reports whether gen completed.
func (b *Barrier) settle(op string, gen uint32, brk bool) (bool, error) {
	if err := b.lock(context.Background(), op); err != nil {
		return false, err
	}
	if brk && b.gen.Load() == gen {
		b.breakLocked()
	}
	ok := b.completed(gen)
	b.l.Unlock()
	return ok, nil
}

// completed reports whether generation gen ended by all parties arriving
// (rather than by a break or a reset): by its bit while the generation is
// at most 64 past it (the bit is read before the generation, so a later
// generation cannot have reused it), and beyond that by being after the
// last broken one. A generation that cannot be told counts as broken.
func (b *Barrier) completed(gen uint32) bool {
	bits := b.okBits.Load()
	now := b.gen.Load()
	switch {
	case now == gen:
		return false
	case now-gen <= 64:
		return bits>>(gen%64)&1 != 0
	}
	return int32(b.lastBroken.Load()-gen) < 0
}

// release ends generation gen: it runs the action, then frees every
// waiter. The caller holds the internal lock; release unlocks it.
func (b *Barrier) release(gen uint32) error {
	defer b.l.Unlock()
	b.mu.Lock()
	action := b.action
	b.mu.Unlock()
	if action != nil {
		if err := runAction(action); err != nil {
			b.breakLocked()
			return err
		}
	}
	b.count.Store(0)
	b.endGen(true)
	return nil
}

// runAction runs the barrier's action, turning a panic into an error so
// that the barrier breaks instead of leaving the others waiting.
func runAction(action func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("semaphore: barrier action panicked: %v", r)
		}
	}()
	return action()
}

// partyDied reports whether a party waiting in generation gen has died.
func (b *Barrier) partyDied(gen uint32) bool {
	n := int(b.count.Load())
	for i := 0; i < n && i < b.parties; i++ {
		w := b.waiters[i].Load()
		if w != 0 && !proc.Alive(w) {
			return b.gen.Load() == gen
		}
	}
	return false
}

// Abort breaks the barrier: every waiting party, and every later Wait,
// gets [ErrBroken] until Reset.
func (b *Barrier) Abort() error {
	if err := b.h.Check(); err != nil {
		return err
	}
	if err := b.lock(context.Background(), "semaphore.Barrier.Abort"); err != nil {
		return err
	}
	b.breakLocked()
	b.l.Unlock()
	return nil
}

// Reset returns the barrier to its initial state. Parties waiting get
// [ErrBroken].
func (b *Barrier) Reset() error {
	if err := b.h.Check(); err != nil {
		return err
	}
	if err := b.lock(context.Background(), "semaphore.Barrier.Reset"); err != nil {
		return err
	}
	b.partiesWord.Store(uint32(b.parties)) // repairs a word another process overwrote
	b.broken.Store(0)
	b.count.Store(0)
	b.endGen(false)
	b.l.Unlock()
	return nil
}

// Parties returns the number of parties the barrier waits for.
func (b *Barrier) Parties() int { return b.parties }

// NWaiting returns the number of parties waiting now, at most Parties()
// (a count that another process corrupted is reported as Parties()).
func (b *Barrier) NWaiting() int {
	if b.h.Closed() {
		return 0
	}
	return int(min(b.count.Load(), uint32(b.parties)))
}

// Broken reports whether the barrier is broken.
func (b *Barrier) Broken() bool { return !b.h.Closed() && b.broken.Load() != 0 }

// Name returns the Barrier's name without a leading slash; pass it to OpenBarrier
// in another process.
func (b *Barrier) Name() string { return b.h.Name() }

// Close releases this process's handle of b; the Barrier, and the parties
// waiting at it in other processes, remain until it is unlinked. It is
// idempotent; methods called after Close return [ErrClosed].
func (b *Barrier) Close() error { return b.h.Close() }

// Unlink removes the Barrier's name so that no other process can open it;
// processes that have it open keep using it. Call it once, in one
// process; a second call returns an error matching fs.ErrNotExist. It
// works after Close.
func (b *Barrier) Unlink() error { return b.h.Unlink() }
