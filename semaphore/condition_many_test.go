package semaphore_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
)

func init() {
	// cond-many: args[2] goroutines wait on condition args[0]; word
	// w[0] of segment args[1] counts the goroutines inside Wait (counted
	// under the lock, before Wait), w[1] those woken.
	proctest.Register("cond-many", func(h *proctest.Helper) {
		c, err := semaphore.OpenCondition(h.Args[0])
		if err != nil {
			h.Fatalf("OpenCondition: %v", err)
		}
		w := words(openSeg(h, h.Args[1]))
		n, _ := strconv.Atoi(h.Args[2])
		h.Ready()
		var wg sync.WaitGroup
		var failed atomic.Int64
		for range n {
			wg.Go(func() {
				c.Lock()
				w[0]++
				if err := c.Wait(context.Background()); err != nil {
					failed.Add(1)
				}
				w[1]++
				c.Unlock()
			})
		}
		wg.Wait()
		h.Printf("woken %d failed %d", n, failed.Load())
	})
}

// TestConditionManyWaiters: 10,000 goroutines in 4 processes wait on one
// Condition (there is no table of waiters to run out of); two of the
// processes are killed with SIGKILL while they wait. Notify(100) then
// wakes exactly 100 of the 5,000 live waiters (the dead take nothing) and
// NotifyAll the rest.
func TestConditionManyWaiters(t *testing.T) {
	const procs, each = 4, 2500
	c, err := semaphore.NewCondition(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Unlink()
	defer c.Close()
	seg := newSegment(t, 16)
	w := words(seg)
	var ps []*proctest.Proc
	for range procs {
		ps = append(ps, proctest.Start(t, "cond-many", c.Name(), seg.Name(), strconv.Itoa(each)))
	}
	count := func(i int) int64 {
		c.Lock()
		defer c.Unlock()
		return w[i]
	}
	waitCount := func(i int, n int64) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); count(i) < n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("count %d stuck at %d, want %d", i, count(i), n)
			}
		}
	}
	waitCount(0, procs*each) // every goroutine is inside Wait
	for _, p := range ps[:2] {
		p.Kill()
	}
	live := int64(procs-2) * each

	c.Lock()
	if err := c.Notify(100); err != nil {
		t.Fatal(err)
	}
	c.Unlock()
	waitCount(1, 100)
	if got := count(1); got != 100 {
		t.Errorf("Notify(100) woke %d waiters", got)
	}
	c.Lock()
	if err := c.NotifyAll(); err != nil {
		t.Fatal(err)
	}
	c.Unlock()
	waitCount(1, live)
	for _, p := range ps[2:] {
		p.Expect("woken " + strconv.Itoa(each) + " failed 0")
	}
	if got := count(1); got != live {
		t.Errorf("%d woken, want %d", got, live)
	}
}
