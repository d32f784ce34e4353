package shm

import "io/fs"

// Option configures Create.
type Option func(*options)

type options struct {
	mode fs.FileMode
}

// WithMode sets the permission bits of a new segment's file. The default
// is 0600: only the creating user may open it. Bits other than permissions
// are refused.
func WithMode(perm fs.FileMode) Option {
	return func(o *options) { o.mode = perm }
}
