package queue

import "context"

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
