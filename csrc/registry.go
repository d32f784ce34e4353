package csrc

import "github.com/mpsync/mpsync/internal/names"

// The process registry and tracker layout of mpsync.h ("Process identity
// and the registry"), for the Go code that reads registries (the tracker,
// resourcetracker.List). TestLayoutMatchesC checks every value against C.
const (
	IDMask         = 0xffffffff3fffffff // the identity bits of a lock word
	RegPrefix      = names.RegPrefix    // registry file: RegPrefix + 16 hex digits of the identity
	TrkPrefix      = names.TrkPrefix    // a tracker's file and abstract socket: TrkPrefix + 16 hex digits
	RegMagic       = "MPSREG2\x00"
	RegAliveByte   = 0 // the byte its owner keeps an F_OFD_SETLK write lock on
	RegHeaderSize  = 4096
	RegOffID       = 8
	RegOffHigh     = 16
	RegOffPid      = 20
	RegOffPidNS    = 24
	RegOffStarted  = 32
	RegSlotSize    = 272
	RegSlotOffIno  = 8
	RegSlotOffName = 16
	RegNameMax     = 256 // bytes of a slot's name, with its NUL
	RegSlots       = 65536
	RegSize        = RegHeaderSize + RegSlotSize*RegSlots

	// UntrackedMode marks a file the tracker must never unlink: the
	// sticky bit, set by a creator that asked for an untracked object.
	UntrackedMode = 0o1000
)
