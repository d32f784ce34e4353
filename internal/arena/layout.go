// Package arena lays out, allocates and finds mpsync objects inside one
// shared segment (an arena: package shm's Arena is its public face, and
// packages semaphore and ctypes create objects in it through In). It
// works on the mapping's bytes alone; package shm gives it segments.
//
// # The arena segment
//
// An arena is a segment that starts with the standard 64-byte object
// header of mpsync.h, of kind MPS_KIND_ARENA, whose lock area (at 64) is
// the allocator's robust lock and whose payload (at 4096, to the end of
// the segment) is the arena proper. The arena proper starts with a
// control block (offsets from the payload start; absolute offsets are
// from the start of the segment):
//
//	off size field
//	  0   8  magic       the bytes "MPSARENA"
//	  8   4  version     3 (2: name slots without tags; 1: compact lock
//	                     areas of 24 bytes)
//	 12   4  classes     number of size classes (NumClasses)
//	 16   8  size        of the whole segment
//	 24   4  nameSlots   slots of the name table, a power of two
//	 28   4  typeSlots   entries of the type table
//	 32   8  namesOff    absolute offset of the name table
//	 40   8  typesOff    absolute offset of the type table
//	 48   8  heapStart   absolute offset of the first block (page aligned)
//	 56   8  heapEnd     the segment's size rounded down to 16
//	 64   8  bump        next never-used byte of the heap
//	 72   8  reserved    the heap is allocated in /dev/shm below this
//	 80   8  objects     live blocks
//	 88   8  used        bytes of live blocks
//	 96   4  names       live names
//	100   4  types       entries of the type table in use
//	104   4  recovered   times the lock was taken over from a dead holder
//	128  64  journal     the operation in progress (see below)
//	192 8*classes        free list heads, absolute offsets, 0 empty
//
// Every field after size is changed only under the allocator lock;
// bump, the types count, name slots and block meta words are also read
// without it, with atomic loads.
//
// # Size classes and blocks
//
// Every object is one block of a size class: 16, 32, ..., 512 bytes, then
// eight classes per doubling up to 64 GiB. Blocks are carved from the
// bump region and, once freed, go on their class's free list; a freed
// block is reused for its class only (no coalescing). A block starts with
// a 16-byte header:
//
//	off size field
//	  0   4  gen     generation: grows on every allocation of the block
//	  4   4  meta    state (bits 0-7: 0 never used, 1 free, 2 being made,
//	                 3 ready), class (8-15), kind (16-23, MPS_KIND_*),
//	                 name length (24-31, 0 anonymous)
//	  8   4  count   payload elements         | free: 8 bytes, the next
//	 12   2  type    index in the type table  | free block's offset
//	 14   2  flags   bit 0 lock area, bit 1 compact (16-byte) lock area
//
// then the name (not NUL-terminated, padded to 8 bytes), the lock area
// (64 bytes, or 16 for a compact one: the lock word and one recursion
// word, owner token and count, without the inspection times; see package
// robust), and the payload, aligned for its elements (at most 16). Lock,
// RLock, the semaphores, Event, Condition and Barrier keep the full lock
// area; Value and Array use the compact one. A named Value[int64] with a
// name of up to 8 bytes is thus one 48-byte block (16 header, 8 name, 16
// lock, 8 value), an anonymous one 40 bytes in a 48-byte block, a named
// Lock 16 + 8 + 64 = 88 bytes in a 96-byte block.
//
// A type table entry (272 bytes) describes one element type: element size
// (8 bytes), alignment (4), format length (4) and the format (256 bytes,
// NUL-padded). Entries are appended, never changed or removed.
//
// The name table is nameSlots 4-byte slots, open addressing with linear
// probing from the FNV-1a hash of the name: 0 empty, 1 a deleted name,
// otherwise a block's offset divided by 16 and, in the bits above the
// largest such offset (for an arena of 64 MiB, the top 10 of 32; none for
// the largest, 64 GiB), a tag: bits of the name's hash. A lookup reads the name of a
// slot's block, a cache miss in a large arena, only when the slot's tag
// is the name's (see Heap.tagOf). A deletion followed by an
// empty slot becomes empty itself (and so, backwards, do the deletions
// before it), so deletions do not pile up while the table has room.
//
// # Crash safety
//
// The allocator's state changes only under the robust lock, and every
// change is announced in the journal before its first write:
//
//	128   4  op       0 none, 1 alloc, 2 free
//	132   4  class
//	136   8  off      the block
//	144   8  prev     alloc: the free head or the bump before; free: the head
//	152   8  next     alloc from a free list: the block's next free block
//	160   4  slot     name slot + 1, 0 for none
//	164   4  slotOld  the slot's value before
//	168   8  objects  before
//	176   8  used     before
//	184   4  names    before
//	188   4  bump     1 if the block came from the bump region
//
// A holder that dies leaves the lock to the next one with ErrOwnerDead;
// that one replays the journal before anything else: an allocation is
// undone (its creator never got it), a free is finished. Each step writes
// values taken from the journal, so a replay that is itself interrupted
// is simply replayed again. A SIGKILL at any instant therefore loses
// nothing, except an object whose creator died after its allocation was
// complete and before it could hand it out (anonymous: nobody knows its
// handle; named: it stays, by name).
package arena

