package queue_test

import (
	"context"
	"fmt"
	"io"

	"github.com/mpsync/mpsync/shm/queue"
)

func Example() {
	ctx := context.Background()
	q, err := queue.New("", 16, 64) // 16 messages of at most 64 bytes
	if err != nil {
		panic(err)
	}
	defer q.Unlink()
	defer q.Close()

	// A producer, here in this process; any process may Open q.Name().
	for _, s := range []string{"one", "two", "three"} {
		if err := q.Put(ctx, []byte(s)); err != nil {
			panic(err)
		}
	}
	q.CloseWrite() // no more puts: gets see io.EOF once the queue is drained

	for {
		msg, err := q.Get(ctx)
		if err == io.EOF {
			break
		} else if err != nil {
			panic(err)
		}
		fmt.Println(string(msg))
	}
	// Output:
	// one
	// two
	// three
}

func ExampleQueue_Reserve() {
	ctx := context.Background()
	q, err := queue.New("", 2, 1<<20) // two messages of up to 1 MiB
	if err != nil {
		panic(err)
	}
	defer q.Unlink()
	defer q.Close()

	// Write a message in place: it is never copied by the queue.
	r, err := q.Reserve(ctx)
	if err != nil {
		panic(err)
	}
	n := copy(r.Buf(), "large payload")
	if err := r.Commit(n); err != nil {
		panic(err)
	}

	// Read it in place, then give the slot back.
	m, err := q.Receive(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(m.Bytes()))
	m.Release()
	// Output: large payload
}

func ExamplePipe() {
	r, w, err := queue.Pipe(8, 4096)
	if err != nil {
		panic(err)
	}
	defer r.Unlink()
	defer r.Close()
	// w (or a Writer opened with OpenWriter(r.Name()) in another process)
	// is an io.Writer; r is an io.Reader.
	go func() {
		fmt.Fprint(w, "hello through shared memory")
		w.Close()
	}()
	b, _ := io.ReadAll(r)
	fmt.Println(string(b))
	// Output: hello through shared memory
}
