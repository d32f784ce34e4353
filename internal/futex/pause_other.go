//go:build !amd64 && !arm64

package futex

// pause is a spin-wait hint where none is written in assembly: nothing.
func pause() {}
