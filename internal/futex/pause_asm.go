//go:build amd64 || arm64

package futex

// pause tells the CPU that this thread is in a spin-wait loop (PAUSE on
// x86, YIELD on arm64): it saves power and leaves the core's resources to
// its sibling hyperthread, and costs tens of nanoseconds.
func pause()
