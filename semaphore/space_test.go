package semaphore_test

import (
	"errors"
	"os"
	"testing"

	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
)

// page is the size of a page of /dev/shm.
var page = os.Getpagesize()

// spaceCases are the package's creators in a full /dev/shm: each returns
// an error matching syscall.ENOSPC (never SIGBUS) and leaves nothing
// behind, or, given exactly the room it needs, works.
var spaceCases = []proctest.SpaceCase{
	{
		Name: "NewLock, no room",
		Run:  newLockThenRemove,
		Want: `^semaphore\.NewLock mps_lock_[0-9a-f]{16}: fallocate \d+ bytes: no space left on device$`,
	},
	{
		Name: "NewEvent, no room",
		Run: func() error {
			e, err := semaphore.NewEvent()
			if err != nil {
				return err
			}
			return errors.Join(e.Close(), e.Unlink())
		},
		Want: `^semaphore\.NewEvent mps_event_[0-9a-f]{16}: fallocate \d+ bytes: no space left on device$`,
	},
	{
		Name: "NewSemLock, no room",
		Run:  newSemLockThenRemove,
		Want: `^semaphore\.NewSemLock mps-[0-9a-f]{16}: fallocate 32 bytes: no space left on device$`,
	},
	{
		// The room check of a sparse segment saw room a moment ago; then
		// another process took it. NewLock must not write its header
		// into a page it cannot have.
		Name: "NewLock after a stale room check",
		Free: int64(16 * page),
		Run:  func() error { return proctest.AfterRoomCheck(16*page, newLockThenRemove) },
		Want: `^semaphore\.NewLock mps_lock_[0-9a-f]{16}: fallocate \d+ bytes: no space left on device$`,
	},
	{
		Name: "NewLock in the last page",
		Free: int64(page),
		Run:  newLockThenRemove,
	},
	{
		Name: "NewSemLock in the last page",
		Free: int64(page),
		Run:  newSemLockThenRemove,
	},
}

// newLockThenRemove makes a Lock, uses it, closes and unlinks it.
func newLockThenRemove() error {
	l, err := semaphore.NewLock()
	if err != nil {
		return err
	}
	l.Lock()
	//lint:ignore SA2001 the lock itself is what is measured or tested
	l.Unlock()
	return errors.Join(l.Close(), l.Unlink())
}

// newSemLockThenRemove makes a SemLock, uses it, closes and unlinks it.
func newSemLockThenRemove() error {
	l, err := semaphore.NewSemLock(semaphore.SemaphoreKind, 1, 1, "")
	if err != nil {
		return err
	}
	l.Lock()
	//lint:ignore SA2001 the lock itself is what is measured or tested
	l.Unlock()
	return errors.Join(l.Close(), l.Unlink())
}

func init() {
	proctest.Register("space", func(h *proctest.Helper) { proctest.ServeSpaceCases(h, spaceCases) })
}

// TestFullShm runs spaceCases in a /dev/shm of its own, full to the last
// page (DESIGN 9, "space before writes").
func TestFullShm(t *testing.T) { proctest.RunSpaceCases(t, "space", spaceCases) }
