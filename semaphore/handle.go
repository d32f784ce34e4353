package semaphore

import (
	"fmt"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/object"
	"github.com/mpsync/mpsync/shm"
)

// Option configures the creation of an object.
type Option func(options) options

type options struct {
	name      string
	untracked bool
	arena     *shm.Arena
}

// WithName gives a new object a chosen name (1 to 251 bytes, an optional
// leading slash, no other slash) instead of a random one. Creation is
// exclusive: an existing name is an error matching fs.ErrExist.
func WithName(name string) Option { return func(o options) options { o.name = name; return o } }

// Untracked keeps a new object out of the resource tracker, so that it
// outlives its creator even when no other process uses it; by default,
// once every process that created or opened it is gone, it is unlinked.
func Untracked() Option { return func(o options) options { o.untracked = true; return o } }

// In creates the object inside the arena a (see shm.NewArena) instead of
// as a segment of its own: no file, no mapping and no system call of its
// own, and about 100 bytes of shared memory for a Lock. With WithName it
// is named in the arena (1 to 251 bytes, no '/', not starting with '#')
// and opened from any process as "<arena>/<name>"; without, Name returns
// its handle, "<arena>/#<offset>.<generation>", which opens it the same
// way. The object behaves as a standalone one (robustness, type checks,
// cancellation); Unlink frees it, and its memory is reused: another
// process must not use it after that (opening a freed object's name or
// handle is an error matching fs.ErrNotExist, but a handle already open
// is not told). Untracked has no effect: the arena is tracked as a whole.
func In(a *shm.Arena) Option { return func(o options) options { o.arena = a; return o } }

// sameArena returns In of the arena opts name, if any, for an object made
// alongside another (a Condition's own RLock).
func sameArena(opts []Option) []Option {
	if a := applyOptions(opts).arena; a != nil {
		return []Option{In(a)}
	}
	return nil
}

func applyOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		o = opt(o)
	}
	return o
}

// create makes an object of kind with a payload of payload bytes (8-byte
// aligned) and, if withLock, a lock area. An object in an arena is into,
// if not nil: a zero Object inside the caller's handle (see
// object.CreateIn).
func create(op string, kind int, payload uint64, withLock bool, opts []Option, into *object.Object, init func(*object.Object) error) (*object.Object, error) {
	o := applyOptions(opts)
	spec := csrc.ObjectSpec{Kind: kind, WithLock: withLock}
	if payload > 0 {
		spec.Count, spec.ElemSize = 1, payload
	}
	if o.arena != nil {
		if into == nil {
			into = new(object.Object)
		}
		return object.CreateIn(op, o.arena, o.name, &spec, into, init) // spec stays on the stack
	}
	standalone := spec // escapes
	return object.Create(op, o.name, &standalone, o.untracked, init)
}

// open opens name as one of kinds and checks that it has the payload size
// and lock area its kind needs (the header is untrusted).
func open(op, name string, minPayload uint64, withLock bool, kinds ...int) (*object.Object, error) {
	obj, err := object.Open(op, name, kinds...)
	if err != nil {
		return nil, err
	}
	if obj.Info.PayloadSize < minPayload || withLock && obj.Info.LockOffset == 0 {
		obj.Close()
		return nil, fmt.Errorf("%s %s: payload or lock area too small for a %s: %w", op, obj.Name(), csrc.KindName(obj.Info.Kind), errs.ErrCorrupt)
	}
	return obj, nil
}
