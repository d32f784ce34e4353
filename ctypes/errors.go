package ctypes

import "github.com/mpsync/mpsync/internal/errs"

// The errors of this package; the same values as the corresponding errors
// of mpsync's other packages.
var (
	// ErrClosed is returned by methods that report errors after Close.
	ErrClosed = errs.ErrClosed
	// ErrOwnerDead is returned by Acquire when the previous holder of the
	// object's lock died holding it; the lock is held by the caller.
	ErrOwnerDead = errs.ErrOwnerDead
	// ErrNotRecoverable is returned for a lock released after an owner's
	// death without [Value.MarkConsistent].
	ErrNotRecoverable = errs.ErrNotRecoverable
	// ErrTypeMismatch is returned when an object is opened with a type
	// whose format differs from the one it was created with; the message
	// names both formats.
	ErrTypeMismatch = errs.ErrTypeMismatch
	// ErrCorrupt is returned for a name that does not hold a valid mpsync
	// object.
	ErrCorrupt = errs.ErrCorrupt
)
