"""W5 for Python: a multiprocessing.RawArray of 2^20 doubles, filled from a
local list with slice assignment, and read back and summed.
Prints "ops_per_s <bytes per second>".

  bulk.py fill|sum N"""
import multiprocessing
import sys
import time

COUNT = 1 << 20


def main():
    case, n = sys.argv[1], int(sys.argv[2])
    arr = multiprocessing.RawArray("d", COUNT)
    local = [i * 0.5 for i in range(COUNT)]
    arr[:] = local
    start = time.perf_counter_ns()
    for _ in range(n):
        if case == "fill":
            arr[:] = local
        else:
            sum(arr[:])
    elapsed = time.perf_counter_ns() - start
    print("ops_per_s %.0f" % (n * COUNT * 8 / (elapsed / 1e9)))


if __name__ == "__main__":
    main()
