/* testlib.c - the C library cdll's tests and benchmarks call: every type
 * of the signature table, more floating-point arguments than registers,
 * variadics, strings, callbacks from C threads, fixed CPU work, a nap, an
 * endless loop, and a meter of how many calls are inside the library at once. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

int add(int a, int b) { return a + b; }

int8_t echo_i8(int8_t x) { return x; }
uint8_t echo_u8(uint8_t x) { return x; }
int16_t echo_i16(int16_t x) { return x; }
uint16_t echo_u16(uint16_t x) { return x; }
int32_t echo_i32(int32_t x) { return x; }
uint32_t echo_u32(uint32_t x) { return x; }
int64_t echo_i64(int64_t x) { return x; }
uint64_t echo_u64(uint64_t x) { return x; }
float echo_float(float x) { return x; }
double echo_double(double x) { return x; }
void *echo_ptr(void *p) { return p; }
int8_t neg_i8(int8_t x) { return (int8_t)-x; }

/* 12 mixed float/double/int arguments: more than the 8 vector registers. */
double mix(float a, double b, int c, float d, double e, float f, double g, long h, float i, double j,
           double k, float l)
{
    return a + b + c + d + e + f + g + h + i + j + k + l;
}

long vsum(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    long s = 0;
    for (int i = 0; i < n; i++)
        s += va_arg(ap, long);
    va_end(ap);
    return s;
}

double vavg(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    double s = 0;
    for (int i = 0; i < n; i++)
        s += va_arg(ap, double);
    va_end(ap);
    return n ? s / n : 0;
}

size_t cstrlen(const char *s) { return strlen(s); }
const char *greeting(void) { return "hello from C"; }
const char *null_string(void) { return NULL; }

/* work does a fixed amount of CPU work and returns a value that depends
 * on all of it. */
long work(long n)
{
    uint64_t x = 88172645463325252ull;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return (long)(x & 0x7fffffff);
}

/* nap sleeps ms milliseconds: a long call that uses no CPU. */
void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* dead_loop never returns: the classic demonstration of parallel calls. */
void dead_loop(void)
{
    for (volatile unsigned long i = 0;; i++)
        ;
}

/* meet enters, waits (up to about 10 s) until `want` calls are inside at
 * once, and leaves. max_inside reports the most seen. */
static atomic_int inside, max_seen;

int meet(int want)
{
    int now = atomic_fetch_add(&inside, 1) + 1;
    int m = atomic_load(&max_seen);
    while (now > m && !atomic_compare_exchange_weak(&max_seen, &m, now))
        ;
    struct timespec start, t;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        now = atomic_load(&inside);
        m = atomic_load(&max_seen);
        while (now > m && !atomic_compare_exchange_weak(&max_seen, &m, now))
            ;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (atomic_load(&max_seen) < want && t.tv_sec - start.tv_sec < 10);
    atomic_fetch_sub(&inside, 1);
    return atomic_load(&max_seen);
}

int max_inside(void) { return atomic_load(&max_seen); }
void reset_meter(void) { atomic_store(&max_seen, 0); }

/* Callbacks. */
int call_cb(int (*cb)(int, int), int a, int b) { return cb(a, b); }
double call_dcb(double (*cb)(double), double x) { return cb(x); }

struct thread_arg {
    void (*cb)(int);
    int i;
};

static void *run_one(void *p)
{
    struct thread_arg *a = p;
    a->cb(a->i);
    return NULL;
}

/* run_threads calls cb(i) from n new C threads at once and joins them. */
void run_threads(int n, void (*cb)(int))
{
    pthread_t t[64];
    struct thread_arg a[64];
    if (n > 64)
        n = 64;
    for (int i = 0; i < n; i++) {
        a[i] = (struct thread_arg){cb, i};
        pthread_create(&t[i], NULL, run_one, &a[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}
