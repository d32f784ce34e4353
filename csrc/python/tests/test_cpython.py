"""The assertions of CPython's own Lib/test/_test_multiprocessing.py for
the classes mpsync offers, run against mpsync: _TestLock (test_lock,
test_lock_context; test_rlock on the lock of a Value, which is recursive
as multiprocessing's default RLock is), _TestValue, _TestArray and the
ShareableList tests of _TestSharedMemory.  Children are spawned, so every
object reaches them pickled as its name and opened there.  Where mpsync
differs, the comment says how."""
import array
import pickle
import threading
import unittest
import warnings

import mpsync
from support import check_rlock, cleanup, new_name, run


class TestLock(unittest.TestCase):
    def test_lock(self):
        lock = cleanup(self, mpsync.Lock())
        self.assertEqual(lock.acquire(), True)
        self.assertEqual(lock.acquire(False), False)
        self.assertEqual(lock.release(), None)
        self.assertRaises((ValueError, threading.ThreadError), lock.release)

    def test_rlock(self):
        # On the lock of a Value, recursive as multiprocessing's default one
        # (test_cpython_family runs it on mpsync.RLock).
        check_rlock(self, cleanup(self, mpsync.Value("i", 0)).get_lock())

    def test_lock_context(self):
        with cleanup(self, mpsync.Lock()):
            pass


CODES_VALUES = [
    ("i", 4343, 24234),
    ("d", 3.625, -4.25),
    ("h", -232, 234),
    ("q", 2 ** 33, 2 ** 34),
    ("c", b"x", b"y"),
]


def set_values(values):
    for sv, cv in zip(values, CODES_VALUES):
        sv.value = cv[2]


class TestValue(unittest.TestCase):
    def test_value(self, raw=False):
        make = mpsync.RawValue if raw else mpsync.Value
        values = [cleanup(self, make(code, value)) for code, value, _ in CODES_VALUES]
        for sv, cv in zip(values, CODES_VALUES):
            self.assertEqual(sv.value, cv[1])
        self.assertEqual(run(set_values, values), 0)
        for sv, cv in zip(values, CODES_VALUES):
            self.assertEqual(sv.value, cv[2])

    def test_rawvalue(self):
        self.test_value(raw=True)

    def test_getobj_getlock(self):
        val1 = cleanup(self, mpsync.Value("i", 5))
        val1.get_lock()
        val1.get_obj()

        val2 = cleanup(self, mpsync.Value("i", 5, lock=None))
        val2.get_lock()
        val2.get_obj()

        lock = cleanup(self, mpsync.Lock())
        val3 = cleanup(self, mpsync.Value("i", 5, lock=lock))
        self.assertEqual(lock, val3.get_lock())
        val3.get_obj()

        arr4 = cleanup(self, mpsync.Value("i", 5, lock=False))
        self.assertFalse(hasattr(arr4, "get_lock"))
        self.assertFalse(hasattr(arr4, "get_obj"))

        self.assertRaises(AttributeError, mpsync.Value, "i", 5, lock="navalue")

        arr5 = cleanup(self, mpsync.RawValue("i", 5))
        self.assertFalse(hasattr(arr5, "get_lock"))
        self.assertFalse(hasattr(arr5, "get_obj"))


def prefix_sums(seq):
    for i in range(1, len(seq)):
        seq[i] += seq[i - 1]


class TestArray(unittest.TestCase):
    def test_array(self, raw=False):
        seq = [680, 626, 934, 821, 150, 233, 548, 982, 714, 831]
        arr = cleanup(self, mpsync.RawArray("i", seq) if raw else mpsync.Array("i", seq))

        self.assertEqual(len(arr), len(seq))
        self.assertEqual(arr[3], seq[3])
        self.assertEqual(list(arr[2:7]), list(seq[2:7]))

        arr[4:8] = seq[4:8] = array.array("i", [1, 2, 3, 4])
        self.assertEqual(list(arr[:]), seq)

        prefix_sums(seq)
        self.assertEqual(run(prefix_sums, arr), 0)
        self.assertEqual(list(arr[:]), seq)

    def test_array_from_size(self):
        size = 10
        for _ in range(3):
            arr = cleanup(self, mpsync.Array("i", size))
            self.assertEqual(len(arr), size)
            self.assertEqual(list(arr), [0] * size)
            arr[:] = range(10)
            self.assertEqual(list(arr), list(range(10)))
            del arr

    def test_rawarray(self):
        self.test_array(raw=True)

    def test_getobj_getlock_obj(self):
        arr1 = cleanup(self, mpsync.Array("i", list(range(10))))
        arr1.get_lock()
        arr1.get_obj()

        arr2 = cleanup(self, mpsync.Array("i", list(range(10)), lock=None))
        arr2.get_lock()
        arr2.get_obj()

        lock = cleanup(self, mpsync.Lock())
        arr3 = cleanup(self, mpsync.Array("i", list(range(10)), lock=lock))
        self.assertEqual(lock, arr3.get_lock())
        arr3.get_obj()

        arr4 = cleanup(self, mpsync.Array("i", range(10), lock=False))
        self.assertFalse(hasattr(arr4, "get_lock"))
        self.assertFalse(hasattr(arr4, "get_obj"))
        self.assertRaises(AttributeError, mpsync.Array, "i", range(10), lock="notalock")

        arr5 = cleanup(self, mpsync.RawArray("i", range(10)))
        self.assertFalse(hasattr(arr5, "get_lock"))
        self.assertFalse(hasattr(arr5, "get_obj"))


