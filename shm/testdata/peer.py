"""The Python side of the shm cross-language tests, with the standard
library's multiprocessing.shared_memory. It speaks the test harness's line
protocol: "proctest: ready" when set up, then orders on stdin.

  peer.py attach NAME   open NAME, expect b"from-go" at 0, write
                        b"from-python" at 100, print "written SIZE"
  peer.py create SIZE   create a segment, write b"from-python" at 0, print
                        its name; on an order line expect b"from-go" at
                        100, print "ok", close and unlink
"""
import sys
from multiprocessing import resource_tracker, shared_memory


def main():
    mode, arg = sys.argv[1], sys.argv[2]
    if mode == "attach":
        seg = shared_memory.SharedMemory(arg)
        # Python 3.11 registers attached segments with its resource tracker,
        # which would unlink the segment, still used by Go, when this
        # process exits (gh-82300). 3.13 has track=False for this.
        resource_tracker.unregister(seg._name, "shared_memory")
        print("proctest: ready", flush=True)
        if bytes(seg.buf[:7]) != b"from-go":
            sys.exit("expected from-go at 0, got %r" % bytes(seg.buf[:7]))
        seg.buf[100:111] = b"from-python"
        print("written", seg.size, flush=True)
        seg.close()
        return
    seg = shared_memory.SharedMemory(create=True, size=int(arg))
    seg.buf[:11] = b"from-python"
    print("proctest: ready", flush=True)
    print(seg.name, flush=True)
    sys.stdin.readline()
    if bytes(seg.buf[100:107]) != b"from-go":
        sys.exit("expected from-go at 100, got %r" % bytes(seg.buf[100:107]))
    print("ok", flush=True)
    seg.close()
    seg.unlink()


main()
