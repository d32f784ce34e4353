"""The handle every named mpsync object shares: create or open by name,
close, unlink, pickle as its name."""
import ctypes
import errno

from . import _lib
from ._lib import lib
from .arena import free_in_arena, in_arena


class Handle:
    """An open mpsync object (a segment starting with mpsync's object
    header).  Subclasses set _kind and call _create or _open."""

    _kind = 0
    _obj = None

    def _create(self, name, spec, init=None, arena=None):
        """Create an object laid out as spec (an _lib.ObjectSpec) says,
        named name (None: a random one; in an arena, anonymous);
        init(payload_address), if given, fills the payload before the name
        appears.  arena: an mpsync.Arena to make it in."""
        failure = []

        def run(obj, _arg):
            try:
                init(lib.mps_object_payload(obj))
                return 0
            except BaseException as e:  # reported after the C call returns
                failure.append(e)
                return -errno.ECANCELED

        callback = _lib.INIT_FUNC(run) if init is not None else _lib.INIT_FUNC()
        obj = ctypes.c_void_p()
        if arena is None:
            rc = lib.mps_object_create(_lib.encode_name(name), ctypes.byref(spec), callback, None, ctypes.byref(obj))
        else:
            rc = lib.mps_arena_object_create(arena._handle(), _lib.encode_name(name), ctypes.byref(spec), callback,
                                             None, ctypes.byref(obj))
        if failure:
            raise failure[0]
        what = "create %s" % lib.mps_kind_name(spec.kind).decode()
        _lib.check(rc, what if name is None else what + " " + name, name)
        self._attach(obj)

    def _make(self, name, create, *args, arena=None):
        """Create the object with its C constructor, create(name, *args,
        &out); in arena (an mpsync.Arena) if not None, anonymous if name
        is None."""
        name = in_arena(arena, name)
        obj = ctypes.c_void_p()
        what = "create %s" % lib.mps_kind_name(self._kind).decode()
        _lib.check(create(_lib.encode_name(name), *args, ctypes.byref(obj)),
                   what if name is None else what + " " + name, name)
        self._attach(obj)

    def _open(self, name, kind=None, opener=None):
        """Open the object called name, refusing another kind: with
        mps_object_open, or opener(name, &out)."""
        kind = self._kind if kind is None else kind
        obj = ctypes.c_void_p()
        if opener is None:
            rc = lib.mps_object_open(_lib.encode_name(name), kind, ctypes.byref(obj))
        else:
            rc = opener(_lib.encode_name(name), ctypes.byref(obj))
        if rc == -errno.EMEDIUMTYPE:
            other = ctypes.c_void_p()
            actual = "another kind"
            if lib.mps_object_open(_lib.encode_name(name), 0, ctypes.byref(other)) == 0:
                actual = "a %s" % self._kind_of(other)
                lib.mps_object_close(other)
            raise _lib.TypeMismatchError(errno.EMEDIUMTYPE, "mpsync: open %s as a %s: it is %s"
                                         % (name, lib.mps_kind_name(kind).decode(), actual), name)
        _lib.check(rc, "open %s" % name, name)
        self._attach(obj)

    @staticmethod
    def _kind_of(obj):
        """The kind name of an open object (struct mps_object_info starts
        with its kind, a uint16)."""
        kind = ctypes.c_uint16.from_address(lib.mps_object_info(obj)).value
        return lib.mps_kind_name(kind).decode()

    def _attach(self, obj):
        self._obj = obj
        self._name = lib.mps_object_name(obj).decode()

    @property
    def name(self):
        """The object's name, without a leading slash: open it elsewhere
        (Go, C or Python) by this name."""
        return self._name

    def _handle(self):
        """The C handle, or ValueError once closed."""
        if self._obj is None:
            raise ValueError("mpsync: %s is closed" % self._name)
        return self._obj

    def _closing(self):
        """Called by close() before the object is unmapped."""

    def close(self):
        """Unmap the object in this process (idempotent).  Afterwards every
        method raises ValueError.  The object itself stays until it is
        unlinked, or until the resource tracker removes it once no process
        uses it."""
        if self._obj is not None:
            self._closing()
            lib.mps_object_close(self._obj)
            self._obj = None

    def unlink(self):
        """Remove the object's name, once, in one process; handles open
        anywhere stay valid until closed.  FileNotFoundError if the name is
        gone already.

        An object in an arena is freed instead, as Go's Unlink frees one:
        its name goes and its memory is reused by the next object made in
        the arena (by any process), so every handle to it, here or
        elsewhere, must be closed and not used again.  A handle still open
        frees exactly its object; a closed one frees whatever now has its
        name (an anonymous object's name is its handle, so exactly it)."""
        if "/" not in self._name:
            rc = lib.mps_shm_unlink(self._name.encode())
        elif self._obj is not None:
            rc = lib.mps_object_unlink(self._obj)
        else:
            rc = free_in_arena(self._name)
        _lib.check(rc, "unlink %s" % self._name, self._name)

    def __reduce__(self):
        # Pickled as its name: the receiving process opens it.
        return type(self)._reopen, (self._name,)

    @classmethod
    def _reopen(cls, name):
        return cls(name=name)

    def __repr__(self):
        return "<mpsync.%s %r%s>" % (type(self).__name__, self._name, " closed" if self._obj is None else "")
