"""W11 for Python: objects left in /dev/shm when processes are killed.

  leak.py single        create a SharedMemory and a named (spawn) Lock,
                        print their /dev/shm entries, wait to be killed (or
                        for the parent to go)
  leak.py tree N        the same in this process and in N spawned
                        children, print every entry, wait to be killed
"""
import multiprocessing
import os
import sys
import time
from multiprocessing import shared_memory


def make():
    seg = shared_memory.SharedMemory(create=True, size=4096)
    lock = multiprocessing.get_context("spawn").Lock()
    return [seg.name, "sem." + lock._semlock.name.lstrip("/")], (seg, lock)


def wait_to_be_killed():
    """Sleep until killed, or until the parent is gone (an interrupted
    bench run): no process of the tree outlives it."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.2)


def child(q):
    names, keep = make()
    q.put(names)
    wait_to_be_killed()


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
    wait_to_be_killed()


if __name__ == "__main__":
    main()