class TestShareableList(unittest.TestCase):
    def test_basics(self):
        sl = cleanup(self, mpsync.ShareableList(["howdy", b"HoWdY", -273.154, 100, None, True, 42]))

        self.assertIn(sl.shm.name, str(sl))
        self.assertIn(str(list(sl)), str(sl))

        with self.assertRaises(IndexError):
            sl[7]
        with self.assertRaises(IndexError):
            sl[7] = 2

        # (CPython also checks its private _get_packing_format here.)
        sl[0] = "howdy"
        self.assertEqual(sl.format, "8s8sdqxxxxxx?xxxxxxxx?q")
        self.assertEqual(len(sl), 7)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with self.assertRaises(ValueError):
                sl.index("100")
            self.assertEqual(sl.index(100), 3)

        self.assertEqual(sl[0], "howdy")
        self.assertEqual(sl[-2], True)
        self.assertEqual(tuple(sl), ("howdy", b"HoWdY", -273.154, 100, None, True, 42))

        sl[3] = 42
        self.assertEqual(sl[3], 42)
        sl[4] = "some"
        self.assertEqual(sl[4], "some")
        self.assertEqual(sl.format, "8s8sdq8sxxxxxxx?q")
        with self.assertRaisesRegex(ValueError, "exceeds available storage"):
            sl[4] = "far too many"
        self.assertEqual(sl[4], "some")
        sl[0] = "encodés"  # 8 bytes of UTF-8
        self.assertEqual(sl[0], "encodés")
        self.assertEqual(sl[1], b"HoWdY")
        with self.assertRaisesRegex(ValueError, "exceeds available storage"):
            sl[0] = "encodées"  # 9 bytes of UTF-8
        self.assertEqual(sl[1], b"HoWdY")
        with self.assertRaisesRegex(ValueError, "exceeds available storage"):
            sl[1] = b"123456789"
        self.assertEqual(sl[1], b"HoWdY")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.assertEqual(sl.count(42), 2)
            self.assertEqual(sl.count(b"HoWdY"), 1)
            self.assertEqual(sl.count(b"adios"), 0)

        name_duplicate = new_name("psm_dup_")
        sl_copy = cleanup(self, mpsync.ShareableList(sl, name=name_duplicate))
        self.assertNotEqual(sl.shm.name, sl_copy.shm.name)
        self.assertEqual(name_duplicate, sl_copy.shm.name)
        self.assertEqual(list(sl), list(sl_copy))
        self.assertEqual(sl.format, sl_copy.format)
        sl_copy[-1] = 77
        self.assertEqual(sl_copy[-1], 77)
        self.assertNotEqual(sl[-1], 77)

        sl_tethered = mpsync.ShareableList(name=sl.shm.name)
        self.assertEqual(sl.shm.name, sl_tethered.shm.name)
        sl_tethered[-1] = 880
        self.assertEqual(sl[-1], 880)
        sl_tethered.shm.close()

        empty_sl = cleanup(self, mpsync.ShareableList())
        self.assertEqual(len(empty_sl), 0)
        self.assertEqual(empty_sl.format, "")
        self.assertEqual(empty_sl.count("any"), 0)
        with self.assertRaises(ValueError):
            empty_sl.index(None)

    def test_pickling(self):
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            with self.subTest(proto=proto):
                sl = cleanup(self, mpsync.ShareableList(range(10)))
                serialized_sl = pickle.dumps(sl, protocol=proto)
                deserialized_sl = pickle.loads(serialized_sl)
                self.assertIsInstance(deserialized_sl, mpsync.ShareableList)
                self.assertEqual(deserialized_sl[-1], 9)
                self.assertIsNot(sl, deserialized_sl)

                deserialized_sl[4] = "changed"
                self.assertEqual(sl[4], "changed")
                sl[3] = "newvalue"
                self.assertEqual(deserialized_sl[3], "newvalue")

                larger_sl = cleanup(self, mpsync.ShareableList(range(400)))
                serialized_larger_sl = pickle.dumps(larger_sl, protocol=proto)
                self.assertEqual(len(serialized_sl), len(serialized_larger_sl))
                deserialized_sl.shm.close()

    def test_pickling_dead_object(self):
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            with self.subTest(proto=proto):
                sl = mpsync.ShareableList(range(10))
                serialized_sl = pickle.dumps(sl, protocol=proto)
                sl.shm.close()
                sl.shm.unlink()
                with self.assertRaises(FileNotFoundError):
                    pickle.loads(serialized_sl)


if __name__ == "__main__":
    unittest.main()
