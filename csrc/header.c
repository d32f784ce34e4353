/* header.c - the object header every mpsync object starts with: layout,
 * publication and validation of untrusted headers. */
#ifndef MPS_USE_SYSTEM_LIB

#include <errno.h>
#include <string.h>

#include "mpsync_impl.h"

_Static_assert(sizeof(struct mps_header) == MPS_HEADER_SIZE, "header size");
_Static_assert(offsetof(struct mps_header, count) == 16, "count offset");
_Static_assert(offsetof(struct mps_header, format_offset) == 48, "format offset");
_Static_assert(offsetof(struct mps_header, flags) == 60, "flags offset");

static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

/* layout computes where each region of spec's object goes. */
static int layout(const struct mps_object_spec *spec, struct mps_object_info *info, uint64_t *total)
{
    if (spec == NULL || spec->kind < 1 || spec->kind > MPS_KIND_MAX)
        return -EINVAL;
    const char *format = spec->format != NULL ? spec->format : "";
    size_t flen = strnlen(format, MPS_FORMAT_MAX + 1);
    if (flen > MPS_FORMAT_MAX || !printable(format, flen))
        return -EINVAL;
    uint64_t align = spec->elem_align != 0 ? spec->elem_align : 8;
    if ((align & (align - 1)) != 0 || align > 4096)
        return -EINVAL;
    if (align < 8)
        align = 8;
    if (spec->elem_size == 0 && spec->count != 0)
        return -EINVAL;
    uint64_t payload;
    if (__builtin_mul_overflow(spec->count, spec->elem_size, &payload))
        return -EOVERFLOW;

    memset(info, 0, sizeof *info);
    uint64_t off = MPS_HEADER_SIZE;
    if (spec->with_lock) {
        info->lock_offset = (uint32_t)off;
        off += MPS_LOCK_AREA_SIZE;
    }
    /* The format string follows the header and lock area. */
    off = align_up(off + flen + 1, align);
    uint64_t end;
    if (__builtin_add_overflow(off, payload, &end) || end > (uint64_t)INT64_MAX)
        return -EOVERFLOW;

    info->kind = spec->kind;
    info->version = MPS_LAYOUT_VERSION;
    info->header_size = MPS_HEADER_SIZE;
    info->count = spec->count;
    info->elem_size = spec->elem_size;
    info->payload_offset = off;
    info->payload_size = payload;
    memcpy(info->format, format, flen + 1);
    *total = end;
    return 0;
}

MPS_API int mps_object_size(const struct mps_object_spec *spec, uint64_t *size)
{
    struct mps_object_info info;
    if (size == NULL)
        return -EINVAL;
    return layout(spec, &info, size);
}

MPS_API int mps_header_init(void *base, size_t map_size, const struct mps_object_spec *spec,
                            struct mps_object_info *info)
{
    struct mps_object_info local;
    uint64_t total;
    if (base == NULL)
        return -EINVAL;
    if (info == NULL)
        info = &local;
    int err = layout(spec, info, &total);
    if (err != 0)
        return err;
    if (total > map_size)
        return -ENOSPC;

    struct mps_header *h = base;
    uint32_t format_offset = MPS_HEADER_SIZE + (info->lock_offset != 0 ? MPS_LOCK_AREA_SIZE : 0);
    __atomic_store_n(&h->state, MPS_STATE_INIT, __ATOMIC_RELAXED);
    h->magic = MPS_MAGIC;
    h->version = MPS_LAYOUT_VERSION;
    h->kind = info->kind;
    h->header_size = MPS_HEADER_SIZE;
    h->count = info->count;
    h->elem_size = info->elem_size;
    h->payload_offset = info->payload_offset;
    h->payload_size = info->payload_size;
    h->format_offset = format_offset;
    h->format_len = (uint32_t)strlen(info->format);
    h->lock_offset = info->lock_offset;
    h->flags = 0;
    memcpy((char *)base + format_offset, info->format, h->format_len + 1);
    return 0;
}

MPS_API int mps_header_publish(void *base)
{
    struct mps_header *h = base;
    __atomic_store_n(&h->state, MPS_STATE_READY, __ATOMIC_RELEASE);
    return 0;
}

/* disjoint reports whether [a, a+an) and [b, b+bn) do not overlap; the
 * ends are known not to overflow. */
static int disjoint(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
    return an == 0 || bn == 0 || a + an <= b || b + bn <= a;
}

