package queue

import (
	"io"

	"github.com/mpsync/mpsync/internal/errs"
)

// sentinel is an error value that also matches a standard parent error.
type sentinel struct {
	msg    string
	parent error
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.parent }

// The errors of this package. [ErrClosed], [ErrCorrupt] and [ErrTypeMismatch]
// are the same values as in mpsync's other packages.
var (
	// ErrClosed is returned by every method of a Queue handle after
	// Close. It matches fs.ErrClosed.
	ErrClosed = errs.ErrClosed

	// ErrCorrupt is returned when a name holds something that is not a
	// valid queue, or when a slot holds a message longer than the queue's
	// maximum (another process wrote garbage). It matches fs.ErrInvalid.
	ErrCorrupt = errs.ErrCorrupt

	// ErrTypeMismatch is returned by Open when the name holds another
	// kind of mpsync object; the message names both kinds.
	ErrTypeMismatch = errs.ErrTypeMismatch

	// ErrFull is returned by TryPut and TryReserve when every slot is
	// taken.
	ErrFull error = &sentinel{"queue: full", nil}

	// ErrEmpty is returned by TryGet, TryGetInto and TryReceive when no
	// message is ready.
	ErrEmpty error = &sentinel{"queue: empty", nil}

	// ErrWriteClosed is returned by Put, TryPut and Reserve once some
	// process has called CloseWrite. It matches io.ErrClosedPipe.
	ErrWriteClosed error = &sentinel{"queue: closed for writing", io.ErrClosedPipe}

	// ErrNotHeld is returned by Commit and Release when the slot is no
	// longer held: it was committed or released already.
	ErrNotHeld error = &sentinel{"queue: slot already committed or released", nil}

	// ErrTooManyTaskDone is returned by TaskDone when it is called more
	// times than messages were put (messages lost count as done).
	ErrTooManyTaskDone error = &sentinel{"queue: TaskDone called more times than messages were put", nil}
)
