package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"unsafe"

	"github.com/mpsync/mpsync/csrc"
	"github.com/mpsync/mpsync/internal/errs"
	"github.com/mpsync/mpsync/internal/handle"
	"github.com/mpsync/mpsync/internal/object"
	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/race"
	"github.com/mpsync/mpsync/internal/robust"
)

// bigCopy is the size from which message bodies are copied with the C
// library's memmove, faster than Go's copy on large blocks (see
// csrc.Memmove); below it the cgo call costs more than it saves.
const bigCopy = 64 << 10

// Queue is a handle on a bounded, multi-producer, multi-consumer queue of
// byte messages in shared memory. Any number of processes open the same
// queue by name; the handle is safe for concurrent use by many
// goroutines. A Queue must not be copied after first use.
type Queue struct {
	noCopy noCopy
	obj    *object.Object
	h      handle.Handle
	shape
	slots    unsafe.Pointer
	mask     uint64 // capacity-1 for a power of two (not 1), else 0: spares a division
	put, get side
	// data, space and tasks wake sleepers: a message may have arrived, a
	// slot may have been freed, tasks may have been done.
	data, space, tasks signal
	writeClosed        *atomic.Uint32 // shared: no more puts
	done               *atomic.Uint64 // shared: TaskDone calls
}

// side is the state one side (producers or consumers) keeps under its
// lock: its position, the messages it counted lost, and its journal.
type side struct {
	lock   *robust.Lock
	pos    *atomic.Uint64 // tail or head
	lost   *atomic.Uint64
	jPos   *atomic.Uint64
	jLost  *atomic.Uint64
	jValid *atomic.Uint32
}

// noCopy makes go vet report copies of a Queue.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// Option configures the creation of a queue.
type Option func(*options)

type options struct{ untracked bool }

// Untracked keeps a new queue out of the resource tracker, so that it
// outlives its creator even when no other process uses it; by default,
// once every process that created or opened it is gone, it is unlinked.
func Untracked() Option { return func(o *options) { o.untracked = true } }

