package arena

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/robust"
)

// Heap is one process's view of an arena: its mapping and the allocator
// working on it. It is safe for concurrent use; every change to the
// arena is made under the arena's robust lock.
type Heap struct {
	name    string
	mem     []byte
	base    unsafe.Pointer
	lock    *robust.Lock
	reserve func(off, n int64) error // allocates [off, off+n) in /dev/shm
	close   func() error
	refs    int // under tableMu

	// formats caches the type table's formats, which never change once
	// counted, so that opening an object allocates no string for it.
	formats atomic.Pointer[[]string]

	// mapped has a bit for each mapChunk bytes of the segment that this
	// process has populated (see touch).
	mapped []atomic.Uint64

	// Checked at Attach; the arena never changes them.
	size, heapStart, heapEnd, namesOff, typesOff uint64
	nameSlots, typeSlots                         uint64
	// A name slot holds a block's offset/unit in its low tagShift bits and
	// the name's tag (hash bits) above them, under tagMask; see tagOf.
	tagShift uint
	tagMask  uint32
}

// Spec describes an object to allocate.
type Spec struct {
	Kind     int    // csrc.Kind*
	Name     string // "" for an anonymous object
	Format   string // element format
	ElemSize uint64
	Align    uint64 // a power of two, at most MaxAlign; 0 means 8
	Count    uint64
	Lock     uint64 // 0, FullLock or CompactLock
}

// Info is an allocated object's checked layout. Offsets are from the
// start of its block.
type Info struct {
	Off        uint64 // the block, from the start of the segment
	Gen        uint32
	Size       uint64 // of the block
	Kind       int
	Name       string // set by Alloc; see BlockName
	Format     string
	ElemSize   uint64
	Count      uint64
	LockOff    uint64 // 0: none
	LockSize   uint64
	PayloadOff uint64

	nameLen uint64 // set by Describe
}

// PayloadSize is Count * ElemSize.
func (in *Info) PayloadSize() uint64 { return in.Count * in.ElemSize }

// Handle returns the string that opens this object from any process:
// "arena/#<offset>.<generation>" (hex).
func (in *Info) Handle(arena string) string {
	return fmt.Sprintf("%s/#%x.%x", arena, in.Off, in.Gen)
}

// Stats counts an arena's use.
type Stats struct {
	Size    int // bytes of the segment
	Heap    int // bytes for objects (the segment less the tables)
	Used    int // bytes of live blocks
	Free    int // bytes not in live blocks: never used, or freed for reuse
	Objects int // live objects
	Names   int // live names
	MaxName int // names the name table takes before it is full

	// Recovered counts the times the allocator's lock was taken over
	// from a holder that died (its journal replayed, if it had one).
	Recovered int
}

func (h *Heap) u32(off uint64) *atomic.Uint32 { return (*atomic.Uint32)(unsafe.Add(h.base, off)) }
func (h *Heap) u64(off uint64) *atomic.Uint64 { return (*atomic.Uint64)(unsafe.Add(h.base, off)) }
func (h *Heap) c32(f uint64) *atomic.Uint32   { return h.u32(ctlOff + f) }
func (h *Heap) c64(f uint64) *atomic.Uint64   { return h.u64(ctlOff + f) }

// set32 and set64 store to control block field f without an atomic
// instruction: for what only the allocator lock's holders read (see
// Alloc). The lock's release, or the next atomic store, orders them.
func (h *Heap) set32(f uint64, v uint32) { *(*uint32)(unsafe.Add(h.base, ctlOff+f)) = v }
func (h *Heap) set64(f uint64, v uint64) { *(*uint64)(unsafe.Add(h.base, ctlOff+f)) = v }

// Name returns the arena's segment name.
func (h *Heap) Name() string { return h.name }

// Mem returns the arena's mapping.
func (h *Heap) Mem() []byte { return h.mem }

// tables returns where the type and name tables and the heap go in an
// arena of size bytes with nameSlots slots.
func tables(nameSlots uint64) (typesOff, namesOff, heapStart uint64) {
	typesOff = ctlOff + align(cHeads+8*NumClasses, 64)
	namesOff = align(typesOff+DefaultTypes*typeSize, 64)
	heapStart = align(namesOff+4*nameSlots, 4096)
	return
}

