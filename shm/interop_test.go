package shm_test

import (
	"os/exec"
	"testing"

	"github.com/mpsync/mpsync/internal/cbuild"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/shm"
)

// peerRoundTrip runs one peer program (C or Python) against Go in both
// directions: the peer attaches to a Go segment, and Go attaches to the
// peer's segment. peer(mode, arg) prepares the peer's command.
func peerRoundTrip(t *testing.T, peer func(mode, arg string) *proctest.Proc, tag string) {
	t.Run("peer attaches", func(t *testing.T) {
		seg := create(t, 4096)
		copy(seg.Bytes(), "from-go")
		p := peer("attach", seg.Name())
		p.Start()
		p.Expect("written 4096")
		if err := p.Wait(); err != nil {
			t.Fatalf("peer: %v\n%s", err, p.Stderr())
		}
		if got, want := string(seg.Bytes()[100:100+len(tag)]), tag; got != want {
			t.Errorf("Go reads %q at 100, want %q", got, want)
		}
		// The peer's exit must not have removed the segment.
		if again, err := shm.Open(seg.Name()); err != nil {
			t.Errorf("segment gone after the peer exited: %v", err)
		} else {
			again.Close()
		}
	})
	t.Run("Go attaches", func(t *testing.T) {
		p := peer("create", "4096")
		p.Start()
		name := p.Recv()
		seg, err := shm.Open(name)
		if err != nil {
			t.Fatalf("Open(%q): %v", name, err)
		}
		defer seg.Close()
		if seg.Size() != 4096 {
			t.Errorf("Size() = %d, want 4096", seg.Size())
		}
		if got := string(seg.Bytes()[:len(tag)]); got != tag {
			t.Errorf("Go reads %q, want %q", got, tag)
		}
		copy(seg.Bytes()[100:], "from-go")
		p.Send("check")
		p.Expect("ok")
		if err := p.Wait(); err != nil {
			t.Fatalf("peer: %v\n%s", err, p.Stderr())
		}
	})
}

func TestPythonInterop(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is required for the cross-language tests: %v", err)
	}
	peerRoundTrip(t, func(mode, arg string) *proctest.Proc {
		return proctest.Exec(t, python, "testdata/peer.py", mode, arg)
	}, "from-python")
}

func TestCInterop(t *testing.T) {
	lib := cbuild.Build(t)
	prog := lib.Program(t, "testdata/peer_shm.c")
	peerRoundTrip(t, func(mode, arg string) *proctest.Proc {
		return proctest.Exec(t, prog, mode, arg)
	}, "from-c")
}
