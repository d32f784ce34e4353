package ctypes_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/shm"
)

func TestShareableListLocal(t *testing.T) {
	l, err := ctypes.NewShareableList([]any{42, 3.5, true, "héllo", []byte("by\x00tes"), nil, int8(-7)}, "")
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, l)
	want := []any{int64(42), 3.5, true, "héllo", []byte("by\x00tes"), nil, int64(-7)} // trailing NULs only are stripped, as in Python
	if diff := cmp.Diff(want, items(t, l)); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	if got, _ := l.Get(-1); got != int64(-7) {
		t.Errorf("item -1 = %v", got)
	}
	if _, err := l.Get(7); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Get(7): %v", err)
	}
	if err := l.Set(3, "this is far too long"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Set of a string longer than its slot: %v", err)
	}
	if err := l.Set(0, "short"); err != nil {
		t.Errorf("Set of a string into a number slot: %v", err)
	}
	if got, _ := l.Get(0); got != "short" {
		t.Errorf("item 0 = %v", got)
	}
	if err := l.Set(1, struct{}{}); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Set of a struct: %v", err)
	}
	if _, err := ctypes.NewShareableList([]any{uint64(1 << 63)}, ""); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("an integer beyond int64: %v", err)
	}
	empty, err := ctypes.NewShareableList(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, empty)
	seg, _ := shm.Open(empty.Name())
	if seg.Size() != 16 {
		t.Errorf("empty list segment has %d bytes, Python's has 16", seg.Size())
	}
	seg.Close()
	// A segment of junk is refused, not misread.
	junk, _ := shm.Create("", 64)
	cleanup(t, junk)
	copy(junk.Bytes(), []byte{200, 0, 0, 0, 0, 0, 0, 0})
	if _, err := ctypes.OpenShareableList(junk.Name()); !errors.Is(err, ctypes.ErrCorrupt) {
		t.Errorf("OpenShareableList of junk: %v, want ErrCorrupt", err)
	}
}

// TestShareableListItemTooLarge: an item whose slot or whose format does
// not fit is refused with an error naming the item and the sizes, and
// nothing truncated is ever written. A slot's format ("<k>s") has an
// 8-byte field, so string and bytes items hold at most 9,999,991 bytes.
func TestShareableListItemTooLarge(t *testing.T) {
	const limit = 9_999_991
	big := strings.Repeat("x", 10<<20)
	wantErr := func(what string, err error, parts ...string) {
		t.Helper()
		if !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%s: %v, want fs.ErrInvalid", what, err)
			return
		}
		for _, p := range parts {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("%s: %q does not say %q", what, err, p)
			}
		}
	}
	_, err := ctypes.NewShareableList([]any{"short", big}, "")
	wantErr("NewShareableList with a 10 MiB string", err, "ctypes.NewShareableList: ", "item 1", "10485760 bytes", "10485768")
	_, err = ctypes.NewShareableList([]any{[]byte(big[:limit+1])}, "")
	wantErr("NewShareableList with one byte over the limit", err, "item 0", "9999992 bytes")

	l, err := ctypes.NewShareableList([]any{"short", big[:limit]}, "")
	if err != nil {
		t.Fatalf("NewShareableList with %d bytes: %v", limit, err)
	}
	cleanup(t, l)
	if got, err := l.Get(1); err != nil || got != big[:limit] {
		t.Errorf("Get of the largest item: %d bytes, %v", len(fmt.Sprint(got)), err)
	}
	err = l.Set(0, big)
	wantErr("Set of a 10 MiB string into an 8-byte slot", err, "ctypes.ShareableList.Set: ", "item 0", "10485760 bytes", "8-byte slot")
	if got, err := l.Get(0); got != "short" || err != nil {
		t.Errorf("item 0 after the refused Set = %#v, %v; want \"short\" untouched", got, err)
	}
}

