package arena

import (
	"fmt"
	"hash/fnv"
	"testing"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/names"
)

// TestHashNameIsFNV1a: the name table's hash is FNV-1a, which mpsync.h
// documents for the C half.
func TestHashNameIsFNV1a(t *testing.T) {
	for _, name := range []string{"", "a", "row7", "l123456", "\xff\x00x"} {
		f := fnv.New64a()
		f.Write([]byte(name))
		if got, want := names.Hash(name), f.Sum64(); got != want {
			t.Errorf("names.Hash(%q) = %#x, want %#x", name, got, want)
		}
	}
}

// TestClasses: classOf picks the smallest class that holds n bytes, and
// the classes are those mpsync.h lists.
func TestClasses(t *testing.T) {
	if classSizes[0] != 16 || classSizes[31] != 512 || classSizes[32] != 576 || classSizes[39] != 1024 ||
		classSizes[NumClasses-1] != 1<<36 {
		t.Errorf("classes %v … %v", classSizes[:40], classSizes[NumClasses-1])
	}
	for _, n := range []uint64{0, 1, 16, 17, 512, 513, 1000, 1 << 20, 1<<36 - 1, 1 << 36} {
		c := classOf(n)
		if c < 0 || classSizes[c] < n || c > 0 && classSizes[c-1] >= n {
			t.Errorf("classOf(%d) = %d", n, c)
		}
	}
	if c := classOf(1<<36 + 1); c != -1 {
		t.Errorf("classOf(2^36+1) = %d, want -1", c)
	}
}

// TestTagLayout: a name slot's tag takes the bits above the largest block
// offset/16 of the arena, as mpsync.h documents.
func TestTagLayout(t *testing.T) {
	for _, c := range []struct {
		heapEnd uint64
		shift   uint
		mask    uint32
	}{
		{64 << 20, 22, 0xffc00000},
		{64<<20 + 16, 23, 0xff800000},
		{32 << 30, 31, 0x80000000},
		{64 << 30, 32, 0},
	} {
		if shift, mask := tagLayout(c.heapEnd); shift != c.shift || mask != c.mask {
			t.Errorf("tagLayout(%#x) = %d, %#x; want %d, %#x", c.heapEnd, shift, mask, c.shift, c.mask)
		}
	}
}

// TestNameSlotsCarryTags: every named block's slot carries its name's tag,
// and a lookup goes by it: a slot whose tag is changed no longer leads to
// its name (and Check says so), while every other name is still found.
func TestNameSlotsCarryTags(t *testing.T) {
	h := inMemory(t, "tags", MinSize(64)+64<<10, 64)
	if h.tagMask == 0 {
		t.Fatalf("an arena of %d bytes has no tag bits", len(h.Mem()))
	}
	offs := map[string]uint64{}
	for i := range 40 {
		name := fmt.Sprintf("n%d", i)
		var in Info
		if err := h.Alloc("test", Spec{Kind: csrc.KindEvent, Name: name, ElemSize: 8, Count: 1, Lock: FullLock}, &in, nil); err != nil {
			t.Fatal(err)
		}
		offs[name] = in.Off
	}
	tagged := 0
	for name, off := range offs {
		_, _, i, tag := h.probe(name)
		s := h.slot(uint64(i)).Load()
		if h.slotBlock(s) != off || s&h.tagMask != tag || tag != h.tagOf(names.Hash(name)) {
			t.Fatalf("%s: slot %d = %#x, block %#x, tag %#x", name, i, s, off, tag)
		}
		if tag != 0 {
			tagged++
		}
	}
	if tagged < 30 {
		t.Errorf("only %d of 40 names have a nonzero tag", tagged)
	}
	_, _, i, tag := h.probe("n7")
	h.slot(uint64(i)).Store(h.slot(uint64(i)).Load() ^ (1 << h.tagShift)) // another tag
	if _, _, err := h.Lookup("n7"); err == nil {
		t.Error("n7 found through a slot with another tag")
	}
	for name := range offs {
		if off, _, err := h.Lookup(name); name != "n7" && (err != nil || off != offs[name]) {
			t.Errorf("Lookup(%s) = %#x, %v; want %#x", name, off, err, offs[name])
		}
	}
	if _, err := h.Check("test"); err == nil {
		t.Error("Check accepts a slot whose tag is not its name's")
	}
	h.slot(uint64(i)).Store(h.slot(uint64(i)).Load()&^h.tagMask | tag)
	if _, err := h.Check("test"); err != nil {
		t.Errorf("Check after the tag is put back: %v", err)
	}
}
