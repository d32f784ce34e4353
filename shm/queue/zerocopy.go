package queue

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/mpsync/mpsync/internal/errs"
)

// Reservation is a slot taken for a put, to be written in place and then
// committed: a message of up to MaxMessage bytes is written once, into
// shared memory, and never copied by the queue. Every reservation must be
// committed (an empty message is allowed): gets wait for it, in order.
// If the process dies first, the slot is skipped and counted in Lost.
type Reservation struct {
	q    *Queue
	pos  uint64
	slot unsafe.Pointer
}

// Reserve takes the next slot for a put, waiting for one as long as ctx
// allows, like Put.
func (q *Queue) Reserve(ctx context.Context) (Reservation, error) {
	pos, sl, err := q.reserve(ctx, "queue.Reserve", true)
	return Reservation{q: q, pos: pos, slot: sl}, err
}

// TryReserve is Reserve without waiting: [ErrFull] when no slot is free.
func (q *Queue) TryReserve() (Reservation, error) {
	pos, sl, err := q.reserve(context.Background(), "queue.TryReserve", false)
	return Reservation{q: q, pos: pos, slot: sl}, err
}

// Buf returns the slot's MaxMessage bytes of shared memory to write the
// message into. It is valid until Commit, and must not be used after.
func (r Reservation) Buf() []byte {
	if r.q == nil {
		return nil
	}
	return dataOf(r.slot, r.q.maxMsg)
}

// Commit publishes the first n bytes of Buf as the message. It returns
// [ErrNotHeld] if the reservation was committed already.
func (r Reservation) Commit(n int) error {
	const op = "queue.Reservation.Commit"
	if r.q == nil {
		return fmt.Errorf("%s: %w", op, ErrNotHeld)
	}
	if err := r.q.check(op); err != nil {
		return err
	}
	if n < 0 || uint64(n) > r.q.maxMsg {
		return errs.Invalid(op, "n", "%d: must be 0 to %d", n, r.q.maxMsg)
	}
	if !r.q.commit(r.pos, r.slot, n) {
		return fmt.Errorf("%s: %w", op, ErrNotHeld)
	}
	return nil
}

// Message is a message taken from the queue and read in place: its bytes
// stay in the queue's shared memory, uncopied, until Release, which
// gives the slot back to the puts. If the process dies first, the slot is
// freed by a later put and the message counted in Lost.
type Message struct {
	q    *Queue
	pos  uint64
	slot unsafe.Pointer
	n    int
}

// Receive takes the message at the head of the queue for reading in
// place, waiting for one as long as ctx allows, like Get (io.EOF once
// the queue is closed for writing and drained).
func (q *Queue) Receive(ctx context.Context) (Message, error) {
	pos, sl, n, err := q.claim(ctx, "queue.Receive", true, -1)
	return Message{q: q, pos: pos, slot: sl, n: n}, err
}

// TryReceive is Receive without waiting: [ErrEmpty] when no message is
// ready.
func (q *Queue) TryReceive() (Message, error) {
	pos, sl, n, err := q.claim(context.Background(), "queue.TryReceive", false, -1)
	return Message{q: q, pos: pos, slot: sl, n: n}, err
}

// Bytes returns the message, in shared memory. It is valid until
// Release, and must not be used after.
func (m Message) Bytes() []byte {
	if m.q == nil {
		return nil
	}
	return dataOf(m.slot, uint64(m.n))
}

// Release gives the message's slot back to the puts. It returns
// [ErrNotHeld] if the message was released already.
func (m Message) Release() error {
	const op = "queue.Message.Release"
	if m.q == nil {
		return fmt.Errorf("%s: %w", op, ErrNotHeld)
	}
	if err := m.q.check(op); err != nil {
		return err
	}
	if !m.q.release(m.pos, m.slot) {
		return fmt.Errorf("%s: %w", op, ErrNotHeld)
	}
	return nil
}
