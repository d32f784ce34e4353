"""W13 for Python: messages between processes through multiprocessing's
Queue and Pipe.

  mp_queue.py stream queue|pipe N    N 64-byte messages, parent -> child;
                                  prints "ops_per_s <messages per second>"
  mp_queue.py roundtrip queue|pipe N parent -> child -> parent;
                                  prints "ns_per_op <round trip>"
  mp_queue.py many queue N           4 producers -> 4 consumers, N messages in
                                  all; prints "ops_per_s" and "count"
  mp_queue.py bulk pipe N            N 1 MiB messages (send_bytes);
                                  prints "ops_per_s <bytes per second>"
Each also prints "cpu_ns_per_op": the CPU time of all its processes (a
Queue's feeder thread included) per message, round trip or byte.
"""
import multiprocessing
import sys
import time

SMALL = bytes(64)
BIG = 1 << 20


def channel(kind):
    """Returns (send, recv, close_send) of a Queue or a one-way Pipe."""
    if kind == "queue":
        q = multiprocessing.Queue()
        return q.put, q.get, q.close
    r, w = multiprocessing.Pipe(duplex=False)
    return w.send_bytes, r.recv_bytes, w.close


def sink(recv, n, cpu):
    c0 = time.process_time_ns()
    for _ in range(n):
        recv()
    cpu.value = time.process_time_ns() - c0


def echo(recv, send, n, cpu):
    c0 = time.process_time_ns()
    for _ in range(n):
        send(recv())
    cpu.value = time.process_time_ns() - c0


def drain(q, counts, cpus, i):
    c0 = time.process_time_ns()
    c = 0
    while q.get() is not None:
        c += 1
    counts[i] = c
    cpus[i] = time.process_time_ns() - c0


def produce(q, go, n, cpus, i):
    go.wait()
    c0 = time.process_time_ns()
    for _ in range(n):
        q.put(SMALL)
    q.close()
    q.join_thread()  # the feeder thread has written everything
    cpus[i] = time.process_time_ns() - c0


def main():
    mode, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "many":
        q = multiprocessing.Queue()
        counts = multiprocessing.RawArray("q", 4)
        cpus = multiprocessing.RawArray("q", 8)
        go = multiprocessing.Event()
        cs = [multiprocessing.Process(target=drain, args=(q, counts, cpus, i)) for i in range(4)]
        ps = [multiprocessing.Process(target=produce, args=(q, go, n // 4, cpus, 4 + i)) for i in range(4)]
        for p in cs + ps:
            p.start()
        start = time.perf_counter_ns()
        go.set()
        for p in ps:
            p.join()
        for _ in cs:
            q.put(None)
        for p in cs:
            p.join()
        elapsed = time.perf_counter_ns() - start
        print("ops_per_s %.0f" % (n / (elapsed / 1e9)))
        print("count %d" % sum(counts))
        print("cpu_ns_per_op %.2f" % (sum(cpus) / n))
        return
    send, recv, close = channel(kind)
    child_cpu = multiprocessing.RawValue("q", 0)
    if mode == "roundtrip":
        send2, recv2, _ = channel(kind)
        p = multiprocessing.Process(target=echo, args=(recv, send2, n, child_cpu))
        p.start()
        cpu, start = time.process_time_ns(), time.perf_counter_ns()
        for _ in range(n):
            send(SMALL)
            recv2()
        elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
        p.join()
        print("ns_per_op %.1f" % (elapsed / n))
        print("cpu_ns_per_op %.2f" % ((cpu + child_cpu.value) / n))
        return
    p = multiprocessing.Process(target=sink, args=(recv, n, child_cpu))
    p.start()
    msg = bytes(BIG) if mode == "bulk" else SMALL
    cpu, start = time.process_time_ns(), time.perf_counter_ns()
    for _ in range(n):
        send(msg)
    p.join()
    elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
    close()
    per = len(msg) if mode == "bulk" else 1
    print("ops_per_s %.0f" % (n * per / (elapsed / 1e9)))
    print("cpu_ns_per_op %.4f" % ((cpu + child_cpu.value) / (n * per)))


if __name__ == "__main__":
    main()
