"""W8 for Python: two processes wait on a multiprocessing.Barrier, round
after round, 2N rounds. Prints, over the last N (the first N are a
warm-up), "ns_per_op <per round>" and "cpu_ns_per_op <CPU time of both
processes per round>"."""
import multiprocessing
import sys
import time


def party(b, n, cpu):
    for i in range(2 * n):
        if i == n:
            c0 = time.process_time_ns()
        b.wait()
    cpu.value = time.process_time_ns() - c0


def main():
    n = int(sys.argv[1])
    b = multiprocessing.Barrier(2)
    child_cpu = multiprocessing.RawValue("q", 0)
    p = multiprocessing.Process(target=party, args=(b, n, child_cpu))
    p.start()
    for i in range(2 * n):
        if i == n:
            cpu, start = time.process_time_ns(), time.perf_counter_ns()
        b.wait()
    elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
    p.join()
    print("ns_per_op %.1f\ncpu_ns_per_op %.1f" % (elapsed / n, (cpu + child_cpu.value) / n))


if __name__ == "__main__":
    main()
