"""The Python side of TestPythonAfterClose: the mpsync package in csrc/python on
Go-made objects, used after close(). Line protocol as the test harness's
helpers.

  peer_closed.py VALUE POINT POINTS CHARS LOCK
      open an int Value, a struct Value, a struct Array, a char Array and
      a Lock, close each, then try every accessor: each must raise
      ValueError naming the closed object (never crash). Print one line
      per accessor that did not ("FAIL what: result"), then "done N" with
      the number of accessors tried.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "csrc", "python"))
import mpsync  # noqa: E402


def main():
    value, point = mpsync.Value(name=sys.argv[1]), mpsync.Value(name=sys.argv[2])
    points, chars = mpsync.Array(name=sys.argv[3]), mpsync.Array(name=sys.argv[4])
    lock = mpsync.Lock(sys.argv[5])
    value_lock = value.get_lock()
    print("proctest: ready", flush=True)
    for o in (value, point, points, chars, lock):
        o.close()
        o.close()  # idempotent

    def set_value(o, x):
        o.value = x

    def set_item(o, i, x):
        o[i] = x

    tries = {
        "int value": lambda: value.value,
        "int value =": lambda: set_value(value, 1),
        "struct value": lambda: point.value,
        "struct value =": lambda: set_value(point, point._type(1, 2)),
        "get_lock": lambda: value.get_lock(),
        "lock of a closed value, acquire": lambda: value_lock.acquire(),
        "lock of a closed value, release": lambda: value_lock.release(),
        "array item": lambda: points[0],
        "array item =": lambda: set_item(points, 0, points._type(1, 2)),
        "array iteration": lambda: list(points),
        "array len": lambda: len(points),
        "chars value": lambda: chars.value,
        "chars value =": lambda: set_value(chars, b"x"),
        "chars raw": lambda: chars.raw,
        "lock acquire": lambda: lock.acquire(),
        "lock release": lambda: lock.release(),
        "lock mark_consistent": lambda: lock.mark_consistent(),
        "lock with": lambda: lock.__enter__(),
    }
    for what, f in tries.items():
        try:
            result = f()
        except ValueError as e:
            if "closed" not in str(e):
                print("FAIL %s: ValueError without 'closed': %s" % (what, e), flush=True)
            continue
        except Exception as e:
            result = "%s: %s" % (type(e).__name__, e)
        print("FAIL %s: %r" % (what, result), flush=True)
    print("done", len(tries), flush=True)


main()
