package shm

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/fastsys"
)

// The kernel allows a process vm.max_map_count mappings (65530 by
// default); past it, mmap fails with ENOMEM, and so does the Go runtime
// when its heap grows, which it cannot survive. Every standalone segment
// or object is one mapping, so shm counts the mappings it holds and
// refuses a new one, with an error matching [ErrMapLimit] (and
// syscall.ENOMEM) that names the limit and points at arenas, while
// mapHeadroom mappings are still free for everything else: the runtime,
// cgo, libraries, and the mappings the process had before its first
// segment (counted once, from /proc/self/maps).
//
// A segment closed while a view into it was taken keeps its range mapped
// (to zero pages; see Segment.Bytes) and stays counted, though the kernel
// merges such neighbouring ranges into one mapping: so when the count
// reaches the budget, it is set afresh from /proc/self/maps (what the
// process maps now, less what it mapped before), and only a true count
// over the budget is refused. Near the limit every new mapping pays for
// that recount (milliseconds); far from it, nothing is read.

// mapHeadroom is how many mappings are left for others: a sixteenth of
// the limit, at least 1024 (4095 of the default 65530).
func mapHeadroom(limit int64) int64 { return max(limit/16, 1024) }

var (
	mapCount atomic.Int64           // mappings shm holds now
	budgetIs atomic.Pointer[budget] // mapBudget's answer, once read
)

// budget is how many mappings shm may hold, the kernel's limit, and the
// process's mappings before its first segment.
type budget struct{ shm, limit, before int64 }

// mapBudget returns the budget, read on first use. (An atomic pointer
// rather than sync.OnceValue: every map pays for this look, and the
// closure OnceValue returns lies on a page of package sync's code, which
// costs a page walk after each system call on machines that empty the TLB
// on every one.)
func mapBudget() *budget {
	if b := budgetIs.Load(); b != nil {
		return b
	}
	return firstMapBudget()
}

// firstMapBudget reads the budget for mapBudget; of goroutines that read
// it at once, the first to finish sets it.
func firstMapBudget() *budget {
	b := readMapBudget()
	budgetIs.CompareAndSwap(nil, &b)
	return budgetIs.Load()
}

// readMapBudget reads the limit and counts the mappings there are.
func readMapBudget() budget {
	limit := int64(65530)
	if b, err := os.ReadFile("/proc/sys/vm/max_map_count"); err == nil {
		if n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64); err == nil && n > 0 {
			limit = n
		}
	}
	before := countMappings()
	return budget{limit - mapHeadroom(limit) - before, limit, before}
}

// countMappings counts the lines of /proc/self/maps, or returns 0.
func countMappings() int64 {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	return int64(bytes.Count(b, []byte{'\n'}))
}

// recountMu makes one goroutine at a time recount.
var recountMu sync.Mutex

// mapShared maps size bytes of fd, counting the mapping, unless that
// would take the process too near the kernel's limit.
func mapShared(fd, size int) (unsafe.Pointer, error) {
	b := mapBudget()
	if n := mapCount.Add(1); n > b.shm {
		recountMu.Lock()
		now := countMappings() - b.before // this one not mapped yet
		if now >= b.shm {
			recountMu.Unlock()
			mapCount.Add(-1)
			return nil, fmt.Errorf("mpsync holds %d mappings; one more would leave fewer than %d of the kernel's limit of %d "+
				"(vm.max_map_count) for the rest of the process: put many small objects in one arena (shm.NewArena): %w",
				now, mapHeadroom(b.limit), b.limit, errs.ErrMapLimit)
		}
		mapCount.Store(now + 1)
		recountMu.Unlock()
	}
	addr, err := fastsys.MapShared(fd, size)
	if err != nil {
		mapCount.Add(-1)
	}
	return addr, err
}

// munmap unmaps a mapping made by mapShared.
func munmap(addr unsafe.Pointer, size int, small bool) error {
	err := fastsys.Munmap(addr, size, small)
	if err == nil {
		mapCount.Add(-1)
	}
	return err
}
