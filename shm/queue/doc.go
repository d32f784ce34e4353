// Package queue is a bounded multi-producer, multi-consumer queue of byte
// messages shared between processes: multiprocessing's Queue,
// JoinableQueue and Pipe, in one shared-memory segment, with no system
// call per message and a zero-copy path for large messages.
//
// Import path: github.com/mpsync/mpsync/shm/queue.
//
//	q, err := queue.New("", 1024, 64)  // 1024 messages of at most 64 bytes
//	defer q.Unlink()                   // once, anywhere
//	defer q.Close()
//	err = q.Put(ctx, []byte("hello"))  // waits for room as long as ctx allows
//
//	q, err := queue.Open(name)         // in another process: Go, C (mpsync.h) or Python (mpsync.Queue)
//	msg, err := q.Get(ctx)             // io.EOF once CloseWrite was called and all is read
//
// Get copies into a new slice, GetInto into the caller's buffer (no
// allocation); TryPut and TryGet never wait ([ErrFull], [ErrEmpty]). Large
// messages need not be copied at all: Reserve a slot, write the message
// into [Reservation.Buf], Commit; on the other side Receive it, read
// [Message.Bytes] in place, Release. CloseWrite says "no more puts", like
// closing a Go channel; TaskDone and Join are JoinableQueue's. Pipe makes
// a queue with a Writer and a Reader end, which are also an io.Writer and
// an io.Reader of a byte stream.
//
// Messages are delivered in the order their puts took their slots, each
// to exactly one get. A put happens before the get that returns its
// message, across processes.
//
// # Robustness
//
// Any process using a queue may be killed at any instant (SIGKILL) without
// corrupting it or blocking the others for longer than the owner-death
// detection bound (a waiter's sleep slice, 5 ms with a cancellable
// context, 20 ms without, plus a liveness check of a few microseconds).
// A killed process loses at most the one message it was putting or
// getting (per goroutine in a put or get at that instant): one whose slot
// it had taken and not yet committed or released. Lost counts those
// messages. A message that Get had returned before the kill was
// delivered; what the dead process did with it is beyond the queue.
// Processes are named by their mpsync identity (see package semaphore's
// robust locks): liveness comes from the kernel, right across pid
// namespaces and pid reuse.
//
// Multiprocessing's Queue, by contrast, may be corrupted by a process
// killed while using it (its documentation warns of it).
//
// # Layout
//
// The queue is one mpsync object of kind "queue" (count 1, the whole
// queue as its payload, aligned to 64 bytes), laid out in csrc/mpsync.h
// under "Queues". Its payload is a 512-byte control block followed by
// capacity slots of stride bytes: the 24-byte slot header and the maximum
// message size, rounded up to 64. Producers and consumers each have their
// own robust lock and cache lines in the control block:
//
//	put side (put lock):  tail, the next position to put; lost_put; a journal
//	get side (get lock):  head, the next position to get; lost_get; a journal
//	shared:               closed; done (TaskDone calls); three futex words
//	                      with their waiter flags: data, space, tasks
//	slot:                 seq, holder, len, then the message
//
// Positions only grow; position p lives in slot p mod capacity. A slot's
// seq is 4p while it is free for the put of position p, 4p+1 once that
// put's message is in it, and 4p+2 while a recovery gives position p up.
// holder names the process (its identity, tagged writer or reader) that
// took the slot last.
//
// # The protocol
//
// A put takes the put lock, checks that the slot of position p = tail is
// free (seq 4p), writes its identity as the slot's writer, advances tail,
// and releases the lock; then it copies the message in (or the caller
// writes it in place), stores len and sets seq to 4p+1. A get takes the
// get lock, checks that the slot of p = head is full (seq 4p+1), writes
// its identity as reader, advances head, and releases the lock; then it
// copies the message out (or the caller reads it in place) and sets seq to
// 4(p+capacity), free for the put one lap later. Copies happen outside the
// locks, so several processes copy at once, and each lock guards only a
// few words. Only the lock holder writes the holder and the position, with
// plain stores that the lock's release (an atomic read-modify-write)
// publishes: a put or a get costs three atomic read-modify-writes, taking
// the lock, releasing it, and setting seq.
//
// Sleepers (a get on an empty queue, a put on a full one, Join) spin
// briefly, a few microseconds without a system call and then yielding
// the core between looks, then set the waiter flag of a futex word and
// sleep on it, in slices; whoever changes what they wait for bumps the word and wakes
// them if the flag was set, so a put or get with no one waiting makes no
// system call. Once a slice has passed since a waiter began or last
// looked, it looks for a dead holder of the slot it waits for, however
// often other traffic woke it meanwhile. Goroutines of one handle queue
// for one sleeping slot per word, so waiting goroutines cost no OS
// thread each.
//
// # Recovery
//
// Each way a process can die leaves a state the others recognise:
//
//   - Holding the put or get lock: the lock is robust; the next process to
//     take it gets it back (owner-death detection), replays that side's
//     journal (below), and goes on. Everything else a lock holder writes
//     is one word whose order with the others makes a partial update
//     harmless: a slot whose writer is recorded but whose tail did not
//     advance is simply taken again.
//   - Between its put's reservation and its commit (a dead writer): the get
//     that reaches the slot (seq still 4p, tail beyond p) finds its writer
//     dead when its sleep slice ends, and skips the position: it sets seq to
//     4(p+capacity), advances head and counts one lost message.
//   - Between its get's claim and its release (a dead reader): the slot
//     stays full behind head. The put that needs it one lap later finds its
//     reader dead and frees it, counting one lost message; Lost and a Join
//     whose wait times out sweep for such slots too.
//   - Skipping or freeing a slot changes a counter and a slot (and head),
//     so it is journalled: the side's journal records the position and the
//     new lost count, is marked valid, and is replayed; a process that dies
//     during the repair leaves the journal valid, and the next holder of
//     that lock replays it. The replay first moves the slot, by
//     compare-and-swap, from the state the dead process left (4p for a
//     writer, 4p+1 for a reader) to 4p+2, "given up"; only from there does
//     it count the loss (a stored count, not an addition), advance head for
//     a skip, and free the slot. A holder that finished its commit or
//     release just before dying has moved the slot on, so the
//     compare-and-swap fails and nothing is counted; replaying again after
//     a death halfway finds 4p+2, or a slot already freed, and is
//     idempotent.
//   - Sleeping: a dead sleeper's waiter flag costs one needless wake-up.
//
// Lost messages count as done for Join. A consumer that dies after its get
// returned but before its TaskDone leaves its message unfinished; Join
// then waits until its context ends, as with multiprocessing.
//
// Values read from shared memory are checked before use (a slot index is
// always taken modulo the capacity, a length over the maximum is
// [ErrCorrupt]): a buggy process can make a queue misbehave, never crash
// another process.
package queue
