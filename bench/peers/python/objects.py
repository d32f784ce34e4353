"""W12 for Python: create many multiprocessing objects and measure the
time per object (wall and CPU) and the growth of /dev/shm per object.
Prints "ns_per_op <value>", "cpu_ns_per_op <value>" and
"bytes_per_obj <value>".

  objects.py Lock|Value|RawValue N"""
import multiprocessing
import os
import sys
import time


def shm_used():
    st = os.statvfs("/dev/shm")
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def main():
    kind, n = sys.argv[1], int(sys.argv[2])
    make = {
        "Lock": multiprocessing.Lock,
        "Value": lambda: multiprocessing.Value("q", 0),
        "RawValue": lambda: multiprocessing.RawValue("q", 0),
    }[kind]
    before = shm_used()
    objs = []
    cpu, start = time.process_time_ns(), time.perf_counter_ns()
    for _ in range(n):
        objs.append(make())
    elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
    grown = shm_used() - before
    print("ns_per_op %.2f\ncpu_ns_per_op %.2f" % (elapsed / n, cpu / n))
    print("bytes_per_obj %.2f" % (grown / n))


if __name__ == "__main__":
    main()
