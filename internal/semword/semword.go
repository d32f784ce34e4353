// Package semword implements a counting semaphore on glibc's sem_t layout
// (64-bit glibc ≥ 2.21): a 64-bit word whose low half is the value (and
// the futex word) and whose high half counts the sleeping waiters. Named
// semaphores that glibc's sem_open and CPython's multiprocessing use have
// exactly this layout, so Go code here and C code calling sem_wait and
// sem_post operate on the same semaphore together.
package semword

import (
	"context"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/futex"
	"github.com/mpsync/mpsync/internal/race"
)

// Layout of sem_t (32 bytes).
const (
	Size        = 32
	offPrivate  = 8
	futexShared = 128 // glibc's private field for process-shared semaphores
	// ValueMax is SEM_VALUE_MAX.
	ValueMax     = 1<<31 - 1
	waiterOne    = uint64(1) << 32
	valueMask    = uint64(1)<<32 - 1
	spinTries    = 100
	sliceCancel  = 5 * time.Millisecond
	sliceForever = 50 * time.Millisecond
)

// Sem is a semaphore living in 32 bytes of shared memory.
type Sem struct {
	data  *atomic.Uint64
	futex *atomic.Uint32
}

// New returns the semaphore in mem, which must be at least Size bytes of
// shared memory, 8-byte aligned, holding an initialised sem_t.
func New(mem []byte) *Sem {
	if len(mem) < Size || uintptr(unsafe.Pointer(&mem[0]))%8 != 0 {
		panic("semword: sem_t too small or misaligned")
	}
	p := unsafe.Pointer(&mem[0])
	return &Sem{data: (*atomic.Uint64)(p), futex: (*atomic.Uint32)(p)}
}

// Init writes a fresh sem_t with value into mem, as sem_open and sem_init
// (process-shared) do.
func Init(mem []byte, value uint32) {
	clear(mem[:Size])
	*(*uint64)(unsafe.Pointer(&mem[0])) = uint64(value)
	*(*int32)(unsafe.Pointer(&mem[offPrivate])) = futexShared
}

// State is a semaphore's state as an inspector (mpsync-ls) reads it: a
// snapshot that may be stale at once.
type State struct {
	Value   int // the semaphore's value
	Waiters int // how many processes or threads sleep waiting for it
}

// Inspect reads the sem_t that mem holds, without changing it. ok is false
// unless mem is one process-shared sem_t: exactly Size bytes, with the
// private field that sem_open and sem_init (pshared) write.
func Inspect(mem []byte) (st State, ok bool) {
	if len(mem) != Size || uintptr(unsafe.Pointer(&mem[0]))%8 != 0 ||
		(*atomic.Int32)(unsafe.Pointer(&mem[offPrivate])).Load() != futexShared {
		return State{}, false
	}
	d := (*atomic.Uint64)(unsafe.Pointer(&mem[0])).Load()
	return State{Value: int(d & valueMask), Waiters: int(d >> 32)}, true
}

// Value returns the current value (sem_getvalue).
func (s *Sem) Value() int { return int(s.data.Load() & valueMask) }

// TryWait takes one unit if the value is positive (sem_trywait).
func (s *Sem) TryWait() bool {
	if s.tryWait() {
		race.Acquire(unsafe.Pointer(s.data))
		return true
	}
	return false
}

func (s *Sem) tryWait() bool {
	for {
		d := s.data.Load()
		if d&valueMask == 0 {
			return false
		}
		if s.data.CompareAndSwap(d, d-1) {
			return true
		}
	}
}

// Post adds one unit unless the value is already max, and wakes a
// sleeper if there is one (sem_post). Over max it returns
// ErrTooManyReleases and changes nothing.
func (s *Sem) Post(max uint32) error {
	race.Release(unsafe.Pointer(s.data))
	for {
		d := s.data.Load()
		if uint32(d&valueMask) >= max {
			return errs.ErrTooManyReleases
		}
		if s.data.CompareAndSwap(d, d+1) {
			if d>>32 != 0 {
				futex.Wake(s.futex, 1)
			}
			return nil
		}
	}
}

// Wait takes one unit, sleeping while the value is 0, as long as ctx
// allows (sem_timedwait). On ctx's end it returns ctx's error and takes
// nothing.
func (s *Sem) Wait(ctx context.Context) error {
	if s.TryWait() {
		return nil
	}
	if spin.Until(s.TryWait) {
		return nil
	}
	s.data.Add(waiterOne) // register as a sleeper
	for {
		d := s.data.Load()
		if d&valueMask != 0 {
			// Take a unit and deregister in one step.
			if s.data.CompareAndSwap(d, d-1-waiterOne) {
				race.Acquire(unsafe.Pointer(s.data))
				return nil
			}
			continue
		}
		// The futex word is the value's half: sleep while it is 0.
		if err := sleeper.Wait(ctx, s.futex, 0, nil); err != nil {
			s.data.Add(^(waiterOne - 1)) // minus one sleeper
			return err
		}
	}
}

var (
	spin    = futex.Spin{Tries: spinTries}
	sleeper = futex.Sleeper{Slice: sliceForever, CancelSlice: sliceCancel}
)
