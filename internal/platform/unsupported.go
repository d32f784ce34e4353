//go:build !(linux && cgo)

package platform

// The compiler rejects this line, and in doing so prints the requirement.
var _ int = "mpsync requires Linux and cgo (GOOS=linux, CGO_ENABLED=1, a C compiler)"
