package arena

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/errs"
)

// sample returns a small arena in process memory holding a few objects
// of several kinds, named and anonymous, one of them freed.
func sample(t testing.TB) []byte {
	h := inMemory(t, "sample", MinSize(64)+8192, 64)
	specs := []Spec{
		{Kind: csrc.KindLock, Name: "lock", Lock: FullLock},
		{Kind: csrc.KindValue, Format: "q", ElemSize: 8, Count: 1, Lock: CompactLock},
		{Kind: csrc.KindArray, Name: "arr", Format: "d", ElemSize: 8, Count: 5, Lock: CompactLock},
		{Kind: csrc.KindEvent, Name: "gone", ElemSize: 8, Count: 1, Lock: FullLock},
	}
	var last Info
	for _, s := range specs {
		if err := h.Alloc("sample", s, &last, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Free("sample", last.Off, last.Gen); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Check("sample"); err != nil {
		t.Fatal(err)
	}
	return h.Mem()
}

// inMemory formats an arena of size bytes with nameSlots name slots in
// process memory and attaches a Heap to it.
func inMemory(t testing.TB, name string, size, nameSlots uint64) *Heap {
	mem := make([]byte, size)
	noReserve := func(off, n int64) error { return nil }
	if err := Format(mem, nameSlots, noReserve); err != nil {
		t.Fatal(err)
	}
	h, err := Attach(name, mem, noReserve, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// FuzzArena corrupts an arena (each 5 bytes of input: a 32-bit offset
// into the arena's tables and first blocks, and the byte written there)
// and then uses it every way a process can: attach, look names and
// handles up, describe, allocate, free, check. None of it may panic or
// hang, and attaching fails only with a corruption or version error
// (or EAGAIN: a header not published).
func FuzzArena(f *testing.F) {
	base := sample(f)
	f.Add([]byte{})
	f.Add([]byte{0, 0x10, 0, 0, 0xff})                                          // control block magic
	f.Add(binary.LittleEndian.AppendUint32(nil, ctlOff+cBump))                  // bump pointer
	f.Add(append(binary.LittleEndian.AppendUint32(nil, ctlOff+cHeads+8), 0x40)) // a free list head
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := append([]byte(nil), base...)
		_, _, heapStart := tables(64)
		for ; len(data) >= 5; data = data[5:] {
			off := int(binary.LittleEndian.Uint32(data) % uint32(heapStart+4096))
			if off >= lockOff && off < lockOff+8 {
				continue // the lock word is package robust's to test
			}
			mem[off] = data[4]
		}
		noReserve := func(off, n int64) error { return nil }
		h, err := Attach("fuzz", mem, noReserve, func() error { return nil })
		if err != nil {
			if !errors.Is(err, errs.ErrCorrupt) && !errors.Is(err, errs.ErrVersion) && !errors.Is(err, errs.ErrTypeMismatch) && !errors.Is(err, syscall.EAGAIN) {
				t.Fatalf("Attach: %v", err)
			}
			return
		}
		for _, name := range []string{"lock", "arr", "gone", "nope"} {
			if off, gen, err := h.Lookup(name); err == nil {
				var in Info
				h.Describe(off, gen, &in)
			}
		}
		for off := heapStart; off < heapStart+512; off += unit {
			for gen := uint32(0); gen < 3; gen++ {
				var in Info
				if err := h.Describe(uint64(off), gen, &in); err == nil {
					b := h.Block(&in)
					h.BlockName(&in)
					_ = b[in.PayloadOff+in.PayloadSize()-1+1-1]
					if in.LockSize > 0 {
						_ = b[in.LockOff+in.LockSize-1]
					}
					h.Free("fuzz", in.Off, in.Gen)
				}
			}
		}
		for i := range 4 {
			var in Info
			h.Alloc("fuzz", Spec{Kind: csrc.KindValue, Name: fmt.Sprint("n", i), Format: "q", ElemSize: 8, Count: 1, Lock: CompactLock}, &in, nil)
		}
		h.Check("fuzz")
		h.Stats()
	})
}
