package resourcetracker_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/mpsync/mpsync/internal/names"
	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

// The shared state of TestStressPidNamespaces, in one segment: a counter
// that a Lock guards, with an undo log so that whoever takes the lock from
// a holder that died mid-update can put the counter back, and how many
// increments each worker committed.
const (
	stCounter    = 0  // int64: the counter
	stLogWho     = 8  // int64: 1 + the worker updating, 0 none (the undo log is valid)
	stLogCounter = 16 // int64: the counter before that update
	stLogDone    = 24 // int64: that worker's done[] before it
	stDone       = 64 // int64 per worker: increments it committed
)

func stWord(mem []byte, off int) *atomic.Int64 { return (*atomic.Int64)(unsafe.Pointer(&mem[off])) }

// stRecover undoes the update that a dead holder of the lock left half
// done, if any, and returns 1 + that worker, or 0.
func stRecover(mem []byte) int64 {
	who := stWord(mem, stLogWho).Load()
	if who != 0 {
		stWord(mem, stCounter).Store(stWord(mem, stLogCounter).Load())
		stWord(mem, stDone+8*int(who-1)).Store(stWord(mem, stLogDone).Load())
		stWord(mem, stLogWho).Store(0)
	}
	return who
}

func init() {
	// stress-worker is worker args[2] of TestStressPidNamespaces, on Lock
	// args[0] and segment args[1]. It makes a segment and a Lock of its
	// own and prints "<segment> <lock>"; on "peer <segment> <lock>" it
	// opens a peer's and says "opened". On "go", until "stop", it adds 1
	// to the shared counter under the shared Lock — read, wait a little,
	// write, so that two holders at once would lose updates — printing
	// "a <n>" after its n'th committed increment (and "r <who>" after
	// undoing a dead holder's half-done one), and in between creates,
	// locks, checks and unlinks objects of its own. On "stop" it checks
	// that its own and its peer's objects are still there (the tracker
	// must not unlink what a live process uses) and says "checked"; on
	// "unlink" it unlinks its own and says "stopped".
	proctest.Register("stress-worker", func(h *proctest.Helper) {
		l, err := semaphore.OpenLock(h.Args[0])
		if err != nil {
			h.Fatalf("OpenLock: %v", err)
		}
		seg, err := shm.Open(h.Args[1])
		if err != nil {
			h.Fatalf("shm.Open: %v", err)
		}
		k, _ := strconv.Atoi(h.Args[2])
		mem := seg.Bytes()
		mine, err := shm.Create("", 4096)
		if err != nil {
			h.Fatalf("shm.Create: %v", err)
		}
		mineLock, err := semaphore.NewLock()
		if err != nil {
			h.Fatalf("NewLock: %v", err)
		}
		own := map[string]uint64{mine.Name(): inode(names.Dir, mine.Name()), mineLock.Name(): inode(names.Dir, mineLock.Name())}
		h.Ready()
		h.Printf("%s %s", mine.Name(), mineLock.Name())

		f := strings.Fields(h.ReadLine())
		if len(f) != 3 || f[0] != "peer" {
			h.Fatalf("want peer, got %q", f)
		}
		peer := map[string]uint64{}
		if _, err := shm.Open(f[1]); err != nil {
			h.Fatalf("open the peer's segment: %v", err)
		}
		peerLock, err := semaphore.OpenLock(f[2])
		if err != nil {
			h.Fatalf("open the peer's Lock: %v", err)
		}
		peer[f[1]], peer[f[2]] = inode(names.Dir, f[1]), inode(names.Dir, f[2])
		h.Printf("opened")
		if cmd := h.ReadLine(); cmd != "go" {
			h.Fatalf("want go, got %q", cmd)
		}
		var stop atomic.Bool
		unlink := make(chan struct{})
		go func() {
			if cmd := h.ReadLine(); cmd != "stop" {
				h.Fatalf("want stop, got %q", cmd)
			}
			stop.Store(true)
			if cmd := h.ReadLine(); cmd != "unlink" {
				h.Fatalf("want unlink, got %q", cmd)
			}
			close(unlink)
		}()

		counter, done := stWord(mem, stCounter), stWord(mem, stDone+8*k)
		for i := 0; !stop.Load(); i++ {
			// Two ways in, which look at the holder's liveness in two
			// places: Acquire, whose sleeping waiters look when a sleep
			// slice ends with the lock unchanged, and TryAcquire, which
			// looks at every failed try.
			var err error
			if i%4 == 3 {
				for ok := false; !ok && err == nil; {
					if ok, err = l.TryAcquire(); !ok && err == nil {
						runtime.Gosched()
					}
				}
			} else {
				err = l.Acquire(context.Background())
			}
			if errors.Is(err, semaphore.ErrOwnerDead) {
				h.Printf("r %d", stRecover(mem))
				if err := l.MarkConsistent(); err != nil {
					h.Fatalf("MarkConsistent: %v", err)
				}
			} else if err != nil {
				h.Fatalf("Acquire: %v", err)
			}
			c, d := counter.Load(), done.Load()
			stWord(mem, stLogCounter).Store(c)
			stWord(mem, stLogDone).Store(d)
			stWord(mem, stLogWho).Store(int64(k + 1))
			// A little while between read and write, so that two holders
			// at once would lose an update; now and then long enough
			// (longer than a waiter's sleep slice) for the waiters to
			// ask whether the holder lives.
			pause := time.Duration(rand.IntN(20)) * time.Microsecond
			if rand.IntN(300) == 0 {
				pause = time.Duration(22+rand.IntN(8)) * time.Millisecond
			}
			for end := time.Now().Add(pause); time.Now().Before(end); {
			}
			counter.Store(c + 1)
			done.Store(d + 1)
			stWord(mem, stLogWho).Store(0)
			if err := l.Release(); err != nil {
				h.Fatalf("Release: %v", err)
			}
			h.Printf("a %d", d+1)

			// Objects of its own: made, used, checked, unlinked.
			switch i % 3 {
			case 0:
				s, err := shm.Create("", 4096)
				if err != nil {
					h.Fatalf("shm.Create: %v", err)
				}
				s.Bytes()[0] = 1
				if err := s.Unlink(); err != nil {
					h.Fatalf("the tracker unlinked a live process's segment: %v", err)
				}
				s.Close()
			case 1:
				tl, err := semaphore.NewLock()
				if err != nil {
					h.Fatalf("NewLock: %v", err)
				}
				tl.Lock()
				again, err := semaphore.OpenLock(tl.Name())
				if err != nil {
					h.Fatalf("a live process's Lock is gone: %v", err)
				}
				if ok, err := again.TryAcquire(); ok || err != nil {
					h.Fatalf("TryAcquire of a Lock this process holds: %v, %v", ok, err)
				}
				tl.Unlock()
				again.Close()
				if err := tl.Unlink(); err != nil {
					h.Fatalf("the tracker unlinked a live process's Lock: %v", err)
				}
				tl.Close()
			case 2:
				if ok, err := peerLock.TryAcquire(); err != nil && !errors.Is(err, semaphore.ErrOwnerDead) {
					h.Fatalf("TryAcquire of the peer's Lock: %v", err)
				} else if ok {
					if err != nil {
						peerLock.MarkConsistent()
					}
					peerLock.Release()
				}
			}
		}
		for _, m := range []map[string]uint64{own, peer} {
			for name, ino := range m {
				if now := inode(names.Dir, name); now != ino {
					h.Fatalf("%s (inode %d) was unlinked while this process uses it (now inode %d)", name, ino, now)
				}
			}
		}
		h.Printf("checked")
		<-unlink
		if err := mine.Unlink(); err != nil {
			h.Fatalf("unlink own segment: %v", err)
		}
		if err := mineLock.Unlink(); err != nil {
			h.Fatalf("unlink own Lock: %v", err)
		}
		h.Printf("stopped")
	})
	// stress-books keeps the stress test's shared state, in the box:
	// it makes the shared Lock and the segment (for args[0] workers) and
	// prints their names. On "books R" it takes the lock (undoing a dead
	// holder's half-done update, if any), and answers "<owner died 0|1>
	// <undone: 1 + worker, or 0> <counter> <increments committed by
	// workers 0 to 4R+3> <those of workers 4R to 4R+3...>"; on "bye" it
	// unlinks both and exits.
	proctest.Register("stress-books", func(h *proctest.Helper) {
		n, _ := strconv.Atoi(h.Args[0])
		l, err := semaphore.NewLock()
		if err != nil {
			h.Fatalf("NewLock: %v", err)
		}
		seg, err := shm.Create("", stDone+8*n)
		if err != nil {
			h.Fatalf("shm.Create: %v", err)
		}
		mem := seg.Bytes()
		h.Ready()
		h.Printf("%s %s", l.Name(), seg.Name())
		for {
			f := strings.Fields(h.ReadLine())
			if len(f) == 1 && f[0] == "bye" {
				if err := l.Unlink(); err != nil {
					h.Fatalf("unlink the Lock: %v", err)
				}
				if err := seg.Unlink(); err != nil {
					h.Fatalf("unlink the segment: %v", err)
				}
				h.Printf("bye")
				return
			}
			r, _ := strconv.Atoi(f[1])
			died, who := 0, int64(0)
			if err := l.Acquire(context.Background()); errors.Is(err, semaphore.ErrOwnerDead) {
				died, who = 1, stRecover(mem)
				l.MarkConsistent()
			} else if err != nil {
				h.Fatalf("Acquire: %v", err)
			}
			var sum int64
			for k := 0; k < 4*(r+1); k++ {
				sum += stWord(mem, stDone+8*k).Load()
			}
			line := fmt.Sprintf("%d %d %d %d", died, who, stWord(mem, stCounter).Load(), sum)
			for k := 4 * r; k < 4*(r+1); k++ {
				line += fmt.Sprintf(" %d", stWord(mem, stDone+8*k).Load())
			}
			if err := l.Release(); err != nil {
				h.Fatalf("Release: %v", err)
			}
			h.Printf("%s", line)
		}
	})
}

