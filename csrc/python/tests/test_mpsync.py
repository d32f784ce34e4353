"""What mpsync adds to multiprocessing's shapes, and how it fails: robust
locks whose holder is SIGKILLed, objects opened by name, errors as
exceptions, struct types, Python's own ShareableList on the same
segments, and finding the library."""
import ctypes
import errno
import os
import pickle
import signal
import subprocess
import sys
import threading
import unittest
from multiprocessing import resource_tracker, shared_memory

import mpsync
from support import cleanup, ctx, new_name, run


def die_holding(lock):
    lock.acquire()
    os.kill(os.getpid(), signal.SIGKILL)


def die_holding_value_lock(value):
    value.get_lock().acquire()
    os.kill(os.getpid(), signal.SIGKILL)


def hold_internal_lock(barrier, held, release):
    """Take barrier's internal lock, as a party does while it counts
    itself in, until release is set."""
    from mpsync._lib import lib
    area = lib.mps_object_lock(barrier._handle())
    if lib.mps_lock_acquire(ctypes.c_void_p(area), -1) != 0:
        os._exit(1)
    held.set()
    release.wait()
    lib.mps_lock_release(ctypes.c_void_p(area))


class Point(ctypes.Structure):
    _fields_ = [("X", ctypes.c_double), ("Y", ctypes.c_double)]


class TestRobust(unittest.TestCase):
    def test_holder_killed(self):
        lock = cleanup(self, mpsync.Lock())
        self.assertEqual(run(die_holding, lock), -signal.SIGKILL)
        with self.assertRaises(mpsync.OwnerDeadError) as cm:
            lock.acquire()
        self.assertEqual(cm.exception.errno, errno.EOWNERDEAD)
        self.assertFalse(lock.acquire(False), "the lock is held after OwnerDeadError")
        lock.mark_consistent()
        lock.release()
        self.assertTrue(lock.acquire(timeout=5))
        lock.release()

    def test_not_marked_consistent(self):
        lock = cleanup(self, mpsync.Lock())
        self.assertEqual(run(die_holding, lock), -signal.SIGKILL)
        self.assertRaises(mpsync.OwnerDeadError, lock.acquire)
        with self.assertRaises(OSError) as cm:
            lock.release()
        self.assertEqual(cm.exception.errno, errno.ENOTRECOVERABLE)
        with self.assertRaises(OSError) as cm:
            lock.acquire()
        self.assertEqual(cm.exception.errno, errno.ENOTRECOVERABLE)

    def test_value_lock_holder_killed(self):
        v = cleanup(self, mpsync.Value("q", 0))
        self.assertEqual(run(die_holding_value_lock, v), -signal.SIGKILL)
        lock = v.get_lock()
        self.assertRaises(mpsync.OwnerDeadError, lock.acquire)
        v.value = 7  # held: .value takes the (recursive) lock again
        lock.mark_consistent()
        lock.release()
        with v:
            self.assertEqual(v.value, 7)


class TestBarrierTimeout(unittest.TestCase):
    def test_timeout_waiting_for_internal_lock(self):
        """A wait that times out while another process holds the internal
        lock raises BrokenBarrierError without arriving: the barrier, which
        only that lock lets anyone change, stays unbroken, and works once
        the lock is free."""
        barrier = cleanup(self, mpsync.Barrier(2))
        held, release = cleanup(self, mpsync.Event()), cleanup(self, mpsync.Event())
        p = ctx.Process(target=hold_internal_lock, args=(barrier, held, release))
        p.start()
        try:
            self.assertTrue(held.wait(30))
            with self.assertRaises(threading.BrokenBarrierError):
                barrier.wait(timeout=0.05)
        finally:
            release.set()
            p.join()
        self.assertEqual(p.exitcode, 0)
        self.assertFalse(barrier.broken)
        self.assertEqual(barrier.n_waiting, 0)
        with self.assertRaises(threading.BrokenBarrierError):
            barrier.wait(timeout=0.05)  # arrives, times out: broken
        self.assertTrue(barrier.broken)


class TestNames(unittest.TestCase):
    def test_create_by_name_then_open(self):
        name = new_name()
        a = cleanup(self, mpsync.Lock(name, create=True))
        b = mpsync.Lock(name)
        self.addCleanup(b.close)
        self.assertEqual(a.name, name)
        self.assertTrue(a.acquire())
        self.assertFalse(b.acquire(False), "one lock, two handles, held by this process")
        b.release()  # the owner is the process: any handle of it may release

    def test_open_value_and_array(self):
        v = cleanup(self, mpsync.Value("d", 2.5))
        a = cleanup(self, mpsync.RawArray("h", [1, 2, 3]))
        w = mpsync.Value(name=v.name)
        b = mpsync.Array(name=a.name)
        self.addCleanup(w.close)
        self.addCleanup(b.close)
        self.assertIsInstance(w, mpsync.SynchronizedValue)
        self.assertIsInstance(b, mpsync.SharedArray, "an array without a lock opens raw")
        self.assertEqual((w.value, w.format), (2.5, "d"))
        b[0] = -1
        self.assertEqual(list(a), [-1, 2, 3])

    def test_structs(self):
        v = cleanup(self, mpsync.Value(Point, 1, 2))
        a = cleanup(self, mpsync.Array(Point, [Point(1, 2), Point(3, 4)]))
        self.assertEqual(v.format, "T{d:X:d:Y:}")
        w = mpsync.Array(name=a.name)
        self.addCleanup(w.close)
        self.assertEqual((w[1].X, w[1].Y), (3, 4))
        w[0] = Point(5, 6)
        self.assertEqual((a[0].X, a[0].Y), (5, 6))
        w[1] = (7, 8)
        self.assertEqual((a[1].X, a[1].Y), (7, 8))
        self.assertEqual(v.value.Y, 2)

    def test_char_arrays(self):
        c = cleanup(self, mpsync.Array("c", b"hello"))
        self.assertEqual((c.value, c.raw), (b"hello", b"hello"))
        c.value = b"HE"
        self.assertEqual(c.raw, b"HE\x00lo")  # as ctypes writes a char array's value
        u = cleanup(self, mpsync.Array("u", "héllo"))
        self.assertEqual(u.value, "héllo")

    def test_pickled_as_name(self):
        v = cleanup(self, mpsync.Value("i", 1))
        w = pickle.loads(pickle.dumps(v))
        self.addCleanup(w.close)
        w.value = 5
        self.assertEqual(v.value, 5)
        self.assertIn(v.name.encode(), pickle.dumps(v))


