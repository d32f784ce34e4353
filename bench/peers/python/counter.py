"""W3 for Python: P processes increment one shared int under one
multiprocessing.Lock. Prints "ops_per_s <v>", "count <n>" and
"cpu_ns_per_op <CPU time of all the processes per increment>"."""
import multiprocessing
import sys
import time


def work(lock, value, go, n, cpu, i):
    go.wait()
    c0 = time.process_time_ns()
    for _ in range(n):
        with lock:
            value.value += 1
    cpu[i] = time.process_time_ns() - c0


def main():
    procs, total = int(sys.argv[1]), int(sys.argv[2])
    each = total // procs
    lock = multiprocessing.Lock()
    value = multiprocessing.RawValue("q", 0)
    go = multiprocessing.Event()
    cpus = multiprocessing.RawArray("q", procs)
    ps = [multiprocessing.Process(target=work, args=(lock, value, go, each, cpus, i)) for i in range(procs)]
    for p in ps:
        p.start()
    cpu, start = time.process_time_ns(), time.perf_counter_ns()
    go.set()
    for p in ps:
        p.join()
    elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
    print("ops_per_s %.0f" % (each * procs / (elapsed / 1e9)))
    print("count %d" % value.value)
    print("cpu_ns_per_op %.2f" % ((cpu + sum(cpus)) / (each * procs)))


if __name__ == "__main__":
    main()
