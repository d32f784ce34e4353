package fastsys_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/mpsync/mpsync/internal/fastsys"
)

// TestReadDirNames lists a directory of more names than one getdents64
// call returns and compares with os.ReadDir.
func TestReadDirNames(t *testing.T) {
	dir := t.TempDir()
	for i := range 600 {
		name := filepath.Join(dir, "entry-with-a-longish-name-"+strconv.Itoa(i))
		if err := os.WriteFile(name, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := fastsys.ReadDirNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range ents {
		want = append(want, e.Name())
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("ReadDirNames: %d names, os.ReadDir: %d; first %q, want %q", len(got), len(want), got[:min(3, len(got))], want[:3])
	}
	if _, err := fastsys.ReadDirNames(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("ReadDirNames of a missing directory: %v, want ENOENT", err)
	}
}

// TestPread reads at an offset, past the end, and into nothing.
func TestPread(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(name, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	buf := make([]byte, 4)
	if n, err := fastsys.Pread(fd, buf, 3); n != 4 || err != nil || string(buf) != "3456" {
		t.Errorf("Pread at 3: %d %v %q, want 4 nil \"3456\"", n, err, buf[:n])
	}
	if n, err := fastsys.Pread(fd, buf, 8); n != 2 || err != nil || string(buf[:n]) != "89" {
		t.Errorf("Pread at 8: %d %v %q, want 2 nil \"89\"", n, err, buf[:n])
	}
	if n, err := fastsys.Pread(fd, nil, 0); n != 0 || err != nil {
		t.Errorf("Pread into nothing: %d %v", n, err)
	}
	if _, err := fastsys.Pread(-1, buf, 0); err == nil {
		t.Error("Pread of fd -1: no error")
	}
}
