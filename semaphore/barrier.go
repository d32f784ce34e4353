package semaphore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/futex"
	"github.com/mpsync/mpsync/internal/handle"
	"github.com/mpsync/mpsync/internal/object"
	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/race"
)

// Payload of a barrier (no lock area): parties, the processes that may
// sleep on the generation futex, the state word (low half: the
// generation, the futex; high half: the arrivals, a count and two flags),
// the last generation that completed, then the identity of each party
// counted in the generation. See "Barriers" in csrc/mpsync.h.
const (
	offBarParties = 0
	offBarSleep   = 4
	offBarState   = 8 // the generation is its low half (little-endian)
	offBarLastOK  = 16
	offBarWaiters = 24
	maxParties    = 1 << 16

	barCount     = 0x1ffff // arrivals: the parties counted in
	barReleasing = 1 << 30 // arrivals: the last party runs the action
	barBroken    = 1 << 31 // arrivals: broken until a reset
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
// A party arrives with one compare-and-swap of a shared word, with no
// lock; a party that arrives while the last party of the previous round
// runs the action waits for that round to end.
//
// A Barrier must not be copied after first use. It is safe for concurrent
// use.
type Barrier struct {
	noCopy  noCopy
	h       handle.Handle
	parties int
	state   *atomic.Uint64
	gen     *atomic.Uint32 // the low half of state
	lastOK  *atomic.Uint32
	sleep   *atomic.Uint32
	waiters []atomic.Uint64

	action atomic.Pointer[func() error] // this handle's action, or nil
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
	obj, err := create(op, csrc.KindBarrier, uint64(offBarWaiters+8*parties), false, opts, func(o *object.Object) error {
		binary.NativeEndian.PutUint32(o.Payload()[offBarParties:], uint32(parties))
		// No generation has completed: generation 0 is not "last OK".
		binary.NativeEndian.PutUint32(o.Payload()[offBarLastOK:], ^uint32(0))
		return nil
	})
	if err != nil {
		return nil, err
	}
	b := newBarrier(obj, parties)
	b.SetAction(action)
	return b, nil
}

// OpenBarrier opens the Barrier called name, with no action (see
// SetAction).
func OpenBarrier(name string) (*Barrier, error) {
	const op = "semaphore.OpenBarrier"
	obj, err := open(op, name, offBarWaiters+8, false, csrc.KindBarrier)
	if err != nil {
		return nil, err
	}
	parties := int(binary.NativeEndian.Uint32(obj.Payload()[offBarParties:]))
	if parties < 1 || parties > maxParties || uint64(offBarWaiters+8*parties) != obj.Info.PayloadSize {
		obj.Close()
		return nil, fmt.Errorf("%s %s: %d parties: %w", op, obj.Name(), parties, errs.ErrCorrupt)
	}
	return newBarrier(obj, parties), nil
}

func newBarrier(obj *object.Object, parties int) *Barrier {
	p := unsafe.Pointer(&obj.Payload()[0])
	return &Barrier{
		h:       handle.Handle{Res: obj},
		parties: parties,
		state:   (*atomic.Uint64)(unsafe.Add(p, offBarState)),
		gen:     (*atomic.Uint32)(unsafe.Add(p, offBarState)),
		lastOK:  (*atomic.Uint32)(unsafe.Add(p, offBarLastOK)),
		sleep:   (*atomic.Uint32)(unsafe.Add(p, offBarSleep)),
		waiters: unsafe.Slice((*atomic.Uint64)(unsafe.Add(p, offBarWaiters)), parties),
	}
}

// SetAction sets the action this handle runs when its party arrives last.
func (b *Barrier) SetAction(action func() error) {
	if action == nil {
		b.action.Store(nil)
		return
	}
	b.action.Store(&action)
}

func pack(gen, arrivals uint32) uint64 { return uint64(arrivals)<<32 | uint64(gen) }
func genOf(s uint64) uint32            { return uint32(s) }
func arrivalsOf(s uint64) uint32       { return uint32(s >> 32) }

// validArrivals reports whether a, the arrivals half of a state word, is
// one the algorithm writes: a count below parties; releasing with the
// count at parties; broken with no count.
func validArrivals(a uint32, parties int) bool {
	count := int(a & barCount)
	switch a &^ barCount {
	case 0:
		return count < parties
	case barReleasing:
		return count == parties
	case barBroken:
		return count == 0
	}
	return false
}

// wake wakes the sleepers on the generation, if there may be any.
func (b *Barrier) wake() {
	if b.sleep.Load() != 0 {
		futex.Wake(b.gen, futex.MaxWake)
	}
}

// dead reports whether the party in slot i is known and dead.
func (b *Barrier) dead(i int) bool {
	w := b.waiters[i].Load()
	return w != 0 && !proc.Alive(w)
}

// partyDied reports whether generation gen, still current, waits on a
// dead party: one counted in, or, while releasing, the releasing one.
func (b *Barrier) partyDied(gen uint32) bool {
	s := b.state.Load()
	if genOf(s) != gen {
		return false
	}
	a := arrivalsOf(s)
	if a&barReleasing != 0 {
		return b.dead(b.parties-1) && b.state.Load() == s
	}
	for i := 0; i < int(a&barCount) && i < b.parties; i++ {
		if b.dead(i) {
			return genOf(b.state.Load()) == gen
		}
	}
	return false
}

// What breakGen did.
const (
	broke = iota
	releasing
	movedOn
)

// breakGen breaks generation gen if it is current and not being released
// by a live party (broke); it reports releasing if it is (wait for the
// next generation), movedOn if gen is over.
func (b *Barrier) breakGen(gen uint32) int {
	for s := b.state.Load(); genOf(s) == gen; s = b.state.Load() {
		if arrivalsOf(s)&barReleasing != 0 && !b.dead(b.parties-1) {
			return releasing
		}
		if b.state.CompareAndSwap(s, pack(gen+1, barBroken)) {
			b.wake()
			return broke
		}
	}
	return movedOn
}

// completed reports whether generation gen ended by all parties arriving
// (rather than by a break or a reset).
func (b *Barrier) completed(gen uint32) bool { return int32(b.lastOK.Load()-gen) >= 0 }

// await waits for generation gen to end: nil; ctx's error once ctx
// ends; [ErrBroken] if a party it waits on died; [ErrClosed] if the
// handle was closed.
func (b *Barrier) await(ctx context.Context, gen uint32) error {
	// The others often arrive within microseconds: look before sleeping.
	if waitSpin.Until(func() bool { return b.gen.Load() != gen }) {
		return nil
	}
	b.sleep.Add(1)
	defer b.sleep.Add(^uint32(0))
	return barrierSleep.Wait(ctx, b.gen, gen, func(timedOut bool) error {
		if timedOut && b.partyDied(gen) {
			return ErrBroken
		}
		return b.h.Check()
	})
}

// settle waits out a release in progress and returns the state after.
func (b *Barrier) settle() uint64 {
	s := b.state.Load()
	for arrivalsOf(s)&barReleasing != 0 {
		if errors.Is(b.await(context.Background(), genOf(s)), ErrBroken) {
			b.breakGen(genOf(s))
		}
		s = b.state.Load()
	}
	return s
}

// Wait waits until all parties have called Wait, and returns this party's
// arrival index, from 0 for the first to Parties()-1 for the last. It
// returns [ErrBroken] if the barrier is or becomes broken, and ctx's error
// (within a few milliseconds, breaking the barrier for everyone, as a
// timeout does in Python) if ctx ends first. Shared state that another
// process corrupted breaks the barrier too: the error matches both
// [ErrBroken] and [ErrCorrupt], and Reset repairs it.
func (b *Barrier) Wait(ctx context.Context) (int, error) {
	race.Release(unsafe.Pointer(b.gen))
	i, err := b.wait(ctx)
	race.Acquire(unsafe.Pointer(b.gen))
	return i, err
}

func (b *Barrier) wait(ctx context.Context) (int, error) {
	const op = "semaphore.Barrier.Wait"
	if err := b.h.Check(); err != nil {
		return 0, err
	}
	index, gen, last, err := b.arrive(ctx, op)
	if err != nil {
		return index, err
	}
	if last {
		return index, b.release(gen)
	}
	err = b.await(ctx, gen)
	if errors.Is(err, ErrClosed) {
		return index, err
	}
	// The usual end: the generation completed, and nothing more to do.
	if err == nil && b.completed(gen) {
		return index, nil
	}
	// A ctx that ended, or a dead party, breaks the generation, unless
	// it completed just then; a live party's release is waited out.
	for b.breakGen(gen) == releasing {
		b.await(context.Background(), gen)
	}
	switch {
	case b.completed(gen):
		return index, nil
	case err != nil && !errors.Is(err, ErrBroken):
		return index, err
	}
	return index, ErrBroken
}

// arrive counts this party into the current generation with one
// compare-and-swap, and returns its index, the generation and whether it
// is the last party (which then releases the generation).
func (b *Barrier) arrive(ctx context.Context, op string) (index int, gen uint32, last bool, err error) {
	// The state is read by adding 0: a read-modify-write brings the
	// cache line here for writing, so the compare-and-swap just after
	// finds it here, where a load then a compare-and-swap would move it
	// twice (C's first compare-and-swap, which returns the state when it
	// fails, does the same with a guess).
	s := b.state.Add(0)
	for {
		g, a := genOf(s), arrivalsOf(s)
		count := int(a & barCount)
		// The state is shared memory a buggy process may have scribbled
		// on: check it before the count indexes anything.
		if !validArrivals(a, b.parties) {
			if b.state.CompareAndSwap(s, pack(g+1, barBroken)) {
				b.wake()
				return 0, 0, false, fmt.Errorf("%s %s: arrivals %#x of %d parties: %w: %w",
					op, b.Name(), a, b.parties, ErrBroken, ErrCorrupt)
			}
			s = b.state.Load()
			continue
		}
		switch {
		case a&barBroken != 0:
			return 0, 0, false, ErrBroken
		case a&barReleasing != 0:
			// The last party of g runs the action: wait for the next
			// generation (whatever ctx, as a lock would).
			if errors.Is(b.await(context.Background(), g), ErrBroken) {
				b.breakGen(g)
			}
			s = b.state.Load()
			continue
		}
		if err := ctx.Err(); err != nil {
			if b.breakGen(g) == broke {
				return 0, 0, false, err
			}
			s = b.state.Load()
			continue
		}
		last = count+1 == b.parties
		next := uint32(count + 1)
		if last {
			next |= barReleasing
		}
		if b.state.CompareAndSwap(s, pack(g, next)) {
			// Until this store the slot holds an earlier party's identity:
			// for those nanoseconds a death check may miss this party, or
			// see that one.
			futex.StoreRelease(&b.waiters[count], proc.MustSelf())
			return count, g, last, nil
		}
		s = b.state.Add(0)
	}
}

// release ends generation gen, which this party made full: it runs the
// action, then frees every waiter.
func (b *Barrier) release(gen uint32) error {
	if action := b.action.Load(); action != nil {
		if err := runAction(*action); err != nil {
			b.state.Store(pack(gen+1, barBroken))
			b.wake()
			return err
		}
	}
	// lastOK before the generation moves on: a waiter that sees the new
	// generation knows how the old one ended.
	futex.StoreRelease32(b.lastOK, gen)
	b.state.Store(pack(gen+1, 0))
	b.wake()
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

// Abort breaks the barrier: every waiting party, and every later Wait,
// gets [ErrBroken] until Reset. While the last party of a generation runs
// the action, Abort waits for its end.
func (b *Barrier) Abort() error {
	if err := b.h.Check(); err != nil {
		return err
	}
	b.moveOn(barBroken)
	return nil
}

// Reset returns the barrier to its initial state. Parties waiting get
// [ErrBroken]. While the last party of a generation runs the action,
// Reset waits for its end.
func (b *Barrier) Reset() error {
	if err := b.h.Check(); err != nil {
		return err
	}
	b.moveOn(0)
	return nil
}

// moveOn starts the next generation with the given arrivals (broken or
// none), once no release is in progress, and wakes the sleepers.
func (b *Barrier) moveOn(arrivals uint32) {
	for s := b.settle(); !b.state.CompareAndSwap(s, pack(genOf(s)+1, arrivals)); s = b.settle() {
	}
	b.wake()
}

// Parties returns the number of parties the barrier waits for.
func (b *Barrier) Parties() int { return b.parties }

// NWaiting returns the number of parties waiting now, at most Parties()
// (a count that another process corrupted is reported as Parties()).
func (b *Barrier) NWaiting() int {
	if b.h.Closed() {
		return 0
	}
	return int(min(arrivalsOf(b.state.Load())&barCount, uint32(b.parties)))
}

// Broken reports whether the barrier is broken.
func (b *Barrier) Broken() bool {
	return !b.h.Closed() && arrivalsOf(b.state.Load())&barBroken != 0
}

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
