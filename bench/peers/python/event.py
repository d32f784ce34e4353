"""W7 for Python: a multiprocessing.Event set in one process wakes a waiter
in another; two events ping-pong, 2N round trips, and the result is half
a round trip. Prints, over the last N (the first N are a warm-up),
"ns_per_op <latency>" and "cpu_ns_per_op <CPU time of both processes per
wake>"."""
import multiprocessing
import sys
import time


def pong(a, b, n, cpu):
    for i in range(2 * n):
        if i == n:
            c0 = time.process_time_ns()
        a.wait()
        a.clear()
        b.set()
    cpu.value = time.process_time_ns() - c0


def main():
    n = int(sys.argv[1])
    a, b = multiprocessing.Event(), multiprocessing.Event()
    child_cpu = multiprocessing.RawValue("q", 0)
    p = multiprocessing.Process(target=pong, args=(a, b, n, child_cpu))
    p.start()
    for i in range(2 * n):
        if i == n:
            cpu, start = time.process_time_ns(), time.perf_counter_ns()
        a.set()
        b.wait()
        b.clear()
    elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
    p.join()
    print("ns_per_op %.1f\ncpu_ns_per_op %.1f" % (elapsed / n / 2, (cpu + child_cpu.value) / n / 2))


if __name__ == "__main__":
    main()
