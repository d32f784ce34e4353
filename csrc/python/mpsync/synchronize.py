"""The synchronization family, shaped like multiprocessing.synchronize,
on mpsync objects that Go (package semaphore) and C (mps_lock_*,
mps_rlock_*, mps_sem_*, mps_event_*, mps_cond_*, mps_barrier_*) processes
open by the same names: Lock, RLock, Semaphore, BoundedSemaphore, Event,
Condition, Barrier.  Each creates with a random name, or name= with
create=True; a name alone opens."""
import ctypes
import errno
import threading

from . import _lib
from ._lib import lib
from ._object import Handle
from .arena import in_arena

# A blocking wait sleeps in C in slices this long, so that signals
# (KeyboardInterrupt) are handled between them, as CPython's locks allow.
_SLICE_NS = 50_000_000


class Lock(Handle):
    """A robust lock shared by processes: multiprocessing.Lock's shape, on
    an mpsync Lock object (semaphore.Lock in Go, mps_lock_* in C).

    Lock() creates one with a random name; Lock(name) opens an existing
    one; Lock(name, create=True) creates one under that name; arena=
    (an mpsync.Arena) creates (anonymous if name is None) or opens it in
    the arena.  The owner
    is the process: any thread of it may release the lock, and another
    thread of it that acquires waits like any other acquirer.  If the
    holder dies, even by SIGKILL, acquire() takes the lock over and raises
    OwnerDeadError with the lock held: repair what it protects and call
    mark_consistent(), or release() makes the lock unusable for everyone.

    Usable as a context manager.  Pickled, a Lock travels as its name (to
    a multiprocessing child, say) and is opened on arrival."""

    _kind = _lib.KIND_LOCK

    def __init__(self, name=None, *, create=None, arena=None):
        if create is None:
            create = name is None
        if create:
            self._create(name, _lib.ObjectSpec(kind=self._kind, format=b"", with_lock=1), arena=arena)
        else:
            if name is None:
                raise ValueError("mpsync: Lock: a name is needed to open a lock (or create=True)")
            self._open(name if arena is None else arena.qualify(name))
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

    _c_acquire = "mps_lock_acquire"

    def acquire(self, block=True, timeout=None):
        """Acquire the lock: wait for it (block, with timeout seconds at
        most if not None), or only try (block=False).  Return True once
        held, False if it was not free in time.  Raises OwnerDeadError,
        the lock held, when its previous holder died."""
        area, acquire = self._lock_area(), getattr(lib, self._c_acquire)
        return _wait(lambda ns: acquire(area, ns), _timeout_ns(block, timeout), (-errno.EBUSY, -errno.ETIMEDOUT),
                     "acquire " + self._name, self._name)

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


def _timeout_ns(block=True, timeout=None):
    """A C timeout: -1 forever, 0 only try, else nanoseconds."""
    if not block:
        return 0
    if timeout is None:
        return -1
    return max(0, int(timeout * 1e9))


def _wait(call, ns, busy, what, name):
    """Run call(timeout_ns) until it is neither a slice's end nor, when
    waiting forever, interrupted: a wait forever sleeps in C in slices, so
    that signals (KeyboardInterrupt) are handled between them.  Return
    True on 0, False on a result in busy; raise the error of any other."""
    while True:
        rc = call(_SLICE_NS if ns < 0 else ns)
        if rc == 0:
            return True
        if rc == -errno.ETIMEDOUT and ns < 0:
            continue
        if rc in busy:
            return False
        raise _lib.error(rc, what, name)


class RLock(Lock):
    """A robust recursive lock shared by processes: multiprocessing.RLock's
    shape, on an mpsync RLock object (semaphore.RLock in Go, mps_rlock_*
    in C).  The owner is the thread that acquired it (in Go, the
    goroutine); it may acquire it again and releases it as many times.
    RLock() creates, RLock(name) opens, RLock(name, create=True) creates
    under that name; arena= as for Lock."""

    _kind = _lib.KIND_RLOCK

    def __init__(self, name=None, *, create=None, arena=None):
        if create is None:
            create = name is None
        if create:
            self._make(name, lib.mps_rlock_create, arena=arena)
        elif name is None:
            raise ValueError("mpsync: RLock: a name is needed to open a lock (or create=True)")
        else:
            self._open(in_arena(arena, name), opener=lib.mps_rlock_open)
        self._area = lib.mps_object_lock(self._obj)
        self._owner = None

    _c_acquire = "mps_rlock_acquire"

    def release(self):
        """Undo one acquire of this thread: RuntimeError if it does not
        hold the lock, as threading.RLock."""
        rc = lib.mps_rlock_release(self._lock_area())
        if rc == -errno.EPERM:
            raise RuntimeError("mpsync: release %s: this thread does not hold it" % self._name)
        _lib.check(rc, "release %s" % self._name, self._name)

    def _count(self):
        n = ctypes.c_uint32()
        _lib.check(lib.mps_rlock_count(self._lock_area(), ctypes.byref(n)), "count " + self._name)
        return n.value


