package shm

import "github.com/mpsync/mpsync/internal/errs"

// ErrClosed is returned by methods that need the mapping when they are
// called after Close. It matches [fs.ErrClosed], and it is the same value
// as the [ErrClosed] of mpsync's other packages.
var ErrClosed = errs.ErrClosed

// ErrTruncated is returned by ReadAt and WriteAt when another process has
// truncated the segment's file below this mapping's size, so that the
// range they copy has no memory behind it. It matches
// [io.ErrUnexpectedEOF]; part of the range may have been copied.
var ErrTruncated = errs.ErrTruncated

// ErrNotReady is returned when an object is opened (by semaphore.Open*,
// ctypes.Open*, OpenArena or an arena-qualified name) before its creator
// has finished making it, or after the creator died making it: opening
// waits for it briefly first. It is the same value in every package of
// mpsync.
var ErrNotReady = errs.ErrNotReady

// ErrVersion is returned when an object or an arena was
// written with a layout version this build of mpsync does not know (by a
// newer mpsync, in Go, C or Python). It is the same value in every
// package of mpsync.
var ErrVersion = errs.ErrVersion
