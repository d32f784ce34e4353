"""mpsync for Python: the sharing layer of multiprocessing (Lock, RLock,
Semaphore, BoundedSemaphore, Event, Condition, Barrier, typed shared
values and arrays, shared memory, ShareableList, Queue and Pipe of byte
messages) on libmpsync, so that Python, Go and C processes use the same
objects, opened by name.

    import mpsync
    lock = mpsync.Lock()                        # a new robust lock
    v = mpsync.Value("i", 0)                    # as multiprocessing.Value
    with v.get_lock():
        v.value += 1
    w = mpsync.Value(name="mps_value_…")        # one Go or C made
    sl = mpsync.ShareableList([1, 2.5, "x"])    # Python's ShareableList layout
    row = mpsync.Lock("buckets/row7")           # in an arena Go made (mpsync.Arena)
    q = mpsync.Queue(1024, 64)                  # JoinableQueue's shape: 1024 messages of <= 64 bytes
    q.put(b"job"); q.get(timeout=1)             # bytes; queue.Full, queue.Empty
    q.close()                                   # no more puts, anywhere: get raises EOFError once drained
    r, w = mpsync.Pipe(duplex=False)            # send_bytes, recv_bytes, poll, close

The classes keep the shape of multiprocessing.synchronize,
multiprocessing.sharedctypes and multiprocessing.shared_memory: a type
or typecode creates (with a random name, or name=), a name alone opens.
Objects pickle as their names (a multiprocessing child opens them on
arrival).  close() unmaps an object in this process (idempotent; then
every accessor raises ValueError; a Queue's close() closes it for
writing, as the end of its stream, and detach() unmaps it); an object
left open stays mapped until the process exits.  unlink() removes a name; mpsync's resource tracker
removes what no live process uses any more, even after SIGKILL.

Locks are robust: if a holder dies holding one, acquire() raises
OwnerDeadError with the lock held.  Errors from libmpsync are OSError
subclasses chosen by errno (FileNotFoundError, FileExistsError,
PermissionError, ...); opening a name as the wrong kind or type is
TypeMismatchError.

libmpsync is found through the MPSYNC_LIB environment variable (a path
to libmpsync.so.0), else the installed library: the system's loader
(libmpsync.so.0), ctypes.util.find_library("mpsync"), then the libdir of
the mpsync.pc that pkg-config finds.  Without it, importing mpsync raises
ImportError naming both.
"""
from ._lib import OwnerDeadError, TypeMismatchError
from .arena import Arena
from .shared_memory import ShareableList, SharedMemory
from .sharedctypes import (Array, RawArray, RawValue, SharedArray, SharedValue, SynchronizedArray,
                           SynchronizedValue, Value, format_of, parse_format)
from ._lib import BrokenBarrierError
from .synchronize import Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore
from .queues import Connection, Pipe, Queue

__all__ = ["Arena", "Lock", "RLock", "Semaphore", "BoundedSemaphore", "Event", "Condition", "Barrier",
           "BrokenBarrierError", "Value", "Array", "RawValue", "RawArray", "SharedValue", "SharedArray",
           "SynchronizedValue", "SynchronizedArray", "SharedMemory", "ShareableList", "Queue", "Pipe", "Connection",
           "OwnerDeadError", "TypeMismatchError", "parse_format", "format_of"]
