"""The Python side of the ShareableList tests, with the standard library's
multiprocessing.shared_memory.ShareableList. Line protocol as the test
harness's helpers.

  peer_list.py open NAME   print repr(list(sl)); set sl[0] = 43,
                           sl[3] = "ünïcode", sl[4] = None, sl[5] = 1.25;
                           print "changed"
  peer_list.py create      make [1, 2.5, "abc", b"xy", None, False], print
                           its name; on an order print repr(list(sl)) and
                           unlink it
"""
import sys
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import ShareableList


def main():
    if sys.argv[1] == "open":
        sl = ShareableList(name=sys.argv[2])
        # Python registers every attached segment with its tracker, which
        # would unlink the Go-owned list when this process exits (gh-82300).
        resource_tracker.unregister(sl.shm._name, "shared_memory")
        print("proctest: ready", flush=True)
        print(repr(list(sl)), flush=True)
        sl[0] = 43
        sl[3] = "ünïcode"
        sl[4] = None
        sl[5] = 1.25
        print("changed", flush=True)
        sl.shm.close()
        return
    sl = ShareableList([1, 2.5, "abc", b"xy", None, False])
    print("proctest: ready", flush=True)
    print(sl.shm.name, flush=True)
    sys.stdin.readline()
    print(repr(list(sl)), flush=True)
    sl.shm.close()
    sl.shm.unlink()


main()
