package shm_test

import (
	"fmt"

	"github.com/mpsync/mpsync/ctypes"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
)

// An arena holds many objects in one segment: here a named Lock and an
// anonymous Value, opened again by name and by handle as another process
// would.
func ExampleNewArena() {
	a, err := shm.NewArena("", 1<<20) // 1 MiB: room for about 10,000 Locks
	if err != nil {
		panic(err)
	}
	defer a.Unlink() // the arena and everything in it, once, anywhere
	defer a.Close()

	row7, err := semaphore.NewLock(semaphore.In(a), semaphore.WithName("row7"))
	if err != nil {
		panic(err)
	}
	defer row7.Close()
	hits, err := ctypes.NewValue[int64](0, ctypes.In(a)) // anonymous: Name is a handle
	if err != nil {
		panic(err)
	}
	defer hits.Close()

	// In another process:
	l, err := semaphore.OpenLock(a.Name() + "/row7")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	v, err := ctypes.OpenValue[int64](hits.Name())
	if err != nil {
		panic(err)
	}
	defer v.Close()
	l.Lock()
	v.Set(v.Get() + 1)
	l.Unlock()

	st := a.Stats()
	fmt.Println(hits.Get(), st.Objects, st.Names)
	// Output: 1 2 1
}
