// Package object creates and opens mpsync objects: named segments that
// start with the object header of mpsync.h (csrc), followed by an optional
// lock area, the element format and the payload; or blocks of an arena
// (package internal/arena), named "arena/object". The semaphore and
// ctypes packages build every shared object on it.
package object

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/arena"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/shm"
)

// Object is an open mpsync object.
type Object struct {
	seg  *shm.Segment
	mem  []byte // the segment, or the arena block
	Info csrc.ObjectInfo

	// An object in an arena has heap, not seg: its block and generation,
	// and its name in the arena if it was created with one (only what
	// Name and Unlink need: a million handles are a million of these).
	heap     *arena.Heap
	off      uint64
	gen      uint32
	lockSize int32 // of the lock area (beside gen: a million handles)
	inName   string
	name     string // as opened, or "" for Name to make
}

// Prefix returns the prefix of random names for objects of kind, such as
// "mps_lock_": one prefix per kind, so that listings can tell them apart.
func Prefix(kind int) string { return names.ObjectPrefix + csrc.KindTag(kind) + "_" }

// Create makes a new object described by spec under name (a random name
// with the kind's prefix if name is ""). init fills the lock area and
// payload; the object becomes visible by name only once it is complete.
// An untracked object is kept out of the resource tracker.
func Create(op, name string, spec *csrc.ObjectSpec, untracked bool, init func(o *Object) error) (*Object, error) {
	size, err := csrc.ObjectSize(spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	o := &Object{lockSize: csrc.LockAreaSize}
	fill := func(mem []byte) error {
		info, err := csrc.InitHeader(mem, spec)
		if err != nil {
			return err
		}
		o.mem, o.Info = mem, info
		if init != nil {
			if err := init(o); err != nil {
				return err
			}
		}
		return csrc.PublishHeader(mem)
	}
	opts := []shm.Option{shm.WithInit(fill)}
	if name == "" {
		opts = append(opts, shm.RandomPrefix(Prefix(spec.Kind)))
	}
	if untracked {
		opts = append(opts, shm.Untracked())
	}
	if o.seg, err = shm.Create(name, int(size), opts...); err != nil {
		return nil, errs.Relabel(op, err)
	}
	return o, nil
}

// Open opens the object called name and checks that it is of one of the
// kinds given. A segment that is not an mpsync object, or whose header
// fails validation, is an error matching errs.ErrCorrupt; an object of
// another kind matches errs.ErrTypeMismatch and names both kinds. An
// object whose creator has not finished is waited for, briefly.
func Open(op, name string, kinds ...int) (*Object, error) {
	if a, obj, ok := arena.Split(name); ok {
		return openIn(op, name, a, obj, kinds)
	}
	seg, err := shm.Open(name)
	if err != nil {
		return nil, errs.Relabel(op, err)
	}
	mem := seg.Bytes()
	var info csrc.ObjectInfo
	for wait := time.Millisecond; ; wait *= 2 {
		info, err = csrc.ValidateHeader(mem)
		if !errors.Is(err, syscall.EAGAIN) || wait > 100*time.Millisecond {
			break
		}
		time.Sleep(wait)
	}
	if errors.Is(err, syscall.EAGAIN) {
		err = errs.ErrNotReady
	}
	if err != nil {
		seg.Close()
		return nil, fmt.Errorf("%s %s: %w", op, seg.Name(), err)
	}
	if err := checkKind(op, seg.Name(), info.Kind, kinds); err != nil {
		seg.Close()
		return nil, err
	}
	return &Object{seg: seg, mem: mem, Info: info, lockSize: csrc.LockAreaSize}, nil
}

// checkKind returns ErrTypeMismatch, naming both kinds, unless kind is one
// of kinds.
func checkKind(op, name string, kind int, kinds []int) error {
	for _, k := range kinds {
		if kind == k {
			return nil
		}
	}
	return fmt.Errorf("%s %s: it is a %s, not a %s: %w", op, name, csrc.KindName(kind), csrc.KindName(kinds[0]), errs.ErrTypeMismatch)
}

// Name returns the object's name, without a slash: for an object in an
// arena, "arena/name" or its handle "arena/#offset.gen".
func (o *Object) Name() string {
	switch {
	case o.heap == nil:
		return o.seg.Name()
	case o.name != "":
		return o.name
	case o.inName != "":
		return o.heap.Name() + "/" + o.inName
	}
	in := arena.Info{Off: o.off, Gen: o.gen}
	return in.Handle(o.heap.Name())
}

// LockArea returns the object's lock area, or nil if it has none: 64
// bytes, or robust.CompactSize for the compact lock of a value or array
// in an arena.
func (o *Object) LockArea() []byte {
	if o.Info.LockOffset == 0 {
		return nil
	}
	return o.mem[o.Info.LockOffset : o.Info.LockOffset+int(o.lockSize)]
}

// Payload returns the object's payload.
func (o *Object) Payload() []byte {
	return o.mem[o.Info.PayloadOffset : o.Info.PayloadOffset+o.Info.PayloadSize]
}

// Close unmaps the object (for an object in an arena, releases this
// process's mapping of the arena, unmapped with its last user). Memory
// handed out by LockArea and Payload stays safe to touch (it reads zeros
// once unmapped) but no longer reaches the object.
func (o *Object) Close() error {
	if o.heap != nil {
		return o.heap.Release()
	}
	return o.seg.Close()
}

// Unlink removes the object's name. An object in an arena is freed: its
// name is removed and its memory reused.
func (o *Object) Unlink() error {
	if o.heap != nil {
		return unlinkIn(o)
	}
	return o.seg.Unlink()
}
