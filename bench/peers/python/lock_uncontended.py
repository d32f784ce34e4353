"""W1 for Python: acquire+release of a free multiprocessing.Lock.
Prints "ns_per_op <value>" and "cpu_ns_per_op <value>"."""
import multiprocessing
import sys
import time


def main():
    n = int(sys.argv[1])
    lock = multiprocessing.Lock()
    acquire, release = lock.acquire, lock.release
    cpu, start = time.process_time_ns(), time.perf_counter_ns()
    for _ in range(n):
        acquire()
        release()
    elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
    print("ns_per_op %.2f\ncpu_ns_per_op %.2f" % (elapsed / n, cpu / n))


main()