// New creates a queue of capacity messages of at most maxMessage bytes
// each, named name, or with a random name ("mps_queue_" and 16 hex
// digits) if name is "". Creation is exclusive: an existing name is an
// error matching fs.ErrExist. The whole queue, capacity slots of
// maxMessage bytes rounded up to 64 with a 24-byte slot header, is
// allocated in /dev/shm at once (a full /dev/shm is an error matching
// syscall.ENOSPC). Bad arguments match fs.ErrInvalid.
func New(name string, capacity, maxMessage int, opts ...Option) (*Queue, error) {
	const op = "queue.New"
	if capacity < 1 || capacity > MaxCapacity {
		return nil, errs.Invalid(op, "capacity", "%d: must be 1 to %d messages", capacity, MaxCapacity)
	}
	if maxMessage < 1 || maxMessage > MaxMessageLimit {
		return nil, errs.Invalid(op, "maxMessage", "%d: must be 1 to %d bytes", maxMessage, MaxMessageLimit)
	}
	sh := shape{capacity: uint64(capacity), maxMsg: uint64(maxMessage), stride: stride(uint64(maxMessage))}
	size, ok := payloadSize(sh.capacity, sh.maxMsg)
	if !ok {
		return nil, errs.Invalid(op, "capacity", "%d messages of %d bytes do not fit in memory", capacity, maxMessage)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	spec := &csrc.ObjectSpec{Kind: csrc.KindQueue, Count: 1, ElemSize: size, ElemAlign: 64}
	obj, err := object.Create(op, name, spec, o.untracked, func(obj *object.Object) error {
		writeShape(obj.Payload(), sh)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return newQueue(obj, sh), nil
}

// Open opens the queue called name, created by any process (Go, or C
// through libmpsync). A name that holds another kind of mpsync object is
// an error matching [ErrTypeMismatch]; a queue whose shape does not match
// its size matches [ErrCorrupt].
func Open(name string) (*Queue, error) {
	const op = "queue.Open"
	obj, err := object.Open(op, name, csrc.KindQueue)
	if err != nil {
		return nil, err
	}
	sh, err := readShape(obj.Payload())
	if err != nil {
		obj.Close()
		return nil, fmt.Errorf("%s %s: %w", op, obj.Name(), err)
	}
	return newQueue(obj, sh), nil
}

func newQueue(obj *object.Object, sh shape) *Queue {
	p := obj.Payload()
	base := unsafe.Pointer(&p[0])
	u64 := func(off int) *atomic.Uint64 { return (*atomic.Uint64)(unsafe.Add(base, off)) }
	u32 := func(off int) *atomic.Uint32 { return (*atomic.Uint32)(unsafe.Add(base, off)) }
	sig := func(seq, wait int) signal {
		return signal{seq: u32(seq), wait: u32(wait), gate: make(chan struct{}, 1)}
	}
	var mask uint64
	if sh.capacity > 1 && sh.capacity&(sh.capacity-1) == 0 {
		mask = sh.capacity - 1
	}
	return &Queue{
		obj:   obj,
		h:     handle.Handle{Res: obj},
		shape: sh,
		mask:  mask,
		slots: unsafe.Add(base, ctrlSize),
		put: side{lock: robust.New(p[offPutLock : offPutLock+robust.AreaSize]), pos: u64(offTail),
			lost: u64(offLostPut), jPos: u64(offJPutPos), jLost: u64(offJPutLost), jValid: u32(offJPutValid)},
		get: side{lock: robust.New(p[offGetLock : offGetLock+robust.AreaSize]), pos: u64(offHead),
			lost: u64(offLostGet), jPos: u64(offJGetPos), jLost: u64(offJGetLost), jValid: u32(offJGetValid)},
		data:        sig(offDataSeq, offDataWait),
		space:       sig(offSpaceSeq, offSpaceWait),
		tasks:       sig(offTasksSeq, offTasksWait),
		writeClosed: u32(offClosed),
		done:        u64(offDone),
	}
}

// Name returns the queue's name without a leading slash; pass it to Open
// in another process.
func (q *Queue) Name() string { return q.h.Name() }

// Cap returns the queue's capacity in messages.
func (q *Queue) Cap() int { return int(q.capacity) }

// MaxMessage returns the largest message the queue takes, in bytes.
func (q *Queue) MaxMessage() int { return int(q.maxMsg) }

// Len returns the number of messages put and not yet taken by a get
// (including messages being written in place, not yet committed). Like
// Python's qsize it may be stale at once.
func (q *Queue) Len() int {
	h := q.get.pos.Load()
	t := q.put.pos.Load()
	if t < h {
		return 0
	}
	return int(min(t-h, q.capacity))
}

// Close releases this process's handle: its memory is unmapped (views
// handed out by Reservation.Buf and Message.Bytes then read zeros).
// The queue remains for other processes until it is unlinked. Close
// does not close the queue for writing (see CloseWrite). It is
// idempotent. Calls waiting on the handle return [ErrClosed]; close a
// handle only once calls that may be past their wait are done (a put
// whose slot was taken when the memory went away would leave that slot
// to block the gets until this process exits, as a dead writer's).
func (q *Queue) Close() error {
	return q.h.CloseWith(func() {
		q.put.lock.Retire()
		q.get.lock.Retire()
	})
}

// Unlink removes the queue's name so that no other process can open it;
// processes that have it open keep using it. Call it once, in one
// process; a second call returns an error matching fs.ErrNotExist. It
// works after Close.
func (q *Queue) Unlink() error { return q.h.Unlink() }

func (q *Queue) check(op string) error {
	if q.h.Closed() {
		return fmt.Errorf("%s: %w", op, ErrClosed)
	}
	return nil
}

// Slots: seq, holder and len at the start of each slot, the data after.

func (q *Queue) slot(pos uint64) unsafe.Pointer {
	if q.mask != 0 {
		return unsafe.Add(q.slots, (pos&q.mask)*q.stride)
	}
	return unsafe.Add(q.slots, (pos%q.capacity)*q.stride)
}

// A slot's seq says what it holds: free(p) when it is free for the put of
// position p, full(p) once that put has committed its message, given(p)
// while a recovery gives position p up (its writer or reader died).
func free(p uint64) uint64  { return 4 * p }
func full(p uint64) uint64  { return 4*p + 1 }
func given(p uint64) uint64 { return 4*p + 2 }

func seqOf(sl unsafe.Pointer) *atomic.Uint64 { return (*atomic.Uint64)(sl) }
func holderOf(sl unsafe.Pointer) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Add(sl, slotOffHolder))
}
func lenOf(sl unsafe.Pointer) *atomic.Uint32 { return (*atomic.Uint32)(unsafe.Add(sl, slotOffLen)) }

// setHolder and setLen write a slot's holder and length with plain
// stores (a locked instruction each saved on every put and get): each is
// published by the atomic store or compare-and-swap that follows it (of
// tail, head or seq), which is what other processes look at first.
func setHolder(sl unsafe.Pointer, w uint64) { *(*uint64)(unsafe.Add(sl, slotOffHolder)) = w }
func setLen(sl unsafe.Pointer, n uint32)    { *(*uint32)(unsafe.Add(sl, slotOffLen)) = n }

// advance moves a side's position (tail or head) on to p, under the
// side's lock, with a plain store: only the lock holder writes it, and the
// unlock that follows (a compare-and-swap) publishes it, as it publishes
// the slot's holder. Readers outside the lock (Len, the waiters' checks)
// only see it a few instructions later; a holder that dies before the
// unlock leaves the store, or not, as with an atomic one.
func advance(pos *atomic.Uint64, p uint64) { *(*uint64)(unsafe.Pointer(pos)) = p }
func dataOf(sl unsafe.Pointer, n uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(sl, slotData)), n)
}

