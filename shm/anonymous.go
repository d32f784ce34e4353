package shm

import (
	"io/fs"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/mpsync/mpsync/internal/errs"
)

// NewAnonymous creates a segment of size bytes that has no name: a memfd,
// gone when the last process that maps it or holds its descriptor lets go.
// Nothing can leak in /dev/shm. Hand it to a child process with File and
// exec.Cmd.ExtraFiles; the child maps it with FromFile.
func NewAnonymous(size int) (*Segment, error) {
	const op = "shm.NewAnonymous"
	if size <= 0 {
		return nil, errs.Invalid(op, "size", "%d: must be positive", size)
	}
	fd, err := unix.MemfdCreate("mpsync", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, &fs.PathError{Op: "memfd_create", Path: "mpsync", Err: err}
	}
	addr, err := sizeAndMap(fd, size, false)
	if err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: op, Path: "anonymous segment", Err: err}
	}
	return newSegment("", size, addr, fd), nil
}

// FromFile maps the segment behind f, typically a descriptor a parent
// passed through exec.Cmd.ExtraFiles (os.NewFile(3, "segment") in the
// child). The segment has no name, whatever f is; it keeps its own
// duplicate of the descriptor, so the caller may close f at once.
func FromFile(f *os.File) (*Segment, error) {
	const op = "shm.FromFile"
	if f == nil {
		return nil, errs.Invalid(op, "f", "nil file")
	}
	raw, err := f.SyscallConn()
	if err != nil {
		return nil, &fs.PathError{Op: "dup", Path: f.Name(), Err: err}
	}
	fd := -1
	var dupErr error
	if err := raw.Control(func(sysfd uintptr) {
		fd, dupErr = unix.FcntlInt(sysfd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		dupErr = err
	}
	runtime.KeepAlive(f)
	if dupErr != nil {
		return nil, &fs.PathError{Op: "dup", Path: f.Name(), Err: dupErr}
	}
	size, addr, _, err := statAndMap(op, fd)
	if err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "map", Path: f.Name(), Err: err}
	}
	return newSegment("", size, addr, fd), nil
}
