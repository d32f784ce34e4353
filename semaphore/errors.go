package semaphore

import "github.com/mpsync/mpsync/internal/errs"

// The errors of this package. They are the same values as the
// corresponding errors of mpsync's other packages.
var (
	// ErrClosed is returned by every method of an object after Close. It
	// matches fs.ErrClosed.
	ErrClosed = errs.ErrClosed

	// ErrOwnerDead is returned when the previous holder of a lock died
	// while holding it. The lock IS HELD by the caller, which must make
	// the state the lock protects consistent and then call
	// [Lock.MarkConsistent]; releasing it without doing so makes the lock
	// unusable for everyone ([ErrNotRecoverable]).
	ErrOwnerDead = errs.ErrOwnerDead

	// ErrNotRecoverable is returned for a lock that was released after an
	// owner's death without [Lock.MarkConsistent]. The lock cannot be used again;
	// unlink it and make a new one.
	ErrNotRecoverable = errs.ErrNotRecoverable

	// ErrNotOwner is returned when a lock is released by a process (for
	// RLock, a goroutine) that does not hold it, or when nobody holds it,
	// and when a Condition is used without holding its lock.
	ErrNotOwner = errs.ErrNotOwner

	// ErrTooManyReleases is returned when a BoundedSemaphore would go
	// above its initial value, or a Semaphore above SEM_VALUE_MAX.
	ErrTooManyReleases = errs.ErrTooManyReleases

	// ErrBroken is returned by Barrier.Wait when the barrier is broken:
	// aborted, reset while parties waited, left by a party whose wait was
	// cancelled or timed out, or by a party that died waiting.
	ErrBroken = errs.ErrBroken

	// ErrCorrupt is returned when a name holds something that is not a
	// valid mpsync object (it matches fs.ErrInvalid).
	ErrCorrupt = errs.ErrCorrupt

	// ErrTypeMismatch is returned when a name is opened as a kind of
	// object other than the one it was created as; the message names
	// both kinds.
	ErrTypeMismatch = errs.ErrTypeMismatch
)
