//go:build cgo

package csrc

/*
#include <limits.h>
#include <semaphore.h>
#include <stddef.h>
#include <string.h>
#include "mpsync_impl.h"
#define MPS_UNTRACKED_MODE_VALUE MPS_UNTRACKED_MODE

static const long mps_layout_values[] = {
	sizeof(struct mps_header), MPS_HEADER_SIZE, MPS_LOCK_AREA_SIZE, MPS_FORMAT_MAX,
	MPS_LAYOUT_VERSION, MPS_VERSION_MAJOR, MPS_VERSION_MINOR,
	MPS_KIND_LOCK, MPS_KIND_RLOCK, MPS_KIND_SEMAPHORE, MPS_KIND_BOUNDED_SEMAPHORE,
	MPS_KIND_CONDITION, MPS_KIND_EVENT, MPS_KIND_BARRIER, MPS_KIND_VALUE, MPS_KIND_ARRAY,
	MPS_KIND_ARENA, MPS_ARENA_CTL, (long)(MPS_ARENA_MAGIC >> 32), (long)(MPS_ARENA_MAGIC & 0xffffffff),
	MPS_ARENA_VERSION, MPS_ARENA_CLASSES, MPS_ARENA_TYPES, MPS_ARENA_BLOCK_HEADER,
	MPS_ARENA_COMPACT_LOCK, MPS_ARENA_NAME_MAX,
	offsetof(struct mps_header, state), offsetof(struct mps_header, kind),
	offsetof(struct mps_header, count), offsetof(struct mps_header, payload_offset),
	offsetof(struct mps_header, format_offset), offsetof(struct mps_header, lock_offset),
	MPS_REG_ALIVE_BYTE, MPS_REG_HEADER_SIZE, MPS_REG_OFF_ID, MPS_REG_OFF_HIGH, MPS_REG_OFF_PID,
	MPS_REG_OFF_PIDNS, MPS_REG_OFF_STARTED, MPS_REG_SLOT_SIZE, MPS_REG_SLOT_OFF_INO,
	MPS_REG_SLOT_OFF_NAME, MPS_REG_NAME_MAX, MPS_REG_SLOTS, (long)MPS_REG_SIZE,
	MPS_UNTRACKED_MODE_VALUE, (long)(MPS_ID_MASK >> 32), (long)(MPS_ID_MASK & 0xffffffff),
	sizeof MPS_REG_MAGIC, sizeof MPS_REG_PREFIX, sizeof MPS_TRK_PREFIX,
	MPS_KIND_QUEUE, MPS_QUEUE_CTRL_SIZE, MPS_QUEUE_SLOT_DATA, MPS_QUEUE_MAX_CAPACITY,
	MPS_QUEUE_MAX_MSG, MPS_QUEUE_WRITER, MPS_QUEUE_READER,
};
#define F(name) {#name, name}
static const struct { const char *name; long value; } mps_family_layout[] = {
	F(MPS_SEM_PAYLOAD), F(MPS_SEM_OFF_PRIVATE), F(MPS_SEM_OFF_MAX), F(MPS_SEM_SHARED), F(MPS_SEM_VALUE_MAX),
	F(MPS_EVENT_PAYLOAD), F(MPS_EVENT_OFF_SLEEPERS),
	F(MPS_COND_PAYLOAD), F(MPS_COND_OFF_KIND), F(MPS_COND_OFF_FORMAT), F(MPS_COND_OFF_SEQ),
	F(MPS_COND_OFF_FLAGS), F(MPS_COND_OFF_LOCK_NAME), F(MPS_COND_LOCK_NAME_SIZE), F(MPS_COND_OFF_NEXT),
	F(MPS_COND_OFF_BOUND), F(MPS_COND_OFF_WAITING), F(MPS_COND_OFF_TOKENS), F(MPS_COND_FORMAT),
	F(MPS_COND_IMPLICIT_LOCK), F(MPS_COND_COUNT_MAX),
	F(MPS_BARRIER_OFF_PARTIES), F(MPS_BARRIER_OFF_BROKEN), F(MPS_BARRIER_OFF_COUNT), F(MPS_BARRIER_OFF_GEN),
	F(MPS_BARRIER_OFF_LAST_BROKEN), F(MPS_BARRIER_OFF_SLEEPERS), F(MPS_BARRIER_OFF_OK_BITS),
	F(MPS_BARRIER_OFF_WAITERS),
	F(MPS_BARRIER_PARTIES_MAX),
};
static const struct { const char *name; long value; } mps_shared_layout[] = {
	{"sizeof(struct mps__lock_area)", sizeof(struct mps__lock_area)},
	{"offsetof(word)", offsetof(struct mps__lock_area, word)},
	{"offsetof(count)", offsetof(struct mps__lock_area, count)},
	{"offsetof(owner)", offsetof(struct mps__lock_area, owner)},
	{"offsetof(since)", offsetof(struct mps__lock_area, since)},
	{"offsetof(wait)", offsetof(struct mps__lock_area, wait)},
	{"offsetof(rec)", offsetof(struct mps__lock_area, rec)},
	F(MPS__REC_TOKEN_BITS), F(MPS__REC_COUNT_MAX),
	F(MPS_LOCK_AREA_SIZE), F(MPS_ARENA_COMPACT_LOCK), F(MPS__LOCK_DEAD_BIT), F(MPS__LOCK_WAITERS_BIT),
	F(MPS_LOCK_NOTRECOVERABLE),
	{"sizeof(sem_t)", sizeof(sem_t)}, {"SEM_VALUE_MAX", SEM_VALUE_MAX},
	F(MPS_SEM_OFF_PRIVATE), F(MPS_SEM_SHARED),
};
#undef F
static int mps_shared_count(void) { return sizeof mps_shared_layout / sizeof mps_shared_layout[0]; }
static const char *mps_shared_name(int i) { return mps_shared_layout[i].name; }
static long mps_shared_value(int i) { return mps_shared_layout[i].value; }

// mps_sem_image writes into out the bytes of a process-shared sem_t that
// glibc's sem_init made with value.
static int mps_sem_image(unsigned char *out, unsigned value)
{
	sem_t s;
	memset(&s, 0, sizeof s);
	if (sem_init(&s, 1, value) != 0)
		return -1;
	memcpy(out, &s, sizeof s);
	return 0;
}
static int mps_family_count(void) { return sizeof mps_family_layout / sizeof mps_family_layout[0]; }
static const char *mps_family_name(int i) { return mps_family_layout[i].name; }
static long mps_family_value(int i) { return mps_family_layout[i].value; }
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

// FamilyLayout returns the payload layouts of the sync family as mpsync.h
// defines them (MPS_SEM_*, MPS_EVENT_*, MPS_COND_*, MPS_BARRIER_*), by
// macro name, for the tests of package semaphore that check its layouts
// against C's (test files cannot use cgo).
func FamilyLayout() map[string]int {
	out := map[string]int{}
	for i := range int(C.mps_family_count()) {
		out[C.GoString(C.mps_family_name(C.int(i)))] = int(C.mps_family_value(C.int(i)))
	}
	return out
}

// CLayout returns the layouts that C writes and Go's primitives mirror
// (the lock area of internal/robust, the sem_t of internal/semword), by
// name ("offsetof(word)", "sizeof(sem_t)", MPS_* macros), for their
// TestLayoutMatchesC (test files cannot use cgo).
func CLayout() map[string]int {
	out := map[string]int{}
	for i := range int(C.mps_shared_count()) {
		out[C.GoString(C.mps_shared_name(C.int(i)))] = int(C.mps_shared_value(C.int(i)))
	}
	return out
}

// SemImage returns the bytes of a process-shared sem_t that glibc's
// sem_init made with value, for internal/semword's layout test.
func SemImage(value uint32) []byte {
	out := make([]byte, int(C.sizeof_sem_t))
	if C.mps_sem_image((*C.uchar)(&out[0]), C.unsigned(value)) != 0 {
		return nil
	}
	return out
}
