"""mpsync for Python: open mpsync objects (Values, Arrays, Locks) by name
and use them together with Go and C processes, through libmpsync.so and
the standard library's ctypes.

    import mpsync
    v = mpsync.Value("mps_value_0123456789abcdef")   # made by Go or C
    with v.get_lock():
        v.value += 1
    v.close()

The library is found through the MPSYNC_LIB environment variable (a path to
libmpsync.so.0), or else by the system's loader ("libmpsync.so.0"). Build it
with `make -C csrc` (it lands in csrc/build) or install it with
`make -C csrc install`.

Locks are mpsync's robust locks: if the previous holder died holding one,
acquire() raises OwnerDeadError with the lock HELD; repair the state it
protects and call mark_consistent(), or release() makes it unusable.

close() unmaps an object; it is idempotent. Afterwards every accessor
(.value, indexing, len(), .raw, get_lock(), and the methods of its lock)
raises ValueError, as a closed mmap does. Struct elements and struct
values are ctypes views into the shared memory, valid until close(): like
any ctypes object made with from_address, a view kept past close() must
not be used.
"""
import ctypes
import errno
import os

__all__ = ["Value", "Array", "Lock", "OwnerDeadError", "load_library"]

KIND_LOCK, KIND_VALUE, KIND_ARRAY = 1, 8, 9

_TYPECODES = {
    "c": ctypes.c_char, "u": ctypes.c_wchar, "b": ctypes.c_byte, "B": ctypes.c_ubyte,
    "h": ctypes.c_short, "H": ctypes.c_ushort, "i": ctypes.c_int, "I": ctypes.c_uint,
    "l": ctypes.c_long, "L": ctypes.c_ulong, "q": ctypes.c_longlong, "Q": ctypes.c_ulonglong,
    "f": ctypes.c_float, "d": ctypes.c_double, "?": ctypes.c_bool,
}


class OwnerDeadError(Exception):
    """The previous holder died holding the lock. The lock is now held by
    the caller, who must repair the protected state and call
    mark_consistent()."""


_lib = None


def load_library(path=None):
    """Load libmpsync (once) and declare the functions used here."""
    global _lib
    if _lib is not None and path is None:
        return _lib
    lib = ctypes.CDLL(path or os.environ.get("MPSYNC_LIB", "libmpsync.so.0"))
    vp, cp, i, i64, u64 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int64, ctypes.c_uint64
    for name, res, args in [
        ("mps_version", i, []),
        ("mps_strerror", cp, [i]),
        ("mps_object_open", i, [cp, i, ctypes.POINTER(vp)]),
        ("mps_object_close", i, [vp]),
        ("mps_object_format", cp, [vp]),
        ("mps_object_count", u64, [vp]),
        ("mps_object_elem_size", u64, [vp]),
        ("mps_object_payload", vp, [vp]),
        ("mps_object_lock", vp, [vp]),
        ("mps_lock_acquire", i, [vp, i64]),
        ("mps_lock_release", i, [vp]),
        ("mps_lock_consistent", i, [vp]),
    ]:
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    _lib = lib
    return lib


def _check(rc, what):
    if rc < 0:
        raise OSError(-rc, "%s: %s" % (what, _lib.mps_strerror(rc).decode()))
    return rc


def parse_format(fmt):
    """Turn an mpsync element format into a ctypes type: a typecode, or a
    struct format such as "T{d:x:d:y:}" (fields may be "(3)i" arrays or
    nested T{...})."""
    t, rest = _parse(fmt)
    if rest:
        raise ValueError("trailing characters in format %r" % fmt)
    return t


def _parse(s):
    if s.startswith("("):
        n, _, s = s[1:].partition(")")
        t, s = _parse(s)
        return t * int(n), s
    if s.startswith("T{"):
        s = s[2:]
        fields = []
        while not s.startswith("}"):
            t, s = _parse(s)
            if not s.startswith(":"):
                raise ValueError("field without a name")
            name, _, s = s[1:].partition(":")
            fields.append((name, t))
        cls = type("MpsyncStruct", (ctypes.Structure,), {"_fields_": fields})
        return cls, s[1:]
    if s[:1] in _TYPECODES:
        return _TYPECODES[s[0]], s[1:]
    raise ValueError("unknown format %r" % s)


