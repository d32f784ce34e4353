package ctypes_test

import (
	"errors"
	"os"
	"testing"
	"unsafe"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/internal/proctest"
)

// page is the size of a page of /dev/shm.
var page = os.Getpagesize()

// closer is what every shared object of the package has.
type closer interface {
	Close() error
	Unlink() error
}

// thenRemove returns a call to create that closes and unlinks the object
// if it is made.
func thenRemove[T closer](create func() (T, error)) func() error {
	return func() error {
		o, err := create()
		if err != nil {
			return err
		}
		return errors.Join(o.Close(), o.Unlink())
	}
}

var (
	newValue = thenRemove(func() (*ctypes.Value[int64], error) { return ctypes.NewValue[int64](7) })
	newArray = thenRemove(func() (*ctypes.Array[float64], error) { return ctypes.NewArray[float64](page / 4) }) // two pages of payload
	newList  = thenRemove(func() (*ctypes.ShareableList, error) {
		return ctypes.NewShareableList([]any{int64(42), 2.5, "héllo", nil}, "")
	})
)

// spaceCases are the package's creators in a full /dev/shm: each returns
// an error matching syscall.ENOSPC (never SIGBUS) and leaves nothing
// behind, or, given exactly the room it needs, works.
var spaceCases = []proctest.SpaceCase{
	{
		Name: "NewValue, no room",
		Run:  newValue,
		Want: `^ctypes\.NewValue mps_value_[0-9a-f]{16}: fallocate \d+ bytes: no space left on device$`,
	},
	{
		Name: "NewArray, one page short",
		Free: int64(2 * page),
		Run:  newArray,
		Want: `^ctypes\.NewArray mps_array_[0-9a-f]{16}: fallocate \d+ bytes: no space left on device$`,
	},
	{
		Name: "NewShareableList, no room",
		Run:  newList,
		Want: `^ctypes\.NewShareableList psm_[0-9a-f]{16}: fallocate \d+ bytes: no space left on device$`,
	},
	{
		// The room check of a sparse segment saw room a moment ago; then
		// another process took it. NewValue must not write its header
		// into a page it cannot have.
		Name: "NewValue after a stale room check",
		Free: int64(16 * page),
		Run:  func() error { return proctest.AfterRoomCheck(16*page, newValue) },
		Want: `^ctypes\.NewValue mps_value_[0-9a-f]{16}: fallocate \d+ bytes: no space left on device$`,
	},
	{
		Name: "NewArray, exactly the room",
		Free: int64(3 * page),
		Run:  newArray,
	},
	{
		Name: "NewShareableList in the last page",
		Free: int64(page),
		Run:  newList,
	},
}

func init() {
	proctest.Register("space", func(h *proctest.Helper) { proctest.ServeSpaceCases(h, spaceCases) })
}

// TestFullShm runs spaceCases in a /dev/shm of its own, full to the last
// page (DESIGN 9, "space before writes").
func TestFullShm(t *testing.T) { proctest.RunSpaceCases(t, "space", spaceCases) }

// TestArenaValueAllocations checks what creating a Value in an arena costs
// the Go heap: the handle alone (it holds its object and lock; the
// initial value and the options stay on the stack), so that a million of
// them stay cheap for the garbage collector (W12 measures the time).
func TestArenaValueAllocations(t *testing.T) {
	a := newArena(t, 1<<20)
	allocs := proctest.CreateAllocs(t, func() (*ctypes.Value[int64], error) {
		return ctypes.NewValue(int64(7), ctypes.In(a), ctypes.WithName("v"))
	})
	if allocs > 1 {
		t.Errorf("NewValue in an arena: %v allocations, want 1 (the handle)", allocs)
	}
	// The handle's bytes set how often a program making a million of
	// them collects garbage: 352 is the size class it fits now (it was
	// 416 before element descriptions were shared).
	if size := unsafe.Sizeof(ctypes.Value[int64]{}); size > 352 {
		t.Errorf("a Value[int64] handle is %d bytes, want at most 352", size)
	}
}
