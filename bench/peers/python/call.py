"""W9 and W10 for Python's ctypes, on calllib.so.

  call.py LIB add N             N calls of add: prints "ns_per_op" and
                                "cpu_ns_per_op"
  call.py LIB threads T N M     T threads each make M ctypes calls of
                                spin(N) (the GIL is released in C)
  call.py LIB callbacks T N M   C's run_threads(T, cb), each Python
                                callback doing M rounds of N-step work in
                                Python (it holds the GIL)
  call.py LIB threadcallbacks T N M
                                the same callbacks, from T Python threads
                                each calling C's call_back(cb, i)
  These three print "ops_per_s <speedup of T over 1>" and "cpu_ns_per_op
  <CPU time of both runs per round of work>"."""
import ctypes
import sys
import threading
import time


def main():
    lib = ctypes.CDLL(sys.argv[1])
    case = sys.argv[2]
    if case == "add":
        n = int(sys.argv[3])
        add = lib.add
        add.argtypes, add.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        cpu, start = time.process_time_ns(), time.perf_counter_ns()
        for i in range(n):
            add(i & 0xffff, 1)
        elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
        print("ns_per_op %.2f\ncpu_ns_per_op %.2f" % (elapsed / n, cpu / n))
        return
    t, rounds, calls = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    if case == "threads":
        spin = lib.spin
        spin.argtypes, spin.restype = [ctypes.c_long], ctypes.c_long

        def work():
            for _ in range(calls):
                spin(rounds)

        def run(k):
            ths = [threading.Thread(target=work) for _ in range(k)]
            start = time.perf_counter()
            for th in ths:
                th.start()
            for th in ths:
                th.join()
            return time.perf_counter() - start
    else:
        CB = ctypes.CFUNCTYPE(None, ctypes.c_int)

        def body(i):
            for _ in range(calls):
                x = 2463534242
                for _ in range(rounds):
                    x = (x ^ (x << 13)) & 0xFFFFFFFFFFFFFFFF
                    x ^= x >> 7
                    x = (x ^ (x << 17)) & 0xFFFFFFFFFFFFFFFF

        cb = CB(body)
        lib.run_threads.argtypes, lib.run_threads.restype = [ctypes.c_int, CB], None
        lib.call_back.argtypes, lib.call_back.restype = [CB, ctypes.c_int], None

        def run(k):
            start = time.perf_counter()
            if case == "callbacks":
                lib.run_threads(k, cb)
            else:  # threadcallbacks: k Python threads, each calling C that calls back
                ths = [threading.Thread(target=lib.call_back, args=(cb, i)) for i in range(k)]
                for th in ths:
                    th.start()
                for th in ths:
                    th.join()
            return time.perf_counter() - start
    cpu = time.process_time_ns()
    one, many = run(1), run(t)
    cpu = time.process_time_ns() - cpu
    print("ops_per_s %.3f\ncpu_ns_per_op %.4f" % (t * one / many, cpu / ((1 + t) * calls * rounds)))


main()
