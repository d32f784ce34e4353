//go:build race

// Package race tells the race detector about synchronization it cannot
// see. mpsync's primitives synchronize through atomics on shared memory
// mapped from /dev/shm, outside the Go heap, where the detector does not
// look; without these annotations it reports the Go memory they protect as
// raced. Each annotation is an atomic operation on a Go-heap token kept
// per synchronization address (per mapping: two handles of one object in
// one process have separate tokens). In builds without -race the functions
// are empty and vanish.
package race

import (
	"sync"
	"sync/atomic"
	"unsafe"

	_ "github.com/mpsync/mpsync/internal/platform" // Linux and cgo only
)

// Enabled reports whether the race detector is on.
const Enabled = true

var tokens sync.Map // uintptr → *atomic.Uint64

func token(addr unsafe.Pointer) *atomic.Uint64 {
	if t, ok := tokens.Load(uintptr(addr)); ok {
		return t.(*atomic.Uint64)
	}
	t, _ := tokens.LoadOrStore(uintptr(addr), new(atomic.Uint64))
	return t.(*atomic.Uint64)
}

// Acquire marks an acquire on the synchronization word at addr: what
// happened before the last Release of addr happens before what follows.
func Acquire(addr unsafe.Pointer) { token(addr).Load() }

// Release marks a release on the synchronization word at addr.
func Release(addr unsafe.Pointer) { token(addr).Add(1) }
