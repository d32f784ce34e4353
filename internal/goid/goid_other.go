//go:build !amd64 && !arm64

package goid

import (
	"bytes"
	"runtime"
	"strconv"
)

// getg returns the goroutine's number, parsed from its stack header
// ("goroutine 42 [running]:"): slow, but correct, where no assembly
// accessor is written.
func getg() uintptr {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	n, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return uintptr(n)
}
