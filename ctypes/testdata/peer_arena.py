"""The Python side of TestArenaFromPython: the mpsync package opens the
objects Go made in an arena, as peer_arena.c does from C.

  peer_arena.py ARENA N HANDLE
      for i < N: Value ARENA/v<i> must be 3i+1 and becomes -(3i+1) under
      its (compact) lock; Lock ARENA/l<i> is taken and released.  HANDLE
      (an anonymous Value, 7) becomes 8; Event ARENA/event is set.  Prints
      "checked N objects O names M", or the first mismatch.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "csrc", "python"))
import mpsync  # noqa: E402


def main():
    arena, n, handle = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    print("proctest: ready", flush=True)
    with mpsync.Arena(arena) as a:
        for i in range(n):
            v = mpsync.Value(name=a.qualify("v%d" % i))
            with v.get_lock():
                if v.value != 3 * i + 1:
                    print("%s = %d, want %d" % (v.name, v.value, 3 * i + 1), flush=True)
                    return
                v.value = -(3 * i + 1)
            v.close()
            lock = mpsync.Lock(a.qualify("l%d" % i))
            lock.acquire()
            lock.release()
            lock.close()
        h = mpsync.Value(name=handle)
        if h.value != 7:
            print("%s = %d, want 7" % (handle, h.value), flush=True)
            return
        h.value = 8
        h.close()
        e = mpsync.Event(a.qualify("event"))
        e.set()
        e.close()
        st = a.stats()
    print("checked %d objects %d names %d" % (n, st["objects"], st["names"]), flush=True)


main()