// lock takes one side's lock. If its holder died, the side's journal is
// replayed (it finishes the repair the dead process may have been doing)
// before the lock is marked consistent: nothing else under these locks
// needs repair.
func (q *Queue) lock(ctx context.Context, s *side) error {
	if s.lock.FastLock() {
		return nil
	}
	err := s.lock.Lock(ctx)
	if errors.Is(err, errs.ErrOwnerDead) {
		if s == &q.put {
			q.replayPut()
		} else {
			q.replayGet()
		}
		err = s.lock.MarkConsistent()
	}
	return err
}

func unlock(s *side) {
	if !s.lock.FastUnlock() {
		s.lock.Unlock()
	}
}

// replayPut frees the slot of position jPos, whose reader died, and
// counts its message lost, or finishes doing so. The put lock is held.
// The slot goes from full to given, then free one lap on: a slot its
// reader released in the meantime (or one already freed) is left alone
// and not counted.
func (q *Queue) replayPut() {
	if q.put.jValid.Load() == 0 {
		return
	}
	p := q.put.jPos.Load()
	seq := seqOf(q.slot(p))
	if seq.CompareAndSwap(full(p), given(p)) || seq.Load() == given(p) {
		q.put.lost.Store(q.put.jLost.Load())
		seq.Store(free(p + q.capacity))
	}
	q.put.jValid.Store(0)
}

// replayGet skips position jPos at the head, whose writer died, counting
// its message lost, or finishes doing so. The get lock is held. The slot
// goes from free to given, then free one lap on: a slot its writer
// committed in the meantime is left to be read.
func (q *Queue) replayGet() {
	if q.get.jValid.Load() == 0 {
		return
	}
	p := q.get.jPos.Load()
	seq := seqOf(q.slot(p))
	if seq.CompareAndSwap(free(p), given(p)) || seq.Load() == given(p) {
		q.get.lost.Store(q.get.jLost.Load())
		if q.get.pos.Load() == p {
			q.get.pos.Store(p + 1)
		}
		seq.Store(free(p + q.capacity))
	}
	q.get.jValid.Store(0)
}

// journal records, for s's replay, that position p's slot is to be
// given up and one more message counted lost, then replays it: a process
// that dies on the way leaves the journal for the next holder of s's
// lock.
func (q *Queue) journal(s *side, p uint64) {
	s.jPos.Store(p)
	s.jLost.Store(s.lost.Load() + 1)
	s.jValid.Store(1)
	if s == &q.put {
		q.replayPut()
	} else {
		q.replayGet()
	}
	q.space.notify()
	q.tasks.notify()
}

