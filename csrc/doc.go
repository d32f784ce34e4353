// Package csrc is libmpsync, the C library of mpsync, compiled into Go
// programs through cgo, and the thin typed door through which mpsync's
// other packages call it. It is an internal layer: applications use
// packages shm, semaphore and ctypes, and C programs link libmpsync.so
// (see mpsync.h and the Makefile in this folder).
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
// through pkg-config (mpsync.pc), and refuses one older than this
// package's ABI. mpsync needs Linux and cgo: a build without cgo, or for
// another system, stops at compile time (see internal/platform).
package csrc
