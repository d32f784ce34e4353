/* file.c - opening, sizing and mapping files: the calls every other file
 * of the library uses on /dev/shm, with none of its own (a leaf, so that
 * shm.c, registry.c and proc.c need not call one another for them). */
#ifndef MPS_USE_SYSTEM_LIB
#define _GNU_SOURCE /* fallocate */

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "mpsync_impl.h"

/* Sizes above this are checked with mps__check_room before mps__allocate
 * takes the room: fallocate would take all the room there is before
 * failing and giving it back, and other processes could fail meanwhile. */
#define MPS_CHECK_ROOM_ABOVE ((size_t)1 << 20)

/* A signal makes tmpfs give back what an interrupted fallocate allocated;
 * allocating in chunks, a retry repeats at most one. */
#define MPS_ALLOCATE_CHUNK ((size_t)64 << 20)

MPS_HIDDEN int mps__open_retry(const char *path, int flags, mode_t mode)
{
    for (;;) {
        int fd = open(path, flags, mode);
        if (fd >= 0 || errno != EINTR)
            return fd < 0 ? -errno : fd;
    }
}

/* mps__check_room refuses sizes the file system cannot hold, so that touching
 * the mapping later cannot fault with SIGBUS for want of space (best
 * effort: another process may take the room in between). */
MPS_HIDDEN int mps__check_room(int fd, size_t size)
{
    struct statfs st;
    if (fstatfs(fd, &st) != 0)
        return -errno;
    if (st.f_blocks == 0) /* a tmpfs without a size limit */
        return 0;
    unsigned long long room = (unsigned long long)st.f_bavail * (unsigned long long)st.f_bsize;
    return size > room ? -ENOSPC : 0;
}

MPS_HIDDEN int mps__reserve(int fd, size_t off, size_t len)
{
    while (fallocate(fd, 0, (off_t)off, (off_t)len) != 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

MPS_HIDDEN int mps__allocate(int fd, size_t size)
{
    if (size > MPS_CHECK_ROOM_ABOVE) {
        int err = mps__check_room(fd, size);
        if (err != 0)
            return err;
    }
    for (size_t off = 0; off < size;) {
        size_t n = size - off < MPS_ALLOCATE_CHUNK ? size - off : MPS_ALLOCATE_CHUNK;
        int err = mps__reserve(fd, off, n);
        if (err != 0)
            return err;
        off += n;
    }
    return 0;
}

MPS_HIDDEN int mps__map_fd(int fd, size_t size, void **data)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    *data = p;
    return 0;
}

#endif /* MPS_USE_SYSTEM_LIB */
