package resourcetracker_test

import (
	"os"
	"os/exec"
	"path/filepath"
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
		// In a /dev/shm of its own, so that what other processes make
		// there meanwhile does not count: after -h it must be empty.
		cmd := exec.Command("unshare", "-m", "sh", "-c",
			`mount -t tmpfs tmpfs /dev/shm && "$0" -h && echo "/dev/shm after:" && ls -A /dev/shm`, exe)
		cmd.Env = append(os.Environ(), "MPSYNC_TRACKER="+filepath.Join(dir, "no-such-tracker"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s -h: %v\n%s", tc.cmd, err, out)
		}
		usage, after, _ := strings.Cut(string(out), "/dev/shm after:")
		for _, w := range tc.words {
			if !strings.Contains(usage, w) {
				t.Errorf("%s -h does not say %q:\n%s", tc.cmd, w, usage)
			}
		}
		if strings.TrimSpace(after) != "" {
			t.Errorf("%s -h left in /dev/shm: %s", tc.cmd, after)
		}
	}
}
