package semaphore_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

// TestErrorsNameTheCall: an error starts with the public function the user
// called, not with the layer below (shm, the name check) that found it,
// and still matches what it matched there.
func TestErrorsNameTheCall(t *testing.T) {
	errOf := func(_ any, err error) error { return err }
	for _, c := range []struct {
		err    error
		prefix string
		is     error
	}{
		{errOf(semaphore.NewLock(semaphore.WithName("a/b/c"))), `semaphore.NewLock: bad name: "a/b/c"`, fs.ErrInvalid},
		{errOf(semaphore.NewEvent(semaphore.WithName("x\x00y"))), "semaphore.NewEvent: bad name", fs.ErrInvalid},
		{errOf(semaphore.OpenLock("no-such-lock-here")), "semaphore.OpenLock no-such-lock-here: ", fs.ErrNotExist},
		{errOf(semaphore.OpenSemLock("no-such-sem-here", semaphore.SemaphoreKind, 1)), "semaphore.OpenSemLock no-such-sem-here: ", fs.ErrNotExist},
		{errOf(ctypes.NewValue(int64(0), ctypes.WithName("a/b/c"))), "ctypes.NewValue: bad name", fs.ErrInvalid},
		{errOf(ctypes.OpenShareableList("no-such-list-here")), "ctypes.OpenShareableList no-such-list-here: ", fs.ErrNotExist},
		{errOf(shm.Open("no-such-segment-here")), "shm.Open no-such-segment-here: ", fs.ErrNotExist},
		{shm.Unlink("no-such-segment-here"), "shm.Unlink no-such-segment-here: ", fs.ErrNotExist},
	} {
		if c.err == nil || !strings.HasPrefix(c.err.Error(), c.prefix) || !errors.Is(c.err, c.is) {
			t.Errorf("got %v, want an error starting %q matching %v", c.err, c.prefix, c.is)
		}
	}
}
