/* queue.c - the message queue (see mpsync.h, "Queues").  Go's package
 * shm/queue is the same protocol on the same layout, documented there in
 * full; keep the two in step. */
#ifndef MPS_USE_SYSTEM_LIB

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mpsync_impl.h"

/* Offsets in the control block (mpsync.h). */
enum {
    OFF_CAPACITY = 0,
    OFF_MAX_MSG = 8,
    OFF_STRIDE = 16,
    OFF_CLOSED = 24,
    OFF_PUT_LOCK = 64,
    OFF_TAIL = 128,
    OFF_LOST_PUT = 136,
    OFF_JPUT_POS = 144,
    OFF_JPUT_LOST = 152,
    OFF_JPUT_VALID = 160,
    OFF_GET_LOCK = 192,
    OFF_HEAD = 256,
    OFF_LOST_GET = 264,
    OFF_JGET_POS = 272,
    OFF_JGET_LOST = 280,
    OFF_JGET_VALID = 288,
    OFF_DONE = 320,
    OFF_DATA = 384, /* seq, then the waiter flag 4 bytes on */
    OFF_SPACE = 448,
    OFF_TASKS = 456,
    SLOT_HOLDER = 8,
    SLOT_LEN = 16,
};

#define TAGS (MPS_QUEUE_WRITER | MPS_QUEUE_READER)

/* The offsets of one side's words: the put side (tail) or the get side
 * (head). */
struct side {
    int lock, pos, lost, jpos, jlost, jvalid;
};
static const struct side put_side = {OFF_PUT_LOCK, OFF_TAIL, OFF_LOST_PUT, OFF_JPUT_POS, OFF_JPUT_LOST, OFF_JPUT_VALID};
static const struct side get_side = {OFF_GET_LOCK, OFF_HEAD, OFF_LOST_GET, OFF_JGET_POS, OFF_JGET_LOST, OFF_JGET_VALID};

/* A waiter looks for MPS__BUSY_NS with no system call (mps__spin), then
 * sleeps. */
static const int64_t slice_ns = 20 * 1000000; /* sleep slice: dead holders are looked for after one */

struct mps_queue {
    mps_object *obj;
    unsigned char *base; /* the payload: control block, then slots */
    uint64_t capacity, max_msg, stride, mask;
};

