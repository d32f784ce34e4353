//go:build !amd64 && !arm64

package futex

import "sync/atomic"

// pause is a spin-wait hint where none is written in assembly: nothing.
func pause() {}

// StoreRelease stores v at addr; where it is not written in assembly, as
// addr.Store does.
func StoreRelease(addr *atomic.Uint64, v uint64) { addr.Store(v) }

// StoreRelease32 is StoreRelease for a 32-bit word.
func StoreRelease32(addr *atomic.Uint32, v uint32) { addr.Store(v) }
