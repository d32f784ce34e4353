package server

import (
	"os"
	"testing"
	"time"

	"github.com/mpsync/mpsync/internal/names"
)

// TestDirLookSeesEveryChange: a look at a tmpfs folder (a private one in
// /dev/shm, so no other test's names count) matches a later look only
// while no name has been created, removed or renamed; and a look taken
// right after a change is not trusted (settled) until the slack has
// passed, for a coarse clock could give the next change the same time.
func TestDirLookSeesEveryChange(t *testing.T) {
	dir := names.Dir + names.TestPrefix + "dirlook-" + names.Random("") + "/"
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(dir+"a", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := lookAt(dir)
	if fresh.at.IsZero() || fresh.settled() {
		t.Fatalf("a look right after a change: %+v, settled %v; want taken and not settled", fresh, fresh.settled())
	}
	time.Sleep(dirTimeSlack + 20*time.Millisecond)
	seen := lookAt(dir)
	if !seen.settled() || !lookAt(dir).same(seen) {
		t.Fatalf("no change since: settled %v, same %v", seen.settled(), lookAt(dir).same(seen))
	}
	changes := []struct {
		what string
		do   func() error
	}{
		{"create", func() error { return os.WriteFile(dir+"b", nil, 0o600) }},
		{"rename", func() error { return os.Rename(dir+"b", dir+"c") }},
		{"remove", func() error { return os.Remove(dir + "c") }},
		{"create and remove", func() error {
			if err := os.WriteFile(dir+"d", nil, 0o600); err != nil {
				return err
			}
			return os.Remove(dir + "d")
		}},
	}
	for _, c := range changes {
		// Each change right after a settled look, as a change right after
		// a sweep began would come: it must still show.
		time.Sleep(dirTimeSlack + 20*time.Millisecond)
		seen := lookAt(dir)
		if !seen.settled() {
			t.Fatalf("%s: the look before it is not settled", c.what)
		}
		if err := c.do(); err != nil {
			t.Fatal(err)
		}
		if lookAt(dir).same(seen) {
			t.Errorf("%s: the folder looks the same as before it", c.what)
		}
	}
	if missing := lookAt(dir + "nothing/"); !missing.at.IsZero() || missing.same(missing) || missing.settled() {
		t.Errorf("a failed look: %+v; want one that matches nothing", missing)
	}
}
