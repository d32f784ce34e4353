"""W11 for Python: objects left in /dev/shm when processes are killed.

  leak.py single        create a SharedMemory and a named (spawn) Lock,
                        print their /dev/shm entries, wait to be killed
  leak.py tree N        the same in this process and in N spawned
                        children, print every entry, wait to be killed
"""
import multiprocessing
import sys
import time
from multiprocessing import shared_memory


def make():
    seg = shared_memory.SharedMemory(create=True, size=4096)
    lock = multiprocessing.get_context("spawn").Lock()
    return [seg.name, "sem." + lock._semlock.name.lstrip("/")], (seg, lock)


def child(q):
    names, keep = make()
    q.put(names)
    time.sleep(3600)


def main():
    names, keep = make()
    if sys.argv[1] == "tree":
        ctx = multiprocessing.get_context("spawn")
        q = ctx.Queue()
        kids = [ctx.Process(target=child, args=(q,)) for _ in range(int(sys.argv[2]))]
        for k in kids:
            k.start()
        for _ in kids:
            names += q.get()
        # The queue's own named semaphores are left behind too: name them.
        for lock in (q._rlock, q._wlock, q._sem):
            if lock is not None:
                names.append("sem." + lock._semlock.name.lstrip("/"))
    print(" ".join(names), flush=True)
    time.sleep(3600)


if __name__ == "__main__":
    main()
