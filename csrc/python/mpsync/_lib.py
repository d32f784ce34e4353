"""Finding and loading libmpsync, the C functions this package calls, and
the translation of their -errno results into Python exceptions."""
import ctypes
import ctypes.util
import errno
import os
import subprocess

SONAME = "libmpsync.so.0"
MAJOR = 0

# Kinds of object (MPS_KIND_* in mpsync.h; part of the layout).
KIND_LOCK, KIND_RLOCK, KIND_SEMAPHORE, KIND_BOUNDED_SEMAPHORE = 1, 2, 3, 4
KIND_CONDITION, KIND_EVENT, KIND_BARRIER, KIND_VALUE, KIND_ARRAY = 5, 6, 7, 8, 9
KIND_QUEUE = 10


from threading import BrokenBarrierError  # noqa: E402,F401  (raised by Barrier; exported)


class OwnerDeadError(OSError):
    """The previous holder of a lock died holding it.  The lock is now
    held by the caller, who must repair the state it protects and call
    mark_consistent(); otherwise release() makes the lock unusable."""


class TypeMismatchError(OSError):
    """A name was opened as another kind of object than it is, or with
    another element type."""


class ObjectSpec(ctypes.Structure):
    """struct mps_object_spec."""
    _fields_ = [("kind", ctypes.c_uint16), ("format", ctypes.c_char_p), ("count", ctypes.c_uint64),
                ("elem_size", ctypes.c_uint64), ("elem_align", ctypes.c_uint32), ("with_lock", ctypes.c_int)]


class ArenaStats(ctypes.Structure):
    """struct mps_arena_stats."""
    _fields_ = [("size", ctypes.c_uint64), ("heap", ctypes.c_uint64), ("bump", ctypes.c_uint64),
                ("objects", ctypes.c_uint64), ("used", ctypes.c_uint64), ("names", ctypes.c_uint32),
                ("name_slots", ctypes.c_uint32), ("types", ctypes.c_uint32), ("recovered", ctypes.c_uint32)]


INIT_FUNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
# int (*)(void *arg): a condition's predicate, a barrier's action.
PRED_FUNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)

_vp, _cp, _i, _u, _i64, _u64, _sz = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_int64, ctypes.c_uint64, ctypes.c_size_t)
_vpp = ctypes.POINTER(ctypes.c_void_p)
_szp = ctypes.POINTER(ctypes.c_size_t)

# The functions of mpsync.h this package calls: name, result, arguments.
_FUNCTIONS = [
    ("mps_version", _i, []),
    ("mps_strerror", _cp, [_i]),
    ("mps_kind_name", _cp, [_i]),
    ("mps_shm_create", _i, [_cp, _sz, _u, _vpp]),
    ("mps_shm_open", _i, [_cp, _vpp]),
    ("mps_shm_name", _cp, [_vp]),
    ("mps_shm_size", _sz, [_vp]),
    ("mps_shm_data", _vp, [_vp]),
    ("mps_shm_close", _i, [_vp]),
    ("mps_shm_unlink", _i, [_cp]),
    ("mps_object_create", _i, [_cp, ctypes.POINTER(ObjectSpec), INIT_FUNC, _vp, _vpp]),
    ("mps_object_open", _i, [_cp, _i, _vpp]),
    ("mps_object_info", _vp, [_vp]),
    ("mps_object_name", _cp, [_vp]),
    ("mps_object_format", _cp, [_vp]),
    ("mps_object_count", _u64, [_vp]),
    ("mps_object_elem_size", _u64, [_vp]),
    ("mps_object_payload", _vp, [_vp]),
    ("mps_object_lock", _vp, [_vp]),
    ("mps_object_close", _i, [_vp]),
    ("mps_object_unlink", _i, [_vp]),
    ("mps_lock_acquire", _i, [_vp, _i64]),
    ("mps_lock_release", _i, [_vp]),
    ("mps_lock_consistent", _i, [_vp]),
    ("mps_lock_owner", _i, [_vp]),
    ("mps_rlock_create", _i, [_cp, _vpp]),
    ("mps_rlock_open", _i, [_cp, _vpp]),
    ("mps_rlock_acquire", _i, [_vp, _i64]),
    ("mps_rlock_release", _i, [_vp]),
    ("mps_rlock_count", _i, [_vp, ctypes.POINTER(ctypes.c_uint32)]),
    ("mps_sem_create", _i, [_cp, _u, _vpp]),
    ("mps_bsem_create", _i, [_cp, _u, _vpp]),
    ("mps_sem_open", _i, [_cp, _vpp]),
    ("mps_sem_acquire", _i, [_vp, _i64]),
    ("mps_sem_release", _i, [_vp]),
    ("mps_sem_value", _i, [_vp, ctypes.POINTER(_u)]),
    ("mps_sem_max", _i, [_vp, ctypes.POINTER(_u)]),
    ("mps_event_create", _i, [_cp, _vpp]),
    ("mps_event_open", _i, [_cp, _vpp]),
    ("mps_event_set", _i, [_vp]),
    ("mps_event_clear", _i, [_vp]),
    ("mps_event_is_set", _i, [_vp, ctypes.POINTER(_i)]),
    ("mps_event_wait", _i, [_vp, _i64]),
    ("mps_value_acquire", _i, [_vp, _i64]),
    ("mps_value_release", _i, [_vp]),
    ("mps_arena_create", _i, [_cp, _u64, ctypes.c_uint32, _vpp]),
    ("mps_arena_open", _i, [_cp, _vpp]),
    ("mps_arena_unlink", _i, [_cp]),
    ("mps_arena_object_create", _i, [_vp, _cp, ctypes.POINTER(ObjectSpec), INIT_FUNC, _vp, _vpp]),
    ("mps_arena_close", _i, [_vp]),
    ("mps_arena_name", _cp, [_vp]),
    ("mps_arena_stats", _i, [_vp, ctypes.POINTER(ArenaStats)]),
    ("mps_arena_free", _i, [_vp, _cp]),
    ("mps_cond_create", _i, [_cp, _vp, _vpp]),
    ("mps_cond_open", _i, [_cp, _vpp]),
    ("mps_cond_name", _cp, [_vp]),
    ("mps_cond_lock", _vp, [_vp]),
    ("mps_cond_acquire", _i, [_vp, _i64]),
    ("mps_cond_release", _i, [_vp]),
    ("mps_cond_wait", _i, [_vp, _i64]),
    ("mps_cond_wait_for", _i, [_vp, PRED_FUNC, _vp, _i64]),
    ("mps_cond_notify", _i, [_vp, _u]),
    ("mps_cond_notify_all", _i, [_vp]),
    ("mps_cond_close", _i, [_vp]),
    ("mps_cond_unlink", _i, [_vp]),
    ("mps_barrier_create", _i, [_cp, _u, _vpp]),
    ("mps_barrier_open", _i, [_cp, _vpp]),
    ("mps_barrier_wait", _i, [_vp, _i64, PRED_FUNC, _vp, ctypes.POINTER(_u)]),
    ("mps_barrier_abort", _i, [_vp]),
    ("mps_barrier_reset", _i, [_vp]),
    ("mps_barrier_parties", _i, [_vp, ctypes.POINTER(_u)]),
    ("mps_barrier_n_waiting", _i, [_vp, ctypes.POINTER(_u)]),
    ("mps_barrier_broken", _i, [_vp, ctypes.POINTER(_i)]),
    ("mps_queue_create", _i, [_cp, _u64, _u64, _vpp]),
    ("mps_queue_open", _i, [_cp, _vpp]),
    ("mps_queue_close", _i, [_vp]),
    ("mps_queue_name", _cp, [_vp]),
    ("mps_queue_capacity", _u64, [_vp]),
    ("mps_queue_max_msg", _u64, [_vp]),
    ("mps_queue_len", _u64, [_vp]),
    ("mps_queue_put", _i, [_vp, _vp, _sz, _i64]),
    ("mps_queue_get", _i, [_vp, _vp, _sz, _szp, _i64]),
    ("mps_queue_close_write", _i, [_vp]),
    ("mps_queue_write_closed", _i, [_vp]),
    ("mps_queue_task_done", _i, [_vp]),
    ("mps_queue_join", _i, [_vp, _i64]),
    ("mps_queue_lost", _i, [_vp, ctypes.POINTER(_u64)]),
]


