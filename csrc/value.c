/* value.c - typed access to Values and Arrays (see mpsync.h, "Values and
 * arrays"): elements of 1, 2, 4 and 8 bytes are read and written
 * atomically, larger ones under the object's lock, taken recursively for
 * the calling thread.  Go's ctypes package does the same on the same
 * memory; keep the two in step. */
#ifndef MPS_USE_SYSTEM_LIB

#include <errno.h>
#include <string.h>

#include "mpsync_impl.h"

/* typecode_size returns the size of a typecode's element (as Python's
 * ctypes has it on Linux), or 0 for something that is not a typecode. */
static uint64_t typecode_size(const char *tc)
{
    if (tc == NULL || tc[0] == '\0' || tc[1] != '\0')
        return 0;
    switch (tc[0]) {
    case 'c': case 'b': case 'B': case '?': return 1;
    case 'h': case 'H': return 2;
    case 'u': case 'i': case 'I': case 'f': return 4;
    case 'l': case 'L': case 'q': case 'Q': case 'd': return 8;
    }
    return 0;
}

static int create_typed(const char *name, int kind, const char *typecode, uint64_t count, int with_lock,
                        mps_object **out)
{
    uint64_t size = typecode_size(typecode);
    if (size == 0)
        return -EINVAL;
    struct mps_object_spec spec = {.kind = (uint16_t)kind,
                                   .format = typecode,
                                   .count = count,
                                   .elem_size = size,
                                   .elem_align = (uint32_t)size,
                                   .with_lock = with_lock};
    return mps_object_create(name, &spec, NULL, NULL, out);
}

MPS_API int mps_value_create(const char *name, const char *typecode, int with_lock, mps_object **out)
{
    return create_typed(name, MPS_KIND_VALUE, typecode, 1, with_lock, out);
}

MPS_API int mps_array_create(const char *name, const char *typecode, uint64_t count, int with_lock,
                             mps_object **out)
{
    return create_typed(name, MPS_KIND_ARRAY, typecode, count, with_lock, out);
}

MPS_API int mps_value_open(const char *name, mps_object **out)
{
    return mps__family_open(name, MPS_KIND_VALUE, 0, 0, 0, out);
}

MPS_API int mps_array_open(const char *name, mps_object **out)
{
    return mps__family_open(name, MPS_KIND_ARRAY, 0, 0, 0, out);
}

/* element checks v and index and returns the element's address. */
static int element(const mps_object *v, uint64_t index, size_t size, unsigned char **elem)
{
    int err = mps__family_check(v, MPS_KIND_VALUE, MPS_KIND_ARRAY, 0, 0);
    if (err != 0)
        return err;
    const struct mps_object_info *info = mps_object_info(v);
    if (size != info->elem_size || index >= info->count)
        return -EINVAL;
    *elem = (unsigned char *)mps_object_payload(v) + index * info->elem_size;
    return 0;
}

MPS_API int mps_value_acquire(mps_object *v, int64_t timeout_ns)
{
    int err = mps__family_check(v, MPS_KIND_VALUE, MPS_KIND_ARRAY, 0, 1);
    if (err != 0)
        return err == -EBADMSG ? -EINVAL : err;
    void *l = mps_object_lock(v);
    return mps__object_compact(v) ? mps__crlock_acquire(l, timeout_ns) : mps_rlock_acquire(l, timeout_ns);
}

MPS_API int mps_value_release(mps_object *v)
{
    int err = mps__family_check(v, MPS_KIND_VALUE, MPS_KIND_ARRAY, 0, 1);
    if (err != 0)
        return err == -EBADMSG ? -EINVAL : err;
    void *l = mps_object_lock(v);
    return mps__object_compact(v) ? mps__crlock_release(l) : mps_rlock_release(l);
}

/* locked_begin takes v's lock, if it has one, for a copy; locked_end
 * releases it.  A holder that died is taken over and the lock marked
 * consistent at the end, as Go's Get and Set do: the copy is whole. */
