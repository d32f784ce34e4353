/* sem.c - Semaphore and BoundedSemaphore (see mpsync.h, "Semaphores"):
 * a glibc sem_t in the payload, then the maximum value.  Go's
 * internal/semword is the same algorithm on the same words; keep the two
 * in step. */
#ifndef MPS_USE_SYSTEM_LIB

#include <errno.h>
#include <string.h>

#include "mpsync_impl.h"

#define WAITER_ONE (1ull << 32)
#define VALUE_MASK 0xffffffffull

static const int64_t slice_ns = 50 * 1000000;

/* sem_word is the 64-bit word of the sem_t: the value (and futex word)
 * in the low half, the number of sleeping waiters in the high half. */
static uint64_t *sem_word(const mps_object *s) { return mps_object_payload(s); }

static int init_sem(mps_object *o, void *arg)
{
    const uint32_t *vm = arg; /* value, max */
    unsigned char *p = mps_object_payload(o);
    uint64_t word = vm[0];
    int32_t private = MPS_SEM_SHARED;
    memcpy(p, &word, 8);
    memcpy(p + MPS_SEM_OFF_PRIVATE, &private, 4);
    memcpy(p + MPS_SEM_OFF_MAX, &vm[1], 4);
    return 0;
}

static int create(const char *name, int kind, unsigned int value, unsigned int max, mps_object **out)
{
    if (value > MPS_SEM_VALUE_MAX)
        return -EINVAL;
    uint32_t vm[2] = {value, max};
    return mps__family_create(name, kind, MPS_SEM_PAYLOAD, 0, init_sem, vm, out);
}

MPS_API int mps_sem_create(const char *name, unsigned int value, mps_object **out)
{
    return create(name, MPS_KIND_SEMAPHORE, value, MPS_SEM_VALUE_MAX, out);
}

MPS_API int mps_bsem_create(const char *name, unsigned int value, mps_object **out)
{
    return create(name, MPS_KIND_BOUNDED_SEMAPHORE, value, value, out);
}

/* sem_max reads the maximum value, which the opener checked; another
 * process may have scribbled on it since, so it is bounded again. */
static uint32_t sem_max(const mps_object *s)
{
    uint32_t max;
    memcpy(&max, (const unsigned char *)mps_object_payload(s) + MPS_SEM_OFF_MAX, 4);
    return max > MPS_SEM_VALUE_MAX ? MPS_SEM_VALUE_MAX : max;
}

MPS_API int mps_sem_open(const char *name, mps_object **out)
{
    mps_object *o;
    int err = mps__family_open(name, MPS_KIND_SEMAPHORE, MPS_KIND_BOUNDED_SEMAPHORE, MPS_SEM_PAYLOAD, 0, &o);
    if (err != 0)
        return err;
    uint32_t max;
    memcpy(&max, (const unsigned char *)mps_object_payload(o) + MPS_SEM_OFF_MAX, 4);
    if ((max == 0 && mps_object_info(o)->kind != MPS_KIND_BOUNDED_SEMAPHORE) || max > MPS_SEM_VALUE_MAX) {
        mps_object_close(o);
        return -EBADMSG;
    }
    *out = o;
    return 0;
}

/* check refuses a handle that is not a semaphore. */
static int check(const mps_object *s)
{
    return mps__family_check(s, MPS_KIND_SEMAPHORE, MPS_KIND_BOUNDED_SEMAPHORE, MPS_SEM_PAYLOAD, 0);
}

/* try_wait takes a unit if there is one: 1, else 0 (an mps__spin look). */
static int try_wait(void *arg)
{
    uint64_t *word = arg;
    uint64_t d = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    while ((d & VALUE_MASK) != 0)
        if (__atomic_compare_exchange_n(word, &d, d - 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return 1;
    return 0;
}

MPS_API int mps_sem_acquire(mps_object *s, int64_t timeout_ns)
{
    int err = check(s);
    if (err != 0)
        return err;
    uint64_t *word = sem_word(s);
    if (try_wait(word))
        return 0;
    if (timeout_ns == 0)
        return -EAGAIN;
    int64_t deadline = mps__deadline(timeout_ns);
    if (mps__spin(try_wait, word))
        return 0;
    __atomic_fetch_add(word, WAITER_ONE, __ATOMIC_SEQ_CST); /* register as a sleeper */
    for (;;) {
        uint64_t d = __atomic_load_n(word, __ATOMIC_SEQ_CST);
        if ((d & VALUE_MASK) != 0) {
            /* Take a unit and deregister in one step. */
            if (__atomic_compare_exchange_n(word, &d, d - 1 - WAITER_ONE, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                return 0;
            continue;
        }
        int r = mps__futex_sleep((uint32_t *)word, 0, slice_ns, deadline);
        if (r == -ETIMEDOUT && mps__expired(deadline)) {
            __atomic_fetch_sub(word, WAITER_ONE, __ATOMIC_SEQ_CST);
            return -ETIMEDOUT;
        }
    }
}

MPS_API int mps_sem_try(mps_object *s) { return mps_sem_acquire(s, 0); }

MPS_API int mps_sem_release(mps_object *s)
{
    int err = check(s);
    if (err != 0)
        return err;
    uint64_t *word = sem_word(s);
    uint32_t max = sem_max(s);
    uint64_t d = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    for (;;) {
        if ((uint32_t)(d & VALUE_MASK) >= max)
            return -EOVERFLOW;
        if (__atomic_compare_exchange_n(word, &d, d + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            break;
    }
    if (d >> 32 != 0)
        mps__futex_wake((uint32_t *)word, 1);
    return 0;
}

MPS_API int mps_sem_value(const mps_object *s, unsigned int *value)
{
    int err = check(s);
    if (err != 0)
        return err;
    if (value == NULL)
        return -EINVAL;
    *value = (unsigned int)(__atomic_load_n(sem_word(s), __ATOMIC_SEQ_CST) & VALUE_MASK);
    return 0;
}

MPS_API int mps_sem_max(const mps_object *s, unsigned int *max)
{
    int err = check(s);
    if (err != 0)
        return err;
    if (max == NULL)
        return -EINVAL;
    *max = sem_max(s);
    return 0;
}

#endif /* MPS_USE_SYSTEM_LIB */
