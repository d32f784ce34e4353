"""W2 for Python: two processes alternate on two multiprocessing
Semaphores. Prints "ns_per_op <round trip>"."""
import multiprocessing
import sys
import time


def pong(a, b, n):
    for _ in range(n):
        a.acquire()
        b.release()


def main():
    n = int(sys.argv[1])
    a, b = multiprocessing.Semaphore(0), multiprocessing.Semaphore(0)
    p = multiprocessing.Process(target=pong, args=(a, b, n))
    p.start()
    start = time.perf_counter_ns()
    for _ in range(n):
        a.release()
        b.acquire()
    elapsed = time.perf_counter_ns() - start
    p.join()
    print("ns_per_op %.1f" % (elapsed / n))


if __name__ == "__main__":
    main()
