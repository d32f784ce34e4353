"""W6 for Python's multiprocessing.shared_memory: the same three cases as
peers/c/shm_lifecycle.c. Prints "ns_per_op <value>" and "cpu_ns_per_op
<value>": the CPU time of this process and of its resource tracker, which
reads a message for every segment registered and unregistered."""
import os
import sys
import time
from multiprocessing import resource_tracker, shared_memory


def tracker_cpu_ns():
    """The resource tracker's CPU time so far (user + system), in ns."""
    pid = resource_tracker._resource_tracker._pid
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0])
    except OSError:
        # No schedstat: clock ticks of /proc/<pid>/stat (utime, stime).
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1e9 / os.sysconf("SC_CLK_TCK")


def tracker_at_rest():
    """Waits until the tracker's CPU time stops growing (its start-up, or
    the messages in its pipe, are done) and returns it."""
    last = tracker_cpu_ns()
    for _ in range(100):
        time.sleep(0.02)
        now = tracker_cpu_ns()
        if now == last:
            break
        last = now
    return last


def main():
    case, n = sys.argv[1], int(sys.argv[2])
    resource_tracker.ensure_running()
    t0 = tracker_at_rest()
    if case in ("create", "touch"):
        size = 64 << 20 if case == "touch" else 4096
        cpu, start = time.process_time_ns(), time.perf_counter_ns()
        for _ in range(n):
            seg = shared_memory.SharedMemory(create=True, size=size)
            if case == "touch":
                buf = seg.buf
                for off in range(0, size, 4096):
                    buf[off] = 1
                del buf
            seg.close()
            seg.unlink()
        elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
    else:
        owner = shared_memory.SharedMemory(create=True, size=4096)
        t0 = tracker_at_rest()
        cpu, start = time.process_time_ns(), time.perf_counter_ns()
        for _ in range(n):
            seg = shared_memory.SharedMemory(owner.name)
            seg.close()
        elapsed, cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu
        # Every attach registered the name with the tracker (3.11); the
        # unlink below unregisters it once, which is what CPython does.
        owner.close()
        owner.unlink()
    cpu += tracker_at_rest() - t0
    print("ns_per_op %.1f\ncpu_ns_per_op %.1f" % (elapsed / n, cpu / n))


main()
