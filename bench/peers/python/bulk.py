"""W5 for Python: a multiprocessing.RawArray of 2^20 doubles, filled from a
local list with slice assignment, and read back and summed.
Prints "ops_per_s <bytes per second>" and "cpu_ns_per_op <CPU time per byte>".

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
    cpu, start = time.process_time_ns(), time.perf_counter_ns()
    for _ in range(n):
        if case == "fill":
            arr[:] = local
        else:
            sum(arr[:])
    elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
    nbytes = n * COUNT * 8
    print("ops_per_s %.0f\ncpu_ns_per_op %.6f" % (nbytes / (elapsed / 1e9), cpu / nbytes))


if __name__ == "__main__":
    main()
