package server

import (
	"os"
	"testing"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proc"
	"golang.org/x/sys/unix"
)

// TestReapScansProcOnlyWhenNeeded: a dead process's name that is gone or
// that a live registry lists is settled without a scan of /proc; only a
// name that is still there and listed by no live process is looked up
// (and, held by no one, moved aside to be unlinked).
func TestReapScansProcOnlyWhenNeeded(t *testing.T) {
	scans := 0
	heldInodes = func(dir string) map[uint64]bool { scans++; return map[uint64]bool{} }
	defer func() { heldInodes = proc.HeldInodes }()

	name := names.Random("mps-test-held-")
	f, err := os.OpenFile(names.Dir+name, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	defer os.Remove(names.Dir + name)
	var st unix.Stat_t
	if err := unix.Stat(names.Dir+name, &st); err != nil {
		t.Fatal(err)
	}
	tr := &tracker{pending: map[string]Entry{}}
	held := &heldSet{}

	gone := names.Random("mps-test-gone-")
	if _, moved := tr.setAside(Entry{Name: gone}, "test", nil, held); moved || scans != 0 {
		t.Fatalf("a gone name: moved %v, %d scans; want neither", moved, scans)
	}
	live := map[string][]uint64{name: {st.Ino}}
	if _, moved := tr.setAside(Entry{Name: name, Ino: st.Ino}, "test", live, held); moved || scans != 0 {
		t.Fatalf("a name a live registry lists: moved %v, %d scans; want neither", moved, scans)
	}
	a, moved := tr.setAside(Entry{Name: name, Ino: st.Ino}, "test", nil, held)
	if moved {
		defer os.Remove(a.aside)
	}
	if !moved || scans != 1 {
		t.Fatalf("a name no one lists: moved %v, %d scans; want moved after 1 scan", moved, scans)
	}
	tr.setAside(Entry{Name: gone}, "test", nil, held)
	if held.has(st.Ino); scans != 1 {
		t.Errorf("%d scans in one reap; want 1", scans)
	}
}

// TestReapReadsEntriesOnlyWhenSomeoneDied: a reap that finds every
// registry's owner alive (this process's, at least) and no name held reads
// only the registries' headers, not the names they list; one that finds a
// dead registry (here a file with garbage and no owner) reads them and
// removes it.
func TestReapReadsEntriesOnlyWhenSomeoneDied(t *testing.T) {
	if _, err := proc.Self(); err != nil {
		t.Fatal(err)
	}
	reads := 0
	allRegistries = func() []Registry { reads++; return Registries() }
	defer func() { allRegistries = Registries }()
	tr := &tracker{pending: map[string]Entry{}, connected: map[uint64]int{}}

	quiet := false
	for range 20 { // another process's registry may be dead a moment
		someDead := false
		for _, r := range registryHeads() {
			someDead = someDead || !r.Alive
		}
		if someDead {
			tr.reap()
			continue
		}
		reads = 0
		tr.reap()
		if reads == 0 {
			quiet = true
			break
		}
	}
	if !quiet {
		t.Errorf("reaps with every owner alive read the registries' entries (%d reads)", reads)
	}
	if tr.registries == 0 {
		t.Errorf("the reap counted no live registry; this process has one")
	}

	for try := 0; ; try++ {
		dead := names.Dir + names.Random(csrc.RegPrefix)
		if err := os.WriteFile(dead, []byte("not a registry"), 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(dead)
		reads = 0
		tr.reap()
		_, err := os.Stat(dead)
		if !os.IsNotExist(err) {
			t.Fatalf("a reap left the dead registry: %v", err)
		}
		if reads > 0 {
			break
		}
		if try == 5 { // the running tracker reaped it first, each time
			t.Fatalf("a reap with a dead registry did not read the entries")
		}
	}
}
