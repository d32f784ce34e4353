package resourcetracker_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCommandsUsage: mpsync-tracker -h and mpsync-ls -h exit 0 with a
// usage that names every flag and, for mpsync-ls, explains every column of
// its listing, and they start nothing (no tracker, nothing in /dev/shm).
func TestCommandsUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		cmd   string
		words []string
	}{
		{"mpsync-tracker", []string{"usage: mpsync-tracker", "MPSYNC_TRACKER", "no flags"}},
		{"mpsync-ls", []string{"usage: mpsync-ls", "-rm-stale",
			"NAME", "KIND", "SIZE", "FORMAT", "USERS", "LOCK", "STATE"}},
	} {
		exe := filepath.Join(dir, tc.cmd)
		if out, err := exec.Command("go", "build", "-o", exe, "./cmd/"+tc.cmd).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", tc.cmd, err, out)
		}
		before := shmNames(t)
		cmd := exec.Command(exe, "-h")
		cmd.Env = append(os.Environ(), "MPSYNC_TRACKER="+filepath.Join(dir, "no-such-tracker"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s -h: %v\n%s", tc.cmd, err, out)
		}
		for _, w := range tc.words {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s -h does not say %q:\n%s", tc.cmd, w, out)
			}
		}
		if after := shmNames(t); !slices.Equal(before, after) {
			t.Errorf("%s -h changed /dev/shm: %v, then %v", tc.cmd, before, after)
		}
	}
}

func shmNames(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/dev/shm")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
