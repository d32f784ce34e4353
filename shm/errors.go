package shm

import "github.com/mpsync/mpsync/internal/errs"

// ErrClosed is returned by methods that need the mapping when they are
// called after Close. It matches [fs.ErrClosed], and it is the same value
// as the ErrClosed of mpsync's other packages.
var ErrClosed = errs.ErrClosed
