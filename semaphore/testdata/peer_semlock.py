"""The Python side of the SemLock tests, with multiprocessing's own locks.
It speaks the test harness's line protocol.

  peer_semlock.py create       make a spawn-context Lock, Semaphore(2) and
                               BoundedSemaphore(0), print "names LOCK SEM
                               ZERO", then obey orders: "acquire-sem",
                               "release-sem" (answer "ok"), "release-zero"
                               (answer the exception's class name),
                               "count SEGMENT N" (add 1 N times to the int64
                               at offset 0 of SEGMENT under the Lock; answer
                               "counted"), "exit"
  peer_semlock.py open LOCK    rebuild the Go-made lock LOCK (kind 1,
                               maxvalue 1) from its name, then obey the same
                               "count" orders
"""
import multiprocessing
import sys
from multiprocessing import resource_tracker, shared_memory

import _multiprocessing


def count(lock, segname, n):
    seg = shared_memory.SharedMemory(segname)
    # Python 3.11 registers attached segments; the Go test owns this one.
    resource_tracker.unregister(seg._name, "shared_memory")
    buf = seg.buf
    for _ in range(n):
        lock.acquire()
        v = int.from_bytes(buf[0:8], "little")
        buf[0:8] = (v + 1).to_bytes(8, "little")
        lock.release()
    del buf
    seg.close()


def main():
    if sys.argv[1] == "create":
        ctx = multiprocessing.get_context("spawn")
        lock, sem, zero = ctx.Lock(), ctx.Semaphore(2), ctx.BoundedSemaphore(0)
        print("proctest: ready", flush=True)
        print("names", lock._semlock.name, sem._semlock.name, zero._semlock.name, flush=True)
    else:
        lock = _multiprocessing.SemLock._rebuild(0, 1, 1, "/" + sys.argv[2])
        sem = None
        print("proctest: ready", flush=True)
    for line in sys.stdin:
        order = line.split()
        if order[0] == "acquire-sem":
            sem.acquire()
            print("ok", flush=True)
        elif order[0] == "release-sem":
            sem.release()
            print("ok", flush=True)
        elif order[0] == "release-zero":
            try:
                zero.release()
                print("released", flush=True)
            except Exception as e:
                print(type(e).__name__, flush=True)
        elif order[0] == "count":
            count(lock, order[1], int(order[2]))
            print("counted", flush=True)
        elif order[0] == "exit":
            break


main()