class Lock:
    """A robust mpsync lock: a named Lock object, or the lock embedded in a
    Value or Array (get_lock()). Once the named Lock, or the object whose
    lock it is, is closed, its methods raise ValueError."""

    def __init__(self, name=None, _area=None):
        self._lib = load_library()
        self._obj = None
        self._what = "lock"
        if name is not None:
            obj = ctypes.c_void_p()
            _check(self._lib.mps_object_open(name.encode(), KIND_LOCK, ctypes.byref(obj)), "open " + name)
            self._obj, _area, self._what = obj, self._lib.mps_object_lock(obj), "lock " + name
        self._area = _area

    def _live(self):
        """The lock area, or ValueError once it is unmapped."""
        if self._area is None:
            raise ValueError("mpsync: %s is closed" % self._what)
        return self._area

    def acquire(self, block=True, timeout=None):
        """Acquire the lock; return False if it was not free in time (or at
        once, with block=False). Raises OwnerDeadError, holding the lock,
        if its previous holder died."""
        ns = -1 if block and timeout is None else (0 if not block else max(1, int(timeout * 1e9)))
        rc = self._lib.mps_lock_acquire(self._live(), ns)
        if rc == -errno.EOWNERDEAD:
            raise OwnerDeadError("previous holder of the lock died; the lock is held")
        if rc in (-errno.EBUSY, -errno.ETIMEDOUT):
            return False
        _check(rc, "acquire")
        return True

    def release(self):
        _check(self._lib.mps_lock_release(self._live()), "release")

    def mark_consistent(self):
        _check(self._lib.mps_lock_consistent(self._live()), "mark_consistent")

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def close(self):
        """Unmap a named Lock (idempotent). The lock of a Value or Array is
        closed with its object; closing it alone does nothing."""
        if self._obj is not None:
            self._area = None
            self._lib.mps_object_close(self._obj)
            self._obj = None


class _Object:
    def __init__(self, name, kind):
        self._lib = load_library()
        obj = ctypes.c_void_p()
        _check(self._lib.mps_object_open(name.encode(), kind, ctypes.byref(obj)), "open " + name)
        self._obj = obj
        self.name = name
        self.format = self._lib.mps_object_format(obj).decode()
        self._type = parse_format(self.format)
        if ctypes.sizeof(self._type) != self._lib.mps_object_elem_size(obj):
            self.close()
            raise ValueError("format %r does not match the element size" % self.format)
        self._count = self._lib.mps_object_count(obj)
        self._payload = self._lib.mps_object_payload(obj)
        area = self._lib.mps_object_lock(obj)
        self._lock = Lock(_area=area) if area else None
        if self._lock is not None:
            self._lock._what = "lock of " + name

    def _check_open(self):
        if self._obj is None:
            raise ValueError("mpsync: %s is closed" % self.name)

    def get_lock(self):
        """The object's embedded lock (None for a raw object)."""
        self._check_open()
        return self._lock

    def close(self):
        """Unmap the object and its lock (idempotent)."""
        if self._obj is not None:
            if self._lock is not None:
                self._lock._area = None
            self._lib.mps_object_close(self._obj)
            self._obj = None


class Value(_Object):
    """An mpsync Value opened by name; .value reads and writes it."""

    def __init__(self, name):
        super().__init__(name, KIND_VALUE)
        self._cell = self._type.from_address(self._payload)

    @property
    def value(self):
        self._check_open()
        v = self._cell
        return v.value if hasattr(v, "value") else v

    @value.setter
    def value(self, x):
        self._check_open()
        if hasattr(self._cell, "value"):
            self._cell.value = x
        else:
            ctypes.memmove(self._payload, ctypes.byref(x), ctypes.sizeof(self._type))


class Array(_Object):
    """An mpsync Array opened by name; indexable, with .value and .raw for
    'c' arrays as in multiprocessing."""

    def __init__(self, name):
        super().__init__(name, KIND_ARRAY)
        self._arr = (self._type * self._count).from_address(self._payload)

    def __len__(self):
        self._check_open()
        return self._count

    def __getitem__(self, i):
        self._check_open()
        return self._arr[i]

    def __setitem__(self, i, x):
        self._check_open()
        self._arr[i] = x

    @property
    def value(self):
        self._check_open()
        return self._arr.value

    @value.setter
    def value(self, x):
        self._check_open()
        self._arr.value = x

    @property
    def raw(self):
        self._check_open()
        return self._arr.raw
