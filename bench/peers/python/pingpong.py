"""W2 for Python: two processes alternate on two multiprocessing
Semaphores, 2N round trips. Prints, over the last N (the first N are a
warm-up), "ns_per_op <round trip>" and "cpu_ns_per_op <CPU time of both
processes per round trip>"."""
import multiprocessing
import sys
import time


def pong(a, b, n, cpu):
    for i in range(2 * n):
        if i == n:
            c0 = time.process_time_ns()
        a.acquire()
        b.release()
    cpu.value = time.process_time_ns() - c0


def main():
    n = int(sys.argv[1])
    a, b = multiprocessing.Semaphore(0), multiprocessing.Semaphore(0)
    child_cpu = multiprocessing.RawValue("q", 0)
    p = multiprocessing.Process(target=pong, args=(a, b, n, child_cpu))
    p.start()
    for i in range(2 * n):
        if i == n:
            cpu, start = time.process_time_ns(), time.perf_counter_ns()
        a.release()
        b.acquire()
    elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
    p.join()
    print("ns_per_op %.1f\ncpu_ns_per_op %.1f" % (elapsed / n, (cpu + child_cpu.value) / n))


if __name__ == "__main__":
    main()
