// Package csrc is libmpsync, the C library of mpsync, compiled into Go
// programs through cgo, and the thin typed door through which mpsync's
// other packages call it. It is an internal layer: applications use
// packages shm, semaphore and ctypes; C programs link libmpsync.so (see
// mpsync.h, the man pages in man/ and the Makefile in this folder, whose
// install and uninstall targets put and remove the header, libraries,
// mpsync.pc, man pages and the mpsync-tracker and mpsync-ls commands);
// Python uses the mpsync package in python/, on the same library.
//
// Import path: github.com/mpsync/mpsync/csrc.
//
// The door exports no C types. Its functions return Go errors: a C result
// of -errno becomes an error that errors.Is matches against the
// syscall.Errno, the fs sentinels it implies (fs.ErrNotExist for ENOENT,
// ...) and mpsync's own sentinels (EBADMSG is a corrupt object,
// EPROTONOSUPPORT an unknown layout version, EOWNERDEAD a dead lock
// owner).
//
// By default the C sources in this folder are compiled in. Building with
// the tag mpsync_system_lib links the installed libmpsync instead, found
// through pkg-config (mpsync.pc). The door also calls a few internal
// functions (MPS_DOOR in mpsync_impl.h: identities and tracking), which
// the shared library exports only in the version node
// MPSYNC_PRIVATE_<release>; since they may change in any release, the
// tagged build requires the installed library to be exactly this
// package's release (VersionMajor.VersionMinor), checked on the installed
// mpsync.h at compile time and, through the node, by the loader when the
// program starts. mpsync needs Linux and cgo: a build without cgo, or for
// another system, stops at compile time (see internal/platform).
package csrc
