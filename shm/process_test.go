package shm_test

import (
	"errors"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/shm"
)

func init() {
	// write-named opens the segment args[0] by name, checks what the
	// parent wrote and writes its answer at offset 100.
	proctest.Register("write-named", func(h *proctest.Helper) {
		seg, err := shm.Open(h.Args[0])
		if err != nil {
			h.Fatalf("Open: %v", err)
		}
		defer seg.Close()
		h.Ready()
		h.ReadLine()
		if got := string(seg.Bytes()[:9]); got != "from-test" {
			h.Fatalf("read %q, want from-test", got)
		}
		copy(seg.Bytes()[100:], "from-helper")
		h.Printf("written")
	})
	// truncate truncates the file of segment args[0] to args[1] bytes, as
	// a buggy or hostile process may.
	proctest.Register("truncate", func(h *proctest.Helper) {
		size, _ := strconv.ParseInt(h.Args[1], 10, 64)
		h.Ready()
		if err := os.Truncate(names.Dir+h.Args[0], size); err != nil {
			h.Fatalf("truncate: %v", err)
		}
		h.Printf("truncated")
	})
	// write-anonymous maps the segment passed as fd 3 and doubles every
	// byte of its first args[0] bytes.
	proctest.Register("write-anonymous", func(h *proctest.Helper) {
		seg, err := shm.FromFile(os.NewFile(3, "segment"))
		if err != nil {
			h.Fatalf("FromFile: %v", err)
		}
		defer seg.Close()
		h.Ready()
		n, _ := strconv.Atoi(h.Args[0])
		b := seg.Bytes()
		for i := range n {
			b[i] *= 2
		}
		h.Printf("size %d", seg.Size())
	})
}

// TestTruncatedByAnotherProcess has a helper process shrink a segment's
// file below this process's mapping: ReadAt and WriteAt of the pages that
// lost their memory return ErrTruncated (matching io.ErrUnexpectedEOF)
// instead of killing the process with SIGBUS, the pages still backed
// keep working, and the goroutine's panic-on-fault setting is restored.
func TestTruncatedByAnotherProcess(t *testing.T) {
	page := os.Getpagesize()
	seg := create(t, 3*page)
	if _, err := seg.WriteAt([]byte("kept"), 0); err != nil {
		t.Fatal(err)
	}
	proctest.Start(t, "truncate", seg.Name(), strconv.Itoa(page)).Expect("truncated")

	truncated := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, shm.ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.HasPrefix(err.Error(), what) {
			t.Errorf("%s of a truncated range: %v; want ErrTruncated (and io.ErrUnexpectedEOF), naming %s", what, err, what)
		}
	}
	buf := make([]byte, 8)
	for _, off := range []int64{int64(page), int64(3*page - len(buf))} {
		_, err := seg.ReadAt(buf, off)
		truncated("shm.Segment.ReadAt", err)
		_, err = seg.WriteAt(buf, off)
		truncated("shm.Segment.WriteAt", err)
	}
	if n, err := seg.ReadAt(buf[:4], 0); n != 4 || err != nil || string(buf[:4]) != "kept" {
		t.Errorf("ReadAt of the page still backed = %d, %v, %q; want 4, nil, kept", n, err, buf[:4])
	}
	if _, err := seg.WriteAt([]byte("more"), 4); err != nil {
		t.Errorf("WriteAt of the page still backed: %v", err)
	}
	if debug.SetPanicOnFault(false) {
		t.Error("ReadAt or WriteAt left panic-on-fault set on the calling goroutine")
	}

	proctest.Start(t, "truncate", seg.Name(), "0").Expect("truncated")
	_, err := seg.ReadAt(buf, 0)
	truncated("shm.Segment.ReadAt", err)
	_, err = seg.WriteAt(buf, 0)
	truncated("shm.Segment.WriteAt", err)
}

func TestCrossProcessNamed(t *testing.T) {
	seg := create(t, 4096)
	copy(seg.Bytes(), "from-test")
	p := proctest.Start(t, "write-named", seg.Name())
	p.Send("go")
	p.Expect("written")
	if got := string(seg.Bytes()[100:111]); got != "from-helper" {
		t.Errorf("parent reads %q, want from-helper", got)
	}
	if err := p.Wait(); err != nil {
		t.Errorf("helper: %v\n%s", err, p.Stderr())
	}
}

func TestCrossProcessAnonymous(t *testing.T) {
	seg, err := shm.NewAnonymous(5000)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	if seg.Name() != "" {
		t.Errorf("anonymous segment has name %q", seg.Name())
	}
	if err := seg.Unlink(); err != nil {
		t.Errorf("Unlink of an anonymous segment: %v, want nil", err)
	}
	for i := range 100 {
		seg.Bytes()[i] = byte(i)
	}
	f, err := seg.File()
	if err != nil {
		t.Fatal(err)
	}
	p := proctest.Command(t, "write-anonymous", "100")
	p.Cmd.ExtraFiles = []*os.File{f}
	p.Start()
	f.Close()
	p.Expect("size 5000")
	if err := p.Wait(); err != nil {
		t.Fatalf("helper: %v\n%s", err, p.Stderr())
	}
	for i := range 100 {
		if got := seg.Bytes()[i]; got != byte(2*i) {
			t.Fatalf("byte %d = %d, want %d", i, got, 2*i)
		}
	}
}

func TestFileOfNamedSegment(t *testing.T) {
	seg := create(t, 64)
	copy(seg.Bytes(), "named")
	f, err := seg.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	again, err := shm.FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Size() != 64 || string(again.Bytes()[:5]) != "named" {
		t.Errorf("FromFile of a named segment's File: size %d, %q", again.Size(), again.Bytes()[:5])
	}
}
