"""Arenas from Python: every kind of the synchronization family made in an
arena with arena= (named and anonymous), opened by its arena-qualified
name in another process, and freed by unlink(), its block reused."""
import errno
import os
import threading
import unittest

import mpsync
from support import new_name, run


def arena_kinds_child(names):
    """Open each object of test_kinds by name and use it: the exit code
    counts what misbehaved."""
    bad = 0
    r = mpsync.RLock(names["rlock"])
    bad += not (r.acquire(False) and r.acquire(False))
    r.release()
    r.release()
    s = mpsync.Semaphore(name=names["sem"])
    bad += s.get_value() != 2 or not s.acquire(False)
    b = mpsync.BoundedSemaphore(name=names["bsem"])
    bad += not b.acquire(False)
    b.release()
    e = mpsync.Event(names["event"])
    e.set()
    c = mpsync.Condition(name=names["cond"])
    with c:
        c.notify_all()
    bar = mpsync.Barrier(name=names["barrier"])
    bad += bar.parties != 1 or bar.wait(timeout=10) != 0
    for o in (r, s, b, e, c, bar):
        o.close()
    return bad


def exit_with(f, *args):
    raise SystemExit(f(*args))


class TestArenaKinds(unittest.TestCase):
    def setUp(self):
        self.arena = mpsync.Arena(None, 1 << 20, max_names=64)
        self.addCleanup(self.arena.unlink)
        self.addCleanup(self.arena.close)

    def objects(self):
        return self.arena.stats()["objects"]

    def test_kinds(self):
        a = self.arena
        made = [
            mpsync.RLock("r", create=True, arena=a),
            mpsync.Semaphore(2, name="s", create=True, arena=a),
            mpsync.BoundedSemaphore(1, name="b", create=True, arena=a),
            mpsync.Event("e", create=True, arena=a),
            mpsync.Condition(name="c", create=True, arena=a),
            mpsync.Barrier(1, name="bar", create=True, arena=a),
        ]
        # The condition's own RLock is an anonymous object of the arena.
        self.assertEqual(self.objects(), 7)
        for o in made:
            self.assertTrue(o.name.startswith(a.name + "/"), o.name)
        names = dict(zip(("rlock", "sem", "bsem", "event", "cond", "barrier"), (o.name for o in made)))
        self.assertEqual(run(exit_with, arena_kinds_child, names), 0)
        r, s, b, e, c, bar = made
        self.assertEqual(s.get_value(), 1)
        self.assertTrue(e.is_set())
        self.assertRaises(ValueError, b.release)
        # Opened by arena= and name here too.
        s2 = mpsync.Semaphore(name="s", arena=a)
        self.assertEqual(s2.get_value(), 1)
        s2.close()
        for o in made:
            o.unlink()
            o.close()
        self.assertEqual(self.objects(), 0)
        self.assertEqual(a.stats()["names"], 0)
        with self.assertRaises(FileNotFoundError):
            mpsync.Event(a.qualify("e"))

    def test_anonymous(self):
        a = self.arena
        s = mpsync.Semaphore(3, arena=a)
        e = mpsync.Event(arena=a)
        self.assertIn("/#", s.name)
        t = mpsync.Semaphore(name=s.name)
        self.assertEqual(t.get_value(), 3)
        t.close()
        s.unlink()
        with self.assertRaises(FileNotFoundError):
            s.unlink()
        s.close()
        with self.assertRaises(FileNotFoundError):
            mpsync.Semaphore(name=s.name)
        # The freed block goes to the next object of its size, with a new
        # generation: a new handle, the same offset.
        s3 = mpsync.Semaphore(4, arena=a)
        self.assertEqual(s3.name.split(".")[0], s.name.split(".")[0])
        self.assertNotEqual(s3.name, s.name)
        for o in (s3, e):
            o.unlink()
            o.close()
        self.assertEqual(self.objects(), 0)

    def test_unlink_after_close(self):
        a = self.arena
        v = mpsync.RawValue("q", 9, name="v", arena=a)
        lock = mpsync.Lock("l", create=True, arena=a)
        v.close()
        lock.close()
        v.unlink()
        lock.unlink()
        self.assertEqual(self.objects(), 0)
        with self.assertRaises(FileNotFoundError):
            lock.unlink()

    def test_condition_in_arena(self):
        a = self.arena
        c = mpsync.Condition(arena=a)
        ready, done = threading.Event(), []

        def waiter():
            with c:
                ready.set()
                done.append(c.wait(timeout=10))

        t = threading.Thread(target=waiter)
        t.start()
        ready.wait()
        with c:
            c.notify()
        t.join()
        self.assertEqual(done, [True])
        c.unlink()
        c.close()
        self.assertEqual(self.objects(), 0)

    def test_free_reuses(self):
        a = self.arena
        used = a.stats()["used"]
        for i in range(200):
            b = mpsync.Barrier(2, name=new_name(), create=True, arena=a)
            b.unlink()
            b.close()
        st = a.stats()
        self.assertEqual((st["objects"], st["names"], st["used"]), (0, 0, used))
        self.assertLess(st["bump"], 4096, "freed blocks were not reused")

    def test_value_block(self):
        # A named Value('q') with its lock takes one 48-byte block: 16 of
        # header, 8 of name, 16 of compact lock, 8 of value.
        a = self.arena
        used = a.stats()["used"]
        v = mpsync.Value("q", 5, name="v7", arena=a)
        self.assertEqual(a.stats()["used"] - used, 48)
        with v.get_lock():
            with v.get_lock():
                v.value += 1
        self.assertEqual(v.value, 6)
        v.unlink()
        v.close()


class TestArenaLayout(unittest.TestCase):
    def test_old_layout_refused(self):
        # An arena whose control block says layout version 1 (24-byte
        # compact locks) is refused, never misread.
        a = mpsync.Arena(None, 1 << 20)
        name = a.name
        a.close()
        try:
            with open("/dev/shm/" + name, "r+b") as f:
                f.seek(4096 + 8)
                f.write((1).to_bytes(4, "little"))
            with self.assertRaises(OSError) as cm:
                mpsync.Arena(name)
            self.assertEqual(cm.exception.errno, errno.EPROTONOSUPPORT)
            self.assertIn("version", str(cm.exception))
        finally:
            os.unlink("/dev/shm/" + name)


if __name__ == "__main__":
    unittest.main()
