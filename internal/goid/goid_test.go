package goid

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestDistinctAndStable(t *testing.T) {
	me := Current()
	if me == 0 || Current() != me {
		t.Fatalf("Current() = %#x then %#x", me, Current())
	}
	const n = 50
	ids := make([]atomic.Uint64, n)
	var wg sync.WaitGroup
	var hold sync.WaitGroup
	hold.Add(1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i].Store(Current())
			hold.Wait() // all alive at once, so no descriptor is reused
		}()
	}
	for { // wait until every goroutine has recorded its id
		done := true
		for i := range ids {
			if ids[i].Load() == 0 {
				done = false
			}
		}
		if done {
			break
		}
	}
	hold.Done()
	wg.Wait()
	seen := map[uint64]bool{me: true}
	for i := range ids {
		id := ids[i].Load()
		if seen[id] {
			t.Fatalf("id %#x seen twice", id)
		}
		seen[id] = true
	}
}
