// Package robust implements mpsync's process-shared robust lock: a lock
// word in shared memory (the lock area of mpsync.h) that any process — Go
// or C — acquires with one compare-and-swap, whose owner is a process
// (never an OS thread), and which is recovered, with ErrOwnerDead, when
// its owner dies holding it.
//
// # The lock word
//
// The first 8 bytes of the lock area are one 64-bit word: the owner's
// identity (package proc: a random word naming its registry, whose file
// lock the kernel drops when the process dies), with
//
//	bit   30    owner died; the new owner has not called MarkConsistent
//	bit   31    waiters: some process may sleep in futex_wait on the low half
//
// The lock is free when the identity part (proc.IDMask) is 0: the word is
// 0, or the waiters bit alone, which C's release by subtraction leaves
// when a waiter set the bit just before it (mpsync.h: C releases a lock
// nobody waits for with one atomic subtraction of its identity, and wakes
// a sleeper if the bit appeared). An acquirer of a free lock keeps the
// waiters bit. The low 32 bits are the futex word. The value
// notRecoverable (low 30 bits all ones, which no identity has) marks a
// lock whose dead owner's state was never made consistent: it stays
// unusable.
//
// Acquiring a free lock is CAS(0 → self); releasing an uncontended one is
// CAS(self → 0) here (C subtracts, see FastUnlock): no system call, no cgo. A contended acquirer spins a
// little, then sets the waiters bit and sleeps on the futex in slices; on
// each timeout it asks the kernel whether the owner lives (proc.Alive) and, if
// not, takes the lock over with one CAS and reports ErrOwnerDead.
//
// Goroutines of one process queue on a process-local gate before they
// sleep in the kernel, so that many goroutines waiting for one lock cost
// one OS thread per process, not one each.
//
// The rest of the lock area is for recursive locks: count (offset 12) and
// the owning goroutine or thread token (offset 16), meaningful only to the
// owning process; then two times for inspection (mpsync-ls), stamped only
// on contended paths so that the uncontended ones stay a CAS each: when
// the holder took the lock (offset 24; 0 if it took it uncontended) and
// when the earliest waiter still sleeping began (offset 32).
//
// # The compact lock area
//
// Objects in an arena that must stay small (values and arrays) carry a
// CompactSize (16-byte) lock area: the word, then one 64-bit recursion
// word at offset 8 holding the owner token in its low 48 bits and the
// count in its high 16 (so a compact lock is held at most 65,535 times
// recursively; goroutine ids and C thread tokens, user-space addresses,
// are below 2^48). The two times are then kept in the handle, in process
// memory, where inspectors cannot see them; the algorithm is the same.
package robust

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/futex"
	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/race"
)

// Layout of the lock area (MPS_LOCK_AREA_SIZE bytes); see mpsync.h.
const (
	AreaSize    = 64
	CompactSize = 16 // the word and the recursion word; see the package doc
	offRec      = 8  // compact area: uint64 recursion word, owner token | count<<48
	offWord     = 0  // uint64 lock word
	offCount    = 12 // uint32 recursion count
	offOwner    = 16 // uint64 recursion owner token
	offSince    = 24 // int64: when the holder took it, Unix ns; 0 unknown (taken uncontended)
	offWait     = 32 // int64: when the earliest sleeping waiter began, Unix ns; 0 none
)

// Bits of the lock word.
const (
	deadBit        = 1 << 30
	waitersBit     = 1 << 31
	notRecoverable = 1<<30 - 1
)

// The recursion word of a compact lock area.
const (
	recTokenMask = 1<<48 - 1
	recCountMax  = 1<<16 - 1
)

// ErrNotOwner is errs.ErrNotOwner.
var ErrNotOwner = errs.ErrNotOwner

// sleeper sleeps a waiter in slices, after which it looks again at its
// context and at the owner's liveness: 5 ms when the context can end, 20
// ms when it cannot.
var sleeper = futex.Sleeper{Slice: 20 * time.Millisecond, CancelSlice: 5 * time.Millisecond}

// busySpin is how long a contended acquirer first looks at the word
// with only a CPU pause between looks.
const busySpin = time.Microsecond

// spinTries is how many times a contended acquirer looks at the word,
// yielding in between, before it sleeps in the kernel.
const spinTries = 100

