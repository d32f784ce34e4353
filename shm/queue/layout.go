package queue

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/errs"
)

// Offsets in the control block at the start of the payload (mpsync.h,
// "Queues"). Words that different sides write sit on different cache lines.
const (
	ctrlSize      = csrc.QueueCtrlSize
	slotData      = csrc.QueueSlotData
	offCapacity   = 0   // uint64, constant
	offMaxMsg     = 8   // uint64, constant
	offStride     = 16  // uint64, constant
	offClosed     = 24  // uint32, written under the put lock
	offPutLock    = 64  // robust lock area
	offTail       = 128 // uint64, under the put lock
	offLostPut    = 136 // uint64, under the put lock
	offJPutPos    = 144 // uint64 journal
	offJPutLost   = 152 // uint64 journal
	offJPutValid  = 160 // uint32 journal
	offGetLock    = 192 // robust lock area
	offHead       = 256 // uint64, under the get lock
	offLostGet    = 264 // uint64, under the get lock
	offJGetPos    = 272
	offJGetLost   = 280
	offJGetValid  = 288
	offDone       = 320 // uint64: TaskDone calls
	offDataSeq    = 384 // uint32 futex
	offDataWait   = 388
	offSpaceSeq   = 448
	offSpaceWait  = 452
	offTasksSeq   = 456
	offTasksWait  = 460
	slotOffHolder = 8
	slotOffLen    = 16
	writerTag     = csrc.QueueWriter
	readerTag     = csrc.QueueReader
	tagMask       = writerTag | readerTag
)

// Limits of a queue's shape.
const (
	// MaxCapacity is the largest capacity, in messages.
	MaxCapacity = csrc.QueueMaxCapacity
	// MaxMessageLimit is the largest maximum message size, in bytes.
	MaxMessageLimit = csrc.QueueMaxMsg
)

// stride returns the bytes of one slot for messages of up to maxMsg
// bytes: the slot header and the data, rounded up to a cache line.
func stride(maxMsg uint64) uint64 { return (slotData + maxMsg + 63) &^ 63 }

// payloadSize returns the bytes of payload a queue of this shape needs, or
// false if it does not fit in 63 bits.
func payloadSize(capacity, maxMsg uint64) (uint64, bool) {
	st := stride(maxMsg)
	if capacity > (1<<62)/st {
		return 0, false
	}
	return ctrlSize + capacity*st, true
}

// shape is a queue's constant shape, read once from shared memory and
// checked against the mapping.
type shape struct {
	capacity, maxMsg, stride uint64
}

// readShape reads and checks the shape recorded in a payload written by
// another process: every field is untrusted.
func readShape(p []byte) (shape, error) {
	if len(p) < ctrlSize || uintptr(unsafe.Pointer(&p[0]))%64 != 0 {
		return shape{}, fmt.Errorf("payload of %d bytes cannot hold a queue's %d-byte control block: %w", len(p), ctrlSize, errs.ErrCorrupt)
	}
	base := unsafe.Pointer(&p[0])
	s := shape{
		capacity: (*atomic.Uint64)(unsafe.Add(base, offCapacity)).Load(),
		maxMsg:   (*atomic.Uint64)(unsafe.Add(base, offMaxMsg)).Load(),
		stride:   (*atomic.Uint64)(unsafe.Add(base, offStride)).Load(),
	}
	switch {
	case s.capacity < 1 || s.capacity > MaxCapacity:
		return shape{}, fmt.Errorf("capacity %d out of range: %w", s.capacity, errs.ErrCorrupt)
	case s.maxMsg < 1 || s.maxMsg > MaxMessageLimit:
		return shape{}, fmt.Errorf("maximum message size %d out of range: %w", s.maxMsg, errs.ErrCorrupt)
	case s.stride != stride(s.maxMsg):
		return shape{}, fmt.Errorf("slot stride %d for messages of %d bytes: %w", s.stride, s.maxMsg, errs.ErrCorrupt)
	}
	if size, ok := payloadSize(s.capacity, s.maxMsg); !ok || size != uint64(len(p)) {
		return shape{}, fmt.Errorf("%d slots of %d bytes do not match a payload of %d bytes: %w", s.capacity, s.stride, len(p), errs.ErrCorrupt)
	}
	return s, nil
}

// writeShape initialises a fresh, zeroed payload: the shape, and each
// slot free for the first position that maps to it.
func writeShape(p []byte, s shape) {
	base := unsafe.Pointer(&p[0])
	(*atomic.Uint64)(unsafe.Add(base, offCapacity)).Store(s.capacity)
	(*atomic.Uint64)(unsafe.Add(base, offMaxMsg)).Store(s.maxMsg)
	(*atomic.Uint64)(unsafe.Add(base, offStride)).Store(s.stride)
	for i := range s.capacity {
		(*atomic.Uint64)(unsafe.Add(base, ctrlSize+i*s.stride)).Store(free(i))
	}
}
