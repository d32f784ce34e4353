package proc_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/proctest"
)

func TestMain(m *testing.M) { proctest.Main(m) }

func init() {
	// identity prints this process's identity and waits to be killed.
	proctest.Register("identity", func(h *proctest.Helper) {
		id, err := proc.Self()
		if err != nil {
			h.Fatalf("%v", err)
		}
		h.Ready()
		h.Printf("%d %d", id, os.Getpid())
		select {}
	})
}

// TestAliveFromTheKernel: a child's identity is alive while it runs and
// dead once it is killed, whether or not it was reaped; the same for a
// child in a nested pid namespace, whose pid means nothing here.
func TestAliveFromTheKernel(t *testing.T) {
	self, err := proc.Self()
	if err != nil || self == 0 || !proc.Alive(self) || !proc.Is(self|1<<31) {
		t.Fatalf("Self() = %x, %v; alive %v", self, err, proc.Alive(self))
	}
	if again, _ := proc.Self(); again != self {
		t.Fatalf("Self changed: %x then %x", self, again)
	}
	if pid := proc.PidOf(self); pid != os.Getpid() {
		t.Errorf("PidOf(self) = %d, want %d", pid, os.Getpid())
	}
	for _, ns := range []bool{false, true} {
		var p *proctest.Proc
		if ns {
			p = proctest.StartIn(t, proctest.NestedPidNamespace, "identity")
		} else {
			p = proctest.Start(t, "identity")
		}
		f := strings.Fields(p.Recv())
		id, _ := strconv.ParseUint(f[0], 10, 64)
		if id == self || !proc.Alive(id) {
			t.Fatalf("namespace %v: child %x alive %v (self %x)", ns, id, proc.Alive(id), self)
		}
		if ns && f[1] == strconv.Itoa(p.Pid()) {
			t.Errorf("the child in a nested pid namespace has our pid for it: %s", f[1])
		}
		p.Kill()
		deadline := time.Now().Add(5 * time.Second)
		for proc.Alive(id) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if proc.Alive(id) {
			t.Errorf("namespace %v: killed child still alive", ns)
		}
	}
}
