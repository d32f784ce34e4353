package shm_test

import (
	"os"
	"strconv"
	"testing"

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
