/* bulk.c - W5 for raw C: 2^20 doubles in shared memory, filled from local
 * memory with memcpy, and read back and summed with a plain loop.
 *
 *   bulk fill|sum N    prints "ops_per_s <bytes per second>" and
 *                      "cpu_ns_per_op <CPU time per byte>" */
#include "common.h"

#include <string.h>

enum { count = 1 << 20 };

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    long n = atol(argv[2]);
    double *shared = shared_alloc(count * sizeof(double));
    double *local = malloc(count * sizeof(double));
    for (int i = 0; i < count; i++)
        local[i] = i * 0.5;
    memcpy(shared, local, count * sizeof(double)); /* touch every page first */
    volatile double sink = 0;
    double c0 = cpu_ns(), start = now_ns();
    for (long r = 0; r < n; r++) {
        if (argv[1][0] == 'f') {
            memcpy(shared, local, count * sizeof(double));
            __asm__ volatile("" ::: "memory");
        } else {
            double sum = 0;
            for (int i = 0; i < count; i++)
                sum += shared[i];
            sink += sum;
        }
    }
    double end = now_ns(), cpu = cpu_ns() - c0, bytes = n * (double)count * sizeof(double);
    printf("ops_per_s %.0f\ncpu_ns_per_op %.6f\n", bytes / ((end - start) / 1e9), cpu / bytes);
    free(local);
    return 0;
}
