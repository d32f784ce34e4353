package csrc

// Layout constants of mpsync.h, checked against the C values by the tests.
const (
	HeaderSize    = 64 // MPS_HEADER_SIZE
	LockAreaSize  = 64 // MPS_LOCK_AREA_SIZE
	FormatMax     = 255
	LayoutVersion = 5
	VersionMajor  = 0  // MPS_VERSION_MAJOR
	VersionMinor  = 10 // MPS_VERSION_MINOR
)

// Arena layout constants (MPS_ARENA_*): see "Arenas" in mpsync.h and
// package internal/arena.
const (
	ArenaCtl         = 4096
	ArenaMagic       = 0x414e45524153504d // the bytes "MPSARENA"
	ArenaVersion     = 4
	ArenaClasses     = 248
	ArenaTypes       = 256
	ArenaBlockHeader = 16
	ArenaCompactLock = 16
	ArenaNameMax     = 251
)

// Object kinds (MPS_KIND_*).
const (
	KindLock             = 1
	KindRLock            = 2
	KindSemaphore        = 3
	KindBoundedSemaphore = 4
	KindCondition        = 5
	KindEvent            = 6
	KindBarrier          = 7
	KindValue            = 8
	KindArray            = 9
	KindQueue            = 10
	KindArena            = 11
)

// ObjectSpec describes an object to lay out (struct mps_object_spec).
type ObjectSpec struct {
	Kind      int
	Format    string // element format, printable ASCII
	Count     uint64 // elements in the payload
	ElemSize  uint64 // bytes per element; 0 only if Count is 0
	ElemAlign uint32 // payload alignment, a power of two; 0 means 8
	WithLock  bool   // reserve an embedded lock area
}

// ObjectInfo is a checked object layout (struct mps_object_info).
type ObjectInfo struct {
	Kind          int
	Version       int32 // 32 bits, as HeaderSize: a million arena handles each hold one
	HeaderSize    int32
	Count         uint64
	ElemSize      uint64
	PayloadOffset uint64
	PayloadSize   uint64
	LockOffset    int // 0: no lock area
	Format        string
}

// Queue layout constants (MPS_QUEUE_*); the queue's control block and
// slots are described in mpsync.h and in package shm/queue.
const (
	QueueCtrlSize    = 512
	QueueSlotData    = 24
	QueueMaxCapacity = 1 << 30
	QueueMaxMsg      = 1<<31 - 1
	QueueWriter      = 1 << 30
	QueueReader      = 1 << 31
)