// deadHolder reports whether the slot's holder carries tag and is a
// process that died.
func deadHolder(sl unsafe.Pointer, tag uint64) bool {
	w := holderOf(sl).Load()
	return w&tag != 0 && !proc.Alive(w&^tagMask)
}

// reserve takes the slot of the next position for a put: it waits for
// room if block, and gives the position and slot.
func (q *Queue) reserve(ctx context.Context, op string, block bool) (uint64, unsafe.Pointer, error) {
	if err := q.check(op); err != nil {
		return 0, nil, err
	}
	if ctx.Done() != nil && ctx.Err() != nil {
		return 0, nil, fmt.Errorf("%s: %w", op, ctx.Err())
	}
	self, err := proc.Self()
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", op, err)
	}
	var w waiter
	lookForDead := !block
	for {
		if err := q.lock(ctx, &q.put); err != nil {
			return 0, nil, fmt.Errorf("%s: %w", op, err)
		}
		if q.writeClosed.Load() != 0 {
			unlock(&q.put)
			return 0, nil, fmt.Errorf("%s: %w", op, ErrWriteClosed)
		}
		t := q.put.pos.Load()
		sl := q.slot(t)
		if seqOf(sl).Load() == free(t) {
			setHolder(sl, self|writerTag)
			advance(q.put.pos, t+1)
			unlock(&q.put)
			return t, sl, nil
		}
		// The slot still holds position t-capacity: not yet taken, or
		// taken by a reader that has not released it. A dead reader's
		// slot is freed here (and counted lost).
		if lookForDead && t >= q.capacity {
			p := t - q.capacity
			if seqOf(sl).Load() == full(p) && q.get.pos.Load() > p && deadHolder(sl, readerTag) {
				q.journal(&q.put, p)
				unlock(&q.put)
				continue
			}
		}
		unlock(&q.put)
		if !block {
			return 0, nil, fmt.Errorf("%s: %w", op, ErrFull)
		}
		lookForDead, err = w.await(ctx, &q.space, func() bool {
			t := q.put.pos.Load()
			return seqOf(q.slot(t)).Load() == free(t) || q.writeClosed.Load() != 0
		})
		if err == nil && q.h.Closed() {
			err = ErrClosed // closed meanwhile: the memory is gone
		}
		if err != nil {
			return 0, nil, fmt.Errorf("%s: %w", op, err)
		}
	}
}

// commit publishes the message of n bytes written at position pos.
func (q *Queue) commit(pos uint64, sl unsafe.Pointer, n int) bool {
	setLen(sl, uint32(n))
	race.Release(sl)
	if !seqOf(sl).CompareAndSwap(free(pos), full(pos)) {
		return false
	}
	q.data.notify()
	return true
}

// claim takes the message at the head for a get: it waits for one if
// block, and gives its position, slot and length. With room >= 0, a
// message longer than room is left in place and the claim fails with
// io.ErrShortBuffer.
func (q *Queue) claim(ctx context.Context, op string, block bool, room int) (uint64, unsafe.Pointer, int, error) {
	if err := q.check(op); err != nil {
		return 0, nil, 0, err
	}
	if ctx.Done() != nil && ctx.Err() != nil {
		return 0, nil, 0, fmt.Errorf("%s: %w", op, ctx.Err())
	}
	self, err := proc.Self()
	if err != nil {
		return 0, nil, 0, fmt.Errorf("%s: %w", op, err)
	}
	var w waiter
	lookForDead := !block
	for {
		if err := q.lock(ctx, &q.get); err != nil {
			return 0, nil, 0, fmt.Errorf("%s: %w", op, err)
		}
		h := q.get.pos.Load()
		sl := q.slot(h)
		s := seqOf(sl).Load()
		if s == full(h) {
			n := uint64(lenOf(sl).Load())
			switch {
			case n > q.maxMsg:
				unlock(&q.get)
				return 0, nil, 0, fmt.Errorf("%s: message at position %d is %d bytes, over the maximum of %d: %w", op, h, n, q.maxMsg, ErrCorrupt)
			case room >= 0 && n > uint64(room):
				unlock(&q.get)
				return 0, nil, 0, fmt.Errorf("%s: message of %d bytes, buffer of %d: %w", op, n, room, io.ErrShortBuffer)
			}
			setHolder(sl, self|readerTag)
			advance(q.get.pos, h+1)
			unlock(&q.get)
			race.Acquire(sl)
			return h, sl, int(n), nil
		}
		// Not ready: the queue is empty, or a writer has the slot. A dead
		// writer's slot is skipped here (and counted lost).
		if s == free(h) && lookForDead && q.put.pos.Load() > h && deadHolder(sl, writerTag) {
			q.journal(&q.get, h)
			unlock(&q.get)
			continue
		}
		unlock(&q.get)
		if q.writeClosed.Load() != 0 && q.put.pos.Load() == h {
			return 0, nil, 0, io.EOF
		}
		if !block {
			return 0, nil, 0, fmt.Errorf("%s: %w", op, ErrEmpty)
		}
		lookForDead, err = w.await(ctx, &q.data, func() bool {
			h := q.get.pos.Load()
			return seqOf(q.slot(h)).Load() == full(h) || q.writeClosed.Load() != 0
		})
		if err == nil && q.h.Closed() {
			err = ErrClosed // closed meanwhile: the memory is gone
		}
		if err != nil {
			return 0, nil, 0, fmt.Errorf("%s: %w", op, err)
		}
	}
}

