"""W8 for Python: two processes wait on a multiprocessing.Barrier, round
after round. Prints "ns_per_op <per round>" and "cpu_ns_per_op <CPU time
of both processes per round>"."""
import multiprocessing
import sys
import time


def party(b, n, cpu):
    c0 = time.process_time_ns()
    for _ in range(n):
        b.wait()
    cpu.value = time.process_time_ns() - c0


def main():
    n = int(sys.argv[1])
    b = multiprocessing.Barrier(2)
    child_cpu = multiprocessing.RawValue("q", 0)
    p = multiprocessing.Process(target=party, args=(b, n, child_cpu))
    p.start()
    cpu, start = time.process_time_ns(), time.perf_counter_ns()
    for _ in range(n):
        b.wait()
    elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
    p.join()
    print("ns_per_op %.1f\ncpu_ns_per_op %.1f" % (elapsed / n, (cpu + child_cpu.value) / n))


if __name__ == "__main__":
    main()
