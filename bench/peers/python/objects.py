"""W12 for Python: create many multiprocessing objects and measure the
time per object and the growth of /dev/shm per object. Prints
"ns_per_op <value>" and "bytes_per_obj <value>".

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
    start = time.perf_counter_ns()
    for _ in range(n):
        objs.append(make())
    elapsed = time.perf_counter_ns() - start
    grown = shm_used() - before
    print("ns_per_op %.2f" % (elapsed / n))
    print("bytes_per_obj %.2f" % (grown / n))


if __name__ == "__main__":
    main()
