"""Named shared memory segments and ShareableList, shaped like
multiprocessing.shared_memory, on libmpsync's segments: crash-safe
creation, and tracked by mpsync's resource tracker, which unlinks a
segment once every process that used it is gone and never while one still
does (Python's own tracker, before 3.13, unlinks a segment when any
process that merely attached to it exits)."""
import ctypes
import struct
import types

from . import _lib
from ._lib import lib

__all__ = ["SharedMemory", "ShareableList"]


class SharedMemory:
    """A named shared memory segment: SharedMemory(name) opens one,
    SharedMemory(create=True, size=n) makes one with a random name
    ("psm_" and 16 hex digits), SharedMemory(name, create=True, size=n)
    one with that name.  .buf is a memoryview of it.  The same segments
    are Python's own SharedMemory's, Go's shm.Segment's and C's mps_shm."""

    _handle = None
    _buf = None

    def __init__(self, name=None, create=False, size=0):
        h = ctypes.c_void_p()
        if create:
            if size <= 0:
                raise ValueError("mpsync: SharedMemory: size must be positive, not %r" % (size,))
            _lib.check(lib.mps_shm_create(_lib.encode_name(name), size, 0, ctypes.byref(h)),
                       "create segment" + ("" if name is None else " " + name), name)
        else:
            if name is None:
                raise ValueError("mpsync: SharedMemory: a name is needed to open a segment (or create=True)")
            _lib.check(lib.mps_shm_open(_lib.encode_name(name), ctypes.byref(h)), "open segment " + name, name)
        self._handle = h
        self._name = lib.mps_shm_name(h).decode()
        self._size = lib.mps_shm_size(h)
        self._buf = memoryview((ctypes.c_ubyte * self._size).from_address(lib.mps_shm_data(h))).cast("B")

    @property
    def name(self):
        """The segment's name, without a leading slash."""
        return self._name

    @property
    def size(self):
        """The segment's size in bytes."""
        return self._size

    @property
    def buf(self):
        """A memoryview of the segment (None once closed)."""
        return self._buf

    def close(self):
        """Unmap the segment in this process (idempotent).  BufferError if
        views of .buf are still exported, as with Python's SharedMemory."""
        if self._buf is not None:
            self._buf.release()
            self._buf = None
        if self._handle is not None:
            lib.mps_shm_close(self._handle)
            self._handle = None

    def unlink(self):
        """Remove the segment's name, once, in one process; mappings stay
        valid until closed.  FileNotFoundError if it is gone already."""
        _lib.check(lib.mps_shm_unlink(self._name.encode()), "unlink segment " + self._name, self._name)

    def __del__(self):
        try:
            self.close()
        except (BufferError, AttributeError):
            pass

    def __reduce__(self):
        return type(self), (self._name, False, self._size)

    def __repr__(self):
        return "%s(%r, size=%d)" % (type(self).__name__, self._name, self._size)


# ShareableList's layout (CPython 3.9+, native byte order):
#   int64 N; int64 offsets[N + 1] (offsets[0] = 0; slot i spans offsets[i]..offsets[i+1] of the data);
#   data; char fmt[N][8] (struct format of each item, NUL-padded); int8 code[N] (how to read it back).
_ALIGN = 8
_STR, _BYTES, _NONE, _PLAIN = 1, 2, 3, 0
_FIXED = {int: ("q", _PLAIN), float: ("d", _PLAIN), bool: ("xxxxxxx?", _PLAIN), type(None): ("xxxxxx?x", _NONE)}


def _encode(item):
    """An item's struct format, back-transform code and packed value; for
    str and bytes the format is a length to round up to a slot."""
    if isinstance(item, str):
        return "s", _STR, item.encode("utf-8")
    if isinstance(item, bytes):
        return "s", _BYTES, item
    try:
        fmt, code = _FIXED[type(item)]
    except KeyError:
        raise TypeError("mpsync: ShareableList holds int, float, bool, str, bytes and None, not %s"
                        % type(item).__name__) from None
    return fmt, code, item