// TestShareableListCorruptItem writes garbage into the formats and codes
// of a live list, as a buggy process could: Get reports ErrCorrupt naming
// the item (never a panic), and Set makes the item whole again.
func TestShareableListCorruptItem(t *testing.T) {
	l, err := ctypes.NewShareableList([]any{"hello", 42, 2.5}, "")
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, l)
	seg, err := shm.Open(l.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	// CPython's layout: N, offsets[N+1], the data, formats, codes.
	mem := seg.Bytes()
	n := int(binary.NativeEndian.Uint64(mem))
	formats := 8*(n+2) + int(binary.NativeEndian.Uint64(mem[8+8*n:]))
	codes := formats + 8*n
	for _, c := range []struct {
		i      int
		format string
		code   byte
	}{
		{0, "99999s", 1}, // longer than the 8-byte slot
		{0, "-1s", 1},
		{0, "s", 2},
		{1, "q", 9}, // no such code
		{2, "zz", 0},
		{2, "\xff\xff\xff\xff\xff\xff\xff\xff", 0},
	} {
		f := mem[formats+8*c.i:][:8]
		clear(f)
		copy(f, c.format)
		mem[codes+c.i] = c.code
		_, err := l.Get(c.i)
		if !errors.Is(err, ctypes.ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("item %d", c.i)) {
			t.Errorf("Get(%d) with format %q, code %d: %v; want ErrCorrupt naming the item", c.i, c.format, c.code, err)
		}
		if err := l.Set(c.i, "ok"); err != nil {
			t.Errorf("Set(%d) over format %q, code %d: %v", c.i, c.format, c.code, err)
		}
		if got, err := l.Get(c.i); got != "ok" || err != nil {
			t.Errorf("Get(%d) after Set = %#v, %v; want \"ok\"", c.i, got, err)
		}
	}
}

// FuzzShareableListCorrupt writes arbitrary bytes anywhere into a list's
// segment, then opens it and reads and writes every item. Open and Get
// may fail, but nothing panics or leaves the mapping.
func FuzzShareableListCorrupt(f *testing.F) {
	f.Add(uint16(0), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add(uint16(8), []byte{8, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint16(56), []byte("9999999s"))
	f.Add(uint16(88), []byte{7, 7, 7, 7})
	f.Fuzz(func(t *testing.T, off uint16, data []byte) {
		l, err := ctypes.NewShareableList([]any{"hello", 42, 2.5, true, nil, []byte("bytes")}, "")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Unlink()
		defer l.Close()
		seg, err := shm.Open(l.Name())
		if err != nil {
			t.Fatal(err)
		}
		mem := seg.Bytes()
		copy(mem[int(off)%len(mem):], data)
		seg.Close()
		m, err := ctypes.OpenShareableList(l.Name())
		if err != nil {
			if !errors.Is(err, ctypes.ErrCorrupt) {
				t.Errorf("OpenShareableList: %v, want ErrCorrupt", err)
			}
			return
		}
		defer m.Close()
		for i := range m.Len() {
			if _, err := m.Get(i); err != nil && !errors.Is(err, ctypes.ErrCorrupt) {
				t.Errorf("Get(%d): %v, want nil or ErrCorrupt", i, err)
			}
			m.Set(i, "x")
			m.Set(i, int64(i))
		}
	})
}

// items reads every item of l.
func items(t *testing.T, l *ctypes.ShareableList) []any {
	t.Helper()
	got := make([]any, l.Len())
	for i := range got {
		var err error
		if got[i], err = l.Get(i); err != nil {
			t.Errorf("Get(%d): %v", i, err)
		}
	}
	return got
}

// TestShareableListWithPython round-trips lists Go → Python → Go and
// Python → Go → Python, including a string whose UTF-8 form is longer than
// its character count (CPython sizes such slots too small; we do not).
func TestShareableListWithPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is required for the cross-language tests: %v", err)
	}
	l, err := ctypes.NewShareableList([]any{42, 3.5, true, "ééééééé wörld", []byte("raw"), nil, int64(-1)}, "")
	if err != nil {
		t.Fatal(err)
	}
	cleanup(t, l)
	p := proctest.Exec(t, python, "testdata/peer_list.py", "open", l.Name())
	p.Start()
	p.Expect(`[42, 3.5, True, 'ééééééé wörld', b'raw', None, -1]`)
	p.Expect("changed")
	if err := p.Wait(); err != nil {
		t.Fatalf("python: %v\n%s", err, p.Stderr())
	}
	want := []any{int64(43), 3.5, true, "ünïcode", nil, 1.25, int64(-1)}
	if diff := cmp.Diff(want, items(t, l)); diff != "" {
		t.Errorf("after Python: items (-want +got):\n%s", diff)
	}

	p = proctest.Exec(t, python, "testdata/peer_list.py", "create")
	p.Start()
	name := p.Recv()
	pl, err := ctypes.OpenShareableList(name)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	want = []any{int64(1), 2.5, "abc", []byte("xy"), nil, false}
	if diff := cmp.Diff(want, items(t, pl)); diff != "" {
		t.Errorf("Python's list: items (-want +got):\n%s", diff)
	}
	pl.Set(2, "zz")
	pl.Set(0, int64(-5))
	pl.Set(5, true)
	p.Send("show")
	p.Expect(`[-5, 2.5, 'zz', b'xy', None, True]`)
	if err := p.Wait(); err != nil {
		t.Fatalf("python: %v\n%s", err, p.Stderr())
	}
}