class Semaphore(Handle):
    """A semaphore shared by processes: multiprocessing.Semaphore's shape,
    on an mpsync Semaphore (semaphore.Semaphore in Go, mps_sem_* in C;
    its counter is a glibc sem_t).  Semaphore(value) creates,
    Semaphore(name=n) opens; arena= (an mpsync.Arena) creates (anonymous
    if name is None) or opens it in the arena.  It has no owner: a process that dies after
    acquiring never releases, as with POSIX semaphores."""

    _kind = _lib.KIND_SEMAPHORE
    _create_fn = "mps_sem_create"

    def __init__(self, value=1, *, name=None, create=None, arena=None):
        if create is None:
            create = name is None
        if create:
            if value < 0:
                raise ValueError("mpsync: %s: negative initial value %d" % (type(self).__name__, value))
            self._make(name, getattr(lib, self._create_fn), value, arena=arena)
        else:
            self._open(in_arena(arena, name), opener=lib.mps_sem_open)

    def acquire(self, block=True, timeout=None):
        """Take one unit: wait for it (block, at most timeout seconds if
        not None) or only try.  Return True once taken, else False."""
        obj = self._handle()
        return _wait(lambda ns: lib.mps_sem_acquire(obj, ns), _timeout_ns(block, timeout),
                     (-errno.EAGAIN, -errno.ETIMEDOUT), "acquire " + self._name, self._name)

    def release(self):
        """Give one unit back.  ValueError for a BoundedSemaphore already
        at its bound, as multiprocessing says."""
        rc = lib.mps_sem_release(self._handle())
        if rc == -errno.EOVERFLOW:
            raise ValueError("mpsync: release %s: semaphore or lock released too many times" % self._name)
        _lib.check(rc, "release %s" % self._name, self._name)

    def get_value(self):
        """The value now (stale at once)."""
        v = ctypes.c_uint()
        _lib.check(lib.mps_sem_value(self._handle(), ctypes.byref(v)), "get_value " + self._name)
        return v.value

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


class BoundedSemaphore(Semaphore):
    """A semaphore whose value may not be released above its initial one
    (ValueError): multiprocessing.BoundedSemaphore's shape."""

    _kind = _lib.KIND_BOUNDED_SEMAPHORE
    _create_fn = "mps_bsem_create"


class Event(Handle):
    """An event shared by processes: multiprocessing.Event's shape, on an
    mpsync Event (semaphore.Event in Go, mps_event_* in C).  Event()
    creates, Event(name) opens; arena= as for Semaphore."""

    _kind = _lib.KIND_EVENT

    def __init__(self, name=None, *, create=None, arena=None):
        if create is None:
            create = name is None
        if create:
            self._make(name, lib.mps_event_create, arena=arena)
        else:
            self._open(in_arena(arena, name), opener=lib.mps_event_open)

    def is_set(self):
        flag = ctypes.c_int()
        _lib.check(lib.mps_event_is_set(self._handle(), ctypes.byref(flag)), "is_set " + self._name)
        return bool(flag.value)

    def set(self):
        """Raise the flag, waking every waiter in every process."""
        _lib.check(lib.mps_event_set(self._handle()), "set " + self._name)

    def clear(self):
        _lib.check(lib.mps_event_clear(self._handle()), "clear " + self._name)

    def wait(self, timeout=None):
        """Wait until the flag is raised (timeout seconds at most if not
        None); return the flag."""
        obj = self._handle()
        return _wait(lambda ns: lib.mps_event_wait(obj, ns), _timeout_ns(True, timeout), (-errno.ETIMEDOUT,),
                     "wait " + self._name, self._name)


