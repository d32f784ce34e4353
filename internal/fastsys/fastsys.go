// Package fastsys makes the short system calls of mpsync's create and open
// paths without the Go scheduler's hand-off.
//
// An ordinary syscall (unix.Open, unix.Fstat, ...) tells the scheduler it
// may block, so that another thread can run Go code meanwhile. That
// hand-off cost about 280 ns per call on our reference machine, a fifth
// of the call itself, and it left mpsync's segment create and attach paths
// 20–30% behind the same calls from C. The calls here are raw instead,
// through this package's own system call stub (raw): no hand-off, the
// cost C pays.
//
// That is only right for calls that cannot block for long. On tmpfs (which
// /dev/shm is) open, fstat, ftruncate, mmap and close of a mapped file
// never wait for I/O; but allocating a file's pages (fallocate), unmapping
// it or dropping its last reference zeroes or frees them, which for a
// large segment takes milliseconds. So those calls take the size into
// account: Small(size) ones are raw, anything larger, or of unknown size,
// takes the ordinary path.
//
// The resource tracker makes its periodic look at /dev/shm through this
// package too, for another reason: an ordinary system call wakes the Go
// runtime's monitor thread (sysmon) from its sleep, and it then looks
// every 20 µs until the process is idle again, about fifty context
// switches after each look of an otherwise idle tracker.
package fastsys

import (
	"bytes"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	_ "github.com/mpsync/mpsync/internal/platform" // Linux and cgo only
)

// smallLimit is the largest segment whose pages may be freed by a raw
// call: 256 pages, a few microseconds of work.
const smallLimit = 1 << 20

// Small reports whether freeing a segment of size bytes is quick enough
// for a raw call.
func Small(size int) bool { return size > 0 && size <= smallLimit }

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

const atFdcwd = ^uintptr(99) // AT_FDCWD (-100) as a uintptr

// cPath is a NUL-terminated path, such as /dev/shm/ and a name, put
// together on the caller's stack: no string concatenation, no heap.
type cPath [64 + 4 + 256]byte

// set puts dir and name together in c; paths that do not fit, or hold a
// NUL, are EINVAL (mpsync's names are checked long before this).
func (c *cPath) set(dir, name string) error {
	if len(dir)+len(name) >= len(c) {
		return unix.EINVAL
	}
	n := copy(c[:], dir)
	n += copy(c[n:], name)
	c[n] = 0
	for _, b := range c[:n] {
		if b == 0 {
			return unix.EINVAL
		}
	}
	return nil
}

// Open is openat(AT_FDCWD, dir+name, flags, mode), retried on EINTR.
func Open(dir, name string, flags int, mode uint32) (int, error) {
	var p cPath
	if err := p.set(dir, name); err != nil {
		return -1, err
	}
	for {
		fd, e := raw(unix.SYS_OPENAT, atFdcwd, uintptr(unsafe.Pointer(&p[0])), uintptr(flags|unix.O_LARGEFILE), uintptr(mode), 0, 0)
		if e != unix.EINTR {
			return int(fd), errnoErr(e)
		}
	}
}

// Link gives the file fd, made with O_TMPFILE, the path dir+name, failing
// with EEXIST if it is taken. linkat(AT_EMPTY_PATH) does it in one step
// where the kernel allows it (CAP_DAC_READ_SEARCH); otherwise the file is
// named through /proc/self/fd/N, which linkat follows without privileges.
func Link(fd int, dir, name string) error {
	var p cPath
	if err := p.set(dir, name); err != nil {
		return err
	}
	var empty [1]byte
	_, e := raw(unix.SYS_LINKAT, uintptr(fd), uintptr(unsafe.Pointer(&empty[0])), atFdcwd, uintptr(unsafe.Pointer(&p[0])), unix.AT_EMPTY_PATH, 0)
	if e != unix.ENOENT && e != unix.EPERM {
		return errnoErr(e)
	}
	return unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, dir+name, unix.AT_SYMLINK_FOLLOW)
}

// Fstat is fstat(2).
func Fstat(fd int, st *unix.Stat_t) error {
	_, e := raw(unix.SYS_FSTAT, uintptr(fd), uintptr(unsafe.Pointer(st)), 0, 0, 0, 0)
	return errnoErr(e)
}

// Stat is stat(2) of dir+name without following a final symbolic link
// (lstat).
func Stat(dir, name string, st *unix.Stat_t) error {
	var p cPath
	if err := p.set(dir, name); err != nil {
		return err
	}
	_, e := raw(unix.SYS_NEWFSTATAT, atFdcwd, uintptr(unsafe.Pointer(&p[0])), uintptr(unsafe.Pointer(st)), unix.AT_SYMLINK_NOFOLLOW, 0, 0)
	return errnoErr(e)
}