// stressRounds is how many rounds TestStressPidNamespaces runs:
// $MPSYNC_STRESS_ROUNDS, or 200 (20 with -short).
func stressRounds(t *testing.T) int {
	if s := os.Getenv("MPSYNC_STRESS_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("MPSYNC_STRESS_ROUNDS=%q", s)
		}
		return n
	}
	if testing.Short() {
		return 20
	}
	return 200
}

// TestStressPidNamespaces runs rounds of 4 workers sharing one /dev/shm,
// 2 in one pid namespace and 2 in nested ones, which increment a shared
// counter under a shared Lock and make, open, lock and unlink objects;
// in each round 2 of them, chosen at random, are killed with SIGKILL at
// random moments. Checked, every round: the counter equals the
// increments committed (no lock was ever held twice), each survivor
// committed exactly what it acknowledged and each killed worker at most
// one more (the one in flight, whose acknowledgement it did not live to
// send), every half-done update was undone by the next holder (which got
// ErrOwnerDead) and was a killed worker's, and no worker found an object
// of its own or of its peer unlinked while it lived. At the end: nothing
// is left in /dev/shm.
//
// It all runs in a box (its own /dev/shm and network namespace, with a
// tracker of its own), so that other test packages running meanwhile
// neither disturb its count of what is left nor see its objects come and
// go in their leak checks.
func TestStressPidNamespaces(t *testing.T) {
	rounds := stressRounds(t)
	const workers = 4
	start := time.Now()
	box := startBox(t, 256<<20)
	books := proctest.StartIn(t, box.outside, "stress-books", strconv.Itoa(workers*rounds))
	f := strings.Fields(books.Recv())
	lockName, segName := f[0], f[1]

	var st stressStats
	for r := range rounds {
		if !stressRound(t, box, r, books, lockName, segName, &st) {
			t.Fatalf("round %d failed", r)
		}
	}
	elapsed := time.Since(start)

	// Nothing of the workers is left: every name they made is gone once
	// the tracker has reaped the last of them.
	var left []string
	waitFor(30*time.Second, func() bool {
		left = left[:0]
		for _, e := range box.entries("") {
			if e != lockName && e != segName {
				left = append(left, e)
			}
		}
		return len(left) == 0
	})
	for _, e := range left {
		t.Errorf("left in /dev/shm after %d rounds: %s", rounds, box.describe(e))
	}
	books.Send("bye")
	books.Expect("bye")
	if err := books.Wait(); err != nil {
		t.Fatal(err)
	}
	if left := box.entries(""); len(left) > 0 {
		t.Errorf("left in /dev/shm at the end: %v", left)
	}
	t.Logf("%d rounds in %v (%v a round; cleanup checked in %v more): %d workers killed, %d increments committed, %d locks taken from dead holders, %d half-done updates undone, %d committed but unacknowledged",
		rounds, elapsed.Round(time.Millisecond), (elapsed / time.Duration(rounds)).Round(time.Microsecond),
		time.Since(start.Add(elapsed)).Round(time.Millisecond), st.kills, st.increments, st.ownerDead, st.recoveries, st.inFlight)
}

