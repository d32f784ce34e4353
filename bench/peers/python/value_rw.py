"""W4 for Python: read and write multiprocessing.Value('i') (synchronized)
and RawValue('i'). Prints "ns_per_op <value>" and "cpu_ns_per_op <value>".

  value_rw.py raw-get|raw-set|sync-get|sync-set|sync-incr N"""
import multiprocessing
import sys
import time


def main():
    case, n = sys.argv[1], int(sys.argv[2])
    if case.startswith("raw"):
        v = multiprocessing.RawValue("i", 0)
    else:
        v = multiprocessing.Value("i", 0)
    cpu, start = time.process_time_ns(), time.perf_counter_ns()
    if case.endswith("get"):
        for _ in range(n):
            v.value
    elif case.endswith("set"):
        for i in range(n):
            v.value = 1
    else:
        for _ in range(n):
            with v.get_lock():
                v.value += 1
    elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
    print("ns_per_op %.2f\ncpu_ns_per_op %.2f" % (elapsed / n, cpu / n))


if __name__ == "__main__":
    main()
