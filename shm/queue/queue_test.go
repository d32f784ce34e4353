package queue_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpsync/mpsync/internal/proctest"
	"github.com/mpsync/mpsync/semaphore"
	"github.com/mpsync/mpsync/shm"
	"github.com/mpsync/mpsync/shm/queue"
)

func TestMain(m *testing.M) { proctest.Main(m) }

// newQueue makes a queue that the test unlinks.
func newQueue(t testing.TB, capacity, maxMessage int) *queue.Queue {
	t.Helper()
	q, err := queue.New("", capacity, maxMessage)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		q.Close()
		q.Unlink()
	})
	return q
}

// openQueue opens name as a second handle that the test closes.
func openQueue(t testing.TB, name string) *queue.Queue {
	t.Helper()
	q, err := queue.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func TestPutGetFIFO(t *testing.T) {
	q := newQueue(t, 4, 16)
	ctx := t.Context()
	if q.Cap() != 4 || q.MaxMessage() != 16 || q.Len() != 0 {
		t.Fatalf("Cap, MaxMessage, Len = %d, %d, %d; want 4, 16, 0", q.Cap(), q.MaxMessage(), q.Len())
	}
	other := openQueue(t, q.Name())
	// Several laps of the ring, through two handles.
	for lap := range 5 {
		for i := range 4 {
			msg := fmt.Appendf(nil, "m%d.%d", lap, i)
			if i == 3 {
				msg = nil // an empty message is a message
			}
			if err := q.Put(ctx, msg); err != nil {
				t.Fatal(err)
			}
		}
		if q.Len() != 4 || other.Len() != 4 {
			t.Fatalf("Len = %d, %d after 4 puts; want 4", q.Len(), other.Len())
		}
		if err := q.TryPut([]byte("x")); !errors.Is(err, queue.ErrFull) {
			t.Fatalf("TryPut on a full queue: %v, want ErrFull", err)
		}
		for i := range 4 {
			got, err := other.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Appendf(nil, "m%d.%d", lap, i)
			if i == 3 {
				want = []byte{}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Get = %q, want %q", got, want)
			}
		}
		if _, err := other.TryGet(); !errors.Is(err, queue.ErrEmpty) {
			t.Fatalf("TryGet on an empty queue: %v, want ErrEmpty", err)
		}
	}
}

func TestGetInto(t *testing.T) {
	q := newQueue(t, 2, 8)
	if err := q.TryPut([]byte("12345")); err != nil {
		t.Fatal(err)
	}
	small := make([]byte, 4)
	if _, err := q.TryGetInto(small); !errors.Is(err, io.ErrShortBuffer) {
		t.Fatalf("TryGetInto a short buffer: %v, want io.ErrShortBuffer", err)
	}
	if q.Len() != 1 {
		t.Fatalf("a refused get took the message: Len %d", q.Len())
	}
	buf := make([]byte, q.MaxMessage())
	n, err := q.GetInto(t.Context(), buf)
	if err != nil || string(buf[:n]) != "12345" {
		t.Fatalf("GetInto = %q, %v", buf[:n], err)
	}
	abc := []byte("abc")
	allocs := testing.AllocsPerRun(100, func() {
		q.TryPut(abc)
		q.TryGetInto(buf)
	})
	if allocs != 0 {
		t.Errorf("TryPut+TryGetInto allocate %v times", allocs)
	}
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct{ capacity, max int }{{0, 8}, {-1, 8}, {queue.MaxCapacity + 1, 8}, {4, 0}, {4, -3}, {4, queue.MaxMessageLimit + 1}} {
		if q, err := queue.New("", c.capacity, c.max); !errors.Is(err, fs.ErrInvalid) {
			if q != nil {
				q.Close()
				q.Unlink()
			}
			t.Errorf("New(capacity %d, max %d): %v, want fs.ErrInvalid", c.capacity, c.max, err)
		}
	}
	q := newQueue(t, 2, 8)
	if err := q.Put(t.Context(), make([]byte, 9)); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Put of 9 bytes into a queue of 8: %v, want fs.ErrInvalid", err)
	}
	if err := q.TryPut(make([]byte, 9)); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("TryPut of 9 bytes into a queue of 8: %v, want fs.ErrInvalid", err)
	}
	if q.Len() != 0 {
		t.Errorf("refused puts left Len %d", q.Len())
	}
	if _, err := queue.Open("mps-test-no-such-queue"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing name: %v, want fs.ErrNotExist", err)
	}
	if _, err := queue.New(q.Name(), 2, 8); !errors.Is(err, fs.ErrExist) {
		t.Errorf("New with a taken name: %v, want fs.ErrExist", err)
	}

	// Another kind of object, and a plain segment, are not queues.
	l, err := semaphore.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlink()
	defer l.Close()
	if _, err := queue.Open(l.Name()); !errors.Is(err, queue.ErrTypeMismatch) {
		t.Errorf("Open of a lock: %v, want ErrTypeMismatch", err)
	}
	seg, err := shm.Create("", 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Unlink()
	defer seg.Close()
	copy(seg.Bytes(), "not a queue")
	if _, err := queue.Open(seg.Name()); !errors.Is(err, queue.ErrCorrupt) {
		t.Errorf("Open of a plain segment: %v, want ErrCorrupt", err)
	}

	// A closed handle refuses everything.
	q2 := openQueue(t, q.Name())
	q2.Close()
	if err := q2.Put(t.Context(), nil); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Put after Close: %v, want ErrClosed", err)
	}
	if _, err := q2.Get(t.Context()); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if err := q2.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseWriteAndDrain(t *testing.T) {
	q := newQueue(t, 8, 8)
	ctx := t.Context()
	for i := range 3 {
		if err := q.Put(ctx, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := q.Reserve(ctx) // taken before the close: still committed
	if err != nil {
		t.Fatal(err)
	}
	if err := q.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if !q.WriteClosed() {
		t.Error("WriteClosed() = false after CloseWrite")
	}
	if err := q.Put(ctx, []byte{9}); !errors.Is(err, queue.ErrWriteClosed) || !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("Put after CloseWrite: %v, want ErrWriteClosed", err)
	}
	r.Buf()[0] = 3
	if err := r.Commit(1); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		got, err := q.Get(ctx)
		if err != nil || len(got) != 1 || got[0] != byte(i) {
			t.Fatalf("Get %d = %v, %v", i, got, err)
		}
	}
	for range 2 {
		if _, err := q.Get(ctx); err != io.EOF {
			t.Fatalf("Get of a drained, closed queue: %v, want io.EOF", err)
		}
	}
	if _, err := q.TryGet(); err != io.EOF {
		t.Fatalf("TryGet of a drained, closed queue: %v, want io.EOF", err)
	}
}

