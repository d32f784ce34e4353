//go:build cgo

package csrc

/*
#include <stddef.h>
#include "mpsync_impl.h"
#define MPS_UNTRACKED_MODE_VALUE MPS_UNTRACKED_MODE

static const long mps_layout_values[] = {
	sizeof(struct mps_header), MPS_HEADER_SIZE, MPS_LOCK_AREA_SIZE, MPS_FORMAT_MAX,
	MPS_LAYOUT_VERSION, MPS_VERSION_MAJOR, MPS_VERSION_MINOR,
	MPS_KIND_LOCK, MPS_KIND_RLOCK, MPS_KIND_SEMAPHORE, MPS_KIND_BOUNDED_SEMAPHORE,
	MPS_KIND_CONDITION, MPS_KIND_EVENT, MPS_KIND_BARRIER, MPS_KIND_VALUE, MPS_KIND_ARRAY,
	offsetof(struct mps_header, state), offsetof(struct mps_header, kind),
	offsetof(struct mps_header, count), offsetof(struct mps_header, payload_offset),
	offsetof(struct mps_header, format_offset), offsetof(struct mps_header, lock_offset),
	MPS_REG_ALIVE_BYTE, MPS_REG_HEADER_SIZE, MPS_REG_OFF_ID, MPS_REG_OFF_HIGH, MPS_REG_OFF_PID,
	MPS_REG_OFF_PIDNS, MPS_REG_OFF_STARTED, MPS_REG_SLOT_SIZE, MPS_REG_SLOT_OFF_INO,
	MPS_REG_SLOT_OFF_NAME, MPS_REG_NAME_MAX, MPS_REG_SLOTS, (long)MPS_REG_SIZE,
	MPS_UNTRACKED_MODE_VALUE, (long)(MPS_ID_MASK >> 32), (long)(MPS_ID_MASK & 0xffffffff),
	sizeof MPS_REG_MAGIC, sizeof MPS_REG_PREFIX, sizeof MPS_TRK_PREFIX,
};
static const char *mps_layout_strings[] = {MPS_REG_MAGIC, MPS_REG_PREFIX, MPS_TRK_PREFIX};
static const char *mps_layout_string(int i) { return mps_layout_strings[i]; }
static int mps_layout_count(void) { return sizeof mps_layout_values / sizeof mps_layout_values[0]; }
static long mps_layout_value(int i) { return mps_layout_values[i]; }
*/
import "C"

// cLayout returns the C values of the constants the tests compare with
// the Go ones, in the order of layoutNames. It is a test helper: _test
// files cannot use cgo.
func cLayout() []int {
	out := make([]int, C.mps_layout_count())
	for i := range out {
		out[i] = int(C.mps_layout_value(C.int(i)))
	}
	return out
}

// cLayoutStrings returns the C registry strings: magic, registry and
// tracker prefixes.
func cLayoutStrings() []string {
	out := make([]string, 3)
	for i := range out {
		out[i] = C.GoString(C.mps_layout_string(C.int(i)))
	}
	return out
}
