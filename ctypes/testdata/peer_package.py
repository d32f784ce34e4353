"""The Python side of TestPythonPackageSharesWithGo: the installed mpsync
package sharing a Lock, a Value, an Array, a ShareableList and a segment
with a Go process. Line protocol as the test harness's helpers.

  peer_package.py open N LOCK VALUE ARRAY LIST SEGMENT
      open each by name; on "go", N times: add 1 to ARRAY[0] under LOCK
      and to VALUE under its own lock; set LIST[1] = "from python" and
      SEGMENT[0:6] = b"python"; print "done" and what Go left: LIST[0]
  peer_package.py create N
      create the five objects and print "names" and their names; on
      "go" as above; on "check" print LIST[0] and SEGMENT[6:8] as Go
      left them, then unlink the five and exit
"""
import sys

import mpsync


def work(n, lock, value, array, sl, seg):
    for _ in range(n):
        with lock:
            array[0] += 1
        with value.get_lock():
            value.value += 1
    sl[1] = "from python"
    seg.buf[0:6] = b"python"


def main():
    role, n = sys.argv[1], int(sys.argv[2])
    if role == "open":
        lock, value = mpsync.Lock(sys.argv[3]), mpsync.Value(name=sys.argv[4])
        array, sl = mpsync.Array(name=sys.argv[5]), mpsync.ShareableList(name=sys.argv[6])
        seg = mpsync.SharedMemory(sys.argv[7])
    else:
        lock, value, array = mpsync.Lock(), mpsync.Value("q", 0), mpsync.Array("d", 4)
        sl, seg = mpsync.ShareableList(["from python?", "0123456789abcdef"]), mpsync.SharedMemory(create=True, size=64)
    print("proctest: ready", flush=True)
    if role == "create":
        print("names", lock.name, value.name, array.name, sl.shm.name, seg.name, flush=True)
    sys.stdin.readline()
    work(n, lock, value, array, sl, seg)
    print("done", type(value).__name__, type(array).__name__, value.format, array.format, flush=True)
    if role == "create":
        sys.stdin.readline()
        print("left", sl[0], bytes(seg.buf[6:8]).decode(), flush=True)
        for o in (lock, value, array, sl.shm, seg):
            o.unlink()
    for o in (lock, value, array, sl.shm, seg):
        o.close()


main()