class Condition:
    """A condition variable shared by processes: multiprocessing.Condition's
    shape, on an mpsync Condition (semaphore.Condition in Go, mps_cond_* in
    C).  Condition(lock) creates one on a Lock or RLock of this package
    (None: a new RLock, made and unlinked with it); Condition(name=n)
    opens one, and its lock.  arena= as for Semaphore; the RLock made for
    it is then an anonymous object of the same arena.  Waiters that die
    are skipped."""

    _cond = None

    def __init__(self, lock=None, *, name=None, create=None, arena=None):
        if create is None:
            create = name is None
        cond = ctypes.c_void_p()
        if create:
            target = None if lock is None else lock._handle()
            _lib.check(lib.mps_cond_create(_lib.encode_name(in_arena(arena, name)), target, ctypes.byref(cond)),
                       "create condition" + ("" if name is None else " " + name), name)
        else:
            name = in_arena(arena, name)
            rc = lib.mps_cond_open(_lib.encode_name(name), ctypes.byref(cond))
            _lib.check(rc, "open condition " + str(name), name)
        self._cond = cond
        self._name = lib.mps_cond_name(cond).decode()

    @property
    def name(self):
        return self._name

    def _handle(self):
        if self._cond is None:
            raise ValueError("mpsync: %s is closed" % self._name)
        return self._cond

    def acquire(self, block=True, timeout=None):
        cond = self._handle()
        return _wait(lambda ns: lib.mps_cond_acquire(cond, ns), _timeout_ns(block, timeout),
                     (-errno.EBUSY, -errno.ETIMEDOUT), "acquire " + self._name, self._name)

    def release(self):
        rc = lib.mps_cond_release(self._handle())
        if rc == -errno.EPERM:
            raise RuntimeError("mpsync: release %s: the lock is not held here" % self._name)
        _lib.check(rc, "release " + self._name, self._name)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    def wait(self, timeout=None):
        """Release the lock, wait until notified (timeout seconds at most if
        not None), take the lock back; return False if the time ran out.
        The caller must hold the lock."""
        rc = lib.mps_cond_wait(self._handle(), _timeout_ns(True, timeout))
        if rc == -errno.ETIMEDOUT:
            return False
        if rc == -errno.EPERM:
            raise RuntimeError("mpsync: wait on %s: the lock is not held" % self._name)
        _lib.check(rc, "wait " + self._name, self._name)
        return True

    def wait_for(self, predicate, timeout=None):
        """Wait until predicate() is true, checking it first and after
        every wake-up; return its last result."""
        last, failure = [None], []

        def check(_arg):
            try:
                last[0] = predicate()
                return 1 if last[0] else 0
            except BaseException as e:  # raised below, after the C call
                failure.append(e)
                return 1
        rc = lib.mps_cond_wait_for(self._handle(), _lib.PRED_FUNC(check), None, _timeout_ns(True, timeout))
        if failure:
            raise failure[0]
        if rc == -errno.EPERM:
            raise RuntimeError("mpsync: wait_for on %s: the lock is not held" % self._name)
        if rc not in (0, -errno.ETIMEDOUT):
            _lib.check(rc, "wait_for " + self._name, self._name)
        return last[0]

    def notify(self, n=1):
        """Wake up to n waiters, oldest first.  The caller must hold the
        lock."""
        rc = lib.mps_cond_notify(self._handle(), n)
        if rc == -errno.EPERM:
            raise RuntimeError("mpsync: notify on %s: the lock is not held" % self._name)
        _lib.check(rc, "notify " + self._name, self._name)

    def notify_all(self):
        rc = lib.mps_cond_notify_all(self._handle())
        if rc == -errno.EPERM:
            raise RuntimeError("mpsync: notify_all on %s: the lock is not held" % self._name)
        _lib.check(rc, "notify_all " + self._name, self._name)

    def close(self):
        """Unmap the condition (and a lock it made or opened); idempotent."""
        if self._cond is not None:
            lib.mps_cond_close(self._cond)
            self._cond = None

    def unlink(self):
        """Remove the condition's name (and its lock's, if made for it);
        in an arena, free both, as Handle.unlink says."""
        _lib.check(lib.mps_cond_unlink(self._handle()), "unlink " + self._name, self._name)

    def __reduce__(self):
        return _open_condition, (self._name,)

    def __repr__(self):
        return "<mpsync.Condition %r%s>" % (self._name, " closed" if self._cond is None else "")