// Fstatfs is fstatfs(2).
func Fstatfs(fd int, st *unix.Statfs_t) error {
	_, e := raw(unix.SYS_FSTATFS, uintptr(fd), uintptr(unsafe.Pointer(st)), 0, 0, 0, 0)
	return errnoErr(e)
}

// Ftruncate is ftruncate(2) to grow a new, empty file: it allocates
// nothing on tmpfs.
func Ftruncate(fd int, size int64) error {
	_, e := raw(unix.SYS_FTRUNCATE, uintptr(fd), uintptr(size), 0, 0, 0, 0)
	return errnoErr(e)
}

// fallocateChunk is how much of a large file Fallocate allocates per
// call: a signal makes tmpfs give back what the interrupted call had
// allocated, so a retry repeats at most one chunk.
const fallocateChunk = 64 << 20

// Fallocate allocates the first size bytes of the new, empty file fd
// (fallocate(2) with mode 0, which also sets the file's size to size): on
// tmpfs the pages are taken from the file system's room now, so that
// writing to them later cannot fault with SIGBUS for want of it. EINTR is
// retried. A Small size is one raw call, which allocates all of it or,
// failing with ENOSPC, none; a larger one goes through the ordinary path
// in chunks, and on failure the file may hold part of it: the caller
// discards the file, which frees that part.
func Fallocate(fd, size int) error {
	if Small(size) {
		for {
			_, e := raw(unix.SYS_FALLOCATE, uintptr(fd), 0, 0, uintptr(size), 0, 0)
			if e != unix.EINTR {
				return errnoErr(e)
			}
		}
	}
	for off := 0; off < size; {
		n := min(size-off, fallocateChunk)
		if err := unix.Fallocate(fd, 0, int64(off), int64(n)); err == unix.EINTR {
			continue
		} else if err != nil {
			return err
		}
		off += n
	}
	return nil
}

// MapShared maps size bytes of fd read-write and shared.
func MapShared(fd, size int) (unsafe.Pointer, error) {
	addr, e := raw(unix.SYS_MMAP, 0, uintptr(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED, uintptr(fd), 0)
	if e != 0 {
		return nil, e
	}
	// The mapping is not Go memory, so holding its address as a pointer
	// is safe; the indirection keeps vet's uintptr rule out of it.
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr)), nil
}

// Munmap unmaps size bytes at addr; small says whether it is Small.
func Munmap(addr unsafe.Pointer, size int, small bool) error {
	if !small {
		return unix.MunmapPtr(addr, uintptr(size))
	}
	_, e := raw(unix.SYS_MUNMAP, uintptr(addr), uintptr(size), 0, 0, 0, 0)
	return errnoErr(e)
}

// Close is close(2); small says whether the file, if this is its last
// reference, is Small.
func Close(fd int, small bool) error {
	if !small {
		return unix.Close(fd)
	}
	_, e := raw(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0, 0, 0)
	return errnoErr(e)
}

// Unlink is unlink(2) of dir+name; small says whether the file, if no one
// maps it, is Small.
func Unlink(dir, name string, small bool) error {
	if !small {
		return unix.Unlink(dir + name)
	}
	var p cPath
	if err := p.set(dir, name); err != nil {
		return err
	}
	_, e := raw(unix.SYS_UNLINKAT, atFdcwd, uintptr(unsafe.Pointer(&p[0])), 0, 0, 0, 0)
	return errnoErr(e)
}

// Pread is pread(2) into p at offset off.
func Pread(fd int, p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, e := raw(unix.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(off), 0, 0)
		if e != unix.EINTR {
			if e != 0 {
				return 0, e
			}
			return int(n), nil
		}
	}
}

// Fcntl is fcntl(2) with a pointer argument, such as F_OFD_GETLK's.
func Fcntl(fd, cmd int, arg unsafe.Pointer) error {
	_, e := raw(unix.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg), 0, 0, 0)
	return errnoErr(e)
}

// ReadDirNames returns the names in directory dir (a /dev/shm path), but
// "." and "..", in the order the kernel gives them.
func ReadDirNames(dir string) ([]string, error) {
	fd, err := Open(dir, "", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer Close(fd, true)
	var names []string
	var buf [8192]byte
	for {
		n, e := raw(unix.SYS_GETDENTS64, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return names, e
		}
		if n == 0 {
			return names, nil
		}
		// struct linux_dirent64: ino u64, off s64, reclen u16, type u8,
		// then the NUL-terminated name.
		for off := 0; off < int(n); {
			reclen := int(*(*uint16)(unsafe.Pointer(&buf[off+16])))
			if reclen == 0 || off+reclen > int(n) {
				return names, unix.EIO
			}
			name := buf[off+19 : off+reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if s := string(name); s != "." && s != ".." {
				names = append(names, s)
			}
			off += reclen
		}
	}
}
