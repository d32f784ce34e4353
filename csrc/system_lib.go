//go:build cgo && mpsync_system_lib

package csrc

/*
#cgo CFLAGS: -DMPS_USE_SYSTEM_LIB
#cgo pkg-config: mpsync
#include "mpsync.h"
#if MPS_VERSION_MAJOR != 0 || MPS_VERSION_MINOR < 1
#error "mpsync_system_lib: the installed libmpsync is older than ABI 0.1"
#endif
*/
import "C"