func TestBlockedCallsCancel(t *testing.T) {
	q := newQueue(t, 1, 8)
	// Get on an empty queue, Put on a full one: both end with their
	// context, promptly, and take or put nothing.
	for _, c := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Get", func(ctx context.Context) error { _, err := q.Get(ctx); return err }},
		{"Receive", func(ctx context.Context) error { _, err := q.Receive(ctx); return err }},
		{"Put", func(ctx context.Context) error { return q.Put(ctx, []byte("b")) }},
		{"Reserve", func(ctx context.Context) error { _, err := q.Reserve(ctx); return err }},
	} {
		if c.name == "Put" {
			if err := q.Put(t.Context(), []byte("a")); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { errc <- c.call(ctx) }()
		time.Sleep(20 * time.Millisecond)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("%s cancelled: %v, want context.Canceled", c.name, err)
		}
		dctx, dcancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		if err := c.call(dctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s with a deadline: %v, want DeadlineExceeded", c.name, err)
		}
		dcancel()
	}
	if got, err := q.TryGet(); err != nil || string(got) != "a" {
		t.Errorf("after the cancelled calls the queue holds %q, %v; want \"a\"", got, err)
	}
	// A context already done fails even when the call could proceed.
	done, cancel := context.WithCancel(t.Context())
	cancel()
	if err := q.Put(done, []byte("c")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a done context: %v", err)
	}
	if q.Len() != 0 {
		t.Errorf("Put with a done context put something")
	}
}

func TestZeroCopy(t *testing.T) {
	const size = 1 << 20
	q := newQueue(t, 2, size)
	ctx := t.Context()
	r, err := q.Reserve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Buf()) != size {
		t.Fatalf("Buf is %d bytes, want %d", len(r.Buf()), size)
	}
	for i := range r.Buf() {
		r.Buf()[i] = byte(i * 7)
	}
	if _, err := q.TryGet(); !errors.Is(err, queue.ErrEmpty) {
		t.Fatalf("TryGet before Commit: %v, want ErrEmpty", err)
	}
	if err := r.Commit(size + 1); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("Commit over the maximum: %v", err)
	}
	if err := r.Commit(size - 1); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(size - 1); !errors.Is(err, queue.ErrNotHeld) {
		t.Fatalf("second Commit: %v, want ErrNotHeld", err)
	}
	m, err := q.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := m.Bytes()
	if len(b) != size-1 {
		t.Fatalf("message of %d bytes, want %d", len(b), size-1)
	}
	for i, c := range b {
		if c != byte(i*7) {
			t.Fatalf("byte %d = %d, want %d", i, c, byte(i*7))
		}
	}
	// The slot stays taken until Release.
	q.TryPut(nil)
	if err := q.TryPut(nil); !errors.Is(err, queue.ErrFull) {
		t.Fatalf("TryPut while a message is held: %v, want ErrFull", err)
	}
	if err := m.Release(); err != nil {
		t.Fatal(err)
	}
	if err := m.Release(); !errors.Is(err, queue.ErrNotHeld) {
		t.Fatalf("second Release: %v, want ErrNotHeld", err)
	}
	if err := q.TryPut(nil); err != nil {
		t.Fatalf("TryPut after Release: %v", err)
	}
}

