// Package semaphore provides locks and the rest of the synchronization
// family of Python's multiprocessing — Lock, RLock, Semaphore,
// BoundedSemaphore, Condition, Event, Barrier — for processes: each object
// is created in one process and opened by name in any other, Go or C
// (through libmpsync).
//
// Import path: github.com/mpsync/mpsync/semaphore.
//
// # Basics
//
//	l, err := semaphore.NewLock()       // in one process
//	defer l.Unlink()                    // once, anywhere
//	defer l.Close()
//	name := l.Name()                    // hand it to the others
//
//	l, err := semaphore.OpenLock(name)  // in another
//	if err := l.Acquire(ctx); err != nil { … }
//	… the critical section …
//	l.Release()
//
// Every lock is also a sync.Locker (Lock, Unlock), and every blocking call
// takes a context.Context and returns within a few milliseconds of its
// end.
//
// # Better than multiprocessing
//
//   - Robust: when a process dies holding a Lock or RLock (even killed with
//     SIGKILL), the next acquirer gets the lock together with
//     [ErrOwnerDead], instead of waiting forever. A Barrier breaks instead of
//     hanging when a waiting party dies, and a Condition's waiters that
//     died never swallow a notification. A Condition has no limit on its
//     waiters.
//   - Fast: acquiring a free lock and releasing it are one atomic
//     instruction each, in Go, with no system call and no cgo.
//   - Cheap to wait on: goroutines of one process queue in the process,
//     so 10,000 goroutines waiting for one lock occupy one OS thread.
//   - Nothing left behind: once every process that created or opened an
//     object is gone, the resource tracker unlinks it (Untracked opts out;
//     see package resourcetracker).
//   - Self-describing: each object records its kind; opening a name as the
//     wrong kind is [ErrTypeMismatch], naming both kinds.
//   - Hardened: counts and states read from shared memory are checked
//     before use. Garbage written there by a buggy process gives an error
//     matching [ErrCorrupt] (for a Barrier, [ErrBroken] too), never a panic
//     or a lock left held.
//
// # Many objects
//
// Each object of this package is a segment of its own by default: a file
// in /dev/shm and a mapping, of which a process has about 65,000. For
// thousands to millions of locks, create them in an arena (shm.NewArena)
// with the In option; every Open function takes "arena/name" or the
// handle an anonymous object's Name returns:
//
//	a, err := shm.NewArena("locks", 128<<20)
//	l, err := semaphore.NewLock(semaphore.In(a), semaphore.WithName("row7"))
//	l2, err := semaphore.OpenLock("locks/row7") // another process
//
// # Sharing with Python
//
// Python's multiprocessing locks are named POSIX semaphores (with a
// "spawn" or "forkserver" context). SemLock opens and creates those, with
// CPython's semantics. The kind and maxvalue of each Python class:
//
//	class               kind            maxvalue
//	Lock                SemaphoreKind   1
//	RLock               RecursiveMutex  1
//	Semaphore(v)        SemaphoreKind   ValueMax
//	BoundedSemaphore(v) SemaphoreKind   v
//
// Lock, RLock and the others of this package are mpsync objects (see
// mpsync.h), which Python reaches through libmpsync.
//
// # Caveats
//
//   - Ownership belongs to a process, named by a random identity whose
//     liveness the kernel vouches for (a file lock the process holds while
//     it lives), not by its pid: processes in different pid namespaces
//     that share /dev/shm (containers) share locks correctly.
//   - A lock is robust only against the death of its owning process. A
//     goroutine that forgets to release a lock keeps it held as long as
//     its process lives.
//   - Close does not release a lock the handle holds.
package semaphore
