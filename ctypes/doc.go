// Package ctypes puts typed values and arrays in shared memory, the
// counterpart of Python's multiprocessing.Value, Array, RawValue and
// RawArray (multiprocessing.sharedctypes): created in one process, opened
// by name in others — Go, C through libmpsync, or Python through
// the mpsync package in csrc/python.
//
// Import path: github.com/mpsync/mpsync/ctypes.
//
// # Basics
//
//	v, err := ctypes.NewValue[int32](0)   // synchronized, like Value('i', 0)
//	defer v.Unlink()
//	defer v.Close()
//	v.Lock()
//	v.Set(v.Get() + 1)                    // Get and Set never deadlock inside Lock
//	v.Unlock()
//	n, _ := v.Add(1)                      // lock-free
//
//	w, err := ctypes.OpenValue[int32](v.Name()) // in another process
//
// Types: Go numbers (not int, uint or uintptr, whose size varies), bool,
// Char ('c') and WChar ('u'), fixed-size arrays of them, and structs of
// them whose Go layout is the C layout (structs.HostLayout is
// recommended). Each object records its element format in its header —
// a typecode such as "i" or a struct format such as "T{d:x:d:y:}" (PEP
// 3118, native alignment) — and opening it as another type is
// [ErrTypeMismatch], naming both formats. ValueOf and ArrayOf take
// typecodes, as Python does.
//
// Many small values belong in an arena (shm.NewArena), one segment for
// all of them: ctypes.NewValue[int64](0, ctypes.In(a)) takes 48 bytes of
// it instead of a file and a mapping, and the Open functions take
// "arena/name" or the handle an anonymous object's Name returns.
//
// # Typecodes
//
//	c Char     u WChar    b int8     B uint8    h int16    H uint16
//	i int32    I uint32   l int64    L uint64   q int64    Q uint64
//	f float32  d float64  ? bool
//
// # Caveats
//
//   - Objects are tracked: once every process that created or opened one
//     is gone, the resource tracker unlinks it (Untracked opts out).
//   - Get and Set are atomic for elements of 1, 2, 4 and 8 bytes; larger
//     ones take the object's lock (a raw object's are not synchronized).
//     Like Lock, they cannot report a holder that died: they take its lock
//     over and mark it consistent. Acquire reports it (see Value).
//   - Slice is a view with no locking, valid until Close.
//   - A caller's lock (WithLock) belongs to the handle: every process
//     passes its own handle of the same lock.
package ctypes
