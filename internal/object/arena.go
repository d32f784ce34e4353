package object

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/arena"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/shm"
)

// CreateIn makes a new object described by spec in the arena a, named
// name or anonymous (name ""). The object has the compact lock area if it
// is a value or an array, the full one otherwise. init fills the lock
// area and payload under the arena's lock; the object can be opened once
// it is complete. The Object is into, a zero Object that the caller may
// hold inside its own handle (a million handles then make a million
// allocations fewer); it must not be copied.
func CreateIn(op string, a *shm.Arena, name string, spec *csrc.ObjectSpec, into *Object, init func(o *Object) error) (*Object, error) {
	h, err := arena.Acquire(a.Name())
	if err != nil {
		return nil, errs.Relabel(op, err)
	}
	s := arena.Spec{Kind: spec.Kind, Name: name, Format: spec.Format, ElemSize: spec.ElemSize,
		Align: uint64(spec.ElemAlign), Count: spec.Count}
	if spec.WithLock {
		s.Lock = arena.FullLock
		if spec.Kind == csrc.KindValue || spec.Kind == csrc.KindArray {
			s.Lock = arena.CompactLock
		}
	}
	o := into
	o.heap, o.inName = h, name
	var in arena.Info
	err = h.Alloc(op, s, &in, func(block []byte) error {
		o.fill(block, &in)
		if init != nil {
			return init(o)
		}
		return nil
	})
	if err != nil {
		h.Release()
		return nil, err
	}
	return o, nil
}

// fill describes the arena block in for the users of Object.
func (o *Object) fill(block []byte, in *arena.Info) {
	o.off, o.gen = in.Off, in.Gen
	o.mem = block
	o.lockSize = int32(in.LockSize)
	o.Info = csrc.ObjectInfo{Kind: in.Kind, Version: csrc.LayoutVersion, HeaderSize: 16, Count: in.Count,
		ElemSize: in.ElemSize, PayloadOffset: in.PayloadOff, PayloadSize: in.PayloadSize(),
		LockOffset: int(in.LockOff), Format: in.Format}
}

// openIn opens the object called obj (a name or a handle) in the arena
// called an, as one of kinds; name is the whole of it, as given.
func openIn(op, name, an, obj string, kinds []int) (*Object, error) {
	off, gen, isHandle := arena.ParseHandle(obj)
	if !isHandle {
		if err := arena.CheckName(op, obj); err != nil {
			return nil, err
		}
	}
	h, err := arena.Acquire(an)
	if err != nil {
		return nil, errs.Relabel(op, err)
	}
	if !isHandle {
		off, gen, err = h.Lookup(obj)
	}
	o := &Object{heap: h, name: name}
	var in arena.Info
	if err == nil {
		err = h.Describe(off, gen, &in)
	}
	if err == nil {
		err = checkKind(op, name, in.Kind, kinds)
	}
	if err != nil {
		h.Release()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		if errors.Is(err, errs.ErrTypeMismatch) {
			return nil, err
		}
		return nil, fmt.Errorf("%s %s: %w", op, name, err)
	}
	o.fill(h.Block(&in), &in)
	return o, nil
}

// unlinkIn frees an object in an arena.
func unlinkIn(o *Object) error {
	h := o.heap
	if !h.Retain() { // closed, and the arena unmapped since: map it again
		var err error
		if h, err = arena.Acquire(o.heap.Name()); err != nil {
			return errs.Relabel("unlink", err)
		}
	}
	defer h.Release()
	if err := h.Free("unlink", o.off, o.gen); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &fs.PathError{Op: "unlink", Path: o.Name(), Err: fs.ErrNotExist}
		}
		return err
	}
	return nil
}
