//go:build cgo && mpsync_system_lib

package csrc

// With the tag mpsync_system_lib the C sources of this folder compile to
// nothing (MPS_USE_SYSTEM_LIB) and the door links the installed
// libmpsync.so through pkg-config. Besides the API, the door calls a few
// internal functions (MPS_DOOR in mpsync_impl.h), which the library exports
// only in the version node MPSYNC_PRIVATE_<release>: they may change in
// any release, so the installed library must be exactly this package's
// release (VersionMajor.VersionMinor, checked below against the installed
// mpsync.h, which pkg-config's -I puts first), and a program built against
// one release refuses another's library when it loads.

/*
#cgo CFLAGS: -DMPS_USE_SYSTEM_LIB
#cgo pkg-config: mpsync
#include "mpsync.h"
#if MPS_VERSION_MAJOR != 0 || MPS_VERSION_MINOR != 10
#error "mpsync_system_lib: the installed libmpsync (mpsync.h) is not release 0.10, the one this Go module is built for"
#endif
*/
import "C"
