//go:build !race

package race

import (
	"unsafe"

	_ "github.com/mpsync/mpsync/internal/platform" // Linux and cgo only
)

// Enabled reports whether the race detector is on.
const Enabled = false

// Acquire does nothing without the race detector.
func Acquire(addr unsafe.Pointer) {}

// Release does nothing without the race detector.
func Release(addr unsafe.Pointer) {}
