// Package handle is the part that every public object type of mpsync
// shares: this process's handle of a shared resource (an mpsync object or
// a segment), with its closed flag, and the Name, Close and Unlink that
// act on it. Each public type holds a Handle as a named field and writes
// its own Name, Close and Unlink, documented for that type, on top.
package handle

import (
	"sync/atomic"

	"github.com/mpsync/mpsync/internal/errs"
)

// Resource is what a handle holds open: *object.Object or *shm.Segment.
type Resource interface {
	Name() string
	Close() error
	Unlink() error
}

// Handle is one process's handle of a Resource. Set Res when making it
// (handle.Handle{Res: r}); it must not be copied after.
type Handle struct {
	Res    Resource
	closed atomic.Bool
}

// Name returns the resource's name.
func (h *Handle) Name() string { return h.Res.Name() }

// Close closes the resource the first time it is called and returns nil
// after: Close is idempotent.
func (h *Handle) Close() error { return h.CloseWith(nil) }

// CloseWith is Close that, the first time, runs retire (if not nil) once
// the handle is marked closed and before the resource is closed: for what
// must stop using the memory first (a lock's fast path).
func (h *Handle) CloseWith(retire func()) error {
	if h.closed.Swap(true) {
		return nil
	}
	if retire != nil {
		retire()
	}
	return h.Res.Close()
}

// Unlink removes the resource's name; it works after Close.
func (h *Handle) Unlink() error { return h.Res.Unlink() }

// Closed reports whether Close was called.
func (h *Handle) Closed() bool { return h.closed.Load() }

// Check returns errs.ErrClosed after Close, nil before.
func (h *Handle) Check() error {
	if h.closed.Load() {
		return errs.ErrClosed
	}
	return nil
}
