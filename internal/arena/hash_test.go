package arena

import (
	"hash/fnv"
	"testing"
)

// TestHashNameIsFNV1a: the name table's hash is FNV-1a, which mpsync.h
// documents for the C half.
func TestHashNameIsFNV1a(t *testing.T) {
	for _, name := range []string{"", "a", "row7", "l123456", "\xff\x00x"} {
		f := fnv.New64a()
		f.Write([]byte(name))
		if got, want := hashName(name), f.Sum64(); got != want {
			t.Errorf("hashName(%q) = %#x, want %#x", name, got, want)
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
