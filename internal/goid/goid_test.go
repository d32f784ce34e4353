package goid

import (
	"sync"
	"testing"
)

func TestDistinctAndStable(t *testing.T) {
	me := Current()
	if me == 0 || Current() != me {
		t.Fatalf("Current() = %#x then %#x", me, Current())
	}
	const n = 50
	ids := make([]uint64, n)
	var wg sync.WaitGroup
	var hold sync.WaitGroup
	hold.Add(1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = Current()
			hold.Wait() // all alive at once, so no descriptor is reused
		}()
	}
	for { // wait until every goroutine has recorded its id
		done := true
		for _, id := range ids {
			if id == 0 {
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
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("id %#x seen twice", id)
		}
		seen[id] = true
	}
}
