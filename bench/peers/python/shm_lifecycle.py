"""W6 for Python's multiprocessing.shared_memory: the same three cases as
peers/c/shm_lifecycle.c. Prints "ns_per_op <value>"."""
import sys
import time
from multiprocessing import resource_tracker, shared_memory


def main():
    case, n = sys.argv[1], int(sys.argv[2])
    if case in ("create", "touch"):
        size = 64 << 20 if case == "touch" else 4096
        start = time.perf_counter_ns()
        for _ in range(n):
            seg = shared_memory.SharedMemory(create=True, size=size)
            if case == "touch":
                buf = seg.buf
                for off in range(0, size, 4096):
                    buf[off] = 1
                del buf
            seg.close()
            seg.unlink()
        elapsed = time.perf_counter_ns() - start
    else:
        owner = shared_memory.SharedMemory(create=True, size=4096)
        start = time.perf_counter_ns()
        for _ in range(n):
            seg = shared_memory.SharedMemory(owner.name)
            seg.close()
        elapsed = time.perf_counter_ns() - start
        # Every attach registered the name with the tracker (3.11); the
        # unlink below unregisters it once, which is what CPython does.
        owner.close()
        owner.unlink()
    print("ns_per_op %.1f" % (elapsed / n))


main()
