"""W1 for Python: acquire+release of a free multiprocessing.Lock.
Prints "ns_per_op <value>"."""
import multiprocessing
import sys
import time


def main():
    n = int(sys.argv[1])
    lock = multiprocessing.Lock()
    acquire, release = lock.acquire, lock.release
    start = time.perf_counter_ns()
    for _ in range(n):
        acquire()
        release()
    print("ns_per_op %.2f" % ((time.perf_counter_ns() - start) / n))


main()