def _open_condition(name):
    return Condition(name=name)


class Barrier(Handle):
    """A barrier shared by processes: multiprocessing.Barrier's shape
    (threading.Barrier's), on an mpsync Barrier (semaphore.Barrier in Go,
    mps_barrier_* in C).  Barrier(parties, action, timeout) creates,
    Barrier(name=n, action=..., timeout=...) opens: the action and the
    default timeout belong to this process's handle; the last party to
    arrive runs its own.  arena= as for Semaphore.  A broken barrier raises
    threading.BrokenBarrierError."""

    _kind = _lib.KIND_BARRIER

    def __init__(self, parties=None, action=None, timeout=None, *, name=None, create=None, arena=None):
        if create is None:
            create = name is None
        if create:
            if parties is None or parties < 1:
                raise ValueError("mpsync: Barrier: parties must be at least 1, not %r" % (parties,))
            self._make(name, lib.mps_barrier_create, parties, arena=arena)
        else:
            self._open(in_arena(arena, name), opener=lib.mps_barrier_open)
        self._action, self._timeout = action, timeout

    def wait(self, timeout=None):
        """Wait until every party has arrived; return this party's arrival
        index (0 to parties - 1).  BrokenBarrierError if the barrier is or
        becomes broken (abort, reset, a timeout, a failed action, a party
        that died).  A timeout breaks the barrier, as in threading, except
        one that ends while another process holds the barrier's internal
        lock: this party has not arrived then, and the barrier, which only
        that lock lets anyone change, is left as it was."""
        if timeout is None:
            timeout = self._timeout
        failure = []
        action = _lib.PRED_FUNC()
        if self._action is not None:
            def run(_arg):
                try:
                    self._action()
                    return 0
                except BaseException as e:
                    failure.append(e)
                    return -errno.ECANCELED
            action = _lib.PRED_FUNC(run)
        index = ctypes.c_uint()
        rc = lib.mps_barrier_wait(self._handle(), _timeout_ns(True, timeout), action, None, ctypes.byref(index))
        if failure:
            raise failure[0]
        if rc in (-errno.EPIPE, -errno.ETIMEDOUT, -errno.ECANCELED):
            raise threading.BrokenBarrierError
        _lib.check(rc, "wait " + self._name, self._name)
        return index.value

    def abort(self):
        """Break the barrier: waiters, and every wait until reset(), raise
        BrokenBarrierError."""
        _lib.check(lib.mps_barrier_abort(self._handle()), "abort " + self._name, self._name)

    def reset(self):
        """Return the barrier to its first state; parties waiting now raise
        BrokenBarrierError."""
        _lib.check(lib.mps_barrier_reset(self._handle()), "reset " + self._name, self._name)

    def _get(self, fn, ctype=ctypes.c_uint):
        v = ctype()
        _lib.check(fn(self._handle(), ctypes.byref(v)), fn.__name__ + " " + self._name, self._name)
        return v.value

    @property
    def parties(self):
        return self._get(lib.mps_barrier_parties)

    @property
    def n_waiting(self):
        return self._get(lib.mps_barrier_n_waiting)

    @property
    def broken(self):
        return bool(self._get(lib.mps_barrier_broken, ctypes.c_int))

    @property
    def action(self):
        return self._action

    @property
    def timeout(self):
        return self._timeout


class _ObjectLock(RLock):
    """The lock of a Value or Array: recursive for the thread that holds
    it, as multiprocessing's default lock for them (an RLock) and as C's
    mps_value_* and Go's Get/Set use it, so that
    `with v.get_lock(): v.value += 1` works (.value takes the lock too).
    It goes through mps_value_acquire and mps_value_release, which also
    take the compact lock of a Value or Array in an arena."""

    def acquire(self, block=True, timeout=None):
        obj = self._owner._handle()
        return _wait(lambda ns: lib.mps_value_acquire(obj, ns), _timeout_ns(block, timeout),
                     (-errno.EBUSY, -errno.ETIMEDOUT), "acquire " + self._name, self._name)

    def release(self):
        rc = lib.mps_value_release(self._owner._handle())
        if rc == -errno.EPERM:
            raise RuntimeError("mpsync: release %s: this thread does not hold it" % self._name)
        _lib.check(rc, "release %s" % self._name, self._name)
