/* calllib.c - the shared library of W9 and W10, built with -shared:
 * a tiny add, fixed CPU work, and callers of callbacks: on the calling
 * thread, and on new C threads. */
#include <pthread.h>
#include <stdint.h>

int add(int a, int b) { return a + b; }

/* spin does n rounds of xorshift: fixed CPU work, no memory traffic. */
long spin(long n)
{
    uint64_t x = 2463534242u;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return (long)(x & 0xffff);
}

struct job {
    void (*cb)(int);
    int i;
};

static void *run(void *p)
{
    struct job *j = p;
    j->cb(j->i);
    return 0;
}

/* call_back calls cb(i) on the calling thread: a C function that calls
 * back, called from each of W10's goroutines (or Python threads). */
void call_back(void (*cb)(int), int i) { cb(i); }

/* run_threads calls cb(i) on n new threads at once and joins them. */
void run_threads(int n, void (*cb)(int))
{
    pthread_t t[16];
    struct job j[16];
    for (int i = 0; i < n && i < 16; i++) {
        j[i] = (struct job){cb, i};
        pthread_create(&t[i], 0, run, &j[i]);
    }
    for (int i = 0; i < n && i < 16; i++)
        pthread_join(t[i], 0);
}
