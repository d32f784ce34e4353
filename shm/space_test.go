package shm_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/shm"
)

// page is the size of a page of /dev/shm.
var page = os.Getpagesize()

// spaceCases are shm's calls in a full /dev/shm: each returns an error
// matching syscall.ENOSPC (never SIGBUS) and leaves nothing behind, or,
// given exactly the room it needs, works.
var spaceCases = []proctest.SpaceCase{
	{
		Name: "sparse Create, no room",
		Run:  createThenRemove(4096),
		Want: `^shm\.Create psm_[0-9a-f]{16}: statfs: 4096 bytes wanted, 0 free: no space left on device$`,
	},
	{
		Name: "Reserve, no room",
		Run:  createThenRemove(4096, shm.Reserve()),
		Want: `^shm\.Create psm_[0-9a-f]{16}: fallocate 4096 bytes: no space left on device$`,
	},
	{
		Name: "Reserve, named, one page short",
		Free: int64(page),
		Run: func() error {
			_, err := shm.Create("mps-test-space", 2*page, shm.Reserve())
			return err
		},
		Want: fmt.Sprintf(`^shm\.Create mps-test-space: fallocate %d bytes: no space left on device$`, 2*page),
	},
	{
		Name: "Reserve above 1 MiB, no room",
		Run:  createThenRemove(2<<20, shm.Reserve()),
		Want: `^shm\.Create psm_[0-9a-f]{16}: statfs: 2097152 bytes wanted, 0 free: no space left on device$`,
	},
	{
		Name: "WithInit, no room",
		Run:  createThenRemove(100, shm.WithInit(fillWith(1))),
		Want: `^shm\.Create psm_[0-9a-f]{16}: fallocate 100 bytes: no space left on device$`,
	},
	{
		// The room check saw room a moment ago; by the time init
		// writes, someone has taken it. Only fallocate can tell.
		Name: "WithInit after a stale room check",
		Free: int64(16 * page),
		Run: func() error {
			if err := createThenRemove(page)(); err != nil { // sees 16 pages free
				return err
			}
			giveBack, err := proctest.TakeShmRoom(16 * page)
			if err != nil {
				return err
			}
			defer giveBack()
			return createThenRemove(page, shm.WithInit(fillWith(1)))()
		},
		Want: fmt.Sprintf(`^shm\.Create psm_[0-9a-f]{16}: fallocate %d bytes: no space left on device$`, page),
	},
	{
		Name: "Reserve, exactly the room, written",
		Free: int64(2 * page),
		Run: func() error {
			seg, err := shm.Create("", 2*page, shm.Reserve())
			if err != nil {
				return err
			}
			fillWith(2)(seg.Bytes())
			return errors.Join(seg.Close(), seg.Unlink())
		},
	},
}

// createThenRemove returns a call to Create that closes and unlinks the
// segment if it is made.
func createThenRemove(size int, opts ...shm.Option) func() error {
	return func() error {
		seg, err := shm.Create("", size, opts...)
		if err != nil {
			return err
		}
		return errors.Join(seg.Close(), seg.Unlink())
	}
}

// fillWith returns an init that writes b to every byte.
func fillWith(b byte) func([]byte) error {
	return func(mem []byte) error {
		for i := range mem {
			mem[i] = b
		}
		return nil
	}
}

func init() {
	proctest.Register("space", func(h *proctest.Helper) { proctest.ServeSpaceCases(h, spaceCases) })
}

// TestFullShm runs spaceCases in a /dev/shm of its own, full to the last
// page (DESIGN 9, "space before writes").
func TestFullShm(t *testing.T) { proctest.RunSpaceCases(t, "space", spaceCases) }
