"""Typed values and arrays in shared memory, shaped like
multiprocessing.sharedctypes, on mpsync Value and Array objects that Go
(ctypes.Value, ctypes.Array) and C (mps_object_*) open by the same names.

Each object records its element format (a typecode such as "i", or a
struct format such as "T{d:X:d:Y:}"), so an object opened by name needs
no type; one created here takes a typecode or a ctypes type, as in
multiprocessing."""
import ctypes

from . import _lib
from ._lib import lib
from ._object import Handle
from .arena import in_arena
from .synchronize import _ObjectLock

__all__ = ["RawValue", "RawArray", "Value", "Array", "SharedValue", "SharedArray",
           "SynchronizedValue", "SynchronizedArray", "parse_format", "format_of"]

_TYPECODES = {
    "c": ctypes.c_char, "u": ctypes.c_wchar, "b": ctypes.c_byte, "B": ctypes.c_ubyte,
    "h": ctypes.c_short, "H": ctypes.c_ushort, "i": ctypes.c_int, "I": ctypes.c_uint,
    "l": ctypes.c_long, "L": ctypes.c_ulong, "q": ctypes.c_longlong, "Q": ctypes.c_ulonglong,
    "f": ctypes.c_float, "d": ctypes.c_double, "?": ctypes.c_bool,
}


def parse_format(fmt):
    """Turn an mpsync element format into a ctypes type: a typecode, or a
    struct format such as "T{d:x:d:y:}" (fields may be "(3)i" arrays or
    nested T{...})."""
    t, rest = _parse(fmt)
    if rest:
        raise ValueError("mpsync: trailing characters in format %r" % fmt)
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
                raise ValueError("mpsync: a struct field without a name")
            name, _, s = s[1:].partition(":")
            fields.append((name, t))
        cls = type("MpsyncStruct", (ctypes.Structure,), {"_fields_": fields})
        return cls, s[1:]
    if s[:1] in _TYPECODES:
        return _TYPECODES[s[0]], s[1:]
    raise ValueError("mpsync: unknown format %r" % s)


def format_of(t):
    """The mpsync element format of a ctypes type: a typecode for the
    simple types, "(n)..." for arrays, "T{...}" for Structures."""
    if isinstance(t, type) and issubclass(t, ctypes.Structure):
        return "T{%s}" % "".join("%s:%s:" % (format_of(f[1]), f[0]) for f in t._fields_)
    if isinstance(t, type) and issubclass(t, ctypes.Array):
        return "(%d)%s" % (t._length_, format_of(t._type_))
    code = getattr(t, "_type_", None)
    if isinstance(code, str) and _TYPECODES.get(code) is not None and ctypes.sizeof(_TYPECODES[code]) == ctypes.sizeof(t):
        return code
    raise TypeError("mpsync: %r has no mpsync format (numbers, c_char, c_wchar, c_bool, arrays and "
                    "Structures of them)" % (t,))


def _element(typecode_or_type):
    """The ctypes type and format of a typecode, struct format or ctypes
    type."""
    if isinstance(typecode_or_type, str):
        return parse_format(typecode_or_type), typecode_or_type
    return typecode_or_type, format_of(typecode_or_type)


class _Shared(Handle):
    """The typed payload of a Value or Array object."""

    def _make(self, name, t, fmt, count, with_lock, fill, arena=None):
        spec = _lib.ObjectSpec(kind=self._kind, format=fmt.encode(), count=count, elem_size=ctypes.sizeof(t),
                               elem_align=ctypes.alignment(t), with_lock=1 if with_lock else 0)
        self._create(name, spec, None if fill is None else lambda payload: fill(self._view(t, count, payload)),
                     arena)
        self._setup(t, fmt, count)

    def _load(self, name):
        self._open(name)
        fmt = lib.mps_object_format(self._obj).decode()
        try:
            t = parse_format(fmt)
        except ValueError as e:
            self.close()
            raise _lib.TypeMismatchError(0, "mpsync: open %s: %s" % (name, e), name) from None
        if ctypes.sizeof(t) != lib.mps_object_elem_size(self._obj):
            size = lib.mps_object_elem_size(self._obj)
            self.close()
            raise _lib.TypeMismatchError(0, "mpsync: open %s: format %r is %d bytes in Python, %d in the object"
                                         % (name, fmt, ctypes.sizeof(t), size), name)
        self._setup(t, fmt, lib.mps_object_count(self._obj))

    def _setup(self, t, fmt, count):
        self._type, self.format, self._count = t, fmt, count
        self._data = self._view(t, count, lib.mps_object_payload(self._obj))

    def _coerce(self, x):
        """A struct element from a tuple of its fields, or from a ctypes
        Structure of another class with the same format (an opened
        object's element type is a class made from its format)."""
        if isinstance(x, tuple):
            return self._type(*x)
        if isinstance(x, ctypes.Structure) and not isinstance(x, self._type):
            if format_of(type(x)) != self.format:
                raise TypeError("mpsync: %s holds %s, not %s" % (self.name, self.format, format_of(type(x))))
            return self._type.from_buffer_copy(x)
        return x

    def _has_lock(self):
        return bool(lib.mps_object_lock(self._obj))

    def _live(self):
        self._handle()
        return self._data

    def _closing(self):
        self._data = None


