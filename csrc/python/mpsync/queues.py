"""Queues of byte messages between processes, shaped like
multiprocessing.JoinableQueue and multiprocessing.Pipe, on mpsync queues
(Go's package shm/queue, C's mps_queue_*): one shared-memory ring of
fixed-size slots, no feeder thread, no pipe, no pickling, and a process
killed at any instant loses at most the message it was putting or getting
(lost() counts them)."""
import ctypes
import errno
import pickle
import queue
import threading
import time

from . import _lib
from ._lib import lib
from ._object import Handle
from .synchronize import _timeout_ns, _wait

__all__ = ["Queue", "Pipe", "Connection"]

_BUSY = (-errno.EAGAIN, -errno.ETIMEDOUT)


class Queue(Handle):
    """A bounded queue of byte messages shared by processes:
    multiprocessing.JoinableQueue's shape, on an mpsync queue (queue.Queue
    in Go, mps_queue_* in C).

    Queue(maxsize, max_message) creates one of maxsize messages (default
    1024) of at most max_message bytes each (default 4096), with a random
    name ("mps_queue_" and 16 hex digits), or name= with it; Queue(name=n)
    alone opens one, made by Go, C or Python.  The whole ring is allocated in /dev/shm at once.  Messages are
    bytes (any bytes-like object is put as its bytes; nothing is pickled),
    delivered in order, each to exactly one get.

    put and get wait as long as block and timeout say, raising queue.Full
    and queue.Empty as multiprocessing does.  close() closes the queue for
    writing, for every process: later puts raise ValueError, and gets
    raise EOFError once the messages already put are drained (the end of
    the stream; multiprocessing's close() only speaks for its own
    process).  task_done() and join() are JoinableQueue's.  There is no
    feeder thread: put returns once the message is in shared memory, so
    join_thread() and cancel_join_thread() do nothing.

    A process killed mid-put or mid-get (even by SIGKILL) loses at most
    that one message; the others go on within a sleep slice (20 ms) and
    lost() counts such messages, which also count as done for join().
    Pickled, a Queue travels as its name and is opened on arrival.
    detach() unmaps the queue in this process; unlink() removes its
    name."""

    _kind = _lib.KIND_QUEUE

    def __init__(self, maxsize=None, max_message=None, *, name=None, create=None):
        if create is None:
            create = name is None or maxsize is not None or max_message is not None
        if create:
            maxsize = 1024 if maxsize is None else maxsize
            max_message = 4096 if max_message is None else max_message
            if not 1 <= maxsize <= 1 << 30:
                raise ValueError("mpsync: Queue: maxsize must be 1 to 2**30 messages, not %r" % (maxsize,))
            if not 1 <= max_message <= 0x7fffffff:
                raise ValueError("mpsync: Queue: max_message must be 1 to 2**31-1 bytes, not %r" % (max_message,))
            self._make(name, lib.mps_queue_create, maxsize, max_message)
        elif name is None:
            raise ValueError("mpsync: Queue: a name is needed to open a queue (or create=True)")
        else:
            self._open(name, opener=lib.mps_queue_open)
        self._maxsize = lib.mps_queue_capacity(self._obj)
        self._max_message = lib.mps_queue_max_msg(self._obj)
        self._local = threading.local()

    def _attach(self, obj):
        self._obj = obj
        self._name = lib.mps_queue_name(obj).decode()

    @property
    def maxsize(self):
        """The capacity, in messages."""
        return self._maxsize

    @property
    def max_message(self):
        """The largest message, in bytes."""
        return self._max_message

    def _put(self, obj, block, timeout, closed):
        """put, raising closed(message) if the queue is closed for
        writing."""
        data = obj if type(obj) is bytes else memoryview(obj).tobytes()
        if len(data) > self._max_message:
            raise ValueError("mpsync: put on %s: a message of %d bytes, over its maximum of %d"
                             % (self._name, len(data), self._max_message))
        q = self._handle()

        def call(ns):
            rc = lib.mps_queue_put(q, data, len(data), ns)
            if rc == -errno.EPIPE:
                raise closed("mpsync: put on %s: the queue is closed for writing" % self._name)
            return rc
        if not _wait(call, _timeout_ns(block, timeout), _BUSY, "put on " + self._name, self._name):
            raise queue.Full

    def put(self, obj, block=True, timeout=None):
        """Append the message obj (bytes, or any bytes-like object; at most
        max_message bytes, else ValueError), waiting for room if block (at
        most timeout seconds if not None): queue.Full if there is none in
        time.  ValueError once the queue is closed for writing."""
        self._put(obj, block, timeout, ValueError)

    def put_nowait(self, obj):
        """put(obj, False)."""
        self._put(obj, False, None, ValueError)

    def _buffer(self):
        """This thread's buffer of max_message bytes for get."""
        buf = getattr(self._local, "buf", None)
        if buf is None:
            buf = self._local.buf = ctypes.create_string_buffer(self._max_message)
        return buf

    def get(self, block=True, timeout=None):
        """Remove and return the message at the head, as bytes, waiting for
        one if block (at most timeout seconds if not None): queue.Empty if
        none comes in time.  EOFError once the queue is closed for writing
        and drained."""
        q, buf, n = self._handle(), self._buffer(), ctypes.c_size_t()

        def call(ns):
            rc = lib.mps_queue_get(q, buf, self._max_message, ctypes.byref(n), ns)
            if rc == -errno.EPIPE:
                raise EOFError("mpsync: get on %s: the queue is closed for writing and drained" % self._name)
            return rc
        if not _wait(call, _timeout_ns(block, timeout), _BUSY, "get on " + self._name, self._name):
            raise queue.Empty
        return ctypes.string_at(buf, n.value)

    def get_nowait(self):
        """get(False)."""
        return self.get(False)

    def qsize(self):
        """The number of messages put and not yet taken (stale at once)."""
        return lib.mps_queue_len(self._handle())

    def empty(self):
        """Whether qsize() is 0 (stale at once)."""
        return self.qsize() == 0

    def full(self):
        """Whether qsize() is maxsize (stale at once)."""
        return self.qsize() >= self._maxsize

    def close(self):
        """Close the queue for writing, for every process: puts raise
        ValueError from now on, and gets raise EOFError once the messages
        already put are drained.  Idempotent; it cannot be undone.  This
        handle stays open (to drain the queue, say): detach() unmaps it."""
        _lib.check(lib.mps_queue_close_write(self._handle()), "close " + self._name, self._name)

    def closed_for_writing(self):
        """Whether some process has called close()."""
        return bool(lib.mps_queue_write_closed(self._handle()))

    def join_thread(self):
        """Nothing to do: there is no feeder thread, a put is complete when
        it returns."""

    def cancel_join_thread(self):
        """Nothing to do: there is no feeder thread."""

    def task_done(self):
        """Mark one message taken from the queue as processed.  ValueError
        if called more times than messages were put (lost messages count
        as done)."""
        rc = lib.mps_queue_task_done(self._handle())
        if rc == -errno.ERANGE:
            raise ValueError("mpsync: task_done() called too many times on %s" % self._name)
        _lib.check(rc, "task_done on " + self._name, self._name)

    def join(self, timeout=None):
        """Wait until every message put was marked done by task_done() (or
        lost), at most timeout seconds if not None; return whether it was.
        A consumer that dies between get() and task_done() leaves its
        message unfinished, as with multiprocessing."""
        q = self._handle()
        return _wait(lambda ns: lib.mps_queue_join(q, ns), _timeout_ns(True, timeout), _BUSY,
                     "join " + self._name, self._name)

    def lost(self):
        """How many messages were lost because the process putting or
        getting them died."""
        n = ctypes.c_uint64()
        _lib.check(lib.mps_queue_lost(self._handle(), ctypes.byref(n)), "lost " + self._name, self._name)
        return n.value

    def detach(self):
        """Unmap the queue in this process (idempotent), without closing it
        for writing; afterwards every method raises ValueError.  The queue
        stays until unlinked, or until the resource tracker removes it once
        no process uses it."""
        if self._obj is not None:
            lib.mps_queue_close(self._obj)
            self._obj = None

    def __reduce__(self):
        return _open_queue, (self._name,)