func TestJoin(t *testing.T) {
	q := newQueue(t, 8, 8)
	ctx := t.Context()
	if err := q.Join(ctx); err != nil {
		t.Fatalf("Join of an empty queue: %v", err)
	}
	if err := q.TaskDone(); !errors.Is(err, queue.ErrTooManyTaskDone) {
		t.Fatalf("TaskDone with nothing put: %v", err)
	}
	for range 3 {
		q.Put(ctx, []byte("t"))
	}
	done := make(chan error, 1)
	go func() { done <- q.Join(ctx) }()
	for range 3 {
		if _, err := q.Get(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("Join returned %v with tasks left", err)
		case <-time.After(5 * time.Millisecond):
		}
		if err := q.TaskDone(); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Join: %v", err)
	}
	if err := q.TaskDone(); !errors.Is(err, queue.ErrTooManyTaskDone) {
		t.Fatalf("TaskDone once too often: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	q.Put(ctx, nil)
	if err := q.Join(tctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Join with a task left: %v, want DeadlineExceeded", err)
	}
}

func TestPipe(t *testing.T) {
	r, w, err := queue.Pipe(4, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Unlink()
	defer r.Close()
	text := []byte("a stream longer than one message, in chunks of five bytes")
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		if _, err := w.Write(text); err != nil {
			t.Error(err)
		}
		w.Close()
	}()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, text) {
		t.Fatalf("read %q, want %q", got, text)
	}
	// The reader sees the end once the pipe is closed for writing, which
	// Close does before it closes the writer's handle: wait for both.
	<-closed
	if _, err := w.Write([]byte("x")); !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("Write after Close: %v, want ErrClosed", err)
	}
}

func TestManyGoroutines(t *testing.T) {
	// Producers and consumers in one process, many more than the
	// capacity: everything arrives once.
	q := newQueue(t, 3, 8)
	ctx := t.Context()
	const producers, each = 8, 500
	for p := range producers {
		go func() {
			for i := range each {
				if err := q.Put(ctx, []byte{byte(p), byte(i), byte(i >> 8)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	got := make(chan []byte)
	for range 8 {
		go func() {
			for {
				m, err := q.Get(ctx)
				if err != nil {
					return
				}
				got <- m
			}
		}()
	}
	seen := map[[3]byte]bool{}
	for range producers * each {
		m := <-got
		k := [3]byte(m)
		if seen[k] {
			t.Fatalf("message %v twice", m)
		}
		seen[k] = true
	}
	q.CloseWrite()
}

// TestManyWaiters has thousands of goroutines wait in Get on an empty
// queue, fed by another process: each gets one message, and the process
// never runs more than ~20 OS threads, since goroutines wait in the
// process rather than each blocking a thread in the kernel.
func TestManyWaiters(t *testing.T) {
	const goroutines = 2000
	q := newQueue(t, 64, 16)
	b := newBooks(t, 1)
	p := proctest.Start(t, "producer", q.Name(), b.seg.Name(), "0", strconv.Itoa(goroutines), "copy", "slow")
	stopSampling := proctest.ThreadCeiling(t, 20)
	var wg sync.WaitGroup
	seen := make([]atomic.Bool, goroutines)
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := q.Get(t.Context())
			if err != nil {
				t.Error(err)
				return
			}
			if _, seq, ok := parse(m, q.MaxMessage()); !ok || seen[seq].Swap(true) {
				t.Errorf("message %v corrupt or twice", m)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them all wait
	p.Send("go")
	wg.Wait()
	p.Expect("done")
	stopSampling()
}

// TestCloseWhileWaiting: a Get waiting on a handle that another goroutine
// closes returns ErrClosed.
func TestCloseWhileWaiting(t *testing.T) {
	q := newQueue(t, 2, 8)
	other := openQueue(t, q.Name())
	errc := make(chan error, 1)
	go func() {
		_, err := other.Get(context.Background())
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	other.Close()
	if err := <-errc; !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("Get on a handle closed while it waited: %v, want ErrClosed", err)
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d", q.Len())
	}
}