// SlotsFor returns the name table slots for up to names names: a power of
// two at least 4/3 of it (the table is full at 3/4), at least 64.
func SlotsFor(names int) uint64 {
	n := max(uint64(names)+uint64(names)/3+1, 64)
	return 1 << bits.Len64(n-1)
}

// MinSize is the smallest arena with nameSlots slots: its tables and one
// page of heap.
func MinSize(nameSlots uint64) uint64 {
	_, _, start := tables(nameSlots)
	return start + 4096
}

// Format lays out a new, empty arena in mem, a fresh zeroed mapping of
// the whole segment, with a name table of nameSlots slots (SlotsFor). It
// allocates the header and tables with reserve first, and publishes the
// header last.
func Format(mem []byte, nameSlots uint64, reserve func(off, n int64) error) error {
	size := uint64(len(mem))
	if nameSlots == 0 || nameSlots&(nameSlots-1) != 0 || nameSlots > 1<<31 {
		return fmt.Errorf("name table of %d slots: %w", nameSlots, fs.ErrInvalid)
	}
	typesOff, namesOff, heapStart := tables(nameSlots)
	if size < heapStart+4096 || size > 1<<36 {
		return fmt.Errorf("%d bytes: an arena with %d name slots takes %d to %d: %w", size, nameSlots, heapStart+4096, uint64(1)<<36, fs.ErrInvalid)
	}
	if err := reserve(0, int64(heapStart)); err != nil {
		return err
	}
	spec := &csrc.ObjectSpec{Kind: csrc.KindArena, Count: size - ctlOff, ElemSize: 1, ElemAlign: ctlOff, WithLock: true}
	info, err := csrc.InitHeader(mem, spec)
	if err != nil {
		return err
	}
	if info.PayloadOffset != ctlOff || info.LockOffset != lockOff {
		return fmt.Errorf("arena header laid out at %d/%d: %w", info.PayloadOffset, info.LockOffset, errs.ErrCorrupt)
	}
	h := &Heap{base: unsafe.Pointer(&mem[0])}
	h.c64(cMagic).Store(ctlMagic)
	h.c32(cVersion).Store(version)
	h.c32(cClasses).Store(NumClasses)
	h.c64(cSize).Store(size)
	h.c32(cNameSlots).Store(uint32(nameSlots))
	h.c32(cTypeSlots).Store(DefaultTypes)
	h.c64(cNamesOff).Store(namesOff)
	h.c64(cTypesOff).Store(typesOff)
	h.c64(cHeapStart).Store(heapStart)
	h.c64(cHeapEnd).Store(size &^ (unit - 1))
	h.c64(cBump).Store(heapStart)
	h.c64(cReserved).Store(heapStart)
	return csrc.PublishHeader(mem)
}

// Attach checks the arena in mem (untrusted: another process wrote it)
// and returns a Heap working on it. name is for messages.
func Attach(name string, mem []byte, reserve func(off, n int64) error, close func() error) (*Heap, error) {
	info, err := csrc.ValidateHeader(mem)
	if err != nil {
		return nil, err
	}
	if info.Kind != csrc.KindArena {
		return nil, fmt.Errorf("it is a %s, not an arena: %w", csrc.KindName(info.Kind), errs.ErrTypeMismatch)
	}
	size := uint64(len(mem))
	if info.PayloadOffset != ctlOff || info.LockOffset != lockOff || size < ctlOff+4096 {
		return nil, fmt.Errorf("arena header out of place: %w", errs.ErrCorrupt)
	}
	h := &Heap{name: name, mem: mem, base: unsafe.Pointer(&mem[0]), reserve: reserve, close: close, size: size}
	if h.c64(cMagic).Load() != ctlMagic || h.c32(cClasses).Load() != NumClasses {
		return nil, fmt.Errorf("arena control block: bad magic or classes: %w", errs.ErrCorrupt)
	}
	if v := h.c32(cVersion).Load(); v != version {
		return nil, fmt.Errorf("arena made with layout version %d; this mpsync reads version %d only: %w", v, version, errs.ErrVersion)
	}
	h.nameSlots = uint64(h.c32(cNameSlots).Load())
	h.typeSlots = uint64(h.c32(cTypeSlots).Load())
	h.namesOff, h.typesOff = h.c64(cNamesOff).Load(), h.c64(cTypesOff).Load()
	h.heapStart, h.heapEnd = h.c64(cHeapStart).Load(), h.c64(cHeapEnd).Load()
	typesOff, namesOff, heapStart := tables(h.nameSlots)
	if h.c64(cSize).Load() != size || h.nameSlots == 0 || h.nameSlots&(h.nameSlots-1) != 0 ||
		h.nameSlots > 1<<31 || h.typeSlots != DefaultTypes || h.typesOff != typesOff ||
		h.namesOff != namesOff || h.heapStart != heapStart || h.heapEnd != size&^(unit-1) || heapStart >= h.heapEnd {
		return nil, fmt.Errorf("arena control block: tables out of place: %w", errs.ErrCorrupt)
	}
	h.tagShift, h.tagMask = tagLayout(h.heapEnd)
	h.lock = robust.New(mem[lockOff : lockOff+robust.AreaSize])
	h.mapped = make([]atomic.Uint64, (size/mapChunk+64)/64)
	return h, nil
}

