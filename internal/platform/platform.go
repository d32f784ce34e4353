// Package platform states what mpsync needs to build: Linux (futexes,
// /dev/shm, memfd, open-file-description locks) and cgo (libmpsync and
// libffi are C). Every package of the module imports it, directly or
// through csrc and internal/errs, so that a build without cgo
// (CGO_ENABLED=0, or no C compiler) or for another system stops at
// compile time, in every package, with an error that quotes the
// requirement, rather than building something that fails when run.
package platform
