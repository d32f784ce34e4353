package robust

import (
	"testing"

	"github.com/mpsync/mpsync/csrc"
)

// TestLayoutMatchesC checks the lock area as this package reads it against
// struct mps__lock_area and the bits that libmpsync's lock.c uses: both
// contend on the same bytes.
func TestLayoutMatchesC(t *testing.T) {
	goVals := map[string]int{
		"offsetof(word)": offWord, "offsetof(count)": offCount, "offsetof(owner)": offOwner,
		"offsetof(since)": offSince, "offsetof(wait)": offWait, "offsetof(rec)": offRec,
		"MPS__REC_TOKEN_BITS": 48, "MPS__REC_COUNT_MAX": recCountMax,
		"sizeof(struct mps__lock_area)": offWait + 8,
		"MPS_LOCK_AREA_SIZE":            AreaSize, "MPS_ARENA_COMPACT_LOCK": CompactSize,
		"MPS__LOCK_DEAD_BIT": deadBit, "MPS__LOCK_WAITERS_BIT": waitersBit,
		"MPS_LOCK_NOTRECOVERABLE": notRecoverable,
	}
	c := csrc.CLayout()
	for name, g := range goVals {
		if cv, ok := c[name]; !ok || cv != g {
			t.Errorf("%s: C says %d (defined: %v), Go says %d", name, cv, ok, g)
		}
	}
}
