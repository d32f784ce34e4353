/* call.c - W9 and W10 for raw C, on calllib.so loaded with dlopen.
 *
 *   call LIB add N          N calls of add through its dlsym'd pointer:
 *                           prints "ns_per_op" and "cpu_ns_per_op"
 *   call LIB threads T N M  T threads each make M calls of spin(N), after
 *                           1 thread did: prints "ops_per_s <speedup over
 *                           1 thread>" and "cpu_ns_per_op <CPU time of
 *                           both runs per round of spin>" */
#include "common.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

static long (*spin)(long);
static long rounds, calls;

static void *worker(void *p)
{
    (void)p;
    for (long i = 0; i < calls; i++)
        spin(rounds);
    return 0;
}

static double run(int t)
{
    pthread_t th[16];
    double start = now_ns();
    for (int i = 0; i < t; i++)
        pthread_create(&th[i], 0, worker, 0);
    for (int i = 0; i < t; i++)
        pthread_join(th[i], 0);
    return now_ns() - start;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    void *lib = dlopen(argv[1], RTLD_NOW);
    if (lib == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    if (strcmp(argv[2], "add") == 0) {
        int (*add)(int, int) = (int (*)(int, int))dlsym(lib, "add");
        long n = atol(argv[3]);
        volatile int sink = 0;
        double c0 = cpu_ns(), start = now_ns();
        for (long i = 0; i < n; i++)
            sink += add((int)i, 1);
        double end = now_ns();
        printf("ns_per_op %.2f\ncpu_ns_per_op %.2f\n", (end - start) / n, (cpu_ns() - c0) / n);
        return 0;
    }
    if (argc != 6)
        return 2;
    spin = (long (*)(long))dlsym(lib, "spin");
    int t = atoi(argv[3]);
    rounds = atol(argv[4]);
    calls = atol(argv[5]);
    double c0 = cpu_ns(), one = run(1), many = run(t), cpu = cpu_ns() - c0;
    printf("ops_per_s %.3f\ncpu_ns_per_op %.4f\n", t * one / many, cpu / ((1.0 + t) * calls * rounds));
    return 0;
}