// stressStats counts what happened over the rounds.
type stressStats struct {
	kills, increments, ownerDead, recoveries, inFlight int
}

func stressRound(t *testing.T, box *shmBox, r int, books *proctest.Proc, lockName, segName string, st *stressStats) bool {
	t.Helper()
	const workers = 4
	ps := make([]*proctest.Proc, workers)
	objs := make([][]string, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() { // started in parallel; a failure ends only this goroutine
			defer wg.Done()
			args := []string{lockName, segName, strconv.Itoa(r*workers + i)}
			wrapper := box.outside
			if i%2 == 1 {
				wrapper = box.nested
			}
			ps[i] = proctest.StartIn(t, wrapper, "stress-worker", args...)
			objs[i] = strings.Fields(ps[i].Recv())
		}()
	}
	wg.Wait()
	if t.Failed() {
		return false
	}
	for i, p := range ps {
		peer := objs[(i+1)%workers]
		p.Send("peer %s %s", peer[0], peer[1])
	}
	// Each has its peer's objects open, so none can be gone by the time
	// it opens them; then they start, and the killing with them.
	for _, p := range ps {
		p.Expect("opened")
	}
	for _, p := range ps {
		p.Send("go")
	}
	// Two of the four die, at random moments within 40 ms; the others
	// are stopped after 50 ms.
	killed := map[int]bool{}
	pending := make([][]string, workers) // lines received before the end
	for len(killed) < 2 {
		killed[rand.IntN(workers)] = true
	}
	for i := range killed {
		wg.Add(1)
		time.AfterFunc(time.Duration(rand.IntN(40000))*time.Microsecond, func() {
			defer wg.Done()
			ps[i].Kill()
		})
	}
	time.Sleep(50 * time.Millisecond)
	for i, p := range ps {
		if !killed[i] {
			p.Send("stop")
		}
	}
	wg.Wait()
	// Every survivor checks its objects and its peer's before any of them
	// unlinks its own.
	for i, p := range ps {
		if !killed[i] {
			for line := p.Recv(); line != "checked"; line = p.Recv() {
				if !strings.HasPrefix(line, "a ") && !strings.HasPrefix(line, "r ") {
					t.Fatalf("round %d: worker %d said %q", r, i, line)
				}
				pending[i] = append(pending[i], line)
			}
		}
	}
	for i, p := range ps {
		if !killed[i] {
			p.Send("unlink")
		}
	}
	st.kills += len(killed)

	// What each worker said.
	ok := true
	acks := make([]int64, workers)
	for i, p := range ps {
		lines := append(pending[i], p.Rest()...)
		if !killed[i] {
			if err := p.Wait(); err != nil || len(lines) == 0 || lines[len(lines)-1] != "stopped" {
				t.Errorf("round %d: worker %d (survivor): %v, last line %q\nstderr:\n%s", r, i, err, last(lines), p.Stderr())
				ok = false
			}
		}
		for _, line := range lines {
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			n, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "a":
				if n != acks[i]+1 {
					t.Errorf("round %d: worker %d acknowledged increment %d after %d", r, i, n, acks[i])
					ok = false
				}
				acks[i] = n
			case "r":
				st.ownerDead++
				if n == 0 {
					break // the dead holder had finished its update
				}
				st.recoveries++
				who := int(n-1) - r*workers
				if who < 0 || who >= workers || !killed[who] || who == i {
					t.Errorf("round %d: worker %d undid an update of worker %d, which was alive", r, i, who)
					ok = false
				}
			}
		}
	}
	// The books, as the coordinator finds them once it holds the lock
	// (undoing a half-done update if its holder died).
	books.Send("books %d", r)
	b := strings.Fields(books.Recv())
	num := make([]int64, len(b))
	for j := range b {
		num[j], _ = strconv.ParseInt(b[j], 10, 64)
	}
	if len(num) != 4+workers {
		t.Fatalf("round %d: books %q", r, b)
	}
	if num[0] == 1 {
		st.ownerDead++
	}
	if who := num[1]; who != 0 {
		st.recoveries++
		if w := int(who-1) - r*workers; w < 0 || w >= workers || !killed[w] {
			t.Errorf("round %d: a half-done update of worker %d, which was not killed", r, w)
			ok = false
		}
	}
	if c, sum := num[2], num[3]; c != sum {
		t.Errorf("round %d: counter %d, but %d increments were committed: the lock was held twice at once", r, c, sum)
		ok = false
	}
	for i := range workers {
		done := num[4+i]
		st.increments += int(done)
		switch {
		case killed[i] && (done < acks[i] || done > acks[i]+1):
			t.Errorf("round %d: killed worker %d committed %d increments and acknowledged %d", r, i, done, acks[i])
			ok = false
		case killed[i]:
			st.inFlight += int(done - acks[i])
		case done != acks[i]:
			t.Errorf("round %d: worker %d committed %d increments and acknowledged %d", r, i, done, acks[i])
			ok = false
		}
	}
	return ok
}

func last(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}
