"""Arenas: many mpsync objects in one shared segment (Go's shm.NewArena,
C's mps_arena_*).  Objects in an arena are opened with the usual classes
by an arena-qualified name, "arena/name", or by the handle of an
anonymous one, "arena/#<off>.<gen>":

    a = mpsync.Arena("buckets")
    lock = mpsync.Lock(a.qualify("row7"))
    hits = mpsync.Value(name=a.qualify("hits"))

    a = mpsync.Arena(None, 1 << 20)             # a new arena of 1 MiB
    v = mpsync.Value("q", 5, arena=a)           # anonymous: v.name is a handle
    l = mpsync.Lock("row8", create=True, arena=a)

Every class of the synchronization family (Lock, RLock, Semaphore,
BoundedSemaphore, Event, Condition, Barrier) and of sharedctypes (Value,
RawValue, Array, RawArray) takes arena=.  An object's unlink() frees it
(mps_object_unlink, or mps_arena_free once closed), as Go's Unlink of an
arena object does: its name goes and its block is reused by the next
object of its size made in the arena by any process, Go, C or Python.
Objects not freed live as long as the arena."""
import ctypes

from . import _lib
from ._lib import lib


def in_arena(arena, name):
    """The name to create under: name itself without an arena, else the
    arena-qualified name, "arena/" (anonymous) when name is None."""
    if arena is None:
        return name
    return arena.qualify("" if name is None else name)


def free_in_arena(qualified):
    """Free the object called "arena/object" (object a name or a handle
    "#<off>.<gen>") with mps_arena_free; return its result."""
    arena_name, _, obj = qualified.lstrip("/").partition("/")
    arena = ctypes.c_void_p()
    rc = lib.mps_arena_open(arena_name.encode(), ctypes.byref(arena))
    if rc < 0:
        return rc
    try:
        return lib.mps_arena_free(arena, obj.encode())
    finally:
        lib.mps_arena_close(arena)


class Arena:
    """An arena, mapped in this process (once, however many of its objects
    are open: each open object is one more user of the mapping).
    Arena(name) opens the arena called name; Arena(name, size,
    max_names=n) creates one of size bytes (fixed, allocated at once; name
    None: a random one); close() drops this user.  Usable as a context
    manager.  Value, RawValue, Array, RawArray, Lock, RLock, Semaphore,
    BoundedSemaphore, Event, Condition and Barrier take arena= to create
    in it (anonymous when name is None: the name is then a handle) or to
    open a name in it; their unlink() frees them."""

    _arena = None

    def __init__(self, name=None, size=None, *, max_names=0):
        arena = ctypes.c_void_p()
        if size is not None:
            what = "create arena" + ("" if name is None else " " + name)
            _lib.check(lib.mps_arena_create(_lib.encode_name(name), size, max_names, ctypes.byref(arena)), what, name)
        elif name is None:
            raise ValueError("mpsync: Arena: a name is needed to open an arena (or a size to create one)")
        else:
            _lib.check(lib.mps_arena_open(_lib.encode_name(name), ctypes.byref(arena)), "open arena " + name, name)
        self._arena = arena
        self._name = lib.mps_arena_name(arena).decode()

    def _handle(self):
        if self._arena is None:
            raise ValueError("mpsync: arena %s is closed" % self._name)
        return self._arena

    def unlink(self):
        """Remove the arena's name (and so, once no process has it mapped,
        the arena and everything in it)."""
        _lib.check(lib.mps_arena_unlink(_lib.encode_name(self._name)), "unlink arena " + self._name, self._name)

    @property
    def name(self):
        """The arena's name, without a leading slash."""
        return self._name

    def qualify(self, name):
        """The arena-qualified name of the object called name (or of the
        handle "#<off>.<gen>") in this arena."""
        return self._name + "/" + name

    def stats(self):
        """A snapshot of the control block, read without the allocator's
        lock: a dict of size, heap, bump, objects, used, names,
        name_slots, types, recovered."""
        st = _lib.ArenaStats()
        _lib.check(lib.mps_arena_stats(self._handle(), ctypes.byref(st)), "stats of arena " + self._name)
        return {f: getattr(st, f) for f, _ in _lib.ArenaStats._fields_}

    def close(self):
        """Drop this user of the mapping (idempotent); objects opened in
        the arena keep it mapped until they are closed."""
        if self._arena is not None:
            lib.mps_arena_close(self._arena)
            self._arena = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<mpsync.Arena %r%s>" % (self._name, " closed" if self._arena is None else "")
