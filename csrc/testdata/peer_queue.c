/* peer_queue.c - a C process on an mpsync queue, for the Go tests of
 * shm/queue, built against libmpsync through pkg-config.  Messages and
 * books (a shared segment of counters and a delivery log) are laid out as
 * in shm/queue/process_test.go.  Line protocol as the test harness's
 * helpers ("proctest: ready", then orders on stdin).
 *
 *   peer_queue produce QUEUE BOOKS ID COUNT copy|zerocopy
 *       on an order line, put COUNT messages as producer ID, recording
 *       each in BOOKS; print "done" and wait for a line
 *   peer_queue consume QUEUE BOOKS ID copy|zerocopy
 *       get messages as consumer ID until the queue is closed and
 *       drained, checking and recording each; print "eof"
 *   peer_queue hold QUEUE
 *       reserve a slot, print "stalled", and wait to be killed */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpsync.h>

/* The books: progress per producer, a corrupt count, the log. */
enum { max_incarnations = 512, off_corrupt = 8 * max_incarnations, off_log_count = off_corrupt + 8,
       off_log = off_log_count + 8 };

static int fail(const char *what, int rc)
{
    fprintf(stderr, "peer_queue: %s: %s\n", what, mps_strerror(rc));
    return 1;
}

static uint32_t crc32_ieee(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & -(c & 1));
    }
    return ~c;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* message writes message seq of producer id (as the Go tests make it)
 * into m and returns its length. */
static size_t message(uint32_t id, uint32_t seq, size_t max_msg, unsigned char *m)
{
    size_t n = 12 + (seq * 7u + id * 13u) % (uint32_t)(max_msg - 11);
    put32(m, id);
    put32(m + 4, seq);
    for (size_t i = 8; i < n - 4; i++)
        m[i] = (unsigned char)((uint32_t)i * 31 + seq + id);
    put32(m + n - 4, crc32_ieee(m, n - 4));
    return n;
}

static uint64_t *word(unsigned char *books, size_t off) { return (uint64_t *)(books + off); }

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    mps_queue *q;
    int rc = mps_queue_open(argv[2], &q);
    if (rc != 0)
        return fail("mps_queue_open", rc);
    size_t max = mps_queue_max_msg(q);
    unsigned char *m = malloc(max), *want = malloc(max);
    char line[64];
    if (strcmp(argv[1], "hold") == 0) {
        struct mps_queue_slot s;
        printf("proctest: ready\n");
        if ((rc = mps_queue_reserve(q, -1, &s)) != 0)
            return fail("mps_queue_reserve", rc);
        printf("stalled\n");
        fflush(stdout);
        pause();
        return 0;
    }
    if (argc < 6)
        return 2;
    mps_shm *seg;
    if ((rc = mps_shm_open(argv[3], &seg)) != 0)
        return fail("mps_shm_open", rc);
    unsigned char *books = mps_shm_data(seg);
    uint32_t id = (uint32_t)atol(argv[4]);
    printf("proctest: ready\n");
    fflush(stdout);
    if (strcmp(argv[1], "produce") == 0 && argc == 7) {
        long count = atol(argv[5]);
        int zero_copy = strcmp(argv[6], "zerocopy") == 0;
        if (fgets(line, sizeof line, stdin) == NULL)
            return 1;
        for (long seq = 0; seq < count; seq++) {
            if (zero_copy) {
                struct mps_queue_slot s;
                if ((rc = mps_queue_reserve(q, -1, &s)) != 0)
                    return fail("mps_queue_reserve", rc);
                rc = mps_queue_commit(q, &s, message(id, (uint32_t)seq, max, s.data));
            } else {
                rc = mps_queue_put(q, m, message(id, (uint32_t)seq, max, m), -1);
            }
            if (rc != 0)
                return fail("put", rc);
            __atomic_store_n(word(books, 8 * id), (uint64_t)seq + 1, __ATOMIC_SEQ_CST);
        }
        printf("done\n");
        fflush(stdout);
        if (fgets(line, sizeof line, stdin) == NULL) /* "stop", as the Go producers */
            return 1;
    } else if (strcmp(argv[1], "consume") == 0) {
        int zero_copy = strcmp(argv[5], "zerocopy") == 0;
        for (;;) {
            struct mps_queue_slot s;
            size_t n;
            const unsigned char *got = m;
            if (zero_copy) {
                rc = mps_queue_receive(q, -1, &s);
                got = s.data;
                n = s.len;
            } else {
                rc = mps_queue_get(q, m, max, &n, -1);
            }
            if (rc == -EPIPE)
                break;
            if (rc != 0)
                return fail("get", rc);
            uint32_t pid = n >= 12 ? get32(got) : 0, seq = n >= 12 ? get32(got + 4) : 0;
            int ok = n >= 12 && message(pid, seq, max, want) == n && memcmp(got, want, n) == 0;
            if (zero_copy && (rc = mps_queue_release(q, &s)) != 0)
                return fail("mps_queue_release", rc);
            if (!ok) {
                __atomic_fetch_add(word(books, off_corrupt), 1, __ATOMIC_SEQ_CST);
                fprintf(stderr, "peer_queue: corrupt message\n");
                return 1;
            }
            uint64_t i = __atomic_fetch_add(word(books, off_log_count), 1, __ATOMIC_SEQ_CST);
            __atomic_store_n(word(books, off_log + 8 * i),
                             1ull << 63 | (uint64_t)id << 40 | (uint64_t)pid << 24 | seq, __ATOMIC_SEQ_CST);
        }
        printf("eof\n");
    } else {
        return 2;
    }
    fflush(stdout);
    mps_shm_close(seg);
    mps_queue_close(q);
    free(m);
    free(want);
    return 0;
}
