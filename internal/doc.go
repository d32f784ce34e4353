// Package internal holds no code; it writes down how the packages under
// internal/ are stacked, so that each stays on one floor. TestFloors checks
// the imports of every internal package against this list.
//
// Leaves import nothing of the module but other leaves and csrc (the C
// door, which itself imports only leaves):
//
//   - platform: states that mpsync needs Linux and cgo
//   - errs: the error types and sentinels every package returns
//   - names: checks and makes /dev/shm names
//   - proc: process identities and their liveness, asked of the kernel
//   - futex: waits on and wakes shared 32-bit words; Busy (looks with a
//     CPU pause between looks), Spin and Sleeper, the one spin and sliced
//     wait of every blocking call (the sync family, the robust lock, the
//     queue)
//   - handle: a process's handle of an object (closed flag, Name, Close,
//     Unlink), held by every public object type
//   - goid, race, fastsys: goroutine ids, race-detector hooks, raw syscalls
//
// Primitives import leaves and other primitives, never shm; shm is built
// on them:
//
//   - robust: the robust lock word and lock area
//   - semword: the semaphore word
//   - arena: the layout and heap of an arena
//   - tracker, tracker/server: the resource tracker's client and server
//
// Layers above shm may also import shm (and the public packages import
// them):
//
//   - object: named shared objects (header, format, arena objects) over shm
//
// Test-only packages may import anything, and only tests (and the bench,
// which builds its C peers) import them:
//
//   - proctest: re-runs a test binary as a helper process
//   - cbuild: builds C programs against libmpsync for tests
package internal

import _ "github.com/mpsync/mpsync/internal/platform" // Linux and cgo only
