package queue_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mpsync/mpsync/internal/cbuild"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/shm/queue"
)

// TestWithC runs Go and C processes on the same queues. The C peer is
// csrc/testdata/peer_queue.c, built against libmpsync.
func TestWithC(t *testing.T) {
	prog := cbuild.Build(t).Program(t, "testdata/peer_queue.c")
	c := &peer{start: func(args ...string) *proctest.Proc {
		p := proctest.Exec(t, prog, args...)
		p.Start()
		return p
	}}
	t.Run("ManyProcesses", func(t *testing.T) { testManyWith(t, c) })
	t.Run("DeadCWriter", func(t *testing.T) { testDeadWriter(t, c) })
	// As TestKilledProcesses, with C and Go processes killed and
	// recovering after each other.
	t.Run("KilledProcesses", func(t *testing.T) { killRounds(t, 100, c) })
}

// TestWithPython runs Go and Python processes on the same queues. The
// Python peer is testdata/peer_queue.py, on the mpsync package of
// csrc/python (from the source tree) and a libmpsync built for the test.
func TestWithPython(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is required for the cross-language tests: %v", err)
	}
	lib := cbuild.Build(t)
	env := append(os.Environ(), "MPSYNC_LIB="+filepath.Join(lib.Dir, "libmpsync.so.0"),
		"PYTHONPATH="+filepath.Join(cbuild.ModuleRoot(t), "csrc", "python"), "PYTHONDONTWRITEBYTECODE=1")
	py := &peer{ownLog: true, start: func(args ...string) *proctest.Proc {
		p := proctest.Exec(t, python, append([]string{"testdata/peer_queue.py"}, args...)...)
		p.Cmd.Env = env
		p.Start()
		return p
	}}
	// Go producers to Python consumers and Python producers to Go
	// consumers, on one queue.
	t.Run("ManyProcesses", func(t *testing.T) { testManyWith(t, py) })
	t.Run("MadeByPython", func(t *testing.T) {
		maker := py.start("make", "8", "64")
		name, ok := strings.CutPrefix(maker.Recv(), "name ")
		if !ok {
			t.Fatal("python: no queue name")
		}
		q, err := queue.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Unlink()
		defer q.Close()
		if q.Cap() != 8 || q.MaxMessage() != 64 {
			t.Errorf("Python's queue opens with Cap %d, MaxMessage %d; want 8, 64", q.Cap(), q.MaxMessage())
		}
		maker.Send("exit")
		if err := maker.Wait(); err != nil {
			t.Fatalf("python: %v\n%s", err, maker.Stderr())
		}
		mustPut(t, q, []byte("still here"))
		if got, err := q.Get(t.Context()); string(got) != "still here" || err != nil {
			t.Errorf("Get = %q, %v after its maker exited", got, err)
		}
	})
	t.Run("DeadPythonWriter", func(t *testing.T) { testDeadWriter(t, py) })
	// As TestKilledProcesses, with Python and Go processes killed and
	// recovering after each other; fewer rounds, as a Python process
	// takes a while to start.
	t.Run("KilledProcesses", func(t *testing.T) { killRounds(t, 40, py) })
}

// testManyWith: Go producers and consumers, in and out of place, and the
// peer's, on one queue: every message arrives exactly once, intact, in
// each producer's order, whichever language put and got it.
func testManyWith(t *testing.T, other *peer) {
	const each, maxMsg = 4000, 100
	q := newQueue(t, 16, maxMsg)
	b := newBooks(t, 4*each)
	var logs []books
	var producers, consumers []*proctest.Proc
	for i := range 4 {
		id, m := strconv.Itoa(i), mode(i/2 == 1)
		if i%2 == 0 {
			producers = append(producers, proctest.Start(t, "producer", q.Name(), b.seg.Name(), id, strconv.Itoa(each), m, "fast"))
			consumers = append(consumers, proctest.Start(t, "consumer", q.Name(), b.seg.Name(), id, m))
			continue
		}
		producers = append(producers, other.start("produce", q.Name(), b.seg.Name(), id, strconv.Itoa(each), m))
		log := b
		if other.ownLog {
			log = newBooks(t, 4*each)
			logs = append(logs, log)
		}
		consumers = append(consumers, other.start("consume", q.Name(), log.seg.Name(), id, m))
	}
	runToEOF(t, q, producers, consumers)
	valid, per := checkLog(t, b, 4, logs...)
	if valid != 4*each || b.corrupt().Load() != 0 {
		t.Errorf("%d messages delivered, want %d (per producer: %v); %d corrupt", valid, 4*each, per, b.corrupt().Load())
	}
	if n, err := q.Lost(); n != 0 || err != nil {
		t.Errorf("Lost() = %d, %v; want 0", n, err)
	}
}

// testDeadWriter: a peer process killed holding a reservation; a Go get
// skips its position and counts it lost.
func testDeadWriter(t *testing.T, other *peer) {
	q := newQueue(t, 4, 16)
	mustPut(t, q, []byte("before"))
	p := other.start("hold", q.Name())
	p.Expect("stalled")
	p.Kill()
	mustPut(t, q, []byte("after"))
	for _, want := range []string{"before", "after"} {
		got, err := q.Get(t.Context())
		if err != nil || string(got) != want {
			t.Fatalf("Get = %q, %v; want %q", got, err, want)
		}
	}
	if n, err := q.Lost(); n != 1 || err != nil {
		t.Fatalf("Lost() = %d, %v; want 1", n, err)
	}
}