// bump returns the bump pointer, clamped into the heap.
func (h *Heap) bump() uint64 {
	return min(max(h.c64(cBump).Load(), h.heapStart), h.heapEnd)
}

// isBlock reports whether off can be the start of a block.
func (h *Heap) isBlock(off uint64) bool {
	return off%unit == 0 && off >= h.heapStart && off < h.bump()
}

func meta(state, class, kind, nameLen uint32) uint32 {
	return state | class<<8 | kind<<16 | nameLen<<24
}

func splitMeta(m uint32) (state, class, kind, nameLen uint32) {
	return m & 0xff, m >> 8 & 0xff, m >> 16 & 0xff, m >> 24
}

// lockArena takes the allocator lock, replaying the journal of a holder
// that died.
func (h *Heap) lockArena(op string) error {
	err := h.lock.Lock(context.Background())
	if err != nil && !errors.Is(err, errs.ErrOwnerDead) {
		return fmt.Errorf("%s: arena %s: %w", op, h.name, err)
	}
	if err != nil {
		h.c32(cRecovered).Add(1)
	}
	if h.c32(jOp).Load() != opNone {
		h.replay()
	}
	if err != nil {
		h.lock.MarkConsistent()
	}
	return nil
}

func (h *Heap) unlockArena() { h.lock.Unlock() }

// replay finishes or undoes the operation in the journal. Every value it
// writes comes from the journal, so a replay cut short is replayed again.
// A journal that does not describe a block is dropped: nothing was
// written that it could describe.
func (h *Heap) replay() {
	op, class, off := h.c32(jOp).Load(), uint64(h.c32(jClass).Load()), h.c64(jOff).Load()
	slot := uint64(h.c32(jSlot).Load())
	if class >= NumClasses || off%unit != 0 || off < h.heapStart || off+classSizes[class] > h.heapEnd || slot > h.nameSlots {
		h.c32(jOp).Store(opNone)
		return
	}
	size := classSizes[class]
	switch op {
	case opAlloc:
		if slot > 0 {
			h.slot(slot - 1).Store(h.c32(jSlotOld).Load())
		}
		h.c32(cNames).Store(h.c32(jNames).Load())
		h.clear(off, size)
		if h.c32(jBump).Load() != 0 {
			h.c64(cBump).Store(h.c64(jPrev).Load())
		} else {
			h.u64(off + bNext).Store(h.c64(jNext).Load())
			h.u32(off + bMeta).Store(meta(stateFree, uint32(class), 0, 0))
			h.c64(cHeads + 8*class).Store(off)
		}
		h.c64(cObjects).Store(h.c64(jObjects).Load())
		h.c64(cUsed).Store(h.c64(jUsed).Load())
	case opFree:
		h.finishFree(off, class, slot)
	}
	h.c32(jOp).Store(opNone)
}

// crashHook, set by tests, is called at each step of Alloc and Free
// (and of a replayed free): a test panics there, as a process killed at
// that instant would stop, and checks what the next lock holder finds.
var crashHook func(step string)

func crashPoint(step string) {
	if crashHook != nil {
		crashHook(step)
	}
}

// clear zeroes a block, all but its generation.
func (h *Heap) clear(off, size uint64) {
	clear(h.mem[off+bMeta : off+size])
}

func (h *Heap) slot(i uint64) *atomic.Uint32 { return h.u32(h.namesOff + 4*i) }