// release frees the slot of position pos, whose message was read.
func (q *Queue) release(pos uint64, sl unsafe.Pointer) bool {
	race.Release(sl)
	if !seqOf(sl).CompareAndSwap(full(pos), free(pos+q.capacity)) {
		return false
	}
	q.space.notify()
	return true
}

func copyIn(dst, src []byte) {
	if len(src) >= bigCopy {
		csrc.Memmove(unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), uintptr(len(src)))
		return
	}
	copy(dst, src)
}

// Put appends msg (at most MaxMessage bytes; it may be empty) to the
// queue, waiting for a free slot as long as ctx allows. It returns nil,
// [ErrWriteClosed] after CloseWrite, or ctx's error within a few
// milliseconds of its end (nothing is put then). A context already done
// fails even when there is room.
func (q *Queue) Put(ctx context.Context, msg []byte) error {
	return q.putMsg(ctx, "queue.Put", msg, true)
}

// TryPut is Put without waiting: [ErrFull] when no slot is free.
func (q *Queue) TryPut(msg []byte) error {
	return q.putMsg(context.Background(), "queue.TryPut", msg, false)
}

func (q *Queue) putMsg(ctx context.Context, op string, msg []byte, block bool) error {
	if uint64(len(msg)) > q.maxMsg {
		return errs.Invalid(op, "msg", "%d bytes, over the queue's maximum of %d", len(msg), q.maxMsg)
	}
	pos, sl, err := q.reserve(ctx, op, block)
	if err != nil {
		return err
	}
	copyIn(dataOf(sl, uint64(len(msg))), msg)
	q.commit(pos, sl, len(msg))
	return nil
}

// Get removes the message at the head of the queue and returns a copy,
// waiting for one as long as ctx allows. Once the queue is closed for
// writing (CloseWrite) and drained, it returns io.EOF. It returns ctx's
// error within a few milliseconds of its end, taking nothing.
func (q *Queue) Get(ctx context.Context) ([]byte, error) {
	return q.getMsg(ctx, "queue.Get", true)
}

// TryGet is Get without waiting: [ErrEmpty] when no message is ready.
func (q *Queue) TryGet() ([]byte, error) {
	return q.getMsg(context.Background(), "queue.TryGet", false)
}

func (q *Queue) getMsg(ctx context.Context, op string, block bool) ([]byte, error) {
	pos, sl, n, err := q.claim(ctx, op, block, -1)
	if err != nil {
		return nil, err
	}
	out := make([]byte, n)
	copyIn(out, dataOf(sl, uint64(n)))
	q.release(pos, sl)
	return out, nil
}

// GetInto is Get into buf, without allocating: it returns the message's
// length. A message longer than buf stays at the head of the queue and
// GetInto returns an error matching io.ErrShortBuffer; a buffer of
// MaxMessage bytes always fits.
func (q *Queue) GetInto(ctx context.Context, buf []byte) (int, error) {
	return q.getInto(ctx, "queue.GetInto", buf, true)
}