class SharedValue(_Shared):
    """A Value without a lock (RawValue): .value reads and writes it.
    Struct values are read as ctypes views into the shared memory, valid
    until close()."""

    _kind = _lib.KIND_VALUE

    @staticmethod
    def _view(t, count, payload):
        return t.from_address(payload)

    @property
    def value(self):
        v = self._live()
        return v.value if hasattr(v, "value") else v

    @value.setter
    def value(self, x):
        v = self._live()
        if hasattr(v, "value"):
            v.value = x
        else:
            x = self._coerce(x)
            ctypes.memmove(ctypes.addressof(v), ctypes.addressof(x), ctypes.sizeof(self._type))

    @classmethod
    def _reopen(cls, name):
        return RawValue(name=name)


class SharedArray(_Shared):
    """An Array without a lock (RawArray): len(), indexing and slicing, and
    .value and .raw for 'c' arrays as in multiprocessing.  Struct elements
    are ctypes views into the shared memory, valid until close()."""

    _kind = _lib.KIND_ARRAY

    @staticmethod
    def _view(t, count, payload):
        return (t * count).from_address(payload)

    def __len__(self):
        self._live()
        return self._count

    def __getitem__(self, i):
        return self._live()[i]

    def __setitem__(self, i, x):
        data = self._live()
        if issubclass(self._type, ctypes.Structure):
            x = [self._coerce(e) for e in x] if isinstance(i, slice) else self._coerce(x)
        data[i] = x

    @property
    def value(self):
        return self._live().value

    @value.setter
    def value(self, x):
        self._live().value = x

    @property
    def raw(self):
        return self._live().raw

    @raw.setter
    def raw(self, x):
        self._live().raw = x

    @classmethod
    def _reopen(cls, name):
        return RawArray(name=name)


class _Synchronized:
    """What multiprocessing's Synchronized wrappers add: get_lock(),
    get_obj(), acquire/release and the context manager, and access under
    the lock."""

    def _use_lock(self, lock):
        self._lock = _ObjectLock._embedded(self, "lock of " + self.name) if lock is None else lock

    def get_lock(self):
        """The lock: the object's own (its lock area, shared with Go's
        Lock()/Unlock() and C's mps_object_lock), or the Lock given."""
        self._handle()
        return self._lock

    def get_obj(self):
        """The ctypes object in shared memory (valid until close())."""
        return self._live()

    def acquire(self, *args, **kwargs):
        return self.get_lock().acquire(*args, **kwargs)

    def release(self):
        return self.get_lock().release()

    def __enter__(self):
        return self.get_lock().__enter__()

    def __exit__(self, *exc):
        return self.get_lock().__exit__(*exc)

    def __reduce__(self):
        if self._lock._owner is None:
            raise TypeError("mpsync: %s uses a lock of its own: pickle the object (RawValue/RawArray) and the "
                            "lock, and join them with lock=" % self.name)
        return type(self)._reopen, (self.name,)


class SynchronizedValue(_Synchronized, SharedValue):
    """A Value with a lock: .value reads and writes under it."""

    @property
    def value(self):
        with self.get_lock():
            return SharedValue.value.fget(self)

    @value.setter
    def value(self, x):
        with self.get_lock():
            SharedValue.value.fset(self, x)

    @classmethod
    def _reopen(cls, name):
        return Value(name=name)


class SynchronizedArray(_Synchronized, SharedArray):
    """An Array with a lock: items, slices, .value and .raw are read and
    written under it."""

    def __getitem__(self, i):
        with self.get_lock():
            return SharedArray.__getitem__(self, i)

    def __setitem__(self, i, x):
        with self.get_lock():
            SharedArray.__setitem__(self, i, x)

    @property
    def value(self):
        with self.get_lock():
            return SharedArray.value.fget(self)

    @value.setter
    def value(self, x):
        with self.get_lock():
            SharedArray.value.fset(self, x)

    @property
    def raw(self):
        with self.get_lock():
            return SharedArray.raw.fget(self)

    @raw.setter
    def raw(self, x):
        with self.get_lock():
            SharedArray.raw.fset(self, x)

    @classmethod
    def _reopen(cls, name):
        return Array(name=name)