// tagLayout returns where the tag of a name slot starts, and its bits, in
// an arena whose heap ends at heapEnd: above every block offset/unit, as
// many bits as the size leaves (10 at 64 MiB, none at the largest, 64
// GiB).
func tagLayout(heapEnd uint64) (shift uint, mask uint32) {
	shift = uint(bits.Len64((heapEnd - 1) / unit))
	if shift < 32 {
		mask = ^uint32(0) << shift
	}
	return shift, mask
}

// tagOf returns the tag of a name with hash hash: bits of the hash's high
// half, in the slot bits above the block's offset/unit. A probe compares
// the name of a slot's block, a cache miss in a large arena, only when
// the slot's tag is the name's.
func (h *Heap) tagOf(hash uint64) uint32 { return uint32(hash>>32) << h.tagShift & h.tagMask }

// slotBlock returns the offset of the block a name slot (neither empty
// nor a deletion) leads to.
func (h *Heap) slotBlock(s uint32) uint64 { return uint64(s&^h.tagMask) * unit }

// nameAt reports whether the ready block at off is called name, and its
// generation, read before the name and checked after it.
func (h *Heap) nameAt(off uint64, name string) (uint32, bool) {
	if !h.isBlock(off) {
		return 0, false
	}
	h.touch(off)
	gen := h.u32(off + bGen).Load()
	state, class, _, n := splitMeta(h.u32(off + bMeta).Load())
	if state != stateReady || int(n) != len(name) || class >= NumClasses ||
		off+blockHdr+uint64(n) > min(off+classSizes[class], h.heapEnd) {
		return 0, false
	}
	if unsafe.String((*byte)(unsafe.Add(h.base, off+blockHdr)), n) != name {
		return 0, false
	}
	return gen, h.u32(off+bGen).Load() == gen
}

// probe looks name up: the block and generation if found, the first
// slot a new entry for it could take (-1 if the table has none), and the
// name's tag, which that entry carries.
func (h *Heap) probe(name string) (off uint64, gen uint32, free int64, tag uint32) {
	mask := h.nameSlots - 1
	free = -1
	hash := names.Hash(name)
	tag = h.tagOf(hash)
	i := hash & mask
	for range h.nameSlots {
		h.touch(h.namesOff + 4*i)
		s := h.slot(i).Load()
		switch {
		case s == slotEmpty:
			if free < 0 {
				free = int64(i)
			}
			return 0, 0, free, tag
		case s == slotTomb:
			if free < 0 {
				free = int64(i)
			}
		case s&h.tagMask == tag:
			if g, ok := h.nameAt(h.slotBlock(s), name); ok {
				return h.slotBlock(s), g, int64(i), tag
			}
		}
		i = (i + 1) & mask
	}
	return 0, 0, free, tag
}

// Lookup finds the object called name, without the lock: its block and
// generation, or an error matching fs.ErrNotExist.
func (h *Heap) Lookup(name string) (uint64, uint32, error) {
	off, gen, _, _ := h.probe(name)
	if off == 0 {
		return 0, 0, fs.ErrNotExist
	}
	return off, gen, nil
}

// CheckName checks an object name for op: 1 to MaxName bytes, no '/', no
// NUL, not starting with '#' (which starts handles).
func CheckName(op, name string) error {
	switch {
	case len(name) == 0 || len(name) > MaxName:
		return errs.Invalid(op, "name", "%q: an object name in an arena has 1 to %d bytes", name, MaxName)
	case strings.IndexByte(name, '/') >= 0 || strings.IndexByte(name, 0) >= 0:
		return errs.Invalid(op, "name", "%q: an object name in an arena has no '/' or NUL", name)
	case name[0] == '#':
		return errs.Invalid(op, "name", "%q: names starting with '#' are handles of anonymous objects", name)
	}
	return nil
}

// layout places the lock area and payload of a block: offsets from the
// block's start, and the bytes it needs. ok is false on overflow.
func layout(nameLen, lockSize, alignment, count, elemSize uint64) (lockOff, payOff, total uint64, ok bool) {
	end := blockHdr + align(nameLen, 8)
	if lockSize > 0 {
		lockOff = end
		end += lockSize
	}
	payOff = align(end, max(alignment, 1))
	hi, payload := bits.Mul64(count, elemSize)
	if hi != 0 || payload > 1<<40 {
		return 0, 0, 0, false
	}
	return lockOff, payOff, payOff + payload, true
}

