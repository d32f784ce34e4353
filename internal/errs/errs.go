// Package errs holds the error values that mpsync's public packages share,
// so that one sentinel matches the same condition whichever package
// reported it. The public packages re-export the ones they return (for
// example shm.ErrClosed is errs.ErrClosed); users never import this.
package errs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"syscall"

	_ "github.com/mpsync/mpsync/internal/platform" // Linux and cgo only
)

// sentinel is an error value with an optional parent it also matches, so
// that ErrClosed satisfies errors.Is(err, fs.ErrClosed).
type sentinel struct {
	msg    string
	parent error
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.parent }

// Sentinels shared by the public packages.
var (
	// ErrClosed is returned when an object is used after Close. It
	// matches fs.ErrClosed.
	ErrClosed error = &sentinel{"mpsync: object is closed", fs.ErrClosed}

	// ErrCorrupt is returned when shared memory that should hold an
	// mpsync object does not hold a valid one (bad magic, sizes or
	// offsets out of range). It matches fs.ErrInvalid.
	ErrCorrupt error = &sentinel{"mpsync: not an mpsync object, or a corrupt header", fs.ErrInvalid}

	// ErrTruncated is returned when a segment's file was made smaller
	// than its mapping (by another process's ftruncate), so that part of
	// the mapping has no memory behind it. It matches io.ErrUnexpectedEOF.
	ErrTruncated error = &sentinel{"mpsync: segment was truncated by another process", io.ErrUnexpectedEOF}

	// ErrVersion is returned when an object was written with a layout
	// version this build does not know.
	ErrVersion error = &sentinel{"mpsync: unsupported object layout version", nil}

	// ErrNotReady is returned when an object's creator has not finished
	// initialising it (or died doing so).
	ErrNotReady error = &sentinel{"mpsync: object is not initialised yet", nil}

	// ErrOwnerDead is returned when a lock's previous holder died while
	// holding it. The lock is now held by the caller, who must make the
	// protected state consistent.
	ErrOwnerDead error = &sentinel{"mpsync: previous owner died holding the lock; lock acquired", nil}

	// ErrNotRecoverable is returned for a lock whose dead owner's state was
	// never marked consistent; the lock can no longer be used.
	ErrNotRecoverable error = &sentinel{"mpsync: lock is not recoverable", nil}

	// ErrNotOwner is returned when a lock is released (or marked
	// consistent) by a process, or for recursive locks a goroutine, that
	// does not hold it — including when nobody holds it.
	ErrNotOwner error = &sentinel{"mpsync: lock is not held by the caller", nil}

	// ErrTooManyReleases is returned when a bounded semaphore is released
	// more times than it was acquired.
	ErrTooManyReleases error = &sentinel{"mpsync: semaphore released too many times", nil}

	// ErrBroken is returned by a barrier that is broken: aborted, reset
	// while parties waited, timed out, or left by a party that died.
	ErrBroken error = &sentinel{"mpsync: barrier is broken", nil}

	// ErrTypeMismatch is returned when an object is opened as a kind or
	// type other than the one it was created as.
	ErrTypeMismatch error = &sentinel{"mpsync: object kind or type mismatch", nil}

	// ErrArenaFull is returned when an arena has no room for an object,
	// or its name table no room for a name. It matches syscall.ENOSPC.
	ErrArenaFull error = &sentinel{"mpsync: arena is full", syscall.ENOSPC}

	// ErrMapLimit is returned when one more mapping would bring the
	// process too close to the kernel's limit (vm.max_map_count). It
	// matches syscall.ENOMEM.
	ErrMapLimit error = &sentinel{"mpsync: too many mappings (vm.max_map_count)", syscall.ENOMEM}
)

// byErrno maps the errnos that libmpsync uses for its own conditions to
// the sentinels above. Errnos not listed keep their plain syscall meaning.
var byErrno = map[syscall.Errno]error{
	syscall.EINVAL:          fs.ErrInvalid, // syscall.Errno.Is does not match it
	syscall.EBADMSG:         ErrCorrupt,
	syscall.EPROTONOSUPPORT: ErrVersion,
	syscall.EOWNERDEAD:      ErrOwnerDead,
	syscall.ENOTRECOVERABLE: ErrNotRecoverable,
}

// Errno is an errno together with the mpsync sentinel it stands for:
// errors.Is matches both the sentinel and, through Unwrap, the
// syscall.Errno (and so fs.ErrExist, fs.ErrNotExist, fs.ErrPermission).
type Errno struct {
	Errno    syscall.Errno
	Sentinel error // nil if the errno has no mpsync meaning
}

func (e *Errno) Error() string {
	if e.Sentinel != nil {
		return e.Sentinel.Error()
	}
	return e.Errno.Error()
}

// Is reports whether target is e's sentinel or one that it wraps.
func (e *Errno) Is(target error) bool { return e.Sentinel != nil && errors.Is(e.Sentinel, target) }

// Unwrap returns the errno.
func (e *Errno) Unwrap() error { return e.Errno }

// FromErrno turns a (positive) errno into an error: an *Errno carrying the
// sentinel for libmpsync's own codes, the bare syscall.Errno otherwise.
// Zero gives nil.
func FromErrno(errno syscall.Errno) error {
	if errno == 0 {
		return nil
	}
	if s, ok := byErrno[errno]; ok {
		return &Errno{Errno: errno, Sentinel: s}
	}
	return errno
}

// ArgError reports a bad argument: which call, which argument, and why. It
// matches fs.ErrInvalid, and its Errno (when set) through Unwrap.
type ArgError struct {
	Op     string        // the call, e.g. "shm.Create"
	Arg    string        // the argument, e.g. "name"
	Reason string        // why it was refused
	Errno  syscall.Errno // a more precise errno, e.g. ENAMETOOLONG, or 0
}

func (e *ArgError) Error() string { return e.Op + ": bad " + e.Arg + ": " + e.Reason }

// Is matches fs.ErrInvalid.
func (e *ArgError) Is(target error) bool { return target == fs.ErrInvalid }

// Unwrap returns the errno, if any.
func (e *ArgError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// Invalid returns an *ArgError for op's argument arg, with a reason made
// from format and args.
func Invalid(op, arg, format string, args ...any) error {
	return &ArgError{Op: op, Arg: arg, Reason: fmt.Sprintf(format, args...)}
}

// Relabel returns err as the error of op, the public call the user made,
// when a lower layer (shm, an arena, a name check) reported it under its
// own name: an *fs.PathError or an *ArgError gets op as its Op and keeps
// the rest; any other error that does not start with op already is
// wrapped as "op: err". nil stays nil.
func Relabel(op string, err error) error { return RelabelPath(op, err, nil) }

// RelabelPath is Relabel that also renames the path of an *fs.PathError:
// rename, when not nil, maps the lower layer's path to the name the user
// knows (a named semaphore's file "sem.x" to "x").
func RelabelPath(op string, err error, rename func(path string) string) error {
	switch e := err.(type) {
	case nil:
		return nil
	case *fs.PathError:
		path := e.Path
		if rename != nil {
			path = rename(path)
		}
		return &fs.PathError{Op: op, Path: path, Err: e.Err}
	case *ArgError:
		relabeled := *e
		relabeled.Op = op
		return &relabeled
	}
	if msg := err.Error(); len(msg) > len(op) && msg[:len(op)] == op && (msg[len(op)] == ' ' || msg[len(op)] == ':') {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
