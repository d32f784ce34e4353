"""The Python side of the ctypes tests: the mpsync package in csrc/python (Python's
ctypes on libmpsync.so) on Go-made objects. Line protocol as the test
harness's helpers.

  peer_value.py VALUE POINTS CHARS N
      print "points X,Y ...", then on an order add 1 to VALUE N times under
      its lock, set point 1 to (7.5, -1), upper-case CHARS, print "done"
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "csrc", "python"))
import mpsync  # noqa: E402


def main():
    value, points, chars = mpsync.Value(name=sys.argv[1]), mpsync.Array(name=sys.argv[2]), mpsync.Array(name=sys.argv[3])
    n = int(sys.argv[4])
    print("proctest: ready", flush=True)
    print("points", " ".join("%g,%g" % (p.X, p.Y) for p in points), flush=True)
    sys.stdin.readline()
    for _ in range(n):
        with value.get_lock():
            value.value += 1
    p = points[1]
    p.X, p.Y = 7.5, -1
    with chars.get_lock():
        chars.value = chars.value.upper()
    print("done", value.format, points.format, chars.format, flush=True)
    for o in (value, points, chars):
        o.close()


main()