// Alloc makes a new object as s says: under the arena's lock, a block is
// taken, zeroed and described in *in, init fills its lock area and payload
// (given the block's memory), and it is published, then named. A name
// already taken is an error matching fs.ErrExist; a full arena matches
// ErrArenaFull.
func (h *Heap) Alloc(op string, s Spec, in *Info, init func(block []byte) error) error {
	if s.Name != "" {
		if err := CheckName(op, s.Name); err != nil {
			return err
		}
	}
	if s.Align == 0 {
		s.Align = 8
	}
	if s.Align > MaxAlign || s.Align&(s.Align-1) != 0 {
		return errs.Invalid(op, "type", "elements aligned to %d bytes: an arena aligns to at most %d", s.Align, MaxAlign)
	}
	if len(s.Format) > typeFormatMax || s.Count > 0xffffffff || s.Kind <= 0 || s.Kind > 0xff {
		return errs.Invalid(op, "type", "format of %d bytes or %d elements: an arena takes formats to %d bytes and 2^32-1 elements", len(s.Format), s.Count, typeFormatMax)
	}
	lockOff, payOff, total, ok := layout(uint64(len(s.Name)), s.Lock, s.Align, s.Count, s.ElemSize)
	class := classOf(total)
	if !ok || class < 0 {
		return h.full(op, s, total)
	}
	size := classSizes[class]
	if err := h.lockArena(op); err != nil {
		return err
	}
	defer h.unlockArena()
	typ, err := h.typeIndex(op, s)
	if err != nil {
		return err
	}
	slot, tag := int64(-1), uint32(0)
	if s.Name != "" {
		found, _, free, t := h.probe(s.Name)
		if found != 0 {
			return &fs.PathError{Op: op, Path: h.name + "/" + s.Name, Err: fs.ErrExist}
		}
		if free < 0 || uint64(h.c32(cNames).Load()) >= h.nameSlots/4*3 {
			return fmt.Errorf("%s: arena %s: its name table is full (%d names): %w", op, h.name, h.c32(cNames).Load(), errs.ErrArenaFull)
		}
		slot, tag = free, t
	}
	head := h.c64(cHeads + 8*uint64(class)).Load()
	bump := h.bump()
	var off, next uint64
	if head != 0 {
		if !h.isBlock(head) {
			return fmt.Errorf("%s: arena %s: free list %d leads to %#x: %w", op, h.name, class, head, errs.ErrCorrupt)
		}
		st, cl, _, _ := splitMeta(h.u32(head + bMeta).Load())
		if st != stateFree || cl != uint32(class) {
			return fmt.Errorf("%s: arena %s: free list %d leads to %#x: %w", op, h.name, class, head, errs.ErrCorrupt)
		}
		off, next = head, h.u64(head+bNext).Load()
		if next != 0 && !h.isBlock(next) {
			return fmt.Errorf("%s: arena %s: free block %#x leads to %#x: %w", op, h.name, head, next, errs.ErrCorrupt)
		}
	} else {
		if bump+size > h.heapEnd {
			return h.full(op, s, total)
		}
		if err := h.room(op, bump+size); err != nil {
			return err
		}
		off = bump
	}

	// Announce, then write. What only the lock's holders read (the
	// journal, the free list heads, the counters, a block not yet ready)
	// is written with plain stores; the stores that other processes read
	// without the lock (the op word, bump, the meta word that makes a
	// block ready, the name slot) stay atomic, and keep the plain stores
	// before them in order. An atomic store is a full barrier that waits
	// for every store before it: about twenty of them made a tenth of an
	// allocation's time.
	h.set32(jClass, uint32(class))
	h.set64(jOff, off)
	h.set64(jNext, next)
	h.set32(jSlot, uint32(slot+1))
	if slot >= 0 {
		h.set32(jSlotOld, h.slot(uint64(slot)).Load())
	}
	h.set64(jObjects, h.c64(cObjects).Load())
	h.set64(jUsed, h.c64(cUsed).Load())
	h.set32(jNames, h.c32(cNames).Load())
	if head != 0 {
		h.set64(jPrev, head)
		h.set32(jBump, 0)
	} else {
		h.set64(jPrev, bump)
		h.set32(jBump, 1)
	}
	crashPoint("alloc: journal written")
	h.c32(jOp).Store(opAlloc)
	crashPoint("alloc: announced")

	if head != 0 {
		h.set64(cHeads+8*uint64(class), next)
	} else {
		h.c64(cBump).Store(off + size)
	}
	crashPoint("alloc: block taken")
	gen := h.u32(off+bGen).Load() + 1
	if gen == 0 {
		gen = 1
	}
	h.clear(off, size)
	flags := uint16(0)
	if s.Lock > 0 {
		flags = flagLock
		if s.Lock == CompactLock {
			flags |= flagCompct
		}
	}
	*(*uint32)(unsafe.Add(h.base, off+bGen)) = gen
	*(*uint32)(unsafe.Add(h.base, off+bCount)) = uint32(s.Count)
	*(*uint16)(unsafe.Add(h.base, off+bType)) = uint16(typ)
	*(*uint16)(unsafe.Add(h.base, off+bFlags)) = flags
	copy(h.mem[off+blockHdr:], s.Name)
	crashPoint("alloc: block written")
	*(*uint32)(unsafe.Add(h.base, off+bMeta)) = meta(stateInit, uint32(class), uint32(s.Kind), uint32(len(s.Name)))
	*in = Info{Off: off, Gen: gen, Size: size, Kind: s.Kind, Name: s.Name, Format: s.Format, ElemSize: s.ElemSize,
		Count: s.Count, LockOff: lockOff, LockSize: s.Lock, PayloadOff: payOff}
	if init != nil {
		if err := init(h.mem[off : off+size : off+size]); err != nil {
			h.replay() // undo
			return err
		}
	}
	crashPoint("alloc: initialised")
	h.u32(off + bMeta).Store(meta(stateReady, uint32(class), uint32(s.Kind), uint32(len(s.Name))))
	crashPoint("alloc: published")
	if slot >= 0 {
		h.slot(uint64(slot)).Store(uint32(off/unit) | tag)
		crashPoint("alloc: named")
		h.set32(cNames, h.c32(cNames).Load()+1)
	}
	h.set64(cObjects, h.c64(cObjects).Load()+1)
	crashPoint("alloc: counted")
	h.set64(cUsed, h.c64(cUsed).Load()+size)
	crashPoint("alloc: done")
	h.c32(jOp).Store(opNone)
	return nil
}