def _slot(item, packed):
    """The slot of a str or bytes: CPython's size (its length, rounded up
    to a multiple of 8, plus 8 if it already is one) where that holds the
    UTF-8, else the same from the UTF-8 length.  CPython counts a str's
    characters, so a non-ASCII str may not fit its own slot and is cut."""
    for n in (len(item), len(packed)):
        size = _ALIGN * (n // _ALIGN + 1)
        if len(packed) <= size:
            return size


class ShareableList:
    """A fixed-length list of int, float, bool, str, bytes and None in a
    shared memory segment, in the layout of Python's own
    multiprocessing.shared_memory.ShareableList (and Go's
    ctypes.ShareableList): ShareableList(sequence) makes one,
    ShareableList(name=...) opens one.  Items may change type in place;
    a str or bytes must fit the slot made for the first one (as CPython
    makes it, except that a non-ASCII str always gets room for its
    UTF-8)."""

    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(self, sequence=None, *, name=None):
        if name is None or sequence is not None:
            sequence = list(sequence or ())
            items = [_encode(item) for item in sequence]
            sizes = [_slot(item, v) if f == "s" else _ALIGN for item, (f, _, v) in zip(sequence, items)]
            n = len(items)
            offsets = [0]
            for s in sizes:
                offsets.append(offsets[-1] + s)
            self.shm = SharedMemory(name, create=True, size=8 * (n + 2) + offsets[-1] + 9 * n)
            self._n, self._offsets = n, offsets
            struct.pack_into("q%dq" % (n + 1), self.shm.buf, 0, n, *offsets)
            for i, (f, code, v) in enumerate(items):
                self._store(i, "%ds" % sizes[i] if f == "s" else f, code, v)
        else:
            self.shm = SharedMemory(name)
            buf = self.shm.buf
            n = struct.unpack_from("q", buf, 0)[0]
            if n < 0 or 8 * (n + 2) + 9 * n > len(buf):
                raise ValueError("mpsync: %s is not a ShareableList: %d items in %d bytes" % (name, n, len(buf)))
            self._n, self._offsets = n, list(struct.unpack_from("%dq" % (n + 1), buf, 8))

    # Where the parts of the layout start.
    def _data(self):
        return 8 * (self._n + 2)

    def _formats(self):
        return self._data() + self._offsets[-1]

    def _codes(self):
        return self._formats() + 8 * self._n

    def _index(self, i):
        if not isinstance(i, int):
            raise TypeError("mpsync: ShareableList indices must be integers, not %s" % type(i).__name__)
        j = i + self._n if i < 0 else i
        if not 0 <= j < self._n:
            raise IndexError("mpsync: ShareableList index %d out of range" % i)
        return j

    def _format(self, i):
        return struct.unpack_from("8s", self.shm.buf, self._formats() + 8 * i)[0].rstrip(b"\0").decode("ascii")

    def _store(self, i, fmt, code, value):
        buf = self.shm.buf
        struct.pack_into(fmt, buf, self._data() + self._offsets[i], value)
        struct.pack_into("8s", buf, self._formats() + 8 * i, fmt.encode("ascii"))
        struct.pack_into("b", buf, self._codes() + i, code)

    def __getitem__(self, i):
        i = self._index(i)
        buf = self.shm.buf
        value = struct.unpack_from(self._format(i), buf, self._data() + self._offsets[i])[0]
        code = struct.unpack_from("b", buf, self._codes() + i)[0]
        if code == _STR:
            return value.rstrip(b"\0").decode("utf-8")
        if code == _BYTES:
            return value.rstrip(b"\0")
        if code == _NONE:
            return None
        return value

    def __setitem__(self, i, value):
        i = self._index(i)
        fmt, code, packed = _encode(value)
        if fmt == "s":
            slot = self._offsets[i + 1] - self._offsets[i]
            if len(packed) > slot:
                raise ValueError("mpsync: ShareableList: bytes/str item exceeds available storage "
                                 "(%d bytes in a slot of %d)" % (len(packed), slot))
            fmt = "%ds" % slot
        self._store(i, fmt, code, packed)

    def __len__(self):
        return self._n

    def __reduce__(self):
        return _open_list, (type(self), self.shm.name)

    def __repr__(self):
        return "%s(%r, name=%r)" % (type(self).__name__, list(self), self.shm.name)

    @property
    def format(self):
        """The struct formats of the items, joined."""
        return "".join(self._format(i) for i in range(self._n))

    def count(self, value):
        """The number of items equal to value."""
        return sum(value == item for item in self)

    def index(self, value):
        """The position of the first item equal to value; ValueError if
        none is."""
        for i, item in enumerate(self):
            if value == item:
                return i
        raise ValueError("%r not in this container" % (value,))


def _open_list(cls, name):
    return cls(name=name)
