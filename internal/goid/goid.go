// Package goid identifies the running goroutine, for recursive locks whose
// owner is a goroutine. Go has no public goroutine id; the identity used
// here is the address of the runtime's goroutine descriptor, read with one
// instruction. It is unique among live goroutines (a descriptor may be
// reused after its goroutine exits) and never zero.
package goid

import _ "github.com/mpsync/mpsync/internal/platform" // Linux and cgo only

// Current returns the running goroutine's identity.
func Current() uint64 { return uint64(getg()) }
