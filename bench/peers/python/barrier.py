"""W8 for Python: two processes wait on a multiprocessing.Barrier, round
after round. Prints "ns_per_op <per round>"."""
import multiprocessing
import sys
import time


def party(b, n):
    for _ in range(n):
        b.wait()


def main():
    n = int(sys.argv[1])
    b = multiprocessing.Barrier(2)
    p = multiprocessing.Process(target=party, args=(b, n))
    p.start()
    start = time.perf_counter_ns()
    for _ in range(n):
        b.wait()
    elapsed = time.perf_counter_ns() - start
    p.join()
    print("ns_per_op %.1f" % (elapsed / n))


if __name__ == "__main__":
    main()