def _check_lock(lock):
    if lock in (None, True):
        return None
    if not hasattr(lock, "acquire"):
        raise AttributeError("%r has no method 'acquire'" % (lock,))
    return lock


def RawValue(typecode_or_type=None, *args, name=None, arena=None):
    """A new Value without a lock, initialised from args as the ctypes
    type would be, under name (None: random); or, without a type, the
    existing Value called name, its lock (if any) unused.  arena (an
    mpsync.Arena): make it in the arena (name None: anonymous, its name a
    handle), or open name there."""
    if typecode_or_type is None:
        v = SharedValue.__new__(SharedValue)
        v._load(in_arena(arena, _required(name, "RawValue")))
        return v
    t, fmt = _element(typecode_or_type)
    v = SharedValue.__new__(SharedValue)
    v._make(name, t, fmt, 1, False, _value_fill(t, args), arena)
    return v


def Value(typecode_or_type=None, *args, lock=True, name=None, arena=None):
    """A new Value, as multiprocessing.Value: with a lock of its own
    (lock=True or None), the Lock given, or none (lock=False: a
    SharedValue, as RawValue).  Without a type, the existing Value called
    name: synchronized by its own lock if it has one (or by lock).  arena
    as for RawValue."""
    if typecode_or_type is None:
        v = RawValue(name=_required(name, "Value"), arena=arena)
        if lock is False or (lock in (None, True) and not v._has_lock()):
            return v
        v.__class__ = SynchronizedValue
        v._use_lock(_check_lock(lock))
        return v
    if lock is False:
        return RawValue(typecode_or_type, *args, name=name, arena=arena)
    lock = _check_lock(lock)
    t, fmt = _element(typecode_or_type)
    v = SynchronizedValue.__new__(SynchronizedValue)
    v._make(name, t, fmt, 1, lock is None, _value_fill(t, args), arena)
    v._use_lock(lock)
    return v


def RawArray(typecode_or_type=None, size_or_initializer=None, *, name=None, arena=None):
    """A new Array without a lock: size_or_initializer is a length (zeros)
    or a sequence to copy; or, without a type, the existing Array called
    name, its lock (if any) unused.  arena as for RawValue."""
    if typecode_or_type is None:
        a = SharedArray.__new__(SharedArray)
        a._load(in_arena(arena, _required(name, "RawArray")))
        return a
    a = SharedArray.__new__(SharedArray)
    a._make(name, *_array_spec(typecode_or_type, size_or_initializer), False,
            _array_fill(size_or_initializer), arena)
    return a


def Array(typecode_or_type=None, size_or_initializer=None, *, lock=True, name=None, arena=None):
    """A new Array, as multiprocessing.Array (see Value for lock); or,
    without a type, the existing Array called name.  arena as for
    RawValue."""
    if typecode_or_type is None:
        a = RawArray(name=_required(name, "Array"), arena=arena)
        if lock is False or (lock in (None, True) and not a._has_lock()):
            return a
        a.__class__ = SynchronizedArray
        a._use_lock(_check_lock(lock))
        return a
    if lock is False:
        return RawArray(typecode_or_type, size_or_initializer, name=name, arena=arena)
    lock = _check_lock(lock)
    a = SynchronizedArray.__new__(SynchronizedArray)
    a._make(name, *_array_spec(typecode_or_type, size_or_initializer), lock is None,
            _array_fill(size_or_initializer), arena)
    a._use_lock(lock)
    return a


def _required(name, what):
    if name is None:
        raise TypeError("mpsync: %s needs a typecode or type to create one, or name= to open one" % what)
    return name


def _value_fill(t, args):
    if not args:
        return None

    def fill(view):
        ctypes.memmove(ctypes.addressof(view), ctypes.addressof(t(*args)), ctypes.sizeof(t))
    return fill


def _array_spec(typecode_or_type, size_or_initializer):
    t, fmt = _element(typecode_or_type)
    if isinstance(size_or_initializer, int):
        if size_or_initializer < 0:
            raise ValueError("mpsync: Array: negative size %d" % size_or_initializer)
        return t, fmt, size_or_initializer
    if size_or_initializer is None:
        raise TypeError("mpsync: Array needs a size or an initializer")
    return t, fmt, len(size_or_initializer)


def _array_fill(size_or_initializer):
    if isinstance(size_or_initializer, int):
        return None

    def fill(view):
        view[:] = size_or_initializer
    return fill
