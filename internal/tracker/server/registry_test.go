package server

import (
	"encoding/binary"
	"testing"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/names"
)

// registryBytes lays out a registry listing names, as libmpsync writes one.
func registryBytes(id uint64, names ...string) []byte {
	b := make([]byte, csrc.RegHeaderSize+(len(names)+1)*csrc.RegSlotSize)
	copy(b, csrc.RegMagic)
	le := binary.NativeEndian
	le.PutUint64(b[csrc.RegOffID:], id)
	le.PutUint32(b[csrc.RegOffHigh:], uint32(len(names)+1))
	le.PutUint32(b[csrc.RegOffPid:], 1234)
	for i, n := range names {
		slot := b[csrc.RegHeaderSize+(i+1)*csrc.RegSlotSize:]
		le.PutUint32(slot, 1)
		le.PutUint64(slot[csrc.RegSlotOffIno:], uint64(100+i))
		copy(slot[csrc.RegSlotOffName:], n)
	}
	return b
}

func TestParse(t *testing.T) {
	b := registryBytes(0x1234, "psm_a", "sem.mps-x", "mps_lock_b")
	r, err := Parse(b)
	if err != nil || r.ID != 0x1234 || r.Pid != 1234 || len(r.Entries) != 3 ||
		r.Entries[1] != (Entry{Name: "sem.mps-x", Ino: 101}) {
		t.Fatalf("Parse = %+v, %v", r, err)
	}
	// Truncated inside the second slot: the first still counts.
	if r, err := Parse(b[:csrc.RegHeaderSize+2*csrc.RegSlotSize+10]); err != nil || len(r.Entries) != 1 {
		t.Errorf("truncated: %+v, %v; want 1 entry", r, err)
	}
	// A name with no NUL in its field, one with a slash, a freed slot.
	bad := registryBytes(1, "ok", "a/b", "freed")
	copy(bad[csrc.RegHeaderSize+csrc.RegSlotSize+csrc.RegSlotOffName:], make([]byte, 0))
	long := bad[csrc.RegHeaderSize+csrc.RegSlotSize+csrc.RegSlotOffName : csrc.RegHeaderSize+2*csrc.RegSlotSize]
	for i := range long {
		long[i] = 'x'
	}
	binary.NativeEndian.PutUint32(bad[csrc.RegHeaderSize+3*csrc.RegSlotSize:], 0)
	if r, err := Parse(bad); err != nil || len(r.Entries) != 0 {
		t.Errorf("bad slots: %+v, %v; want no entries", r, err)
	}
	for name, data := range map[string][]byte{
		"empty": nil, "garbage": []byte("hello, world, this is not a registry at all"),
		"high beyond the slots": func() []byte {
			b := registryBytes(1)
			binary.NativeEndian.PutUint32(b[csrc.RegOffHigh:], csrc.RegSlots+1)
			return b
		}(),
		"flag bits in the identity": registryBytes(1 << 31),
	} {
		if _, err := Parse(data); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzParse: whatever a registry holds, Parse does not panic, and every
// entry it returns is a well-formed name.
func FuzzParse(f *testing.F) {
	f.Add(registryBytes(7, "psm_0123456789abcdef", "x"))
	f.Add(registryBytes(7)[:50])
	f.Add([]byte(csrc.RegMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			return
		}
		for _, e := range r.Entries {
			if clean, err := names.Check("fuzz", e.Name); err != nil || clean != e.Name {
				t.Fatalf("entry %q is not a name", e.Name)
			}
		}
	})
}
