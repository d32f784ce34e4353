package semaphore

import (
	"testing"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/semword"
)

// TestFamilyLayoutMatchesC checks the payload layouts of this package
// against mpsync.h, where libmpsync's implementation of the same family
// reads them.
func TestFamilyLayoutMatchesC(t *testing.T) {
	goVals := map[string]int{
		"MPS_SEM_PAYLOAD": semPayload, "MPS_SEM_OFF_PRIVATE": 8, "MPS_SEM_OFF_MAX": offSemMax,
		"MPS_SEM_SHARED": 128, "MPS_SEM_VALUE_MAX": ValueMax,
		"MPS_EVENT_PAYLOAD": eventPayload, "MPS_EVENT_OFF_SLEEPERS": offSleepers,
		"MPS_COND_PAYLOAD": condPayload, "MPS_COND_OFF_KIND": offCondKind, "MPS_COND_OFF_FORMAT": offCondFormat,
		"MPS_COND_OFF_SEQ": offCondSeq, "MPS_COND_OFF_FLAGS": offCondFlags,
		"MPS_COND_OFF_LOCK_NAME": offCondLockName, "MPS_COND_LOCK_NAME_SIZE": offCondNext - offCondLockName,
		"MPS_COND_OFF_NEXT": offCondNext, "MPS_COND_OFF_BOUND": offCondBound, "MPS_COND_OFF_WAITING": offCondWaiting,
		"MPS_COND_OFF_TOKENS": offCondTokens, "MPS_COND_FORMAT": condFormat,
		"MPS_COND_IMPLICIT_LOCK": condImplicitLock, "MPS_COND_COUNT_MAX": condCountMax,
		"MPS_BARRIER_OFF_PARTIES": offBarParties, "MPS_BARRIER_OFF_BROKEN": offBarBroken,
		"MPS_BARRIER_OFF_COUNT": offBarCount, "MPS_BARRIER_OFF_GEN": offBarGen,
		"MPS_BARRIER_OFF_LAST_BROKEN": offBarLastBroken, "MPS_BARRIER_OFF_SLEEPERS": offBarSleep,
		"MPS_BARRIER_OFF_OK_BITS": offBarOKBits,
		"MPS_BARRIER_OFF_WAITERS": offBarWaiters, "MPS_BARRIER_PARTIES_MAX": maxParties,
	}
	if semword.Size != offSemMax {
		t.Errorf("the sem_t is %d bytes, the maximum at offset %d", semword.Size, offSemMax)
	}
	c := csrc.FamilyLayout()
	if len(c) != len(goVals) {
		t.Errorf("%d C values, %d Go values", len(c), len(goVals))
	}
	for name, g := range goVals {
		if cv, ok := c[name]; !ok || cv != g {
			t.Errorf("%s: C says %d (defined: %v), Go says %d", name, cv, ok, g)
		}
	}
}