// yield gives way between two looks at a contended lock word, alternately
// to the other goroutines of this process (one may hold the lock) and, with
// sched_yield, to other processes (one may hold it, descheduled: with more
// contending processes than cores, spinning alone starves the holder).
// Measured on W3: the alternation doubled throughput at P=4 on 2 cores
// against Gosched alone.
func yield(i int) {
	if i%2 == 0 {
		runtime.Gosched()
	} else {
		unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
}

// Lock is a robust lock living in a lock area. It is safe for concurrent
// use; the Go value itself is per handle (one per open object in a
// process), the state is in shared memory.
type Lock struct {
	word  *atomic.Uint64 // its low half is the futex word (futexWord)
	count *atomic.Uint32
	owner *atomic.Uint64
	since *atomic.Int64
	wait  *atomic.Int64
	gate  atomic.Pointer[chan struct{}] // process-local queue in front of the futex; made on first use
	// The fast paths compare-and-swap fast between 0 and self. fast is
	// word, or, when this process had no identity when the handle was
	// made or after Retire, a private word that never holds 0 or self, so
	// that every call takes the slow path.
	// (The plain atomic functions keep the fast paths cheap enough for
	// the inliner.)
	self uint64
	fast unsafe.Pointer // *uint64

	// local holds since and wait for a compact lock area.
	local [2]atomic.Int64

	// rec is a compact area's recursion word; count and owner are nil
	// then. (Last, so that the fields of the fast paths keep the offsets
	// they had before it.)
	rec *atomic.Uint64
}

// retired is the word the fast paths of a retired lock look at: an owner
// without an identity, which no process has.
var retired = uint64(deadBit)

// New returns the lock living in area, AreaSize bytes of shared memory
// (or CompactSize bytes for a compact lock area, if shorter), 8-byte
// aligned; fresh zeroed memory is a free lock. It makes this process's identity if there is none yet (a failure
// then is reported by the first acquisition).
func New(area []byte) *Lock {
	l := new(Lock)
	l.Init(area)
	return l
}

// Init makes l, a zero Lock, the lock living in area, as New does, for a
// Lock held inside another value (one allocation fewer). l must not be
// copied afterwards.
func (l *Lock) Init(area []byte) {
	l.view(area)
	l.fast = unsafe.Pointer(&retired)
	if self, err := proc.Self(); err == nil {
		l.self = self
		l.fast = unsafe.Pointer(l.word)
	}
}

// Retire turns the fast paths off, so that every later call takes the
// slow ones: the owner of the handle calls it when the handle is closed
// and checks for that on its slow paths.
func (l *Lock) Retire() { atomic.StorePointer(&l.fast, unsafe.Pointer(&retired)) }

// futexWord is the low half of the lock word, which waiters sleep on
// (little-endian: it starts where the word does).
func (l *Lock) futexWord() *atomic.Uint32 { return (*atomic.Uint32)(unsafe.Pointer(l.word)) }

// view points l at the fields of the lock area, without an identity.
func (l *Lock) view(area []byte) {
	if len(area) < CompactSize || uintptr(unsafe.Pointer(&area[0]))%8 != 0 {
		panic("robust: lock area too small or misaligned")
	}
	p := unsafe.Pointer(&area[0])
	l.word = (*atomic.Uint64)(unsafe.Add(p, offWord))
	if len(area) >= AreaSize {
		l.count = (*atomic.Uint32)(unsafe.Add(p, offCount))
		l.owner = (*atomic.Uint64)(unsafe.Add(p, offOwner))
		l.since = (*atomic.Int64)(unsafe.Add(p, offSince))
		l.wait = (*atomic.Int64)(unsafe.Add(p, offWait))
	} else {
		l.rec = (*atomic.Uint64)(unsafe.Add(p, offRec))
		l.since, l.wait = &l.local[0], &l.local[1]
	}
}

// TryLock acquires the lock if it is free, or if its owner is dead (then
// with ErrOwnerDead). It never sleeps.
func (l *Lock) TryLock() (bool, error) {
	ok, err := l.tryLock()
	if ok {
		race.Acquire(unsafe.Pointer(l.word))
	}
	return ok, err
}

func (l *Lock) tryLock() (bool, error) {
	self, err := proc.Self()
	if err != nil {
		return false, err
	}
	if l.word.CompareAndSwap(0, self) {
		return true, nil
	}
	w := l.word.Load()
	switch {
	case free(w):
		return l.claim(w, self), nil
	case w == notRecoverable:
		return false, errs.ErrNotRecoverable
	case proc.Is(w):
		return false, nil // another goroutine of this process holds it
	case !proc.Alive(w):
		return l.takeOver(w, self)
	}
	return false, nil
}

// Lock acquires the lock, waiting as long as ctx allows. It returns nil,
// ErrOwnerDead (the lock is held: its previous owner died, see
// MarkConsistent), ErrNotRecoverable, or ctx's error (the lock is not
// held). It does not check ctx before trying: callers that must fail on a
// done context even when the lock is free check first.
func (l *Lock) Lock(ctx context.Context) error {
	if l.FastLock() {
		return nil
	}
	return l.lockMiss(ctx)
}

// FastLock takes the lock if it is free and this process has an
// identity, with one compare-and-swap, and reports whether it did. It is
// small enough to be inlined into callers' fast paths; Lock is the rest.
func (l *Lock) FastLock() bool {
	if atomic.CompareAndSwapUint64((*uint64)(atomic.LoadPointer(&l.fast)), 0, l.self) {
		if race.Enabled {
			race.Acquire(unsafe.Pointer(l.word))
		}
		return true
	}
	return false
}

// lockMiss is Lock when the lock is taken, or this process has no
// identity yet.
func (l *Lock) lockMiss(ctx context.Context) error {
	self, err := proc.Self()
	if err != nil {
		return err
	}
	if !l.word.CompareAndSwap(0, self) {
		err = l.lockSlow(ctx, self)
	}
	if err == nil || err == errs.ErrOwnerDead {
		race.Acquire(unsafe.Pointer(l.word))
	}
	return err
}

func (l *Lock) lockSlow(ctx context.Context, self uint64) error {
	// The holder is most often in a short critical section on another
	// core: look again with only CPU pauses between looks (backing off,
	// so as not to pull the line from the holder), then yield.
	if futex.BusyBackoff(busySpin, func() bool { return l.claim(l.word.Load(), self) }) {
		return nil
	}
	for i := range spinTries {
		w := l.word.Load()
		if l.claim(w, self) {
			return nil
		}
		if w == notRecoverable {
			return errs.ErrNotRecoverable
		}
		yield(i)
	}
	// One sleeper per process: the others park on the gate.
	gate := l.gateChan()
	select {
	case gate <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-gate }()

	for {
		w := l.word.Load()
		switch {
		case free(w):
			// Take it with the waiters bit set: others may still sleep.
			// Its release then takes the slow path, which clears the
			// time stamped here.
			if l.word.CompareAndSwap(w, self|waitersBit) {
				l.since.Store(time.Now().UnixNano())
				return nil
			}
			continue
		case w == notRecoverable:
			return errs.ErrNotRecoverable
		case w&waitersBit == 0:
			if !l.word.CompareAndSwap(w, w|waitersBit) {
				continue
			}
			w |= waitersBit
		}
		if err := ctx.Err(); err != nil {
			return err // before the stamp: this waiter never sleeps
		}
		if l.wait.Load() == 0 {
			l.wait.CompareAndSwap(0, time.Now().UnixNano())
		}
		// Sleep until the word changes; after a slice with no wake, the
		// owner may have died: take the lock over if so.
		err := sleeper.Wait(ctx, l.futexWord(), uint32(w), func(timedOut bool) error {
			if timedOut && l.word.Load() == w && !proc.Alive(w) {
				if ok, err := l.takeOver(w, self); ok {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
}

// gateChan returns the gate, making it on first use: most handles (a
// million objects opened in an arena) never wait.
func (l *Lock) gateChan() chan struct{} {
	if g := l.gate.Load(); g != nil {
		return *g
	}
	g := make(chan struct{}, 1)
	if l.gate.CompareAndSwap(nil, &g) {
		return g
	}
	return *l.gate.Load()
}

// free reports whether the lock word w names no owner: 0, or the waiters
// bit alone (see the package doc).
func free(w uint64) bool { return w&proc.IDMask == 0 }

// claim takes the lock for self if its word w is free, keeping the
// waiters bit (someone may sleep: the release must wake them), and
// reports whether it did.
func (l *Lock) claim(w, self uint64) bool {
	return free(w) && l.word.CompareAndSwap(w, self|w&waitersBit)
}

// takeOver replaces the dead owner recorded in w with this process, marks
// the state inconsistent and stamps since. It sets the waiters bit too, as
// a contended acquisition does: the release must take the slow path, which
// clears the stamp (after MarkConsistent the word would otherwise be the
// identity alone, released by the fast path with the stamp left for the
// next holder); its one spare wake-up comes after a death only.
func (l *Lock) takeOver(w, self uint64) (bool, error) {
	if !l.word.CompareAndSwap(w, self|deadBit|waitersBit) {
		return false, nil
	}
	l.setHolder(0, 0)
	l.since.Store(time.Now().UnixNano())
	return true, errs.ErrOwnerDead
}

// Unlock releases the lock, which this process must hold; any goroutine
// of the process may release it. A lock released while its state is
// inconsistent (ErrOwnerDead without MarkConsistent) becomes permanently
// unusable, and Unlock returns ErrNotRecoverable.
func (l *Lock) Unlock() error {
	if l.FastUnlock() {
		return nil
	}
	return l.unlockSlow()
}

// FastUnlock releases the lock if this process holds it with no waiters
// and a consistent state, with one compare-and-swap, and reports whether
// it did; otherwise it changes nothing and Unlock must do the rest. Like
// FastLock it is small enough to be inlined into callers' fast paths,
// which is why it is not C's atomic subtraction (mpsync.h): the look
// before the subtraction, and its result to act on, cost more than the
// inliner's budget for semaphore.Lock.Unlock allows (measured: W1 went
// from 1.06× to 1.2× sync.Mutex with the call that remained).
func (l *Lock) FastUnlock() bool {
	if race.Enabled {
		race.Release(unsafe.Pointer(l.word))
	}
	return atomic.CompareAndSwapUint64((*uint64)(atomic.LoadPointer(&l.fast)), l.self, 0)
}

func (l *Lock) unlockSlow() error {
	for {
		w := l.word.Load()
		if w == notRecoverable || !proc.Is(w) {
			return ErrNotOwner
		}
		next, err := uint64(0), error(nil)
		if w&deadBit != 0 {
			next, err = notRecoverable, errs.ErrNotRecoverable
		}
		since, wait := l.since.Swap(0), l.wait.Swap(0)
		if !l.word.CompareAndSwap(w, next) {
			l.since.Store(since)
			l.wait.CompareAndSwap(0, wait)
			continue
		}
		switch {
		case next == notRecoverable:
			futex.Wake(l.futexWord(), futex.MaxWake)
		case w&waitersBit != 0:
			futex.Wake(l.futexWord(), 1)
		}
		return err
	}
}

// MarkConsistent declares that the state the lock protects, left by an
// owner that died, has been repaired: the lock returns to normal use. The
// caller must hold the lock after an ErrOwnerDead.
func (l *Lock) MarkConsistent() error {
	for {
		w := l.word.Load()
		if w == notRecoverable || !proc.Is(w) || w&deadBit == 0 {
			return ErrNotOwner
		}
		if l.word.CompareAndSwap(w, w&^deadBit) {
			return nil
		}
	}
}

// HeldByProcess reports whether this process holds the lock.
func (l *Lock) HeldByProcess() bool {
	w := l.word.Load()
	return w != notRecoverable && proc.Is(w)
}

// Taken reports whether some process holds the lock.
func (l *Lock) Taken() bool {
	w := l.word.Load()
	return !free(w) && w != notRecoverable
}

// Holder returns the identity (package proc) of the process holding the
// lock, or 0 if it is free or not recoverable. For display.
func (l *Lock) Holder() uint64 {
	w := l.word.Load()
	if w == notRecoverable {
		return 0
	}
	return w & proc.IDMask
}

// HolderDied reports whether the lock is held by a process that died
// (and nobody has taken it over yet).
func (l *Lock) HolderDied() bool {
	h := l.Holder()
	return h != 0 && !proc.Alive(h)
}

// Owner returns the pid of the process holding the lock, as recorded in
// its registry (in its own pid namespace), or 0 if the lock is free or
// the holder's registry is gone. For display.
func (l *Lock) Owner() int {
	w := l.word.Load()
	if w == notRecoverable || free(w) {
		return 0
	}
	return proc.PidOf(w)
}

// State is a lock area's state as read by an inspector (mpsync-ls): a
// snapshot that may be stale at once.
type State struct {
	Owner       uint64    // the holder's identity (package proc); 0 free
	Dead        bool      // taken over from a dead holder, not yet consistent
	Unusable    bool      // not recoverable
	Waiters     bool      // someone may sleep waiting for it
	HeldSince   time.Time // when a contended holder took it; zero unknown
	WaitedSince time.Time // when the earliest sleeping waiter began; zero none
}

// Inspect reads the lock area at the start of area (AreaSize bytes,
// 8-byte aligned) without changing it.
func Inspect(area []byte) State {
	var l Lock
	l.view(area)
	w := l.word.Load()
	if w == notRecoverable {
		return State{Unusable: true}
	}
	st := State{Owner: w & proc.IDMask, Dead: w&deadBit != 0, Waiters: w&waitersBit != 0}
	if st.Owner != 0 {
		st.HeldSince = unixNano(l.since.Load())
		st.WaitedSince = unixNano(l.wait.Load())
	}
	return st
}

func unixNano(ns int64) time.Time {
	if ns <= 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// holder returns the recursive owner's token and count.
func (l *Lock) holder() (uint64, uint32) {
	if l.rec != nil {
		r := l.rec.Load()
		return r & recTokenMask, uint32(r >> 48)
	}
	return l.owner.Load(), l.count.Load()
}

// setHolder records token g as the recursive owner, n times.
func (l *Lock) setHolder(g uint64, n uint32) {
	if l.rec != nil {
		l.rec.Store(g&recTokenMask | uint64(n)<<48)
		return
	}
	l.owner.Store(g)
	l.count.Store(n)
}

// token is g as the lock area records it: a compact area keeps 48 bits.
func (l *Lock) token(g uint64) uint64 {
	if l.rec != nil {
		return g & recTokenMask
	}
	return g
}

// again counts one more recursive hold by the owner, which has n: an
// error matching syscall.EAGAIN if the count is at its maximum.
func (l *Lock) again(g uint64, n uint32) error {
	limit := uint32(recCountMax)
	if l.rec == nil {
		limit = ^uint32(0)
	}
	if n >= limit {
		return fmt.Errorf("robust: lock held %d times recursively, the most it counts: %w", n, syscall.EAGAIN)
	}
	l.setHolder(g, n+1)
	return nil
}

// LockRecursive acquires the lock for the goroutine or thread token g,
// counting recursive acquisitions by the same token.
func (l *Lock) LockRecursive(ctx context.Context, g uint64) error {
	if owner, n := l.holder(); owner == l.token(g) && l.HeldByProcess() {
		return l.again(g, n)
	}
	err := l.Lock(ctx)
	if err != nil && err != errs.ErrOwnerDead {
		return err
	}
	l.setHolder(g, 1)
	return err
}

// TryLockRecursive is TryLock for token g, counting recursion.
func (l *Lock) TryLockRecursive(g uint64) (bool, error) {
	if owner, n := l.holder(); owner == l.token(g) && l.HeldByProcess() {
		if err := l.again(g, n); err != nil {
			return false, err
		}
		return true, nil
	}
	ok, err := l.TryLock()
	if ok {
		l.setHolder(g, 1)
	}
	return ok, err
}

// UnlockRecursive undoes one LockRecursive by token g.
func (l *Lock) UnlockRecursive(g uint64) error {
	owner, n := l.holder()
	if owner != l.token(g) || !l.HeldByProcess() {
		return ErrNotOwner
	}
	if n > 1 {
		l.setHolder(g, n-1)
		return nil
	}
	l.setHolder(0, 0)
	return l.Unlock()
}

// HeldBy reports whether token g of this process holds the lock
// recursively, and how many times.
func (l *Lock) HeldBy(g uint64) (bool, int) {
	owner, n := l.holder()
	if owner != l.token(g) || !l.HeldByProcess() {
		return false, 0
	}
	return true, int(n)
}

// ReleaseAll releases every recursive hold of token g at once and returns
// how many there were, for a condition variable's wait; RestoreAll takes
// them back.
func (l *Lock) ReleaseAll(g uint64) (int, error) {
	held, n := l.HeldBy(g)
	if !held {
		return 0, ErrNotOwner
	}
	l.setHolder(0, 0)
	return n, l.Unlock()
}

// RestoreAll reacquires the lock for token g with recursion count n.
func (l *Lock) RestoreAll(ctx context.Context, g uint64, n int) error {
	err := l.Lock(ctx)
	if err != nil && err != errs.ErrOwnerDead {
		return err
	}
	l.setHolder(g, uint32(n))
	return err
}
