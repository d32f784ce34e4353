"""What the tests share: a spawn context (children open what they are
handed by name) and cleanup of what a test made."""
import multiprocessing
import secrets

ctx = multiprocessing.get_context("spawn")


def new_name(prefix="mps_pytest_"):
    """A fresh name for an object made with a chosen name."""
    return prefix + secrets.token_hex(8)


def cleanup(test, obj):
    """Have test unlink and close obj (an mpsync object, or a
    ShareableList; a Queue is detached, a Connection closed) when it
    ends."""
    def undo():
        handle = getattr(obj, "shm", obj)
        try:
            handle.unlink()
        except FileNotFoundError:
            pass
        getattr(handle, "detach", handle.close)()
    test.addCleanup(undo)
    return obj


def run(target, *args):
    """Run target(*args) in a spawned child and return its exit code."""
    p = ctx.Process(target=target, args=args)
    p.start()
    p.join()
    return p.exitcode


def check_rlock(test, lock):
    """CPython's _TestLock.test_rlock on lock."""
    test.assertEqual(lock.acquire(), True)
    test.assertEqual(lock.acquire(), True)
    test.assertEqual(lock.acquire(), True)
    test.assertEqual(lock.release(), None)
    test.assertEqual(lock.release(), None)
    test.assertEqual(lock.release(), None)
    test.assertRaises((AssertionError, RuntimeError), lock.release)
