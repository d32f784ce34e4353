//go:build !cgo

package csrc

import (
	"errors"
	"unsafe"
)

// errNoCgo is returned by every function of the door in a build without
// cgo.
var errNoCgo = errors.New("mpsync: libmpsync requires cgo (CGO_ENABLED=1 and a C compiler)")

// Version returns 0: no library is linked.
func Version() int { return 0 }

// KindName returns "unknown".
func KindName(kind int) string { return "unknown" }

// KindTag returns "obj".
func KindTag(kind int) string { return "obj" }

// ObjectSize requires cgo.
func ObjectSize(spec *ObjectSpec) (uint64, error) { return 0, errNoCgo }

// InitHeader requires cgo.
func InitHeader(mem []byte, spec *ObjectSpec) (ObjectInfo, error) { return ObjectInfo{}, errNoCgo }

// PublishHeader requires cgo.
func PublishHeader(mem []byte) error { return errNoCgo }

// ValidateHeader requires cgo.
func ValidateHeader(mem []byte) (ObjectInfo, error) { return ObjectInfo{}, errNoCgo }

// Memmove copies n bytes from src to dst with Go's copy.
func Memmove(dst, src unsafe.Pointer, n uintptr) {
	copy(unsafe.Slice((*byte)(dst), n), unsafe.Slice((*byte)(src), n))
}

// Self requires cgo.
func Self() (uint64, error) { return 0, errNoCgo }

// Alive reports true: nothing can be told without cgo.
func Alive(id uint64) bool { return true }

// AliveLock requires cgo.
func AliveLock(fd int) (bool, error) { return false, errNoCgo }

// PidOf returns 0.
func PidOf(id uint64) int { return 0 }

// Track requires cgo.
func Track(name string, ino uint64, untracked bool) (added, had bool, err error) {
	return false, false, errNoCgo
}

// Forget does nothing.
func Forget(name string) {}

// SetTrackerExe does nothing.
func SetTrackerExe(exe string) {}

// FindTracker returns "".
func FindTracker(except string) string { return "" }

// FamilyLayout returns nil: no library is linked.
func FamilyLayout() map[string]int { return nil }
