"""Python's own ctypes on libmpsync.so (through the mpsync package in csrc/python),
sharing an mpsync Lock and Value with a Go process. Line protocol as the
test harness's helpers.

  lock_value.py LOCK VALUE N   on an order, add 1 to VALUE N times under
                               LOCK, then print "done"
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "csrc", "python"))
import mpsync  # noqa: E402


def main():
    lock, value, n = mpsync.Lock(sys.argv[1]), mpsync.Value(name=sys.argv[2]), int(sys.argv[3])
    print("proctest: ready", flush=True)
    sys.stdin.readline()
    for _ in range(n):
        with lock:
            value.value += 1
    print("done", flush=True)
    lock.close()
    value.close()


main()
