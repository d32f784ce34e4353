package shm

import "github.com/mpsync/mpsync/internal/errs"

// ErrClosed is returned by methods that need the mapping when they are
// called after Close. It matches [fs.ErrClosed], and it is the same value
// as the ErrClosed of mpsync's other packages.
var ErrClosed = errs.ErrClosed

// ErrTruncated is returned by ReadAt and WriteAt when another process has
// truncated the segment's file below this mapping's size, so that the
// range they copy has no memory behind it. It matches
// [io.ErrUnexpectedEOF]; part of the range may have been copied.
var ErrTruncated = errs.ErrTruncated
