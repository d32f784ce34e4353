"""The Python side of TestPythonPackageSharesWithC: the installed mpsync
package makes a Lock and a segment that a C process (csrc's peer_lock)
uses too. Line protocol as the test harness's helpers.

  peer_with_c.py N
      create a Lock and an 8-byte segment, print "names LOCK SEGMENT";
      on "go" add 1 N times to the int64 in the segment under the Lock and
      print "done"; on "total" print "total" and the int64; on "take"
      acquire the Lock, whose holder was killed: print "owner-dead" if
      acquire() raised OwnerDeadError, then mark it consistent and release
      it; on "bye" unlink both and exit
"""
import ctypes
import sys

import mpsync


def main():
    n = int(sys.argv[1])
    lock, seg = mpsync.Lock(), mpsync.SharedMemory(create=True, size=8)
    counter = ctypes.c_int64.from_buffer(seg.buf)
    print("proctest: ready", flush=True)
    print("names", lock.name, seg.name, flush=True)
    for order in sys.stdin:
        order = order.strip()
        if order == "go":
            for _ in range(n):
                with lock:
                    counter.value += 1
            print("done", flush=True)
        elif order == "total":
            print("total", counter.value, flush=True)
        elif order == "take":
            try:
                lock.acquire()
                print("acquired without OwnerDeadError", flush=True)
            except mpsync.OwnerDeadError:
                print("owner-dead", flush=True)
                lock.mark_consistent()
            lock.release()
        elif order == "bye":
            break
    del counter
    lock.unlink()
    seg.unlink()
    lock.close()
    seg.close()


main()
