"""The synchronization family, shaped like multiprocessing.synchronize,
on mpsync objects that Go and C processes open by the same names.

Today libmpsync offers the robust Lock; the rest of the family (RLock,
Semaphore, BoundedSemaphore, Event, Condition, Barrier) joins here as
classes on the same Handle once the C library has them."""
import errno
import os
import threading

from . import _lib
from ._lib import lib
from ._object import Handle

# A blocking wait sleeps in C in slices this long, so that signals
# (KeyboardInterrupt) are handled between them, as CPython's locks allow.
_SLICE_NS = 50_000_000


class Lock(Handle):
    """A robust lock shared by processes: multiprocessing.Lock's shape, on
    an mpsync Lock object (semaphore.Lock in Go, mps_lock_* in C).

    Lock() creates one with a random name; Lock(name) opens an existing
    one; Lock(name, create=True) creates one under that name.  The owner
    is the process: any thread of it may release the lock, and another
    thread of it that acquires waits like any other acquirer.  If the
    holder dies, even by SIGKILL, acquire() takes the lock over and raises
    OwnerDeadError with the lock held: repair what it protects and call
    mark_consistent(), or release() makes the lock unusable for everyone.

    Usable as a context manager.  Pickled, a Lock travels as its name (to
    a multiprocessing child, say) and is opened on arrival."""

    _kind = _lib.KIND_LOCK

    def __init__(self, name=None, *, create=None):
        if create is None:
            create = name is None
        if create:
            self._create(name, _lib.ObjectSpec(kind=self._kind, format=b"", with_lock=1))
        else:
            if name is None:
                raise ValueError("mpsync: Lock: a name is needed to open a lock (or create=True)")
            self._open(name)
        self._area = lib.mps_object_lock(self._obj)
        self._owner = None

    @classmethod
    def _embedded(cls, owner, what):
        """The lock area of the open object owner (a Value or Array), which
        lives and dies with it."""
        lock = cls.__new__(cls)
        lock._owner, lock._name = owner, what
        return lock

    def _lock_area(self):
        if self._owner is not None:
            return lib.mps_object_lock(self._owner._handle())
        self._handle()
        return self._area

    def acquire(self, block=True, timeout=None):
        """Acquire the lock: wait for it (block, with timeout seconds at
        most if not None), or only try (block=False).  Return True once
        held, False if it was not free in time.  Raises OwnerDeadError,
        the lock held, when its previous holder died."""
        area = self._lock_area()
        if not block:
            ns = 0
        elif timeout is None:
            ns = -1
        else:
            ns = max(0, int(timeout * 1e9))
        while True:
            step = _SLICE_NS if ns < 0 else ns
            rc = lib.mps_lock_acquire(area, step)
            if rc == 0:
                return True
            if rc == -errno.ETIMEDOUT and ns < 0:
                continue  # KeyboardInterrupt and other signals are handled here
            if rc in (-errno.EBUSY, -errno.ETIMEDOUT):
                return False
            raise _lib.error(rc, "acquire %s" % self._name, self._name)

    def release(self):
        """Release the lock, which this process must hold: otherwise
        ValueError, as multiprocessing.Lock raises for a release too many.
        OSError ENOTRECOVERABLE if it was taken over from a dead holder
        and not marked consistent (it is released, and unusable)."""
        rc = lib.mps_lock_release(self._lock_area())
        if rc == -errno.EPERM:
            raise ValueError("mpsync: release %s: this process does not hold it" % self._name)
        _lib.check(rc, "release %s" % self._name, self._name)

    def mark_consistent(self):
        """Mark the state a lock taken with OwnerDeadError protects as
        repaired."""
        _lib.check(lib.mps_lock_consistent(self._lock_area()), "mark_consistent %s" % self._name, self._name)

    def owner(self):
        """The pid of the holder as its registry records it (in its own pid
        namespace), or 0 if the lock is free; for display."""
        return lib.mps_lock_owner(self._lock_area())

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    def close(self):
        """Unmap a named Lock (idempotent).  The lock of a Value or Array
        closes with its object; closing it alone does nothing."""
        if self._owner is None:
            super().close()

    def __reduce__(self):
        if self._owner is not None:
            raise TypeError("mpsync: the lock of %s travels with its object: pickle the object" % self._name)
        return super().__reduce__()

    def __repr__(self):
        if self._owner is None and self._obj is None:
            return "<mpsync.Lock %r closed>" % self._name
        try:
            pid = self.owner()
        except ValueError:
            return "<mpsync.Lock %r closed>" % self._name
        return "<mpsync.Lock %r owner=%s>" % (self._name, pid or None)


class _ObjectLock(Lock):
    """The lock of a Value or Array.  Like multiprocessing's default lock
    for them (an RLock), a thread that holds it may acquire it again, so
    that `with v.get_lock(): v.value += 1` works (.value takes the lock
    too); each acquire needs its release.  The recursion is this process's
    own affair: in shared memory the owner is the process, as for Go's
    and C's users of the same lock."""

    _holder, _depth = None, 0

    def acquire(self, block=True, timeout=None):
        self._lock_area()  # ValueError once its object is closed
        me = (os.getpid(), threading.get_ident())
        if self._holder == me:
            self._depth += 1
            return True
        try:
            if not super().acquire(block, timeout):
                return False
        except _lib.OwnerDeadError:
            self._holder, self._depth = me, 1  # held: the caller repairs and releases
            raise
        self._holder, self._depth = me, 1
        return True

    def release(self):
        self._lock_area()
        if self._holder != (os.getpid(), threading.get_ident()):
            raise RuntimeError("mpsync: release %s: this thread does not hold it" % self._name)
        self._depth -= 1
        if self._depth == 0:
            self._holder = None
            super().release()
