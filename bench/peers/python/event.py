"""W7 for Python: a multiprocessing.Event set in one process wakes a waiter
in another; two events ping-pong and the result is half a round trip.
Prints "ns_per_op <latency>"."""
import multiprocessing
import sys
import time


def pong(a, b, n):
    for _ in range(n):
        a.wait()
        a.clear()
        b.set()


def main():
    n = int(sys.argv[1])
    a, b = multiprocessing.Event(), multiprocessing.Event()
    p = multiprocessing.Process(target=pong, args=(a, b, n))
    p.start()
    start = time.perf_counter_ns()
    for _ in range(n):
        a.set()
        b.wait()
        b.clear()
    elapsed = time.perf_counter_ns() - start
    p.join()
    print("ns_per_op %.1f" % (elapsed / n / 2))


if __name__ == "__main__":
    main()
