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
