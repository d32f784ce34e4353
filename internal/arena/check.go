package arena

import (
	"fmt"

	"github.com/mpsync/mpsync/internal/errs"
)

// Check walks the whole arena under its lock (after replaying the journal
// of a holder that died) and returns the first inconsistency, as an error
// matching errs.ErrCorrupt: every block between the heap's start and the
// bump pointer is free or ready, each free list holds exactly the free
// blocks of its class, once each, every name slot leads to a live object
// of that name that a lookup finds, and the counters agree with the walk.
func (h *Heap) Check(op string) (Stats, error) {
	if err := h.lockArena(op); err != nil {
		return Stats{}, err
	}
	defer h.unlockArena()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: arena %s: %s: %w", op, h.name, fmt.Sprintf(format, args...), errs.ErrCorrupt)
	}
	bump := h.c64(cBump).Load()
	if bump < h.heapStart || bump > h.heapEnd || bump%unit != 0 || h.c64(cReserved).Load() < bump {
		return Stats{}, bad("bump pointer %#x outside the reserved heap", bump)
	}
	free := map[uint64]uint32{} // free block -> class
	var live, used, named uint64
	for off := h.heapStart; off < bump; {
		state, class, _, nameLen := splitMeta(h.u32(off + bMeta).Load())
		if class >= NumClasses || off+classSizes[class] > bump {
			return Stats{}, bad("block %#x: class %d runs past the bump pointer", off, class)
		}
		switch state {
		case stateFree:
			free[off] = class
		case stateReady:
			var in Info
			if err := h.Describe(off, h.u32(off+bGen).Load(), &in); err != nil {
				return Stats{}, bad("block %#x: %v", off, err)
			}
			live++
			used += classSizes[class]
			if nameLen > 0 {
				named++
			}
		default:
			return Stats{}, bad("block %#x in state %d", off, state)
		}
		off += classSizes[class]
	}
	listed := 0
	for c := range uint64(NumClasses) {
		for off, n := h.c64(cHeads+8*c).Load(), 0; off != 0; off, n = h.u64(off+bNext).Load(), n+1 {
			cl, ok := free[off]
			if !ok || uint64(cl) != c || n > len(free) {
				return Stats{}, bad("free list %d: %#x is not a free block of its class (or a cycle)", c, off)
			}
			free[off] = NumClasses // seen
			listed++
		}
	}
	if listed != len(free) {
		return Stats{}, bad("%d free blocks, %d on free lists", len(free), listed)
	}
	var names uint64
	for i := range h.nameSlots {
		s := h.slot(i).Load()
		if s == slotEmpty || s == slotTomb {
			continue
		}
		off := h.slotBlock(s)
		if !h.isBlock(off) {
			return Stats{}, bad("name slot %d leads to %#x, outside the heap", i, off)
		}
		var in Info
		err := h.Describe(off, h.u32(off+bGen).Load(), &in)
		name := h.BlockName(&in)
		if err != nil || name == "" {
			return Stats{}, bad("name slot %d leads to %#x, not a named object", i, off)
		}
		if found, _, at, _ := h.probe(name); found != in.Off || uint64(at) != i {
			return Stats{}, bad("name %q in slot %d is not found by a lookup", name, i)
		}
		names++
	}
	if names != named || uint64(h.c32(cNames).Load()) != names {
		return Stats{}, bad("%d named objects, %d names in the table, counter %d", named, names, h.c32(cNames).Load())
	}
	if h.c64(cObjects).Load() != live || h.c64(cUsed).Load() != used {
		return Stats{}, bad("counters say %d objects in %d bytes, the walk %d in %d",
			h.c64(cObjects).Load(), h.c64(cUsed).Load(), live, used)
	}
	return h.Stats(), nil
}
