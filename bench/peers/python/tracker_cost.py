"""W14 for Python: what multiprocessing's resource tracker costs.

  tracker_cost.py idle   create one SharedMemory (which starts the
                         resource tracker, a child of this process),
                         print "ready", wait for stdin to end, then close
                         and unlink it
  tracker_cost.py kill   create three SharedMemory segments and a named
                         (spawn) Lock, the same mix as mpsync's creator
                         (three segment files and one named semaphore),
                         print their /dev/shm entries on one line and wait
                         to be killed

The tracker holds the read end of a pipe whose only write end is in this
process: killing this process closes it, and the tracker then unlinks
whatever is still registered and exits.
"""
import multiprocessing
import sys
import time
from multiprocessing import shared_memory


def idle():
    seg = shared_memory.SharedMemory(create=True, size=4096)
    print("ready", flush=True)
    sys.stdin.read()
    seg.close()
    seg.unlink()


def kill():
    keep = [shared_memory.SharedMemory(create=True, size=4096) for _ in range(3)]
    names = [s.name for s in keep]
    lock = multiprocessing.get_context("spawn").Lock()
    names.append("sem." + lock._semlock.name.lstrip("/"))
    print(" ".join(names), flush=True)
    time.sleep(3600)


if __name__ == "__main__":
    {"idle": idle, "kill": kill}[sys.argv[1]]()
