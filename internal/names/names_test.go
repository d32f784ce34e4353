package names

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

func TestCheck(t *testing.T) {
	good := map[string]string{"x": "x", "/x": "x", "psm_ab": "psm_ab", "/" + strings.Repeat("a", Max): strings.Repeat("a", Max), "a.b-c": "a.b-c"}
	for in, want := range good {
		if got, err := Check("op", in); err != nil || got != want {
			t.Errorf("Check(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]error{
		"": fs.ErrInvalid, "/": fs.ErrInvalid, "a/b": fs.ErrInvalid, "//a": fs.ErrInvalid,
		"a\x00": fs.ErrInvalid, ".": fs.ErrInvalid, "/..": fs.ErrInvalid,
		strings.Repeat("a", Max+1): syscall.ENAMETOOLONG,
	}
	for in, want := range bad {
		_, err := Check("shm.Open", in)
		if !errors.Is(err, want) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Check(%q): %v, want %v", in, err, want)
		}
		if err != nil && (!strings.HasPrefix(err.Error(), "shm.Open: bad name: ") || len(err.Error()) < 25) {
			t.Errorf("Check(%q): message %q does not say which call, argument and why", in, err)
		}
	}
}

func TestRandomAndOurs(t *testing.T) {
	a, b := Random(ShmPrefix), Random(ShmPrefix)
	if a == b || len(a) != len(ShmPrefix)+16 {
		t.Errorf("Random gave %q and %q", a, b)
	}
	for _, e := range []string{a, TestPrefix + "x", "sem." + TestPrefix + "y", "sem." + Random(SemPrefix), Random(ObjectPrefix + "lock_")} {
		if !Ours(e) {
			t.Errorf("Ours(%q) = false", e)
		}
	}
	for _, e := range []string{"psm_9fc635d2", "psm_" + strings.Repeat("g", 16), "sem.mp-abc", "other"} {
		if Ours(e) {
			t.Errorf("Ours(%q) = true", e)
		}
	}
}

// TestRandomDigits checks that every one of the 16 digits carries
// randomness: over 2000 names each position takes all 16 values, and no
// name repeats. A long prefix is kept whole.
func TestRandomDigits(t *testing.T) {
	var seen [16][16]bool
	names := map[string]bool{}
	for range 2000 {
		n := Random(ShmPrefix)
		if names[n] || !strings.HasPrefix(n, ShmPrefix) || len(n) != len(ShmPrefix)+16 {
			t.Fatalf("Random gave %q (repeated: %v)", n, names[n])
		}
		names[n] = true
		for i, c := range n[len(ShmPrefix):] {
			d := strings.IndexRune("0123456789abcdef", c)
			if d < 0 {
				t.Fatalf("Random gave %q: not lower-case hex", n)
			}
			seen[i][d] = true
		}
	}
	for i := range seen {
		for d, ok := range seen[i] {
			if !ok {
				t.Errorf("digit %d of 2000 names was never %x", i, d)
			}
		}
	}
	long := strings.Repeat("p", 100)
	if n := Random(long); !strings.HasPrefix(n, long) || len(n) != 116 {
		t.Errorf("Random(100-byte prefix) = %q", n)
	}
}

func TestExclusive(t *testing.T) {
	taken := func(n int, tried *[]string) func(string) error {
		return func(name string) error {
			*tried = append(*tried, name)
			if len(*tried) <= n {
				return &fs.PathError{Op: "open", Path: name, Err: syscall.EEXIST}
			}
			return nil
		}
	}
	// Random names: retried on a collision, each time a new name.
	var tried []string
	name, err := Exclusive("", true, "p-", taken(3, &tried))
	if err != nil || len(tried) != 4 || name != tried[3] || !strings.HasPrefix(name, "p-") {
		t.Errorf("3 collisions: %q, %v after %q", name, err, tried)
	}
	for i := range tried {
		for j := range i {
			if tried[i] == tried[j] {
				t.Errorf("name %q tried twice", tried[i])
			}
		}
	}
	// A random name given is tried first.
	tried = nil
	if name, err := Exclusive("p-first", true, "p-", taken(0, &tried)); name != "p-first" || err != nil || len(tried) != 1 {
		t.Errorf("first name given: %q, %v after %q", name, err, tried)
	}
	// At most RandomTries retries.
	tried = nil
	if _, err := Exclusive("", true, "p-", taken(1000, &tried)); !errors.Is(err, fs.ErrExist) || len(tried) != RandomTries+1 {
		t.Errorf("always taken: %v after %d tries, want ErrExist after %d", err, len(tried), RandomTries+1)
	}
	// A chosen name is tried once; other errors are not retried.
	tried = nil
	if name, err := Exclusive("mine", false, "p-", taken(1, &tried)); name != "mine" || !errors.Is(err, fs.ErrExist) || len(tried) != 1 {
		t.Errorf("chosen name taken: %q, %v after %q", name, err, tried)
	}
	calls := 0
	if _, err := Exclusive("", true, "p-", func(string) error { calls++; return syscall.ENOSPC }); err != syscall.ENOSPC || calls != 1 {
		t.Errorf("ENOSPC: %v after %d calls, want it after 1", err, calls)
	}
}