static uint64_t *u64(const mps_queue *q, int off) { return (uint64_t *)(q->base + off); }
static uint32_t *u32(const mps_queue *q, int off) { return (uint32_t *)(q->base + off); }
static uint64_t ld(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void st(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
/* advance stores a word only the holder of a side's lock writes (the
 * side's position, a slot's holder) with a release store, a plain one on
 * x86: the unlock that follows, an atomic read-modify-write, publishes
 * it.  Go's shm/queue does the same. */
static void advance(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static int cas(uint64_t *p, uint64_t old, uint64_t new)
{
    return __atomic_compare_exchange_n(p, &old, new, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* A slot's seq: free(p) while free for the put of position p, full(p)
 * once it holds that put's message, given(p) while a recovery gives
 * position p up. */
static uint64_t free_seq(uint64_t p) { return 4 * p; }
static uint64_t full_seq(uint64_t p) { return 4 * p + 1; }
static uint64_t given_seq(uint64_t p) { return 4 * p + 2; }

static unsigned char *slot(const mps_queue *q, uint64_t pos)
{
    uint64_t i = q->mask != 0 ? pos & q->mask : pos % q->capacity;
    return q->base + MPS_QUEUE_CTRL_SIZE + i * q->stride;
}
static uint64_t *seq_of(unsigned char *s) { return (uint64_t *)s; }
static uint64_t *holder_of(unsigned char *s) { return (uint64_t *)(s + SLOT_HOLDER); }
static uint32_t *len_of(unsigned char *s) { return (uint32_t *)(s + SLOT_LEN); }

static uint64_t stride_for(uint64_t max_msg) { return (MPS_QUEUE_SLOT_DATA + max_msg + 63) & ~(uint64_t)63; }

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- waiting: an event count per thing waited for ---- */

static void notify(const mps_queue *q, int off)
{
    uint32_t *wait = u32(q, off + 4);
    if (__atomic_load_n(wait, __ATOMIC_SEQ_CST) != 0 && __atomic_exchange_n(wait, 0, __ATOMIC_SEQ_CST) != 0) {
        __atomic_fetch_add(u32(q, off), 1, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, u32(q, off), FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    }
}

/* struct readiness is what a waiter waits for: ready(q). */
struct readiness {
    const mps_queue *q;
    int (*ready)(const mps_queue *q);
};

/* is_ready is an mps__spin look for a struct readiness. */
static int is_ready(void *arg)
{
    const struct readiness *r = arg;
    return r->ready(r->q);
}

/* await waits until ready(q) or a notify on the event count at off, for
 * one sleep slice at most, spinning first once per call.  It returns 1
 * if a slice has passed since the call began or last got 1 (the cue to
 * look for dead holders; *looked keeps the time, 0 before the first
 * wait), 0, or -ETIMEDOUT once deadline (0: none) has passed. */
static int await(const mps_queue *q, int off, int (*ready)(const mps_queue *), int64_t deadline, int64_t *looked)
{
    if (*looked == 0) {
        *looked = now_ns();
        struct readiness r = {q, ready};
        if (mps__spin(is_ready, &r))
            return 0;
    }
    int64_t wait = slice_ns;
    if (deadline != 0) {
        int64_t left = deadline - now_ns();
        if (left <= 0)
            return -ETIMEDOUT;
        if (left < wait)
            wait = left;
    }
    uint32_t seq = __atomic_load_n(u32(q, off), __ATOMIC_SEQ_CST);
    __atomic_store_n(u32(q, off + 4), 1, __ATOMIC_SEQ_CST);
    if (ready(q))
        return 0;
    struct timespec ts = {wait / 1000000000, wait % 1000000000};
    syscall(SYS_futex, u32(q, off), FUTEX_WAIT, seq, &ts, NULL, 0);
    int64_t now = now_ns();
    if (now - *looked < slice_ns)
        return 0;
    *looked = now;
    return 1;
}

static int space_ready(const mps_queue *q)
{
    uint64_t t = ld(u64(q, OFF_TAIL));
    return ld(seq_of(slot(q, t))) == free_seq(t) || __atomic_load_n(u32(q, OFF_CLOSED), __ATOMIC_SEQ_CST) != 0;
}

static int data_ready(const mps_queue *q)
{
    uint64_t h = ld(u64(q, OFF_HEAD));
    return ld(seq_of(slot(q, h))) == full_seq(h) || __atomic_load_n(u32(q, OFF_CLOSED), __ATOMIC_SEQ_CST) != 0;
}

static int tasks_ready(const mps_queue *q);

/* ---- the two sides' locks and journals ---- */

/* replay gives up the slot of the journal's position, whose writer (get
 * side) or reader (put side) died, counting its message lost, or finishes
 * doing so: seq goes from the state the dead process left to given, then
 * free one lap on.  A holder that committed or released in the meantime
 * moved seq on: then nothing is done.  The side's lock is held. */
static void replay(const mps_queue *q, const struct side *s)
{
    if (__atomic_load_n(u32(q, s->jvalid), __ATOMIC_SEQ_CST) == 0)
        return;
    uint64_t p = ld(u64(q, s->jpos));
    uint64_t *seq = seq_of(slot(q, p));
    uint64_t left = s == &put_side ? full_seq(p) : free_seq(p);
    if (cas(seq, left, given_seq(p)) || ld(seq) == given_seq(p)) {
        st(u64(q, s->lost), ld(u64(q, s->jlost)));
        if (s == &get_side && ld(u64(q, OFF_HEAD)) == p)
            st(u64(q, OFF_HEAD), p + 1);
        st(seq, free_seq(p + q->capacity));
    }
    __atomic_store_n(u32(q, s->jvalid), 0, __ATOMIC_SEQ_CST);
}

/* lock takes a side's lock, replaying its journal if its holder died. */
static int lock(const mps_queue *q, const struct side *s)
{
    int err = mps_lock_acquire(q->base + s->lock, -1);
    if (err == -EOWNERDEAD) {
        replay(q, s);
        err = mps_lock_consistent(q->base + s->lock);
    }
    return err;
}

static void unlock(const mps_queue *q, const struct side *s) { mps_lock_release(q->base + s->lock); }

/* journal gives up position p's slot, counting one more message lost, in
 * a way replay can finish.  The side's lock is held. */
static void journal(const mps_queue *q, const struct side *s, uint64_t p)
{
    st(u64(q, s->jpos), p);
    st(u64(q, s->jlost), ld(u64(q, s->lost)) + 1);
    __atomic_store_n(u32(q, s->jvalid), 1, __ATOMIC_SEQ_CST);
    replay(q, s);
    notify(q, OFF_SPACE);
    notify(q, OFF_TASKS);
}

static int dead_holder(unsigned char *s, uint64_t tag)
{
    uint64_t w = ld(holder_of(s));
    return (w & tag) != 0 && !mps__alive(w & ~TAGS);
}

static uint64_t lost(const mps_queue *q) { return ld(u64(q, OFF_LOST_PUT)) + ld(u64(q, OFF_LOST_GET)); }

/* ---- creation ---- */

static int init_queue(mps_object *obj, void *arg)
{
    const uint64_t *shape = arg;
    unsigned char *base = mps_object_payload(obj);
    st((uint64_t *)(base + OFF_CAPACITY), shape[0]);
    st((uint64_t *)(base + OFF_MAX_MSG), shape[1]);
    st((uint64_t *)(base + OFF_STRIDE), shape[2]);
    for (uint64_t i = 0; i < shape[0]; i++)
        st((uint64_t *)(base + MPS_QUEUE_CTRL_SIZE + i * shape[2]), free_seq(i));
    return 0;
}

static int wrap(mps_object *obj, mps_queue **out)
{
    const struct mps_object_info *info = mps_object_info(obj);
    unsigned char *base = mps_object_payload(obj);
    if (info->payload_size < MPS_QUEUE_CTRL_SIZE || (uintptr_t)base % 64 != 0) {
        mps_object_close(obj);
        return -EBADMSG;
    }
    uint64_t cap = ld((uint64_t *)(base + OFF_CAPACITY)), max = ld((uint64_t *)(base + OFF_MAX_MSG));
    uint64_t stride = ld((uint64_t *)(base + OFF_STRIDE));
    uint64_t need;
    if (cap < 1 || cap > MPS_QUEUE_MAX_CAPACITY || max < 1 || max > MPS_QUEUE_MAX_MSG ||
        stride != stride_for(max) || __builtin_mul_overflow(cap, stride, &need) ||
        need + MPS_QUEUE_CTRL_SIZE != info->payload_size) {
        mps_object_close(obj);
        return -EBADMSG;
    }
    mps_queue *q = calloc(1, sizeof *q);
    if (q == NULL) {
        mps_object_close(obj);
        return -ENOMEM;
    }
    *q = (mps_queue){.obj = obj, .base = base, .capacity = cap, .max_msg = max, .stride = stride};
    if (cap > 1 && (cap & (cap - 1)) == 0)
        q->mask = cap - 1;
    *out = q;
    return 0;
}

MPS_API int mps_queue_create(const char *name, uint64_t capacity, uint64_t max_msg, mps_queue **out)
{
    if (out == NULL || capacity < 1 || capacity > MPS_QUEUE_MAX_CAPACITY || max_msg < 1 || max_msg > MPS_QUEUE_MAX_MSG)
        return -EINVAL;
    uint64_t shape[3] = {capacity, max_msg, stride_for(max_msg)}, size;
    if (__builtin_mul_overflow(capacity, shape[2], &size) || size > (1ull << 62))
        return -EOVERFLOW;
    struct mps_object_spec spec = {
        .kind = MPS_KIND_QUEUE, .format = "", .count = 1, .elem_size = size + MPS_QUEUE_CTRL_SIZE, .elem_align = 64};
    mps_object *obj;
    int err = mps_object_create(name, &spec, init_queue, shape, &obj);
    if (err != 0)
        return err;
    return wrap(obj, out);
}

MPS_API int mps_queue_open(const char *name, mps_queue **out)
{
    if (out == NULL)
        return -EINVAL;
    mps_object *obj;
    int err = mps_object_open(name, MPS_KIND_QUEUE, &obj);
    if (err != 0)
        return err;
    return wrap(obj, out);
}

MPS_API int mps_queue_close(mps_queue *q)
{
    if (q == NULL)
        return 0;
    int err = mps_object_close(q->obj);
    free(q);
    return err;
}

MPS_API const char *mps_queue_name(const mps_queue *q) { return mps_object_name(q->obj); }
MPS_API uint64_t mps_queue_capacity(const mps_queue *q) { return q->capacity; }
MPS_API uint64_t mps_queue_max_msg(const mps_queue *q) { return q->max_msg; }

MPS_API uint64_t mps_queue_len(const mps_queue *q)
{
    uint64_t h = ld(u64(q, OFF_HEAD)), t = ld(u64(q, OFF_TAIL));
    if (t < h)
        return 0;
    return t - h < q->capacity ? t - h : q->capacity;
}

/* ---- put ---- */

MPS_API int mps_queue_reserve(mps_queue *q, int64_t timeout_ns, struct mps_queue_slot *out)
{
    if (q == NULL || out == NULL)
        return -EINVAL;
    uint64_t self;
    int err = mps__self(&self);
    if (err != 0)
        return err;
    int64_t deadline = timeout_ns > 0 ? now_ns() + timeout_ns : 0;
    int look = timeout_ns == 0;
    int64_t looked = 0;
    for (;;) {
        if ((err = lock(q, &put_side)) != 0)
            return err;
        if (__atomic_load_n(u32(q, OFF_CLOSED), __ATOMIC_SEQ_CST) != 0) {
            unlock(q, &put_side);
            return -EPIPE;
        }
        uint64_t t = ld(u64(q, OFF_TAIL));
        unsigned char *s = slot(q, t);
        if (ld(seq_of(s)) == free_seq(t)) {
            advance(holder_of(s), self | MPS_QUEUE_WRITER);
            advance(u64(q, OFF_TAIL), t + 1);
            unlock(q, &put_side);
            *out = (struct mps_queue_slot){.data = s + MPS_QUEUE_SLOT_DATA, .len = q->max_msg, .pos = t};
            return 0;
        }
        /* The slot still holds position t - capacity; free it if its
         * reader died. */
        if (look && t >= q->capacity) {
            uint64_t p = t - q->capacity;
            if (ld(seq_of(s)) == full_seq(p) && ld(u64(q, OFF_HEAD)) > p && dead_holder(s, MPS_QUEUE_READER)) {
                journal(q, &put_side, p);
                unlock(q, &put_side);
                continue;
            }
        }
        unlock(q, &put_side);
        if (timeout_ns == 0)
            return -EAGAIN;
        int r = await(q, OFF_SPACE, space_ready, deadline, &looked);
        if (r < 0)
            return r;
        look = r;
    }
}

MPS_API int mps_queue_commit(mps_queue *q, const struct mps_queue_slot *r, size_t len)
{
    if (q == NULL || r == NULL || len > q->max_msg)
        return -EINVAL;
    unsigned char *s = slot(q, r->pos);
    __atomic_store_n(len_of(s), (uint32_t)len, __ATOMIC_SEQ_CST);
    if (!cas(seq_of(s), free_seq(r->pos), full_seq(r->pos)))
        return -EALREADY;
    notify(q, OFF_DATA);
    return 0;
}

MPS_API int mps_queue_put(mps_queue *q, const void *msg, size_t len, int64_t timeout_ns)
{
    if (q == NULL || (msg == NULL && len > 0))
        return -EINVAL;
    if (len > q->max_msg)
        return -EMSGSIZE;
    struct mps_queue_slot r;
    int err = mps_queue_reserve(q, timeout_ns, &r);
    if (err != 0)
        return err;
    if (len > 0)
        memcpy(r.data, msg, len);
    return mps_queue_commit(q, &r, len);
}

/* ---- get ---- */

/* claim takes the message at the head; with room != SIZE_MAX a longer
 * message is left in place (-EMSGSIZE). */
static int claim(mps_queue *q, int64_t timeout_ns, size_t room, struct mps_queue_slot *out)
{
    uint64_t self;
    int err = mps__self(&self);
    if (err != 0)
        return err;
    int64_t deadline = timeout_ns > 0 ? now_ns() + timeout_ns : 0;
    int look = timeout_ns == 0;
    int64_t looked = 0;
    for (;;) {
        if ((err = lock(q, &get_side)) != 0)
            return err;
        uint64_t h = ld(u64(q, OFF_HEAD));
        unsigned char *s = slot(q, h);
        uint64_t sq = ld(seq_of(s));
        if (sq == full_seq(h)) {
            uint64_t n = __atomic_load_n(len_of(s), __ATOMIC_SEQ_CST);
            if (n > q->max_msg || n > room) {
                unlock(q, &get_side);
                return n > q->max_msg ? -EBADMSG : -EMSGSIZE;
            }
            advance(holder_of(s), self | MPS_QUEUE_READER);
            advance(u64(q, OFF_HEAD), h + 1);
            unlock(q, &get_side);
            *out = (struct mps_queue_slot){.data = s + MPS_QUEUE_SLOT_DATA, .len = n, .pos = h};
            return 0;
        }
        /* Not ready: empty, or a writer holds the slot; skip a dead one's. */
        if (sq == free_seq(h) && look && ld(u64(q, OFF_TAIL)) > h && dead_holder(s, MPS_QUEUE_WRITER)) {
            journal(q, &get_side, h);
            unlock(q, &get_side);
            continue;
        }
        unlock(q, &get_side);
        if (__atomic_load_n(u32(q, OFF_CLOSED), __ATOMIC_SEQ_CST) != 0 && ld(u64(q, OFF_TAIL)) == h)
            return -EPIPE;
        if (timeout_ns == 0)
            return -EAGAIN;
        int r = await(q, OFF_DATA, data_ready, deadline, &looked);
        if (r < 0)
            return r;
        look = r;
    }
}

MPS_API int mps_queue_receive(mps_queue *q, int64_t timeout_ns, struct mps_queue_slot *out)
{
    if (q == NULL || out == NULL)
        return -EINVAL;
    return claim(q, timeout_ns, SIZE_MAX, out);
}

MPS_API int mps_queue_release(mps_queue *q, const struct mps_queue_slot *m)
{
    if (q == NULL || m == NULL)
        return -EINVAL;
    if (!cas(seq_of(slot(q, m->pos)), full_seq(m->pos), free_seq(m->pos + q->capacity)))
        return -EALREADY;
    notify(q, OFF_SPACE);
    return 0;
}

MPS_API int mps_queue_get(mps_queue *q, void *buf, size_t size, size_t *len, int64_t timeout_ns)
{
    if (q == NULL || len == NULL || (buf == NULL && size > 0))
        return -EINVAL;
    struct mps_queue_slot m;
    int err = claim(q, timeout_ns, size, &m);
    if (err != 0)
        return err;
    if (m.len > 0)
        memcpy(buf, m.data, m.len);
    *len = m.len;
    return mps_queue_release(q, &m);
}

/* ---- closing, tasks, losses ---- */

MPS_API int mps_queue_close_write(mps_queue *q)
{
    if (q == NULL)
        return -EINVAL;
    int err = lock(q, &put_side);
    if (err != 0)
        return err;
    __atomic_store_n(u32(q, OFF_CLOSED), 1, __ATOMIC_SEQ_CST);
    unlock(q, &put_side);
    notify(q, OFF_DATA);
    notify(q, OFF_SPACE);
    return 0;
}

MPS_API int mps_queue_write_closed(const mps_queue *q)
{
    return q != NULL && __atomic_load_n(u32(q, OFF_CLOSED), __ATOMIC_SEQ_CST) != 0;
}

/* sweep frees the slots held by dead readers. */
static int sweep(mps_queue *q)
{
    int err = lock(q, &put_side);
    if (err != 0)
        return err;
    uint64_t h = ld(u64(q, OFF_HEAD)), t = ld(u64(q, OFF_TAIL));
    for (uint64_t p = t > q->capacity ? t - q->capacity : 0; p < h; p++) {
        unsigned char *s = slot(q, p);
        if (ld(seq_of(s)) == full_seq(p) && dead_holder(s, MPS_QUEUE_READER))
            journal(q, &put_side, p);
    }
    unlock(q, &put_side);
    return 0;
}

MPS_API int mps_queue_lost(mps_queue *q, uint64_t *out)
{
    if (q == NULL || out == NULL)
        return -EINVAL;
    int err = sweep(q);
    if (err != 0)
        return err;
    *out = lost(q);
    return 0;
}

MPS_API int mps_queue_task_done(mps_queue *q)
{
    if (q == NULL)
        return -EINVAL;
    for (;;) {
        uint64_t d = ld(u64(q, OFF_DONE));
        if (d + lost(q) >= ld(u64(q, OFF_TAIL)))
            return -ERANGE;
        if (cas(u64(q, OFF_DONE), d, d + 1)) {
            notify(q, OFF_TASKS);
            return 0;
        }
    }
}

/* tasks_ready reads the counters so that a race can only overstate the
 * work left. */
static int tasks_ready(const mps_queue *q)
{
    uint64_t d = ld(u64(q, OFF_DONE));
    uint64_t l = lost(q);
    return d + l >= ld(u64(q, OFF_TAIL));
}

MPS_API int mps_queue_join(mps_queue *q, int64_t timeout_ns)
{
    if (q == NULL)
        return -EINVAL;
    int64_t deadline = timeout_ns > 0 ? now_ns() + timeout_ns : 0, looked = 0;
    while (!tasks_ready(q)) {
        if (timeout_ns == 0)
            return -EAGAIN;
        int r = await(q, OFF_TASKS, tasks_ready, deadline, &looked);
        if (r < 0)
            return r;
        if (r == 1 && (r = sweep(q)) != 0)
            return r;
    }
    return 0;
}

#endif /* MPS_USE_SYSTEM_LIB */
