"""The Python side of TestArenaFreeAcrossLanguages/Python: the mpsync
package frees objects Go made in an arena.

  peer_arena_free.py ARENA N
      for even i < N: the Value "v<i>", opened and unlinked while open,
      and the Lock "l<i>", opened, closed, then unlinked (by name).
      Prints "freed K" (K objects).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "csrc", "python"))
import mpsync  # noqa: E402


def main():
    arena, n = sys.argv[1], int(sys.argv[2])
    print("proctest: ready", flush=True)
    freed = 0
    with mpsync.Arena(arena) as a:
        for i in range(0, n, 2):
            v = mpsync.RawValue(name="v%d" % i, arena=a)
            v.unlink()
            v.close()
            lock = mpsync.Lock("l%d" % i, arena=a)
            lock.close()
            lock.unlink()
            freed += 2
        try:
            mpsync.Lock("l0", arena=a)
            print("l0 still there", flush=True)
            return
        except FileNotFoundError:
            pass
    print("freed %d" % freed, flush=True)


if __name__ == "__main__":
    main()
