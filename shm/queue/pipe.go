package queue

import (
	"context"
	"errors"
	"io"
)

// Pipe creates a queue for one writer and one reader, like
// multiprocessing.Pipe(duplex=False), and returns its two ends, each with
// a handle of its own. Pass r.Name() (or w.Name()) to another process,
// which opens its end with OpenReader or OpenWriter. capacity and
// maxMessage are New's.
func Pipe(capacity, maxMessage int, opts ...Option) (*Reader, *Writer, error) {
	q, err := New("", capacity, maxMessage, opts...)
	if err != nil {
		return nil, nil, err
	}
	q2, err := Open(q.Name())
	if err != nil {
		q.Close()
		q.Unlink()
		return nil, nil, err
	}
	return &Reader{Queue: q}, &Writer{Queue: q2}, nil
}

// OpenReader opens the reading end of the pipe (or any queue) called name.
func OpenReader(name string) (*Reader, error) {
	q, err := Open(name)
	if err != nil {
		return nil, err
	}
	return &Reader{Queue: q}, nil
}

// OpenWriter opens the writing end of the pipe (or any queue) called name.
func OpenWriter(name string) (*Writer, error) {
	q, err := Open(name)
	if err != nil {
		return nil, err
	}
	return &Writer{Queue: q}, nil
}

// Writer is the writing end of a pipe: a Queue with an io.Writer view.
type Writer struct {
	*Queue
}

// Send puts msg as one message (Put).
func (w *Writer) Send(ctx context.Context, msg []byte) error { return w.Put(ctx, msg) }

// Write puts p as a stream of bytes, in messages of at most MaxMessage
// bytes each, waiting for room as long as it takes. It returns len(p)
// and nil, or how much was put and [ErrWriteClosed] (which matches
// io.ErrClosedPipe) or [ErrClosed].
func (w *Writer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), w.MaxMessage())]
		if err := w.Put(context.Background(), chunk); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

// Close closes the pipe for writing, so that the reader gets io.EOF once
// it has read everything, and releases this end's handle.
func (w *Writer) Close() error {
	return errors.Join(w.CloseWrite(), w.Queue.Close())
}

// Reader is the reading end of a pipe: a Queue with an io.Reader view.
type Reader struct {
	*Queue
	rest []byte // what Read has not returned of the last message
	buf  []byte
}

// Recv gets one message (Get).
func (r *Reader) Recv(ctx context.Context) ([]byte, error) { return r.Get(ctx) }

// Read reads the messages as a stream of bytes: it fills p from the
// current message, and takes the next one, waiting as long as it takes,
// when none is left. It returns io.EOF once the writer has closed the
// pipe and everything was read. Empty messages are skipped.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(r.rest) == 0 {
		if r.buf == nil {
			r.buf = make([]byte, r.MaxMessage())
		}
		n, err := r.GetInto(context.Background(), r.buf)
		if err != nil {
			return 0, err
		}
		r.rest = r.buf[:n]
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

var (
	_ io.ReadCloser  = (*Reader)(nil)
	_ io.WriteCloser = (*Writer)(nil)
)