import "github.com/mpsync/mpsync/csrc"

// Offsets in the segment and in the control block.
const (
	lockOff  = 64            // the allocator lock, in the object header's lock area
	ctlOff   = csrc.ArenaCtl // the control block: the object header's payload
	ctlMagic = csrc.ArenaMagic
	version  = csrc.ArenaVersion

	cMagic     = 0
	cVersion   = 8
	cClasses   = 12
	cSize      = 16
	cNameSlots = 24
	cTypeSlots = 28
	cNamesOff  = 32
	cTypesOff  = 40
	cHeapStart = 48
	cHeapEnd   = 56
	cBump      = 64
	cReserved  = 72
	cObjects   = 80
	cUsed      = 88
	cNames     = 96
	cTypes     = 100
	cRecovered = 104
	cJournal   = 128
	cHeads     = 192

	jOp      = cJournal + 0
	jClass   = cJournal + 4
	jOff     = cJournal + 8
	jPrev    = cJournal + 16
	jNext    = cJournal + 24
	jSlot    = cJournal + 32
	jSlotOld = cJournal + 36
	jObjects = cJournal + 40
	jUsed    = cJournal + 48
	jNames   = cJournal + 56
	jBump    = cJournal + 60

	opNone  = 0
	opAlloc = 1
	opFree  = 2
)

// Blocks.
const (
	unit       = 16 // block alignment and the smallest class
	blockHdr   = csrc.ArenaBlockHeader
	bGen       = 0
	bMeta      = 4
	bCount     = 8
	bNext      = 8
	bType      = 12
	bFlags     = 14
	flagLock   = 1
	flagCompct = 2

	stateUnused = 0
	stateFree   = 1
	stateInit   = 2
	stateReady  = 3

	// MaxAlign is the largest element alignment an arena object can have.
	MaxAlign = 16
	// FullLock and CompactLock are the sizes of the two lock areas.
	FullLock    = 64
	CompactLock = csrc.ArenaCompactLock
)

// Type table entries.
const (
	typeSize      = 272
	tElemSize     = 0
	tAlign        = 8
	tLen          = 12
	tFormat       = 16
	typeFormatMax = 255
	// DefaultTypes is the number of type table entries.
	DefaultTypes = csrc.ArenaTypes
)

// Name table slots.
const (
	slotEmpty = 0
	slotTomb  = 1
	// MaxName is the longest object name in an arena.
	MaxName = csrc.ArenaNameMax
)

// reserveChunk is how much of the heap is allocated in /dev/shm at once,
// ahead of the bump pointer: one fallocate per chunk, none per object.
const reserveChunk = 1 << 20

// NumClasses is the number of size classes.
const NumClasses = csrc.ArenaClasses // 32 + 8*27

// classSizes[c] is the block size of class c.
var classSizes = func() (s [NumClasses]uint64) {
	for c := range 32 {
		s[c] = uint64(unit * (c + 1))
	}
	base := uint64(512)
	for c := 32; c < NumClasses; c += 8 {
		for k := range 8 {
			s[c+k] = base + base/8*uint64(k+1)
		}
		base *= 2
	}
	return s
}()

// classOf returns the smallest class holding n bytes, or -1.
func classOf(n uint64) int {
	if n <= 512 {
		return int(max(n, 1)+unit-1)/unit - 1
	}
	lo, hi := 32, NumClasses
	for lo < hi {
		m := (lo + hi) / 2
		if classSizes[m] >= n {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if lo == NumClasses {
		return -1
	}
	return lo
}

func align(n, a uint64) uint64 { return (n + a - 1) &^ (a - 1) }