// full is the error for an object that does not fit.
func (h *Heap) full(op string, s Spec, need uint64) error {
	st := h.Stats()
	fresh := h.heapEnd - h.bump()
	return fmt.Errorf("%s: arena %s (%d bytes) has no room for a %d-byte %s: %d bytes never used, %d in freed blocks of other sizes: %w",
		op, h.name, st.Size, need, csrc.KindName(s.Kind), fresh, uint64(st.Free)-fresh, errs.ErrArenaFull)
}

// room makes sure the heap is allocated in /dev/shm up to end, a chunk at
// a time, before the allocator hands any of it out.
func (h *Heap) room(op string, end uint64) error {
	have := h.c64(cReserved).Load()
	if end <= have {
		return nil
	}
	have = max(have, h.heapStart)
	next := min(align(end, reserveChunk), h.heapEnd)
	if err := h.reserve(int64(have), int64(next-have)); err != nil {
		return fmt.Errorf("%s: arena %s: allocating %d bytes at %d: %w", op, h.name, next-have, have, err)
	}
	h.c64(cReserved).Store(next)
	populate(h.mem[have:next])
	for c := align(have, mapChunk) / mapChunk; c < next/mapChunk; c++ { // whole chunks only
		h.mapped[c/64].Or(1 << (c % 64))
	}
	return nil
}

// populate maps mem's pages into this process writable now, in one
// system call (MADV_POPULATE_WRITE), instead of one page fault per page
// at first touch: a fault costs microseconds on this kind of virtual
// machine. A kernel without it (before 5.14) faults them in as they are
// touched.
func populate(mem []byte) {
	if len(mem) > 0 {
		unix.Madvise(mem, unix.MADV_POPULATE_WRITE)
	}
}

// mapChunk is how much of the segment touch populates at once.
const mapChunk = 64 << 10

