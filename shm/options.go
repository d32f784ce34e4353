package shm

import "io/fs"

// Option configures Create.
type Option func(*options)

type options struct {
	mode      fs.FileMode
	init      func([]byte) error
	reserve   bool
	untracked bool
	prefix    string // of a random name; "" for ShmPrefix
	names     int    // NewArena's MaxNames
}

// WithMode sets the permission bits of a new segment's file. The default
// is 0600: only the creating user may open it. Bits other than permissions
// are refused.
func WithMode(perm fs.FileMode) Option {
	return func(o *options) { o.mode = perm }
}

// WithInit makes Create publish the segment only once init has filled it:
// the segment is created without a name, mapped, passed to init, and then
// linked under its name in one atomic step, so no other process can ever
// open it half-initialised. If init returns an error, Create returns it
// and nothing is left behind. init's slice is the segment's memory, the
// same as Bytes returns. WithInit implies [Reserve]: init may write
// anywhere in the segment, and must never fault for want of room.
func WithInit(init func(mem []byte) error) Option {
	return func(o *options) { o.init = init }
}

// Reserve makes Create allocate the segment's memory in /dev/shm at once
// (fallocate), instead of page by page as the segment is first written.
// A /dev/shm without room for it is then an error from Create matching
// [syscall.ENOSPC], leaving nothing behind, and no write to the segment,
// in any process, can ever fault for want of room. The price is paid up
// front: the memory is taken, and zeroed, by Create (one system call for
// a 4 KiB segment). The default is a sparse segment (see [Create]).
func Reserve() Option {
	return func(o *options) { o.reserve = true }
}

// Untracked keeps a new segment out of the resource tracker, so that it
// outlives its creator even when nobody else uses it (see package
// resourcetracker). The default is tracked: once every process that
// created or opened the segment is gone, the tracker unlinks it.
func Untracked() Option {
	return func(o *options) { o.untracked = true }
}

// RandomPrefix makes the random name Create gives a segment when its name
// is "" start with prefix instead of "psm_"; 16 random hex digits follow.
// The prefix must be a valid start of a name (no '/' after an optional
// leading one, no NUL) and leave room for the digits. With a name given,
// it is an error.
func RandomPrefix(prefix string) Option {
	return func(o *options) { o.prefix = prefix }
}
