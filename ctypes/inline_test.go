package ctypes_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestFastPathsInline: Get and Set of a 4-byte Value inline into their
// callers, so that W4's loops make no call. Get sits at the inliner's
// budget: a change that pushes it over fails here, rather than quietly
// costing every Get a call.
func TestFastPathsInline(t *testing.T) {
	out, err := exec.Command("go", "build", "-gcflags=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	for _, want := range []string{
		"can inline (*Value[go.shape.int32]).Get\n",
		"can inline (*Value[go.shape.int32]).Set\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the compiler does not say %q", want)
		}
	}
}
