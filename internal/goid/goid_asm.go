//go:build amd64 || arm64

package goid

// getg returns the address of the running goroutine's descriptor.
func getg() uintptr