def _candidates():
    """Where libmpsync may be, in order: the loader's own search (the
    soname: ld.so.cache, LD_LIBRARY_PATH), ctypes.util.find_library, and
    the libdir of the mpsync.pc that pkg-config finds (PKG_CONFIG_PATH, as
    for the C recipe)."""
    yield SONAME
    found = ctypes.util.find_library("mpsync")
    if found:
        yield found
    try:
        libdir = subprocess.run(["pkg-config", "--variable=libdir", "mpsync"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        libdir = ""
    if libdir:
        yield os.path.join(libdir, SONAME)


def _load():
    path = os.environ.get("MPSYNC_LIB")
    if path:
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            raise ImportError("mpsync: cannot load libmpsync from MPSYNC_LIB=%s: %s" % (path, e)) from None
    else:
        lib, tried = None, []
        for cand in _candidates():
            try:
                lib = ctypes.CDLL(cand)
                break
            except OSError as e:
                tried.append(str(e))
        if lib is None:
            raise ImportError(
                "mpsync: libmpsync not found: MPSYNC_LIB is not set (the path of %s), and no installed "
                "libmpsync was found (the loader, ctypes.util.find_library(\"mpsync\"), pkg-config). "
                "Install it with `make -C csrc install PREFIX=...`, then set MPSYNC_LIB or "
                "PKG_CONFIG_PATH. Tried: %s" % (SONAME, "; ".join(tried)))
    for name, res, args in _FUNCTIONS:
        try:
            f = getattr(lib, name)
        except AttributeError:
            raise ImportError("mpsync: %s has no %s: it is too old for this package" % (lib._name, name)) from None
        f.restype, f.argtypes = res, args
    if lib.mps_version() // 1000 != MAJOR:
        raise ImportError("mpsync: %s is version %d.%d; this package needs %d.x"
                          % (lib._name, lib.mps_version() // 1000, lib.mps_version() % 1000, MAJOR))
    return lib


lib = _load()


def error(rc, what, name=None):
    """The exception for the result rc (-errno) of the call what: an
    OSError whose subclass follows the errno (FileNotFoundError,
    FileExistsError, PermissionError, TimeoutError, ...), OwnerDeadError,
    or TypeMismatchError for an object of another kind."""
    code = -rc
    msg = "mpsync: %s: %s" % (what, lib.mps_strerror(rc).decode())
    if code == errno.EOWNERDEAD:
        return OwnerDeadError(code, msg, name)
    if code == errno.EMEDIUMTYPE:
        return TypeMismatchError(code, msg, name)
    return OSError(code, msg, name) if name is not None else OSError(code, msg)


def check(rc, what, name=None):
    """Raise error(rc, what, name) if rc < 0; return rc otherwise."""
    if rc < 0:
        raise error(rc, what, name)
    return rc


def encode_name(name):
    """A name as bytes for C; None stays None (a random name)."""
    if name is None:
        return None
    if not isinstance(name, str):
        raise TypeError("mpsync: a name must be a str, not %s" % type(name).__name__)
    return name.encode()