/* within reports whether [off, off+n) lies inside [0, size). */
static int within(uint64_t off, uint64_t n, uint64_t size) { return n <= size && off <= size - n; }

MPS_API int mps_header_validate(const void *base, size_t map_size, struct mps_object_info *info)
{
    if (base == NULL || info == NULL)
        return -EINVAL;
    if (map_size < MPS_HEADER_SIZE)
        return -EBADMSG;
    const struct mps_header *shared = base;
    /* Read once: the state with acquire ordering (pairs with the release in
     * mps_header_publish), then a private copy of everything else. */
    uint32_t state = __atomic_load_n(&shared->state, __ATOMIC_ACQUIRE);
    struct mps_header h;
    memcpy(&h, base, sizeof h);

    if (h.magic != MPS_MAGIC) {
        /* Zeroed memory is an object whose creator has not begun yet. */
        if (h.magic == 0 && state == MPS_STATE_EMPTY)
            return -EAGAIN;
        return -EBADMSG;
    }
    if (state == MPS_STATE_EMPTY || state == MPS_STATE_INIT)
        return -EAGAIN;
    if (state != MPS_STATE_READY)
        return -EBADMSG;
    if (h.version != MPS_LAYOUT_VERSION || h.flags != 0)
        return -EPROTONOSUPPORT;
    uint64_t size = map_size;
    if (h.header_size < MPS_HEADER_SIZE || h.header_size % 8 != 0 || h.header_size > size)
        return -EBADMSG;
    if (h.kind < 1 || h.kind > MPS_KIND_MAX)
        return -EBADMSG;

    if (h.format_len > MPS_FORMAT_MAX || h.format_offset < h.header_size ||
        !within(h.format_offset, (uint64_t)h.format_len + 1, size))
        return -EBADMSG;
    /* A private copy too (another process may write the shared bytes);
     * info is written only once everything is valid. */
    char format[MPS_FORMAT_MAX + 1];
    memcpy(format, (const char *)base + h.format_offset, h.format_len + 1);
    if (format[h.format_len] != '\0' || !printable(format, h.format_len))
        return -EBADMSG;

    uint64_t payload;
    if (h.elem_size == 0 && h.count != 0)
        return -EBADMSG;
    if (__builtin_mul_overflow(h.count, h.elem_size, &payload) || payload != h.payload_size)
        return -EBADMSG;
    if (h.payload_offset % 8 != 0 || h.payload_offset < h.header_size ||
        !within(h.payload_offset, h.payload_size, size))
        return -EBADMSG;

    uint64_t lock_size = h.lock_offset != 0 ? MPS_LOCK_AREA_SIZE : 0;
    if (h.lock_offset != 0 &&
        (h.lock_offset % 8 != 0 || h.lock_offset < h.header_size || !within(h.lock_offset, lock_size, size)))
        return -EBADMSG;

    uint64_t flen = (uint64_t)h.format_len + 1;
    if (!disjoint(h.format_offset, flen, h.payload_offset, h.payload_size) ||
        !disjoint(h.format_offset, flen, h.lock_offset, lock_size) ||
        !disjoint(h.lock_offset, lock_size, h.payload_offset, h.payload_size))
        return -EBADMSG;

    memcpy(info->format, format, (size_t)h.format_len + 1);
    info->kind = h.kind;
    info->version = h.version;
    info->header_size = h.header_size;
    info->count = h.count;
    info->elem_size = h.elem_size;
    info->payload_offset = h.payload_offset;
    info->payload_size = h.payload_size;
    info->lock_offset = h.lock_offset;
    return 0;
}

MPS_API const char *mps_kind_name(int kind)
{
    static const char *const names[] = {
        [MPS_KIND_LOCK] = "lock",
        [MPS_KIND_RLOCK] = "rlock",
        [MPS_KIND_SEMAPHORE] = "semaphore",
        [MPS_KIND_BOUNDED_SEMAPHORE] = "bounded semaphore",
        [MPS_KIND_CONDITION] = "condition",
        [MPS_KIND_EVENT] = "event",
        [MPS_KIND_BARRIER] = "barrier",
        [MPS_KIND_VALUE] = "value",
        [MPS_KIND_ARRAY] = "array",
        [MPS_KIND_QUEUE] = "queue",
        [MPS_KIND_ARENA] = "arena",
    };
    if (kind < 1 || kind > MPS_KIND_MAX)
        return "unknown";
    return names[kind];
}

#endif /* MPS_USE_SYSTEM_LIB */