// touch populates, in this process, the mapChunk bytes around off (a
// name slot or a block about to be read), the first time: the name table
// is read at random places, a page each, and a process opening objects
// by name reads blocks all over the heap. Only memory already allocated
// in /dev/shm is populated (below the reserved mark), so touch allocates
// nothing.
func (h *Heap) touch(off uint64) {
	c := off / mapChunk
	w, bit := &h.mapped[c/64], uint64(1)<<(c%64)
	if w.Load()&bit != 0 {
		return
	}
	start, whole := c*mapChunk, min(c*mapChunk+mapChunk, h.size)
	end := min(whole, max(h.c64(cReserved).Load(), h.heapStart))
	if start < end {
		populate(h.mem[start:end])
	}
	// A chunk only partly allocated in /dev/shm yet is populated again
	// by a later touch, once more of it is.
	if end == whole {
		w.Or(bit)
	}
}

// typeIndex finds or adds the type table entry for s, under the lock.
func (h *Heap) typeIndex(op string, s Spec) (uint64, error) {
	n := min(uint64(h.c32(cTypes).Load()), h.typeSlots)
	for i := range n {
		e := h.typesOff + i*typeSize
		if h.u64(e+tElemSize).Load() == s.ElemSize && uint64(h.u32(e+tAlign).Load()) == s.Align &&
			h.typeFormat(i) == s.Format {
			return i, nil
		}
	}
	if n == h.typeSlots {
		return 0, fmt.Errorf("%s: arena %s: its type table is full (%d element types): %w", op, h.name, n, errs.ErrArenaFull)
	}
	e := h.typesOff + n*typeSize
	h.u64(e + tElemSize).Store(s.ElemSize)
	h.u32(e + tAlign).Store(uint32(s.Align))
	h.u32(e + tLen).Store(uint32(len(s.Format)))
	clear(h.mem[e+tFormat : e+typeSize])
	copy(h.mem[e+tFormat:], s.Format)
	h.c32(cTypes).Store(uint32(n + 1))
	return n, nil
}

// typeFormat returns entry i's format, "" if its length is out of range.
func (h *Heap) typeFormat(i uint64) string {
	e := h.typesOff + i*typeSize
	n := uint64(h.u32(e + tLen).Load())
	if n > typeFormatMax {
		return "\x00bad"
	}
	return string(h.mem[e+tFormat : e+tFormat+n])
}

// Describe checks the object at off with generation gen (both untrusted:
// from a handle string or a name lookup) and returns its layout. A block
// that is not a ready object of that generation matches fs.ErrNotExist;
// one whose description does not fit matches errs.ErrCorrupt.
func (h *Heap) Describe(off uint64, gen uint32, in *Info) error {
	if !h.isBlock(off) {
		return fs.ErrNotExist
	}
	h.touch(off)
	if h.u32(off+bGen).Load() != gen {
		return fs.ErrNotExist
	}
	state, class, kind, nameLen := splitMeta(h.u32(off + bMeta).Load())
	if state != stateReady {
		return fs.ErrNotExist
	}
	count := uint64(h.u32(off + bCount).Load())
	typ := uint64(*(*uint16)(unsafe.Add(h.base, off+bType)))
	flags := *(*uint16)(unsafe.Add(h.base, off+bFlags))
	if class >= NumClasses || typ >= min(uint64(h.c32(cTypes).Load()), h.typeSlots) || flags&^(flagLock|flagCompct) != 0 {
		return errs.ErrCorrupt
	}
	size := classSizes[class]
	e := h.typesOff + typ*typeSize
	*in = Info{Off: off, Gen: gen, Size: size, Kind: int(kind), Count: count,
		ElemSize: h.u64(e + tElemSize).Load(), Format: h.format(typ)}
	alignment := uint64(h.u32(e + tAlign).Load())
	if flags&flagLock != 0 {
		in.LockSize = FullLock
		if flags&flagCompct != 0 {
			in.LockSize = CompactLock
		}
	}
	var ok bool
	var total uint64
	in.LockOff, in.PayloadOff, total, ok = layout(uint64(nameLen), in.LockSize, alignment, count, in.ElemSize)
	if !ok || alignment == 0 || alignment > MaxAlign || alignment&(alignment-1) != 0 || total > size ||
		off+size > h.heapEnd || strings.IndexByte(in.Format, 0) >= 0 {
		return errs.ErrCorrupt
	}
	in.nameLen = uint64(nameLen)
	if h.u32(off+bGen).Load() != gen {
		return fs.ErrNotExist // reused meanwhile
	}
	return nil
}