// TryGetInto is GetInto without waiting: [ErrEmpty] when no message is
// ready.
func (q *Queue) TryGetInto(buf []byte) (int, error) {
	return q.getInto(context.Background(), "queue.TryGetInto", buf, false)
}

func (q *Queue) getInto(ctx context.Context, op string, buf []byte, block bool) (int, error) {
	pos, sl, n, err := q.claim(ctx, op, block, len(buf))
	if err != nil {
		return 0, err
	}
	copyIn(buf[:n], dataOf(sl, uint64(n)))
	q.release(pos, sl)
	return n, nil
}

// CloseWrite closes the queue for writing, for every process: later puts
// fail with [ErrWriteClosed], and gets return io.EOF once the messages
// already put are drained (reservations taken before CloseWrite may
// still be committed). It is idempotent; it cannot be undone.
func (q *Queue) CloseWrite() error {
	const op = "queue.CloseWrite"
	if err := q.check(op); err != nil {
		return err
	}
	if err := q.lock(context.Background(), &q.put); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	q.writeClosed.Store(1)
	unlock(&q.put)
	q.data.notify()
	q.space.notify()
	return nil
}

// WriteClosed reports whether the queue is closed for writing.
func (q *Queue) WriteClosed() bool { return !q.h.Closed() && q.writeClosed.Load() != 0 }

// lost returns the messages counted lost so far.
func (q *Queue) lost() uint64 { return q.put.lost.Load() + q.get.lost.Load() }

// Lost returns how many messages were lost because the process putting
// or getting them died: a put reserved and never committed, a get
// claimed and never released. It first looks for slots held by dead
// readers that no put has needed since, so that the count is complete
// for every process that had died before the call.
func (q *Queue) Lost() (int, error) {
	const op = "queue.Lost"
	if err := q.check(op); err != nil {
		return 0, err
	}
	if err := q.sweep(context.Background()); err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	return int(q.lost()), nil
}

// sweep frees every slot held by a dead reader. Dead writers are found
// by the gets that reach them; a get's wait for a message whose writer
// died ends within one sleep slice.
func (q *Queue) sweep(ctx context.Context) error {
	if err := q.lock(ctx, &q.put); err != nil {
		return err
	}
	h, t := q.get.pos.Load(), q.put.pos.Load()
	from := uint64(0)
	if t > q.capacity {
		from = t - q.capacity
	}
	for p := from; p < h; p++ {
		sl := q.slot(p)
		if seqOf(sl).Load() == full(p) && deadHolder(sl, readerTag) {
			q.journal(&q.put, p)
		}
	}
	unlock(&q.put)
	return nil
}

// TaskDone says that a message taken from the queue has been processed,
// as JoinableQueue.task_done does. Calling it more times than messages
// were put returns [ErrTooManyTaskDone]. Lost messages count as done.
func (q *Queue) TaskDone() error {
	const op = "queue.TaskDone"
	if err := q.check(op); err != nil {
		return err
	}
	for {
		d := q.done.Load()
		if d+q.lost() >= q.put.pos.Load() {
			return fmt.Errorf("%s: %w", op, ErrTooManyTaskDone)
		}
		if q.done.CompareAndSwap(d, d+1) {
			q.tasks.notify()
			return nil
		}
	}
}

// unfinished reports whether some message put has not been marked done
// (by TaskDone, or by being lost). The counters are read so that a race
// can only overstate the work left.
func (q *Queue) unfinished() bool {
	d := q.done.Load()
	l := q.lost()
	return d+l < q.put.pos.Load()
}

// Join waits until every message put has been marked done by TaskDone
// (or lost), as JoinableQueue.join does, as long as ctx allows. A
// consumer that dies after a get and before its TaskDone leaves its
// message unfinished: Join then waits until ctx ends.
func (q *Queue) Join(ctx context.Context) error {
	const op = "queue.Join"
	if err := q.check(op); err != nil {
		return err
	}
	var w waiter
	for q.unfinished() {
		timedOut, err := w.await(ctx, &q.tasks, func() bool { return !q.unfinished() })
		if err == nil && q.h.Closed() {
			err = ErrClosed // closed meanwhile: the memory is gone
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if timedOut {
			if err := q.sweep(ctx); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
	}
	return nil
}
