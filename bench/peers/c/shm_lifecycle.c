/* shm_lifecycle.c - W6 for raw C on glibc: shm_open/ftruncate/mmap/munmap/
 * shm_unlink, the floor mpsync's segments are compared with.
 *
 *   shm_lifecycle create N   create+close+unlink a 4 KiB segment N times
 *   shm_lifecycle touch N    create a 64 MiB segment, write a byte on each
 *                            page, close and unlink, N times
 *   shm_lifecycle attach N   open+map+close an existing 4 KiB segment N times
 *
 * Prints "ns_per_op <value>" and "cpu_ns_per_op <value>".  Names start
 * with the bench run's prefix (see peer_name). */
#include "common.h"

#include <fcntl.h>
#include <sys/stat.h>

static char *create(const char *name, size_t size)
{
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        die("shm_open");
    if (ftruncate(fd, (off_t)size) != 0)
        die("ftruncate");
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        die("mmap");
    close(fd);
    return p;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    long n = atol(argv[2]);
    char name[128];
    double c0 = cpu_ns(), start = now_ns();
    if (strcmp(argv[1], "create") == 0 || strcmp(argv[1], "touch") == 0) {
        int touch = argv[1][0] == 't';
        size_t size = touch ? (size_t)64 << 20 : 4096;
        for (long i = 0; i < n; i++) {
            peer_name(name, sizeof name, i);
            char *p = create(name, size);
            if (touch)
                for (size_t off = 0; off < size; off += 4096)
                    p[off] = 1;
            munmap(p, size);
            if (shm_unlink(name) != 0)
                die("shm_unlink");
        }
    } else if (strcmp(argv[1], "attach") == 0) {
        peer_name(name, sizeof name, 0);
        munmap(create(name, 4096), 4096);
        c0 = cpu_ns();
        start = now_ns();
        for (long i = 0; i < n; i++) {
            int fd = shm_open(name, O_RDWR, 0);
            if (fd < 0)
                die("shm_open");
            struct stat st;
            if (fstat(fd, &st) != 0)
                die("fstat");
            size_t size = (size_t)st.st_size;
            char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (p == MAP_FAILED)
                die("mmap");
            close(fd);
            munmap(p, size);
        }
        double end = now_ns(), cpu = cpu_ns() - c0;
        shm_unlink(name);
        printf("ns_per_op %.1f\ncpu_ns_per_op %.1f\n", (end - start) / n, cpu / n);
        return 0;
    } else {
        return 2;
    }
    double end = now_ns(), cpu = cpu_ns() - c0;
    printf("ns_per_op %.1f\ncpu_ns_per_op %.1f\n", (end - start) / n, cpu / n);
    return 0;
}