// BlockName returns the name of the object in describes, read from the
// arena ("" if anonymous).
func (h *Heap) BlockName(in *Info) string {
	if in.Name != "" || in.nameLen == 0 {
		return in.Name
	}
	return string(h.mem[in.Off+blockHdr : in.Off+blockHdr+in.nameLen])
}

// format returns type i's format (i is below the types count), from the
// cache.
func (h *Heap) format(i uint64) string {
	if c := h.formats.Load(); c != nil && i < uint64(len(*c)) {
		return (*c)[i]
	}
	n := min(uint64(h.c32(cTypes).Load()), h.typeSlots)
	c := make([]string, n)
	for j := range n {
		c[j] = h.typeFormat(j)
	}
	h.formats.Store(&c)
	if i < n {
		return c[i]
	}
	return h.typeFormat(i)
}

// Block returns the memory of the block an Info describes.
func (h *Heap) Block(in *Info) []byte { return h.mem[in.Off : in.Off+in.Size : in.Off+in.Size] }

// Free frees the object at off with generation gen: its name is removed
// and its block goes back to its class's free list. An object already
// freed (or a stale handle) matches fs.ErrNotExist.
func (h *Heap) Free(op string, off uint64, gen uint32) error {
	if err := h.lockArena(op); err != nil {
		return err
	}
	defer h.unlockArena()
	var in Info
	if err := h.Describe(off, gen, &in); err != nil {
		return err
	}
	_, class, _, _ := splitMeta(h.u32(off + bMeta).Load())
	slot := int64(-1)
	if name := h.BlockName(&in); name != "" {
		if found, _, i, _ := h.probe(name); found == off {
			slot = i
		}
	}
	h.set32(jClass, class)
	h.set64(jOff, off)
	h.set64(jPrev, h.c64(cHeads+8*uint64(class)).Load())
	h.set32(jSlot, uint32(slot+1))
	h.set64(jObjects, h.c64(cObjects).Load())
	h.set64(jUsed, h.c64(cUsed).Load())
	h.set32(jNames, h.c32(cNames).Load())
	crashPoint("free: journal written")
	h.c32(jOp).Store(opFree)
	crashPoint("free: announced")
	h.finishFree(off, uint64(class), uint64(slot+1))
	crashPoint("free: done")
	h.c32(jOp).Store(opNone)
	return nil
}

// finishFree does (or redoes) the free the journal describes.
func (h *Heap) finishFree(off, class, slot uint64) {
	if slot > 0 {
		h.slot(slot - 1).Store(slotTomb)
		crashPoint("free: name deleted")
		h.sweep(slot - 1)
		h.c32(cNames).Store(max(h.c32(jNames).Load(), 1) - 1)
	}
	h.u32(off + bMeta).Store(meta(stateFree, uint32(class), 0, 0))
	crashPoint("free: block freed")
	h.u64(off + bNext).Store(h.c64(jPrev).Load())
	h.c64(cHeads + 8*class).Store(off)
	crashPoint("free: listed")
	h.c64(cObjects).Store(max(h.c64(jObjects).Load(), 1) - 1)
	h.c64(cUsed).Store(h.c64(jUsed).Load() - min(h.c64(jUsed).Load(), classSizes[class]))
}

// sweep turns the deletion at slot i, and the deletions before it, into
// empty slots while the slot after each is empty: no probe can need them.
func (h *Heap) sweep(i uint64) {
	mask := h.nameSlots - 1
	for range h.nameSlots {
		if h.slot(i).Load() != slotTomb || h.slot((i+1)&mask).Load() != slotEmpty {
			return
		}
		h.slot(i).Store(slotEmpty)
		i = (i - 1) & mask
	}
}

// Stats reads the arena's counters (without the lock: a snapshot).
func (h *Heap) Stats() Stats {
	used := min(h.c64(cUsed).Load(), h.heapEnd-h.heapStart)
	return Stats{
		Size:    int(h.size),
		Heap:    int(h.heapEnd - h.heapStart),
		Used:    int(used),
		Free:    int(h.heapEnd - h.heapStart - used),
		Objects: int(h.c64(cObjects).Load()),
		Names:   int(h.c32(cNames).Load()),
		MaxName: int(h.nameSlots / 4 * 3),

		Recovered: int(h.c32(cRecovered).Load()),
	}
}
