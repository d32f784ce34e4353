//go:build amd64 || arm64

package futex

import "sync/atomic"

// pause tells the CPU that this thread is in a spin-wait loop (PAUSE on
// x86, YIELD on arm64): it saves power and leaves the core's resources to
// its sibling hyperthread, and costs tens of nanoseconds.
func pause()

// StoreRelease stores v at addr with release order only: no earlier load
// or store moves after it, but, unlike addr.Store (an XCHG on amd64), it
// is no full fence, and costs no more than a plain store. For a word that
// others read, when no later load of this thread must wait for it.
func StoreRelease(addr *atomic.Uint64, v uint64)

// StoreRelease32 is StoreRelease for a 32-bit word.
func StoreRelease32(addr *atomic.Uint32, v uint32)
