package queue

import (
	"context"
	"testing"
)

// TestJournalSparesFinishedHolders: a writer that committed, or a reader
// that released, just before it died and was found dead, has its message
// neither skipped nor counted lost, and replaying a journal twice counts
// once.
func TestJournalSparesFinishedHolders(t *testing.T) {
	q, err := New("", 2, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Unlink()
	defer q.Close()
	ctx := context.Background()

	// A writer found dead had committed after all: the skip is abandoned.
	p, sl, err := q.reserve(ctx, "test", false)
	if err != nil {
		t.Fatal(err)
	}
	copy(dataOf(sl, 2), "ok")
	q.commit(p, sl, 2)
	q.lock(ctx, &q.get)
	q.journal(&q.get, p)
	unlock(&q.get)
	if q.lost() != 0 || q.get.pos.Load() != p {
		t.Fatalf("a committed message was skipped: lost %d, head %d", q.lost(), q.get.pos.Load())
	}

	// A reader found dead had released after all: nothing to free.
	m, err := q.TryReceive()
	if err != nil || string(m.Bytes()) != "ok" {
		t.Fatalf("TryReceive = %q, %v", m.Bytes(), err)
	}
	m.Release()
	q.lock(ctx, &q.put)
	q.journal(&q.put, m.pos)
	unlock(&q.put)
	if q.lost() != 0 || seqOf(m.slot).Load() != free(m.pos+q.capacity) {
		t.Fatalf("a released slot was freed again: lost %d, seq %d", q.lost(), seqOf(m.slot).Load())
	}

	// A reader that did not release: freed and counted, once, however
	// often the journal is replayed.
	if err := q.TryPut([]byte("x")); err != nil {
		t.Fatal(err)
	}
	m, err = q.TryReceive()
	if err != nil {
		t.Fatal(err)
	}
	q.lock(ctx, &q.put)
	q.journal(&q.put, m.pos)
	q.put.jValid.Store(1) // as if the process had died before clearing it
	q.replayPut()
	unlock(&q.put)
	if q.lost() != 1 || seqOf(m.slot).Load() != free(m.pos+q.capacity) {
		t.Fatalf("lost %d, seq %d; want 1, free one lap on", q.lost(), seqOf(m.slot).Load())
	}
	if m.Release() == nil {
		t.Fatal("Release of a slot given up succeeded")
	}
}
