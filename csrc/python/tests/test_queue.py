"""mpsync.Queue and mpsync.Pipe: JoinableQueue's and Pipe's shapes on
mpsync queues, between threads and spawned processes, closing and
draining, bad input, and a writer SIGKILLed holding a slot."""
import ctypes
import os
import pickle
import queue
import signal
import threading
import unittest

import mpsync
from mpsync._lib import lib
from support import cleanup, ctx, new_name, run


class Slot(ctypes.Structure):
    """struct mps_queue_slot."""
    _fields_ = [("data", ctypes.c_void_p), ("len", ctypes.c_size_t), ("pos", ctypes.c_uint64)]


def die_holding_slot(q):
    """Reserve the next slot through the C API, as a put does before it
    copies its message in, and die there."""
    lib.mps_queue_reserve.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(Slot)]
    slot = Slot()
    if lib.mps_queue_reserve(q._handle(), -1, ctypes.byref(slot)) == 0:
        os.kill(os.getpid(), signal.SIGKILL)


def produce(q, ident, count):
    for seq in range(count):
        q.put(b"%d %d " % (ident, seq) + b"x" * (seq % 50))


def consume(q, results):
    """Get until EOFError, marking each message done; put what was got on
    results, as one message of lines."""
    got = []
    while True:
        try:
            got.append(q.get())
        except EOFError:
            break
        q.task_done()
    results.put(b"\n".join(m.split(b" x")[0].rstrip() for m in got) or b"-")


def echo(conn, n):
    """Receive n objects on conn and send each back, doubled; then close."""
    for _ in range(n):
        conn.send(conn.recv() * 2)
    conn.close()


def send_all(conn, n):
    for i in range(n):
        conn.send_bytes(b"%d" % i)
    conn.close()