def _open_queue(name):
    return Queue(name=name)


class Connection:
    """One end of a Pipe: multiprocessing.connection.Connection's shape,
    on mpsync queues.  It receives from one queue and sends into another
    (a duplex end), or only one of the two.  Messages are bytes
    (send_bytes, recv_bytes) or pickled objects (send, recv) of at most
    the queue's max_message bytes.  Pickled, an end travels as the names
    of its queues and is opened on arrival (by a multiprocessing child,
    say)."""

    def __init__(self, recv_queue=None, send_queue=None):
        """An end on the named queues (either may be None)."""
        self._recv = None if recv_queue is None else Queue(name=recv_queue)
        self._send = None if send_queue is None else Queue(name=send_queue)
        self._closed = False

    @property
    def recv_queue(self):
        """The Queue this end receives from, or None."""
        return self._recv

    @property
    def send_queue(self):
        """The Queue this end sends into, or None."""
        return self._send

    @property
    def closed(self):
        return self._closed

    @property
    def readable(self):
        return self._recv is not None

    @property
    def writable(self):
        return self._send is not None

    def _check(self, q, what):
        if self._closed:
            raise OSError("mpsync: handle is closed")
        if q is None:
            raise OSError("mpsync: connection is %s-only" % ("read" if what == "write" else "write"))
        return q

    def send_bytes(self, buf, offset=0, size=None):
        """Send buf[offset:offset+size] (a bytes-like object) as one
        message, waiting for room.  BrokenPipeError once the other end is
        closed."""
        q = self._check(self._send, "write")
        view = memoryview(buf).cast("B")
        if offset < 0 or offset > len(view):
            raise ValueError("mpsync: send_bytes: offset %d out of range" % offset)
        if size is None:
            size = len(view) - offset
        if size < 0 or offset + size > len(view):
            raise ValueError("mpsync: send_bytes: size %d out of range" % size)
        q._put(view[offset:offset + size], True, None, BrokenPipeError)

    def send(self, obj):
        """Send obj, pickled, as one message."""
        self.send_bytes(pickle.dumps(obj))

    def recv_bytes(self, maxlength=None):
        """Receive the next message as bytes, waiting for it.  EOFError once
        the other end is closed and everything was received.  OSError if
        the message is longer than maxlength (it is consumed)."""
        msg = self._check(self._recv, "read").get()
        if maxlength is not None and len(msg) > maxlength:
            raise OSError("mpsync: recv_bytes: bad message length %d (maxlength %d)" % (len(msg), maxlength))
        return msg

    def recv(self):
        """Receive the next message and unpickle it."""
        return pickle.loads(self.recv_bytes())

    def poll(self, timeout=0.0):
        """Whether there is anything to receive (a message, or the end of
        the stream), waiting up to timeout seconds for it (None: as long as
        it takes)."""
        q = self._check(self._recv, "read")
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        pause = 1e-5
        while not q.qsize() and not q.closed_for_writing():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(pause if deadline is None else min(pause, max(deadline - time.monotonic(), 0.0)))
            pause = min(pause * 2, 1e-3)
        return True

    def close(self):
        """Close this end (idempotent): its queues are closed for writing,
        so that the other end's recv raises EOFError once it has received
        everything, and its send raises BrokenPipeError; then they are
        unmapped here."""
        if self._closed:
            return
        self._closed = True
        for q in (self._send, self._recv):
            if q is not None:
                try:
                    q.close()
                finally:
                    q.detach()

    def unlink(self):
        """Remove the names of this end's queues (those already gone are
        skipped), once the other end has them open: the ends stay usable.
        Otherwise the resource tracker removes them once no process uses
        them."""
        for q in (self._send, self._recv):
            if q is not None:
                try:
                    q.unlink()
                except FileNotFoundError:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __reduce__(self):
        if self._closed:
            raise OSError("mpsync: cannot pickle a closed connection")
        return Connection, (_name(self._recv), _name(self._send))

    def __repr__(self):
        return "<mpsync.Connection recv=%r send=%r%s>" % (_name(self._recv), _name(self._send),
                                                          " closed" if self._closed else "")


def _name(q):
    return None if q is None else q.name


def Pipe(duplex=True, *, capacity=64, max_message=65536):
    """A pair of connected ends (conn1, conn2), as multiprocessing.Pipe
    makes them, on new mpsync queues of capacity messages of at most
    max_message bytes.  With duplex=False, conn1 only receives and conn2
    only sends, through one queue (a Go queue.Pipe's, which Go opens with
    OpenReader/OpenWriter); with duplex=True each end sends into a queue of
    its own.  Each end has its own handles.  The queues are removed by the
    resource tracker once no process uses them, or by unlink()."""
    made = []
    try:
        made.append(Queue(capacity, max_message))
        if not duplex:
            return Connection(recv_queue=made[0].name), Connection(send_queue=made[0].name)
        made.append(Queue(capacity, max_message))
        return Connection(made[0].name, made[1].name), Connection(made[1].name, made[0].name)
    except BaseException:
        for q in made:
            q.unlink()
        raise
    finally:
        for q in made:
            q.detach()
