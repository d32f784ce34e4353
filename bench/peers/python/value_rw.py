"""W4 for Python: read and write multiprocessing.Value('i') (synchronized)
and RawValue('i'). Prints "ns_per_op <value>".

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
    start = time.perf_counter_ns()
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
    print("ns_per_op %.2f" % ((time.perf_counter_ns() - start) / n))


if __name__ == "__main__":
    main()