class TestQueue(unittest.TestCase):
    def test_put_get(self):
        q = cleanup(self, mpsync.Queue(4, 16))
        self.assertEqual((q.maxsize, q.max_message), (4, 16))
        self.assertTrue(q.empty())
        q.put(b"abc")
        q.put(bytearray(b"de"))
        q.put(memoryview(b"fgh")[1:])
        q.put(b"")
        self.assertEqual(q.qsize(), 4)
        self.assertTrue(q.full())
        self.assertEqual([q.get(), q.get(), q.get(), q.get_nowait()], [b"abc", b"de", b"gh", b""])
        self.assertTrue(q.empty())

    def test_full_and_empty(self):
        q = cleanup(self, mpsync.Queue(2, 8))
        self.assertRaises(queue.Empty, q.get_nowait)
        self.assertRaises(queue.Empty, q.get, False)
        self.assertRaises(queue.Empty, q.get, True, 0.01)
        q.put(b"1")
        q.put_nowait(b"2")
        self.assertRaises(queue.Full, q.put_nowait, b"3")
        self.assertRaises(queue.Full, q.put, b"3", False)
        self.assertRaises(queue.Full, q.put, b"3", True, 0.01)
        self.assertEqual(q.get(), b"1")
        q.put(b"3", timeout=5)
        self.assertEqual([q.get(), q.get()], [b"2", b"3"])

    def test_close_and_drain(self):
        q = cleanup(self, mpsync.Queue(8, 8))
        other = mpsync.Queue(name=q.name)
        self.addCleanup(other.detach)
        q.put(b"a")
        q.put(b"b")
        self.assertFalse(other.closed_for_writing())
        q.close()
        q.close()  # idempotent
        self.assertTrue(other.closed_for_writing())
        self.assertRaises(ValueError, other.put, b"c")
        self.assertEqual([other.get(), q.get()], [b"a", b"b"])
        self.assertRaises(EOFError, other.get)
        self.assertRaises(EOFError, q.get_nowait)
        q.join_thread()
        q.cancel_join_thread()

    def test_task_done_and_join(self):
        q = cleanup(self, mpsync.Queue(8, 8))
        self.assertTrue(q.join())
        q.put(b"a")
        q.put(b"b")
        self.assertFalse(q.join(timeout=0))
        q.get()
        q.task_done()
        self.assertFalse(q.join(timeout=0.01))
        q.get()
        q.task_done()
        self.assertTrue(q.join())
        self.assertRaises(ValueError, q.task_done)

    def test_join_waits_for_a_thread(self):
        q = cleanup(self, mpsync.Queue(8, 8))
        q.put(b"job")

        def worker():
            q.get()
            q.task_done()
        t = threading.Thread(target=worker)
        t.start()
        self.assertTrue(q.join())
        t.join()

    def test_blocked_get_woken_by_put(self):
        q = cleanup(self, mpsync.Queue(1, 8))
        got = []
        t = threading.Thread(target=lambda: got.append(q.get()))
        t.start()
        q.put(b"late")
        t.join()
        self.assertEqual(got, [b"late"])

    def test_open_by_name_and_pickle(self):
        name = new_name("mps_queue_py_")
        q = cleanup(self, mpsync.Queue(3, 10, name=name))
        self.assertEqual(q.name, name)
        r = mpsync.Queue(name=name)
        self.addCleanup(r.detach)
        self.assertEqual((r.maxsize, r.max_message), (3, 10))
        p = pickle.loads(pickle.dumps(q))
        self.addCleanup(p.detach)
        q.put(b"x")
        self.assertEqual(p.get(), b"x")
        self.assertRaises(FileExistsError, mpsync.Queue, 3, 10, name=name)

    def test_processes(self):
        """Two spawned producers and two consumers: every message once, in
        each producer's order, and join() returns once all are done."""
        count = 500
        q = cleanup(self, mpsync.Queue(16, 64))
        results = cleanup(self, mpsync.Queue(4, 1 << 16))
        procs = [ctx.Process(target=produce, args=(q, i, count)) for i in range(2)]
        procs += [ctx.Process(target=consume, args=(q, results)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs[:2]:
            p.join()
            self.assertEqual(p.exitcode, 0)
        self.assertTrue(q.join())
        q.close()
        seen = {0: [], 1: []}
        for _ in range(2):
            lines = results.get(timeout=60)
            for line in lines.split(b"\n") if lines != b"-" else []:
                ident, seq = map(int, line.split())
                seen[ident].append(seq)
        for p in procs[2:]:
            p.join()
            self.assertEqual(p.exitcode, 0)
        for ident in (0, 1):
            self.assertEqual(sorted(seen[ident]), list(range(count)), "producer %d" % ident)
        self.assertEqual(q.lost(), 0)

    def test_writer_killed_holding_a_slot(self):
        q = cleanup(self, mpsync.Queue(4, 8))
        q.put(b"before")
        self.assertEqual(run(die_holding_slot, q), -signal.SIGKILL)
        q.put(b"after")
        self.assertEqual([q.get(timeout=10), q.get(timeout=10)], [b"before", b"after"])
        self.assertEqual(q.lost(), 1)
        q.task_done()
        q.task_done()
        self.assertTrue(q.join(), "a lost message counts as done")

    def test_bad_input(self):
        self.assertRaises(ValueError, mpsync.Queue, 0, 8)
        self.assertRaises(ValueError, mpsync.Queue, 8, 0)
        self.assertRaises(ValueError, mpsync.Queue, name=None, create=False)
        q = cleanup(self, mpsync.Queue(2, 4))
        with self.assertRaises(ValueError) as cm:
            q.put(b"12345")
        self.assertIn("5 bytes", str(cm.exception))
        self.assertRaises(TypeError, q.put, "text")
        lock = cleanup(self, mpsync.Lock())
        with self.assertRaises(mpsync.TypeMismatchError) as cm:
            mpsync.Queue(name=lock.name)
        self.assertIn("it is a lock", str(cm.exception))
        self.assertRaises(FileNotFoundError, mpsync.Queue, name=new_name())

    def test_detached(self):
        q = mpsync.Queue(2, 4)
        q.unlink()
        q.detach()
        q.detach()
        for call in (q.qsize, q.get_nowait, q.close, q.lost, lambda: q.put(b"x")):
            self.assertRaises(ValueError, call)


class TestPipe(unittest.TestCase):
    def pipe(self, duplex):
        a, b = mpsync.Pipe(duplex, capacity=4, max_message=256)
        for end in (a, b):
            cleanup(self, end)
        return a, b

    def test_one_way(self):
        r, w = self.pipe(False)
        self.assertEqual((r.readable, r.writable, w.readable, w.writable), (True, False, False, True))
        self.assertEqual(r.recv_queue.name, w.send_queue.name)
        self.assertFalse(r.poll())
        w.send_bytes(b"hello")
        w.send_bytes(b"0123456789", 2, 3)
        w.send({"a": [1, 2]})
        self.assertTrue(r.poll(0))
        self.assertEqual(r.recv_bytes(), b"hello")
        self.assertEqual(r.recv_bytes(), b"234")
        self.assertEqual(r.recv(), {"a": [1, 2]})
        self.assertFalse(r.poll(0.01))
        self.assertRaises(OSError, r.send_bytes, b"x")
        self.assertRaises(OSError, w.recv_bytes)
        self.assertRaises(ValueError, w.send_bytes, b"x" * 257)
        w.send_bytes(b"long")
        self.assertRaises(OSError, r.recv_bytes, 2)
        w.close()
        self.assertTrue(w.closed)
        self.assertRaises(OSError, w.send_bytes, b"x")
        self.assertTrue(r.poll(None), "the end of the stream is something to receive")
        self.assertRaises(EOFError, r.recv_bytes)

    def test_reader_closed(self):
        r, w = self.pipe(False)
        r.close()
        self.assertRaises(BrokenPipeError, w.send_bytes, b"x")

    def test_duplex_with_a_process(self):
        a, b = self.pipe(True)
        p = ctx.Process(target=echo, args=(b, 3))
        p.start()
        for x in (1, "ab", [3]):
            a.send(x)
            self.assertEqual(a.recv(), x * 2)
        p.join()
        self.assertEqual(p.exitcode, 0)
        self.assertRaises(EOFError, a.recv)

    def test_one_way_from_a_process(self):
        r, w = self.pipe(False)
        p = ctx.Process(target=send_all, args=(w, 100))
        p.start()
        got = []
        while True:
            try:
                got.append(r.recv_bytes())
            except EOFError:
                break
        p.join()
        self.assertEqual(got, [b"%d" % i for i in range(100)])


if __name__ == "__main__":
    unittest.main()
