"""A Python process on an mpsync queue, through the mpsync package
(csrc/python), for the Go tests of shm/queue.  Messages and books (a
shared segment of counters and a delivery log) are laid out as in
process_test.go.  Line protocol as the test harness's helpers ("proctest:
ready", then orders on stdin).

  peer_queue.py produce QUEUE BOOKS ID COUNT MODE
      on an order line, put COUNT messages as producer ID, recording each
      in BOOKS; print "done" and wait for a line (MODE is ignored: Python
      puts by copy)
  peer_queue.py consume QUEUE LOG ID MODE
      get messages as consumer ID until the queue is closed and drained,
      checking each and recording it in the log of LOG, books of its own
      (Python has no atomic add to share the log with other consumers);
      print "eof"
  peer_queue.py make CAPACITY MAXMSG
      create a queue, print "name NAME", and on an order line exit
  peer_queue.py hold QUEUE
      reserve a slot through the C API, as a put does before it copies
      its message in, print "stalled", and wait to be killed
"""
import ctypes
import signal
import struct
import sys
import zlib

import mpsync
from mpsync._lib import lib

MAX_INCARNATIONS = 512
OFF_CORRUPT = 8 * MAX_INCARNATIONS
OFF_LOG_COUNT = OFF_CORRUPT + 8
OFF_LOG = OFF_LOG_COUNT + 8

# The filler of a message is byte(i*31 + seq + id) at index i: the bytes
# i*31, shifted by a table per seq + id.
_FILL = bytes(i * 31 & 0xff for i in range(1 << 16))
_SHIFT = [bytes((j + k) & 0xff for j in range(256)) for k in range(256)]


def message(ident, seq, max_msg):
    """Message seq of producer ident, as process_test.go's message."""
    n = 12 + ((seq * 7 + ident * 13) & 0xffffffff) % (max_msg - 11)
    body = struct.pack("<II", ident, seq) + _FILL[8:n - 4].translate(_SHIFT[(seq + ident) & 0xff])
    return body + struct.pack("<I", zlib.crc32(body))


def u64(buf, off, value):
    struct.pack_into("<Q", buf, off, value)


def main():
    mode = sys.argv[1]
    if mode == "make":
        q = mpsync.Queue(int(sys.argv[2]), int(sys.argv[3]))
        print("proctest: ready", flush=True)
        print("name", q.name, flush=True)
        sys.stdin.readline()
        q.detach()
        return
    q = mpsync.Queue(name=sys.argv[2])
    if mode == "hold":
        class Slot(ctypes.Structure):
            _fields_ = [("data", ctypes.c_void_p), ("len", ctypes.c_size_t), ("pos", ctypes.c_uint64)]
        lib.mps_queue_reserve.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(Slot)]
        print("proctest: ready", flush=True)
        rc = lib.mps_queue_reserve(q._handle(), -1, ctypes.byref(Slot()))
        if rc != 0:
            sys.exit("mps_queue_reserve: %d" % rc)
        print("stalled", flush=True)
        signal.pause()
        return
    books = mpsync.SharedMemory(sys.argv[3])
    buf, ident = books.buf, int(sys.argv[4])
    max_msg = q.max_message
    if mode == "produce":
        count = int(sys.argv[5])
        print("proctest: ready", flush=True)
        sys.stdin.readline()
        for seq in range(count):
            q.put(message(ident, seq, max_msg))
            u64(buf, 8 * ident, seq + 1)
        print("done", flush=True)
        sys.stdin.readline()  # "stop", as the Go producers
    elif mode == "consume":
        print("proctest: ready", flush=True)
        logged = 0
        while True:
            try:
                m = q.get()
            except EOFError:
                break
            pid, seq = struct.unpack_from("<II", m) if len(m) >= 12 else (0, 0)
            if len(m) < 12 or m != message(pid, seq, max_msg):
                u64(buf, OFF_CORRUPT, 1)
                sys.exit("peer_queue.py: corrupt message %r" % m)
            # The entry first, then the count that covers it: a kill in
            # between loses the entry, as a killed Go consumer's.
            u64(buf, OFF_LOG + 8 * logged, 1 << 63 | ident << 40 | pid << 24 | seq)
            logged += 1
            u64(buf, OFF_LOG_COUNT, logged)
        print("eof", flush=True)
    else:
        sys.exit("peer_queue.py: unknown mode %s" % mode)
    del buf
    books.close()
    q.detach()


if __name__ == "__main__":
    main()