static int locked_begin(const mps_object *v, int *dead)
{
    void *l = mps_object_lock(v);
    *dead = 0;
    if (l == NULL)
        return 0;
    int err = mps_value_acquire((mps_object *)v, -1);
    if (err == -EOWNERDEAD) {
        *dead = 1;
        err = 0;
    }
    return err;
}

static void locked_end(const mps_object *v, int dead)
{
    void *l = mps_object_lock(v);
    if (l == NULL)
        return;
    if (dead)
        mps_lock_consistent(l);
    mps_value_release((mps_object *)v);
}

/* copy_locked copies n bytes under v's lock. */
static int copy_locked(const mps_object *v, void *dst, const void *src, size_t n)
{
    int dead;
    int err = locked_begin(v, &dead);
    if (err != 0)
        return err;
    if (n > 0)
        memcpy(dst, src, n);
    locked_end(v, dead);
    return 0;
}

MPS_API int mps_value_load(const mps_object *v, uint64_t index, void *out, size_t size)
{
    unsigned char *e;
    int err = element(v, index, size, &e);
    if (err != 0 || out == NULL)
        return err != 0 ? err : -EINVAL;
    switch (size) {
    case 8: { uint64_t x = __atomic_load_n((uint64_t *)e, __ATOMIC_SEQ_CST); memcpy(out, &x, 8); return 0; }
    case 4: { uint32_t x = __atomic_load_n((uint32_t *)e, __ATOMIC_SEQ_CST); memcpy(out, &x, 4); return 0; }
    case 2: { uint16_t x = __atomic_load_n((uint16_t *)e, __ATOMIC_SEQ_CST); memcpy(out, &x, 2); return 0; }
    case 1: { uint8_t x = __atomic_load_n(e, __ATOMIC_SEQ_CST); memcpy(out, &x, 1); return 0; }
    }
    return copy_locked(v, out, e, size);
}

MPS_API int mps_value_store(mps_object *v, uint64_t index, const void *in, size_t size)
{
    unsigned char *e;
    int err = element(v, index, size, &e);
    if (err != 0 || in == NULL)
        return err != 0 ? err : -EINVAL;
    switch (size) {
    case 8: { uint64_t x; memcpy(&x, in, 8); __atomic_store_n((uint64_t *)e, x, __ATOMIC_SEQ_CST); return 0; }
    case 4: { uint32_t x; memcpy(&x, in, 4); __atomic_store_n((uint32_t *)e, x, __ATOMIC_SEQ_CST); return 0; }
    case 2: { uint16_t x; memcpy(&x, in, 2); __atomic_store_n((uint16_t *)e, x, __ATOMIC_SEQ_CST); return 0; }
    case 1: { uint8_t x; memcpy(&x, in, 1); __atomic_store_n(e, x, __ATOMIC_SEQ_CST); return 0; }
    }
    return copy_locked(v, e, in, size);
}

/* cas_bits compares the element's bits with old and, if equal, stores
 * new, atomically.  Elements of 1 and 2 bytes are swapped in the aligned
 * 32-bit word that holds them, as Go does, leaving the neighbours be. */
