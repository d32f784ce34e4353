package queue

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/mpsync/mpsync/internal/proc"
	"github.com/mpsync/mpsync/internal/robust"
)

// Positions returns the queue's tail and head: positions put (reserved)
// and taken so far, for the tests' accounting.
func Positions(q *Queue) (tail, head uint64) { return q.put.pos.Load(), q.get.pos.Load() }

// StallSkip takes the get lock and starts skipping the slot at the head,
// as a get does for a dead writer, but stops halfway, holding the lock
// (the journal written, the slot given up, the lost count stored, head
// not yet advanced), for a test to kill the process there.
func StallSkip(q *Queue) {
	q.lock(context.Background(), &q.get)
	p := q.get.pos.Load()
	q.get.jPos.Store(p)
	q.get.jLost.Store(q.get.lost.Load() + 1)
	q.get.jValid.Store(1)
	seqOf(q.slot(p)).CompareAndSwap(free(p), given(p))
	q.get.lost.Store(q.get.jLost.Load())
}

// Dump describes the queue's shared state, for failure messages.
func Dump(q *Queue) string {
	s := fmt.Sprintf("tail %d head %d lost %d+%d done %d closed %d jput %d/%d/%d jget %d/%d/%d data %d/%d space %d/%d\n",
		q.put.pos.Load(), q.get.pos.Load(), q.put.lost.Load(), q.get.lost.Load(), q.done.Load(), q.writeClosed.Load(),
		q.put.jValid.Load(), q.put.jPos.Load(), q.put.jLost.Load(), q.get.jValid.Load(), q.get.jPos.Load(), q.get.jLost.Load(),
		q.data.seq.Load(), q.data.wait.Load(), q.space.seq.Load(), q.space.wait.Load())
	for i := range q.capacity {
		sl := q.slot(i)
		s += fmt.Sprintf("slot %d: seq %d (pos %d, kind %d) holder %x len %d\n", i, seqOf(sl).Load(), seqOf(sl).Load()/4, seqOf(sl).Load()%4, holderOf(sl).Load(), lenOf(sl).Load())
	}
	base := unsafe.Pointer(unsafe.Add(q.slots, -ctrlSize))
	s += fmt.Sprintf("put lock %+v\nget lock %+v\n", robust.Inspect(unsafe.Slice((*byte)(unsafe.Add(base, offPutLock)), 64)),
		robust.Inspect(unsafe.Slice((*byte)(unsafe.Add(base, offGetLock)), 64)))
	return s
}

// StallReserve takes the put lock and starts a reservation, writing
// itself as the slot's writer, but stops before advancing tail, holding
// the lock, for a test to kill the process there.
func StallReserve(q *Queue) {
	q.lock(context.Background(), &q.put)
	self, _ := proc.Self()
	setHolder(q.slot(q.put.pos.Load()), self|writerTag)
}
