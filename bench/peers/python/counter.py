"""W3 for Python: P processes increment one shared int under one
multiprocessing.Lock. Prints "ops_per_s <v>" and "count <n>"."""
import multiprocessing
import sys
import time


def work(lock, value, go, n):
    go.wait()
    for _ in range(n):
        with lock:
            value.value += 1


def main():
    procs, total = int(sys.argv[1]), int(sys.argv[2])
    each = total // procs
    lock = multiprocessing.Lock()
    value = multiprocessing.RawValue("q", 0)
    go = multiprocessing.Event()
    ps = [multiprocessing.Process(target=work, args=(lock, value, go, each)) for _ in range(procs)]
    for p in ps:
        p.start()
    start = time.perf_counter_ns()
    go.set()
    for p in ps:
        p.join()
    elapsed = time.perf_counter_ns() - start
    print("ops_per_s %.0f" % (each * procs / (elapsed / 1e9)))
    print("count %d" % value.value)


if __name__ == "__main__":
    main()
