package queue

// Positions returns the queue's tail and head: positions put (reserved)
// and taken so far, for the tests' accounting.
func Positions(q *Queue) (tail, head uint64) { return q.put.pos.Load(), q.get.pos.Load() }
