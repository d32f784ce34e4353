"""The Python side of TestArenaMadeInPython: the mpsync package makes
objects in an arena Go made.

  peer_arena_make.py ARENA N
      for i < N: a Value "c<i>" (int64, 5i+2, with its lock) and a Lock
      "k<i>"; then an anonymous Value (int64, 11).  Prints "made N HANDLE".
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "csrc", "python"))
import mpsync  # noqa: E402


def main():
    arena, n = sys.argv[1], int(sys.argv[2])
    print("proctest: ready", flush=True)
    with mpsync.Arena(arena) as a:
        for i in range(n):
            mpsync.Value("q", 5 * i + 2, name="c%d" % i, arena=a).close()
            mpsync.Lock("k%d" % i, create=True, arena=a).close()
        try:
            mpsync.Lock("k0", create=True, arena=a)
            print("k0 made twice", flush=True)
            return
        except FileExistsError:
            pass
        h = mpsync.Value("q", 11, arena=a)
        print("made %d %s" % (n, h.name), flush=True)
        h.close()


main()
