/* queue.c - W13 for raw C: messages between processes through pipe(2),
 * and memcpy as the bandwidth limit.
 *
 *   queue stream SIZE N     N messages of SIZE bytes, parent → child;
 *                           prints "ops_per_s <messages per second>"
 *   queue bytes SIZE N      the same; prints "ops_per_s <bytes per second>"
 *   queue roundtrip SIZE N  parent → child → parent through two pipes;
 *                           prints "ns_per_op <round trip>"
 *   queue many SIZE N       4 writers → 4 readers on one pipe, N messages
 *                           in all; prints "ops_per_s" and "count"
 *   queue memcpy SIZE N     N copies of SIZE bytes in one process;
 *                           prints "ops_per_s <bytes per second>"
 * Each also prints "cpu_ns_per_op": the CPU time of all its processes
 * per message, round trip or byte.  Messages up to PIPE_BUF bytes are
 * written whole by one write(2), so several writers never interleave
 * them. */
#include "common.h"

#include <string.h>
#include <sys/wait.h>

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0)
            die("write");
        p += k;
        n -= (size_t)k;
    }
}

/* read_all reads exactly n bytes; it returns 0 at end of file. */
static int read_all(int fd, char *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, p + got, n - got);
        if (k < 0)
            die("read");
        if (k == 0)
            return 0;
        got += (size_t)k;
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    const char *mode = argv[1];
    size_t size = (size_t)atol(argv[2]);
    long n = atol(argv[3]);
    char *buf = malloc(size), *src = malloc(size);
    if (buf == NULL || src == NULL)
        die("malloc");
    memset(src, 7, size);
    memset(buf, 0, size);

    if (strcmp(mode, "memcpy") == 0) {
        double c0 = cpu_ns(), start = now_ns();
        for (long i = 0; i < n; i++) {
            memcpy(buf, src, size);
            __asm__ volatile("" ::: "memory");
        }
        double end = now_ns(), cpu = cpu_ns() - c0;
        printf("ops_per_s %.0f\ncpu_ns_per_op %.4f\n", n * (double)size / ((end - start) / 1e9),
               cpu / (n * (double)size));
        return 0;
    }
    double *child_cpu = shared_alloc(4096); /* one slot per child */

    int a[2], b[2];
    if (pipe(a) < 0 || pipe(b) < 0)
        die("pipe");
    if (strcmp(mode, "many") == 0) {
        long *counts = shared_alloc(4096);
        for (int r = 0; r < 4; r++) {
            if (fork() == 0) {
                close(a[1]);
                long c = 0;
                double c0 = cpu_ns();
                while (read_all(a[0], buf, size))
                    c++;
                counts[r] = c;
                child_cpu[r] = cpu_ns() - c0;
                _exit(0);
            }
        }
        close(a[0]);
        double start = now_ns();
        for (int w = 0; w < 4; w++) {
            if (fork() == 0) {
                double c0 = cpu_ns();
                for (long i = 0; i < n / 4; i++)
                    write_all(a[1], src, size);
                child_cpu[4 + w] = cpu_ns() - c0;
                _exit(0);
            }
        }
        close(a[1]);
        while (wait(NULL) > 0) {
        }
        double end = now_ns(), cpu = 0;
        for (int i = 0; i < 8; i++)
            cpu += child_cpu[i];
        printf("ops_per_s %.0f\ncount %ld\ncpu_ns_per_op %.2f\n", n / ((end - start) / 1e9),
               counts[0] + counts[1] + counts[2] + counts[3], cpu / n);
        return 0;
    }

    int roundtrip = strcmp(mode, "roundtrip") == 0;
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        double c0 = cpu_ns();
        for (long i = 0; i < n; i++) {
            if (!read_all(a[0], buf, size))
                _exit(1);
            if (roundtrip)
                write_all(b[1], buf, size);
        }
        child_cpu[0] = cpu_ns() - c0;
        _exit(0);
    }
    double c0 = cpu_ns(), start = now_ns();
    for (long i = 0; i < n; i++) {
        write_all(a[1], src, size);
        if (roundtrip && !read_all(b[0], buf, size))
            die("echo");
    }
    int status;
    waitpid(pid, &status, 0);
    double end = now_ns(), cpu = cpu_ns() - c0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("reader");
    cpu += child_cpu[0];
    double secs = (end - start) / 1e9;
    if (roundtrip)
        printf("ns_per_op %.1f\ncpu_ns_per_op %.2f\n", (end - start) / n, cpu / n);
    else if (strcmp(mode, "bytes") == 0)
        printf("ops_per_s %.0f\ncpu_ns_per_op %.4f\n", n * (double)size / secs, cpu / (n * (double)size));
    else
        printf("ops_per_s %.0f\ncpu_ns_per_op %.2f\n", n / secs, cpu / n);
    return 0;
}