class TestErrors(unittest.TestCase):
    def test_exists(self):
        lock = cleanup(self, mpsync.Lock())
        self.assertRaises(FileExistsError, mpsync.Lock, lock.name, create=True)
        self.assertRaises(FileExistsError, mpsync.Value, "i", 0, name=lock.name)

    def test_missing(self):
        self.assertRaises(FileNotFoundError, mpsync.Lock, new_name())
        self.assertRaises(FileNotFoundError, mpsync.Value, name=new_name())
        self.assertRaises(FileNotFoundError, mpsync.SharedMemory, new_name())

    def test_wrong_kind(self):
        v = cleanup(self, mpsync.Value("i", 0))
        with self.assertRaisesRegex(mpsync.TypeMismatchError, "as a lock: it is a value"):
            mpsync.Lock(v.name)
        self.assertRaises(mpsync.TypeMismatchError, mpsync.Array, name=v.name)

    def test_bad_arguments(self):
        with self.assertRaises(OSError) as cm:
            mpsync.Lock("/", create=True)
        self.assertEqual(cm.exception.errno, errno.EINVAL)
        # "a/b" names b in the arena a, which does not exist.
        self.assertRaises(FileNotFoundError, mpsync.Lock, new_name() + "/b", create=True)
        self.assertRaises(ValueError, mpsync.Value, "Z", 1)
        self.assertRaises(TypeError, mpsync.Value)
        self.assertRaises(ValueError, mpsync.SharedMemory, create=True, size=0)

    def test_closed(self):
        v = cleanup(self, mpsync.Value("i", 0))
        lock = cleanup(self, mpsync.Lock())
        sm = cleanup(self, mpsync.SharedMemory(create=True, size=10))
        v.close()
        v.close()
        lock.close()
        sm.close()
        self.assertIsNone(sm.buf)
        for f in (lambda: v.value, v.get_lock, lock.acquire, lock.release):
            self.assertRaisesRegex(ValueError, "closed", f)

    def test_unlinked_twice(self):
        lock = mpsync.Lock()
        lock.unlink()
        self.assertRaises(FileNotFoundError, lock.unlink)
        lock.close()


class TestWithPythonsShareableList(unittest.TestCase):
    """Python's own ShareableList and mpsync's read and write one layout."""

    def attach(self, name):
        sl = shared_memory.ShareableList(name=name)
        # Before 3.13 Python's tracker would unlink the segment when this
        # process exits, though it only attached.
        resource_tracker.unregister(sl.shm._name, "shared_memory")
        self.addCleanup(sl.shm.close)
        return sl

    def test_mpsync_made(self):
        sl = cleanup(self, mpsync.ShareableList(["héllo", b"\x00x", 1.5, -3, None, False]))
        theirs = self.attach(sl.shm.name)
        self.assertEqual(list(theirs), ["héllo", b"\x00x", 1.5, -3, None, False])
        self.assertEqual(theirs.format, sl.format)
        theirs[3] = "py"
        self.assertEqual(sl[3], "py")

    def test_python_made(self):
        theirs = shared_memory.ShareableList(["howdy", 2.5, True, None, 7])
        self.addCleanup(theirs.shm.unlink)
        self.addCleanup(theirs.shm.close)
        sl = mpsync.ShareableList(name=theirs.shm.name)
        self.addCleanup(sl.shm.close)
        self.assertEqual(list(sl), ["howdy", 2.5, True, None, 7])
        sl[0] = b"bytes"
        self.assertEqual(theirs[0], b"bytes")


class TestLibrary(unittest.TestCase):
    def python(self, env):
        return subprocess.run([sys.executable, "-c", "import mpsync"], env=env, capture_output=True, text=True)

    def test_bad_mpsync_lib(self):
        env = dict(os.environ, MPSYNC_LIB="/nonexistent/libmpsync.so.0")
        r = self.python(env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ImportError: mpsync: cannot load libmpsync from MPSYNC_LIB=/nonexistent/libmpsync.so.0",
                      r.stderr)

    def test_not_found(self):
        env = {k: v for k, v in os.environ.items() if k not in ("MPSYNC_LIB", "LD_LIBRARY_PATH")}
        env["PKG_CONFIG_PATH"] = env["PKG_CONFIG_LIBDIR"] = "/nonexistent"
        r = self.python(env)
        if r.returncode == 0:
            # A libmpsync is installed system-wide: check that it is the one loaded.
            r = subprocess.run([sys.executable, "-c", "import mpsync._lib as l; print(l.lib._name)"], env=env,
                               capture_output=True, text=True)
            self.assertIn("libmpsync", r.stdout)
            return
        self.assertIn("ImportError: mpsync: libmpsync not found: MPSYNC_LIB is not set", r.stderr)
        self.assertIn("no installed libmpsync was found", r.stderr)


if __name__ == "__main__":
    unittest.main()