static int cas_bits(unsigned char *e, size_t size, uint64_t old, uint64_t new)
{
    switch (size) {
    case 8: return __atomic_compare_exchange_n((uint64_t *)e, &old, new, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    case 4: {
        uint32_t o = (uint32_t)old;
        return __atomic_compare_exchange_n((uint32_t *)e, &o, (uint32_t)new, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
    }
    uintptr_t addr = (uintptr_t)e;
    uint32_t *w32 = (uint32_t *)(addr & ~(uintptr_t)3);
    unsigned shift = (unsigned)(addr & 3) * 8;
    uint32_t mask = size == 1 ? 0xffu : 0xffffu;
    uint32_t w = __atomic_load_n(w32, __ATOMIC_SEQ_CST);
    for (;;) {
        if (((w >> shift) & mask) != ((uint32_t)old & mask))
            return 0;
        uint32_t nw = (w & ~(mask << shift)) | (((uint32_t)new & mask) << shift);
        if (__atomic_compare_exchange_n(w32, &w, nw, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return 1;
    }
}

static int atomic_size(size_t size) { return size == 1 || size == 2 || size == 4 || size == 8; }

MPS_API int mps_value_cas(mps_object *v, uint64_t index, const void *expected, const void *desired, size_t size,
                          int *swapped)
{
    unsigned char *e;
    int err = element(v, index, size, &e);
    if (err != 0)
        return err;
    if (expected == NULL || desired == NULL || swapped == NULL)
        return -EINVAL;
    if (!atomic_size(size))
        return -EOPNOTSUPP;
    uint64_t old = 0, new = 0;
    memcpy(&old, expected, size);
    memcpy(&new, desired, size);
    *swapped = cas_bits(e, size, old, new);
    return 0;
}

/* number_class returns how a format's elements add: 'i' in two's
 * complement (integers, 'c', 'u'), 'f' as float, 'd' as double, or 0. */
static int number_class(const char *format)
{
    if (format[0] == '\0' || format[1] != '\0')
        return 0;
    if (strchr("cubBhHiIlLqQ", format[0]) != NULL)
        return 'i';
    return format[0] == 'f' ? 'f' : format[0] == 'd' ? 'd' : 0;
}

MPS_API int mps_value_add(mps_object *v, uint64_t index, const void *delta, void *result, size_t size)
{
    unsigned char *e;
    int err = element(v, index, size, &e);
    if (err != 0)
        return err;
    if (delta == NULL)
        return -EINVAL;
    int class = number_class(mps_object_format(v));
    if (class == 0 || !atomic_size(size) || (class == 'f' && size != 4) || (class == 'd' && size != 8))
        return -EOPNOTSUPP;
    uint64_t d = 0;
    memcpy(&d, delta, size);
    for (;;) {
        uint64_t old = 0, next;
        if ((err = mps_value_load(v, index, &old, size)) != 0)
            return err;
        if (class == 'f') {
            float a, b;
            memcpy(&a, &old, 4);
            memcpy(&b, &d, 4);
            a += b;
            next = 0;
            memcpy(&next, &a, 4);
        } else if (class == 'd') {
            double a, b;
            memcpy(&a, &old, 8);
            memcpy(&b, &d, 8);
            a += b;
            memcpy(&next, &a, 8);
        } else {
            next = old + d;
        }
        if (cas_bits(e, size, old, next)) {
            if (result != NULL)
                memcpy(result, &next, size);
            return 0;
        }
    }
}

/* range checks a bulk copy of count elements from first. */
static int range(const mps_object *v, uint64_t first, uint64_t count, const void *buf, size_t *bytes,
                 unsigned char **start)
{
    int err = mps__family_check(v, MPS_KIND_VALUE, MPS_KIND_ARRAY, 0, 0);
    if (err != 0)
        return err;
    const struct mps_object_info *info = mps_object_info(v);
    if (first > info->count || count > info->count - first || (buf == NULL && count > 0))
        return -EINVAL;
    *bytes = (size_t)(count * info->elem_size);
    *start = (unsigned char *)mps_object_payload(v) + first * info->elem_size;
    return 0;
}

MPS_API int mps_value_read(const mps_object *v, uint64_t first, uint64_t count, void *out)
{
    size_t n;
    unsigned char *start;
    int err = range(v, first, count, out, &n, &start);
    return err != 0 ? err : copy_locked(v, out, start, n);
}

MPS_API int mps_value_write(mps_object *v, uint64_t first, uint64_t count, const void *in)
{
    size_t n;
    unsigned char *start;
    int err = range(v, first, count, in, &n, &start);
    return err != 0 ? err : copy_locked(v, start, in, n);
}

#endif /* MPS_USE_SYSTEM_LIB */
