/* event.c - Event (see mpsync.h, "Events"): a flag word that is also the
 * futex, and a count of the processes that may sleep on it.  Go's
 * semaphore.Event is the same algorithm on the same words; keep the two
 * in step. */
#ifndef MPS_USE_SYSTEM_LIB

#include <errno.h>

#include "mpsync_impl.h"

static const int64_t slice_ns = 50 * 1000000;

MPS_API int mps_event_create(const char *name, mps_object **out)
{
    return mps__family_create(name, MPS_KIND_EVENT, MPS_EVENT_PAYLOAD, 0, NULL, NULL, out);
}

MPS_API int mps_event_open(const char *name, mps_object **out)
{
    return mps__family_open(name, MPS_KIND_EVENT, 0, MPS_EVENT_PAYLOAD, 0, out);
}

/* words returns the flag and the sleeper count of e, or NULL (and the
 * error in *err) for a handle that is not an event. */
static uint32_t *words(const mps_object *e, int *err)
{
    *err = mps__family_check(e, MPS_KIND_EVENT, 0, MPS_EVENT_PAYLOAD, 0);
    return *err == 0 ? mps_object_payload(e) : NULL;
}

MPS_API int mps_event_set(mps_object *e)
{
    int err;
    uint32_t *w = words(e, &err);
    if (w == NULL)
        return err;
    if (__atomic_exchange_n(&w[0], 1, __ATOMIC_SEQ_CST) == 0 &&
        __atomic_load_n(&w[MPS_EVENT_OFF_SLEEPERS / 4], __ATOMIC_SEQ_CST) != 0)
        mps__futex_wake(&w[0], INT32_MAX);
    return 0;
}

MPS_API int mps_event_clear(mps_object *e)
{
    int err;
    uint32_t *w = words(e, &err);
    if (w == NULL)
        return err;
    __atomic_store_n(&w[0], 0, __ATOMIC_SEQ_CST);
    return 0;
}

MPS_API int mps_event_is_set(const mps_object *e, int *set)
{
    int err;
    uint32_t *w = words(e, &err);
    if (w == NULL)
        return err;
    if (set == NULL)
        return -EINVAL;
    *set = __atomic_load_n(&w[0], __ATOMIC_SEQ_CST) != 0;
    return 0;
}

/* is_set reports whether the flag w[0] is raised (an mps__spin look). */
static int is_set(void *w) { return __atomic_load_n((uint32_t *)w, __ATOMIC_SEQ_CST) != 0; }

MPS_API int mps_event_wait(mps_object *e, int64_t timeout_ns)
{
    int err;
    uint32_t *w = words(e, &err);
    if (w == NULL)
        return err;
    if (__atomic_load_n(&w[0], __ATOMIC_SEQ_CST) != 0)
        return 0;
    if (timeout_ns == 0)
        return -ETIMEDOUT;
    int64_t deadline = mps__deadline(timeout_ns);
    /* Spin briefly: a setter on another core is often close behind. */
    if (mps__spin(is_set, w))
        return 0;
    uint32_t *sleepers = &w[MPS_EVENT_OFF_SLEEPERS / 4];
    __atomic_fetch_add(sleepers, 1, __ATOMIC_SEQ_CST);
    int rc = 0;
    while (__atomic_load_n(&w[0], __ATOMIC_SEQ_CST) == 0) {
        if (mps__futex_sleep(&w[0], 0, slice_ns, deadline) == -ETIMEDOUT && mps__expired(deadline)) {
            rc = -ETIMEDOUT;
            break;
        }
    }
    __atomic_fetch_sub(sleepers, 1, __ATOMIC_SEQ_CST);
    return rc;
}

#endif /* MPS_USE_SYSTEM_LIB */
