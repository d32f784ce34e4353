package semaphore_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/mpsync/mpsync/semaphore"
)

// A Lock made in one process is opened by name in another (here, the same
// process for brevity) and protects state shared between them.
func ExampleLock() {
	l, err := semaphore.NewLock()
	if err != nil {
		panic(err)
	}
	defer l.Unlink()
	defer l.Close()

	other, err := semaphore.OpenLock(l.Name()) // what another process does
	if err != nil {
		panic(err)
	}
	defer other.Close()

	ctx := context.Background()
	switch err := other.Acquire(ctx); {
	case errors.Is(err, semaphore.ErrOwnerDead):
		// The previous holder died: repair the shared state, then
		other.MarkConsistent()
	case err != nil:
		panic(err)
	}
	ok, _ := l.TryAcquire()
	fmt.Println("free while held:", ok)
	other.Release()
	ok, _ = l.TryAcquire()
	fmt.Println("free after release:", ok)
	l.Release()
	// Output:
	// free while held: false
	// free after release: true
}

// An Event wakes every process waiting for it.
func ExampleEvent() {
	e, err := semaphore.NewEvent()
	if err != nil {
		panic(err)
	}
	defer e.Unlink()
	defer e.Close()
	done := make(chan bool)
	go func() { // another process would OpenEvent(e.Name())
		ok, _ := e.Wait(context.Background())
		done <- ok
	}()
	e.Set()
	fmt.Println(<-done, e.IsSet())
	// Output: true true
}

// A Barrier of 2 parties: both Waits return once both have arrived, with
// distinct arrival indices.
func ExampleBarrier() {
	b, err := semaphore.NewBarrier(2, func() error {
		fmt.Println("all arrived") // runs once, in the last party
		return nil
	})
	if err != nil {
		panic(err)
	}
	defer b.Unlink()
	defer b.Close()
	first := make(chan int)
	go func() {
		i, _ := b.Wait(context.Background())
		first <- i
	}()
	i, _ := b.Wait(context.Background())
	fmt.Println(i + <-first)
	// Output:
	// all arrived
	// 1
}

// A Condition lets processes wait for shared state to change.
func ExampleCondition() {
	c, err := semaphore.NewCondition(nil) // with a new RLock
	if err != nil {
		panic(err)
	}
	defer c.Unlink()
	defer c.Close()
	ready := false // in real use, state in shared memory
	go func() {
		c.Lock()
		ready = true
		c.NotifyAll()
		c.Unlock()
	}()
	c.Lock()
	ok, err := c.WaitFor(context.Background(), func() bool { return ready })
	c.Unlock()
	fmt.Println(ok, err)
	// Output: true <nil>
}
