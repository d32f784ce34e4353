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
