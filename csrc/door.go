//go:build cgo

package csrc

/*
#cgo CFLAGS: -std=gnu11 -O2 -Wall -Wextra
#include <stdlib.h>
#include <string.h>
#include "mpsync.h"
#include "mpsync_impl.h"
*/
import "C"

import (
	"syscall"
	"unsafe"

	"github.com/mpsync/mpsync/internal/errs"
)

// errno turns a libmpsync result (0 or -errno) into an error.
func errno(rc C.int) error {
	if rc >= 0 {
		return nil
	}
	return errs.FromErrno(syscall.Errno(-rc))
}

// Version returns the linked library's version, MAJOR*1000 + MINOR.
func Version() int { return int(C.mps_version()) }

// KindName returns the name of an object kind ("lock", "value", ...).
func KindName(kind int) string { return C.GoString(C.mps_kind_name(C.int(kind))) }

// KindTag returns the short tag of a kind used in random object names
// ("lock", "sem", ...), or "obj" for an unknown kind.
func KindTag(kind int) string { return C.GoString(C.mps__kind_tag(C.int(kind))) }

func cSpec(spec *ObjectSpec, keep **C.char) C.struct_mps_object_spec {
	*keep = C.CString(spec.Format)
	return C.struct_mps_object_spec{
		kind:       C.uint16_t(spec.Kind),
		format:     *keep,
		count:      C.uint64_t(spec.Count),
		elem_size:  C.uint64_t(spec.ElemSize),
		elem_align: C.uint32_t(spec.ElemAlign),
		with_lock:  boolInt(spec.WithLock),
	}
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func goInfo(ci *C.struct_mps_object_info) ObjectInfo {
	return ObjectInfo{
		Kind:          int(ci.kind),
		Version:       int32(ci.version),
		HeaderSize:    int32(ci.header_size),
		Count:         uint64(ci.count),
		ElemSize:      uint64(ci.elem_size),
		PayloadOffset: uint64(ci.payload_offset),
		PayloadSize:   uint64(ci.payload_size),
		LockOffset:    int(ci.lock_offset),
		Format:        C.GoString(&ci.format[0]),
	}
}

// ObjectSize returns the bytes a segment needs for the object spec
// describes. Bad fields match fs.ErrInvalid, a size that does not fit
// syscall.EOVERFLOW.
func ObjectSize(spec *ObjectSpec) (uint64, error) {
	var cformat *C.char
	cs := cSpec(spec, &cformat)
	defer C.free(unsafe.Pointer(cformat))
	var size C.uint64_t
	if err := errno(C.mps_object_size(&cs, &size)); err != nil {
		return 0, err
	}
	return uint64(size), nil
}

// InitHeader lays out the object spec describes at the start of mem (zeroed
// shared memory), leaving it unpublished, and returns the layout.
func InitHeader(mem []byte, spec *ObjectSpec) (ObjectInfo, error) {
	if len(mem) == 0 {
		return ObjectInfo{}, syscall.ENOSPC
	}
	var cformat *C.char
	cs := cSpec(spec, &cformat)
	defer C.free(unsafe.Pointer(cformat))
	var ci C.struct_mps_object_info
	if err := errno(C.mps_header_init(unsafe.Pointer(&mem[0]), C.size_t(len(mem)), &cs, &ci)); err != nil {
		return ObjectInfo{}, err
	}
	return goInfo(&ci), nil
}

// PublishHeader marks the object at the start of mem ready for openers.
func PublishHeader(mem []byte) error {
	if len(mem) < HeaderSize {
		return syscall.EINVAL
	}
	return errno(C.mps_header_publish(unsafe.Pointer(&mem[0])))
}

// ValidateHeader checks the untrusted object header at the start of mem
// against len(mem). Errors match errs.ErrCorrupt, errs.ErrVersion, or
// syscall.EAGAIN for an object not yet published.
func ValidateHeader(mem []byte) (ObjectInfo, error) {
	if len(mem) == 0 {
		return ObjectInfo{}, errs.FromErrno(syscall.EBADMSG)
	}
	var ci C.struct_mps_object_info
	if err := errno(C.mps_header_validate(unsafe.Pointer(&mem[0]), C.size_t(len(mem)), &ci)); err != nil {
		return ObjectInfo{}, err
	}
	return goInfo(&ci), nil
}

// Memmove copies n bytes from src to dst with the C library's memmove. On
// large blocks glibc's is faster than Go's copy (measured on W5: ~45
// against ~35 GB/s for 8 MiB here), so bulk copies of shared arrays use
// it; for small ones the cgo call costs more than it saves.
func Memmove(dst, src unsafe.Pointer, n uintptr) {
	if n > 0 {
		C.memmove(dst, src, C.size_t(n))
	}
}
