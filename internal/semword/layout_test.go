package semword

import (
	"bytes"
	"testing"

	"github.com/mpsync/mpsync/csrc"
)

// TestLayoutMatchesC checks this package's sem_t against glibc's: its
// size and limits, the offsets mpsync.h names, and the very bytes that
// sem_init writes for a process-shared semaphore, which Init must write
// too, and which Inspect must read back.
func TestLayoutMatchesC(t *testing.T) {
	goVals := map[string]int{
		"sizeof(sem_t)": Size, "SEM_VALUE_MAX": ValueMax,
		"MPS_SEM_OFF_PRIVATE": offPrivate, "MPS_SEM_SHARED": futexShared,
	}
	c := csrc.CLayout()
	for name, g := range goVals {
		if cv, ok := c[name]; !ok || cv != g {
			t.Errorf("%s: C says %d (defined: %v), Go says %d", name, cv, ok, g)
		}
	}
	for _, v := range []uint32{0, 1, 5, ValueMax} {
		want := csrc.SemImage(v)
		got := make([]byte, Size)
		Init(got, v)
		if !bytes.Equal(got, want) {
			t.Errorf("Init(%d) wrote % x; sem_init writes % x", v, got, want)
		}
		if st, ok := Inspect(want); !ok || st.Value != int(v) || st.Waiters != 0 {
			t.Errorf("Inspect(sem_init's %d) = %+v, %v", v, st, ok)
		}
	}
	if _, ok := Inspect(make([]byte, Size+8)); ok {
		t.Errorf("Inspect took %d bytes for a sem_t", Size+8)
	}
}
