/* arena.c - opening arenas and the objects inside them (see mpsync.h,
 * "Arenas").  An arena is mapped once per process and shared by every
 * object opened in it; the last close unmaps it.  Go's internal/arena is
 * the same layout; keep the two in step. */
#ifndef MPS_USE_SYSTEM_LIB
#define _GNU_SOURCE /* secure_getenv */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mpsync_impl.h"

/* Control block fields (offsets from MPS_ARENA_CTL). */
enum {
    c_magic = 0,
    c_version = 8,
    c_classes = 12,
    c_size = 16,
    c_name_slots = 24,
    c_type_slots = 28,
    c_names_off = 32,
    c_types_off = 40,
    c_heap_start = 48,
    c_heap_end = 56,
    c_bump = 64,
    c_objects = 80,
    c_used = 88,
    c_names = 96,
    c_types = 100,
    c_recovered = 104,
    c_heads = 192,
};

/* Block and type table fields. */
enum {
    unit = 16,
    b_gen = 0,
    b_meta = 4,
    b_count = 8,
    b_type = 12,
    b_flags = 14,
    flag_lock = 1,
    flag_compact = 2,
    state_ready = 3,
    type_size = 272,
    t_elem_size = 0,
    t_align = 8,
    t_len = 12,
    t_format = 16,
    slot_empty = 0,
    slot_tomb = 1,
};

struct mps_arena {
    struct mps_arena *next; /* in the process's list of mapped arenas */
    int refs;
    int unlinked; /* out of the list: later opens map the name again */
    unsigned char *base;
    size_t size;
    uint64_t name_slots, names_off, types_off, heap_start, heap_end;
    unsigned tag_shift; /* name slots: block offset / unit below, tag above */
    uint32_t tag_mask;
    char name[MPS_NAME_MAX + 1];
};

static pthread_mutex_t arenas_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mps_arena *arenas;

static uint32_t ld32(const mps_arena *a, uint64_t off)
{
    return __atomic_load_n((const uint32_t *)(a->base + off), __ATOMIC_SEQ_CST);
}

static uint64_t ld64(const mps_arena *a, uint64_t off)
{
    return __atomic_load_n((const uint64_t *)(a->base + off), __ATOMIC_SEQ_CST);
}

static uint64_t ctl32(const mps_arena *a, uint64_t f) { return ld32(a, MPS_ARENA_CTL + f); }
static uint64_t ctl64(const mps_arena *a, uint64_t f) { return ld64(a, MPS_ARENA_CTL + f); }

static uint64_t align_up(uint64_t n, uint64_t a) { return (n + a - 1) & ~(a - 1); }

/* class_size returns the block size of size class c (< MPS_ARENA_CLASSES). */
static uint64_t class_size(unsigned c)
{
    if (c < 32)
        return unit * (uint64_t)(c + 1);
    uint64_t base = 512ull << ((c - 32) / 8);
    return base + base / 8 * (uint64_t)((c - 32) % 8 + 1);
}

/* tables computes where the tables and the heap of an arena with
 * name_slots slots go. */
static void tables(uint64_t name_slots, uint64_t *types_off, uint64_t *names_off, uint64_t *heap_start)
{
    *types_off = MPS_ARENA_CTL + align_up(c_heads + 8 * MPS_ARENA_CLASSES, 64);
    *names_off = align_up(*types_off + (uint64_t)MPS_ARENA_TYPES * type_size, 64);
    *heap_start = align_up(*names_off + 4 * name_slots, 4096);
}

/* attach checks the arena mapped in a (untrusted: another process wrote
 * it) and caches where its tables are. */
static int attach(mps_arena *a)
{
    struct mps_object_info info;
    int err = mps_header_validate(a->base, a->size, &info);
    if (err != 0)
        return err;
    if (info.kind != MPS_KIND_ARENA)
        return -EMEDIUMTYPE;
    if (info.payload_offset != MPS_ARENA_CTL || info.lock_offset != 64 || a->size < MPS_ARENA_CTL + 4096)
        return -EBADMSG;
    if (ctl64(a, c_magic) != MPS_ARENA_MAGIC || ctl32(a, c_classes) != MPS_ARENA_CLASSES)
        return -EBADMSG;
    if (ctl32(a, c_version) != MPS_ARENA_VERSION)
        return -EPROTONOSUPPORT;
    a->name_slots = ctl32(a, c_name_slots);
    a->names_off = ctl64(a, c_names_off);
    a->types_off = ctl64(a, c_types_off);
    a->heap_start = ctl64(a, c_heap_start);
    a->heap_end = ctl64(a, c_heap_end);
    uint64_t types_off, names_off, heap_start;
    tables(a->name_slots, &types_off, &names_off, &heap_start);
    if (ctl64(a, c_size) != a->size || a->name_slots == 0 || (a->name_slots & (a->name_slots - 1)) != 0 ||
        a->name_slots > 1ull << 31 || ctl32(a, c_type_slots) != MPS_ARENA_TYPES || a->types_off != types_off ||
        a->names_off != names_off || a->heap_start != heap_start || a->heap_end != (a->size & ~(uint64_t)(unit - 1)) ||
        heap_start >= a->heap_end)
        return -EBADMSG;
    a->tag_shift = 64 - (unsigned)__builtin_clzll((a->heap_end - 1) / unit);
    a->tag_mask = a->tag_shift < 32 ? ~(uint32_t)0 << a->tag_shift : 0;
    return 0;
}

MPS_API int mps_arena_open(const char *name, mps_arena **out)
{
    if (out == NULL)
        return -EINVAL;
    char clean[MPS_NAME_MAX + 1];
    int err = mps__check_name(name, clean);
    if (err != 0)
        return err;
    pthread_mutex_lock(&arenas_mu);
    for (mps_arena *a = arenas; a != NULL; a = a->next) {
        if (strcmp(a->name, clean) == 0) {
            a->refs++;
            pthread_mutex_unlock(&arenas_mu);
            *out = a;
            return 0;
        }
    }
    pthread_mutex_unlock(&arenas_mu);

    mps_shm *s;
    if ((err = mps_shm_open(clean, &s)) != 0)
        return err;
    mps_arena *a = calloc(1, sizeof *a);
    if (a == NULL) {
        mps_shm_close(s);
        return -ENOMEM;
    }
    a->base = mps_shm_data(s);
    a->size = mps_shm_size(s);
    strcpy(a->name, clean);
    mps__shm_forget(s); /* keep the mapping, drop the handle */
    if ((err = attach(a)) != 0) {
        munmap(a->base, a->size);
        free(a);
        return err;
    }
    a->refs = 1;
    pthread_mutex_lock(&arenas_mu);
    for (mps_arena *o = arenas; o != NULL; o = o->next) {
        if (strcmp(o->name, clean) == 0) { /* mapped meanwhile */
            o->refs++;
            pthread_mutex_unlock(&arenas_mu);
            munmap(a->base, a->size);
            free(a);
            *out = o;
            return 0;
        }
    }
    a->next = arenas;
    arenas = a;
    pthread_mutex_unlock(&arenas_mu);
    *out = a;
    return 0;
}

MPS_API int mps_arena_close(mps_arena *a)
{
    if (a == NULL)
        return 0;
    pthread_mutex_lock(&arenas_mu);
    int last = --a->refs == 0;
    if (last && !a->unlinked) {
        for (mps_arena **p = &arenas; *p != NULL; p = &(*p)->next) {
            if (*p == a) {
                *p = a->next;
                break;
            }
        }
    }
    pthread_mutex_unlock(&arenas_mu);
    if (!last)
        return 0;
    int err = munmap(a->base, a->size) != 0 ? -errno : 0;
    free(a);
    return err;
}

MPS_API int mps_arena_unlink(const char *name)
{
    char clean[MPS_NAME_MAX + 1];
    int err = mps__check_name(name, clean);
    if (err != 0)
        return err;
    pthread_mutex_lock(&arenas_mu);
    for (mps_arena **p = &arenas; *p != NULL; p = &(*p)->next) {
        if (strcmp((*p)->name, clean) == 0) {
            (*p)->unlinked = 1;
            *p = (*p)->next;
            break;
        }
    }
    pthread_mutex_unlock(&arenas_mu);
    return mps_shm_unlink(clean);
}

MPS_API const char *mps_arena_name(const mps_arena *a) { return a->name; }

MPS_API int mps_arena_stats(const mps_arena *a, struct mps_arena_stats *st)
{
    if (a == NULL || st == NULL)
        return -EINVAL;
    uint64_t bump = ctl64(a, c_bump);
    if (bump < a->heap_start)
        bump = a->heap_start;
    if (bump > a->heap_end)
        bump = a->heap_end;
    *st = (struct mps_arena_stats){
        .size = a->size,
        .heap = a->heap_end - a->heap_start,
        .bump = bump - a->heap_start,
        .objects = ctl64(a, c_objects),
        .used = ctl64(a, c_used),
        .names = (uint32_t)ctl32(a, c_names),
        .name_slots = (uint32_t)a->name_slots,
        .types = (uint32_t)ctl32(a, c_types),
        .recovered = (uint32_t)ctl32(a, c_recovered),
    };
    return 0;
}

/* hash_name is FNV-1a (64 bits) of the n bytes at name. */
static uint64_t hash_name(const char *name, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)name[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* tag_of returns the tag of a name whose hash is hash: the hash's high
 * half, shifted above the block offsets of the arena's name slots (as many
 * bits as fit: 10 at 64 MiB, none at the largest, 64 GiB).  A lookup reads the name of a slot's
 * block only when the slot's tag is the name's. */
static uint32_t tag_of(const mps_arena *a, uint64_t hash)
{
    return a->tag_shift < 32 ? (uint32_t)(hash >> 32) << a->tag_shift : 0;
}

/* slot_block returns the abs offset of the block a name slot leads to. */
static uint64_t slot_block(const mps_arena *a, uint32_t s) { return (uint64_t)(s & ~a->tag_mask) * unit; }

static int is_block(const mps_arena *a, uint64_t off)
{
    uint64_t bump = ctl64(a, c_bump);
    if (bump > a->heap_end)
        bump = a->heap_end;
    return off % unit == 0 && off >= a->heap_start && off < bump;
}

/* name_at reports whether the ready block at off is called name (n
 * bytes), storing its generation, read before the name and checked
 * after it. */
static int name_at(const mps_arena *a, uint64_t off, const char *name, size_t n, uint32_t *gen)
{
    if (!is_block(a, off))
        return 0;
    uint32_t g = ld32(a, off + b_gen), meta = ld32(a, off + b_meta);
    unsigned state = meta & 0xff, class = meta >> 8 & 0xff, len = meta >> 24;
    if (state != state_ready || len != n || class >= MPS_ARENA_CLASSES)
        return 0;
    uint64_t end = off + class_size(class);
    if (end > a->heap_end)
        end = a->heap_end;
    if (off + MPS_ARENA_BLOCK_HEADER + n > end || memcmp(a->base + off + MPS_ARENA_BLOCK_HEADER, name, n) != 0)
        return 0;
    *gen = g;
    return ld32(a, off + b_gen) == g;
}

/* lookup finds the object called name (n bytes), without the lock. */
static int lookup(const mps_arena *a, const char *name, size_t n, uint64_t *off, uint32_t *gen)
{
    uint64_t hash = hash_name(name, n), mask = a->name_slots - 1, i = hash & mask;
    uint32_t tag = tag_of(a, hash);
    for (uint64_t k = 0; k < a->name_slots; k++, i = (i + 1) & mask) {
        uint32_t s = ld32(a, a->names_off + 4 * i);
        if (s == slot_empty)
            return -ENOENT;
        if (s != slot_tomb && (s & a->tag_mask) == tag && name_at(a, slot_block(a, s), name, n, gen)) {
            *off = slot_block(a, s);
            return 0;
        }
    }
    return -ENOENT;
}

/* parse_handle parses "#<off>.<gen>" (lower-case hex). */
static int parse_handle(const char *obj, uint64_t *off, uint32_t *gen)
{
    if (obj[0] != '#')
        return 0;
    char *end;
    errno = 0;
    unsigned long long o = strtoull(obj + 1, &end, 16);
    if (end == obj + 1 || *end != '.' || errno != 0)
        return 0;
    const char *g0 = end + 1;
    unsigned long long g = strtoull(g0, &end, 16);
    if (end == g0 || *end != '\0' || errno != 0 || g > UINT32_MAX || g0[0] == '-' || g0[0] == '+' ||
        obj[1] == '-' || obj[1] == '+')
        return 0;
    *off = o;
    *gen = (uint32_t)g;
    return 1;
}

/* describe checks the block at off with generation gen (untrusted) and
 * fills *blk. */
static int describe(const mps_arena *a, uint64_t off, uint32_t gen, struct mps__arena_block *blk)
{
    if (!is_block(a, off) || ld32(a, off + b_gen) != gen)
        return -ENOENT;
    uint32_t meta = ld32(a, off + b_meta);
    unsigned state = meta & 0xff, class = meta >> 8 & 0xff, kind = meta >> 16 & 0xff, name_len = meta >> 24;
    if (state != state_ready)
        return -ENOENT;
    uint64_t count = ld32(a, off + b_count);
    uint16_t type, flags;
    memcpy(&type, a->base + off + b_type, 2);
    memcpy(&flags, a->base + off + b_flags, 2);
    uint64_t ntypes = ctl32(a, c_types);
    if (ntypes > MPS_ARENA_TYPES)
        ntypes = MPS_ARENA_TYPES;
    if (class >= MPS_ARENA_CLASSES || type >= ntypes || (flags & ~(flag_lock | flag_compact)) != 0)
        return -EBADMSG;
    uint64_t size = class_size(class), e = a->types_off + (uint64_t)type * type_size;
    uint64_t elem_size = ld64(a, e + t_elem_size), alignment = ld32(a, e + t_align), flen = ld32(a, e + t_len);
    if (alignment == 0 || alignment > 16 || (alignment & (alignment - 1)) != 0 || flen > MPS_FORMAT_MAX)
        return -EBADMSG;
    uint64_t lock_size = 0;
    if (flags & flag_lock)
        lock_size = (flags & flag_compact) ? MPS_ARENA_COMPACT_LOCK : MPS_LOCK_AREA_SIZE;
    uint64_t end = MPS_ARENA_BLOCK_HEADER + align_up(name_len, 8), lock_off = 0;
    if (lock_size > 0) {
        lock_off = end;
        end += lock_size;
    }
    uint64_t pay_off = align_up(end, alignment);
    if (elem_size != 0 && count > (1ull << 40) / elem_size)
        return -EBADMSG;
    if (pay_off + count * elem_size > size || off + size > a->heap_end)
        return -EBADMSG;
    memset(blk, 0, sizeof *blk);
    memcpy(blk->info.format, a->base + e + t_format, flen);
    if (memchr(blk->info.format, '\0', flen) != NULL)
        return -EBADMSG;
    blk->info.kind = (uint16_t)kind;
    blk->info.version = MPS_LAYOUT_VERSION;
    blk->info.header_size = MPS_ARENA_BLOCK_HEADER;
    blk->info.count = count;
    blk->info.elem_size = elem_size;
    blk->info.payload_offset = pay_off;
    blk->info.payload_size = count * elem_size;
    blk->info.lock_offset = (uint32_t)lock_off;
    blk->compact = (flags & flag_compact) != 0;
    blk->mem = a->base + off;
    blk->size = size;
    blk->off = off;
    blk->gen = gen;
    if (ld32(a, off + b_gen) != gen)
        return -ENOENT; /* reused meanwhile */
    return 0;
}

/* split_qualified splits "arena/object" (with an optional leading '/')
 * into the arena's name (copied into arena_name) and the object part;
 * returns 0 if name is not arena-qualified. */
MPS_HIDDEN int mps__arena_split(const char *name, char *arena_name, const char **object)
{
    if (name == NULL)
        return 0;
    if (name[0] == '/')
        name++;
    const char *slash = strchr(name, '/');
    if (slash == NULL || (size_t)(slash - name) > MPS_NAME_MAX)
        return 0;
    memcpy(arena_name, name, (size_t)(slash - name));
    arena_name[slash - name] = '\0';
    *object = slash + 1;
    return 1;
}

MPS_HIDDEN int mps__arena_find(const char *arena_name, const char *object, mps_arena **out,
                               struct mps__arena_block *blk)
{
    uint64_t off = 0;
    uint32_t gen = 0;
    size_t n = strlen(object);
    int handle = parse_handle(object, &off, &gen);
    if (!handle && (n == 0 || n > MPS_ARENA_NAME_MAX || strchr(object, '/') != NULL || object[0] == '#'))
        return -EINVAL;
    mps_arena *a;
    int err = mps_arena_open(arena_name, &a);
    if (err != 0)
        return err;
    if (!handle)
        err = lookup(a, object, n, &off, &gen);
    if (err == 0)
        err = describe(a, off, gen, blk);
    if (err != 0) {
        mps_arena_close(a);
        return err;
    }
    *out = a;
    return 0;
}

/* ---- allocation ---- */

enum {
    j_op = 128,
    j_class = 132,
    j_off = 136,
    j_prev = 144,
    j_next = 152,
    j_slot = 160,
    j_slot_old = 164,
    j_objects = 168,
    j_used = 176,
    j_names = 184,
    j_bump = 188,
    op_none = 0,
    op_alloc = 1,
    op_free = 2,
    state_free = 1,
    state_init = 2,
    c_reserved = 72,
};

#define RESERVE_CHUNK ((uint64_t)1 << 20)

static uint32_t *p32(const mps_arena *a, uint64_t off) { return (uint32_t *)(a->base + off); }
static uint64_t *p64(const mps_arena *a, uint64_t off) { return (uint64_t *)(a->base + off); }
static void st32(const mps_arena *a, uint64_t off, uint32_t v) { __atomic_store_n(p32(a, off), v, __ATOMIC_SEQ_CST); }
static void st64(const mps_arena *a, uint64_t off, uint64_t v) { __atomic_store_n(p64(a, off), v, __ATOMIC_SEQ_CST); }
static uint32_t meta_of(unsigned state, unsigned class, unsigned kind, unsigned name_len)
{
    return state | class << 8 | kind << 16 | name_len << 24;
}
static uint32_t *slot(const mps_arena *a, uint64_t i) { return p32(a, a->names_off + 4 * i); }

static uint64_t bump_of(const mps_arena *a)
{
    uint64_t b = ctl64(a, c_bump);
    return b < a->heap_start ? a->heap_start : b > a->heap_end ? a->heap_end : b;
}

/* clear_block zeroes a block but its generation. */
static void clear_block(const mps_arena *a, uint64_t off, uint64_t size) { memset(a->base + off + b_meta, 0, size - b_meta); }

/* sweep empties the deletion at slot i, and those before it, while the
 * slot after each is empty. */
static void sweep(const mps_arena *a, uint64_t i)
{
    uint64_t mask = a->name_slots - 1;
    for (uint64_t k = 0; k < a->name_slots; k++, i = (i - 1) & mask) {
        if (ld32(a, a->names_off + 4 * i) != slot_tomb || ld32(a, a->names_off + 4 * ((i + 1) & mask)) != slot_empty)
            return;
        __atomic_store_n(slot(a, i), slot_empty, __ATOMIC_SEQ_CST);
    }
}

/* crash_at is the step at which crash_point stops this process, from
 * the environment variable MPSYNC_TEST_CRASH_AT (read once; ignored in
 * set-user-ID programs): how tests kill a C allocator at each step of an
 * allocation or a free, as Go's arena tests do with their crash hook, and
 * check what the next holder of the lock finds. */
static const char *crash_at;
static pthread_once_t crash_once = PTHREAD_ONCE_INIT;

static void read_crash_at(void) { crash_at = secure_getenv("MPSYNC_TEST_CRASH_AT"); }

/* crash_point SIGKILLs this process if step is crash_at. */
static void crash_point(const char *step)
{
    pthread_once(&crash_once, read_crash_at);
    if (crash_at != NULL && strcmp(crash_at, step) == 0)
        raise(SIGKILL);
}

/* finish_free does (or redoes) the free the journal describes: the
 * name's slot (sl + 1; 0 none) deleted, the block free and first on its
 * class's list, the counters from the journal's. */
static void finish_free(const mps_arena *a, uint64_t off, uint32_t class, uint32_t sl)
{
    uint64_t C = MPS_ARENA_CTL, size = class_size(class);
    if (sl > 0) {
        __atomic_store_n(slot(a, sl - 1), slot_tomb, __ATOMIC_SEQ_CST);
        crash_point("free: name deleted");
        sweep(a, sl - 1);
        uint32_t n = ctl32(a, j_names);
        st32(a, C + c_names, (n > 1 ? n : 1) - 1);
    }
    st32(a, off + b_meta, meta_of(state_free, class, 0, 0));
    crash_point("free: block freed");
    st64(a, off + 8, ctl64(a, j_prev));
    st64(a, C + c_heads + 8 * (uint64_t)class, off);
    crash_point("free: listed");
    uint64_t objects = ctl64(a, j_objects), used = ctl64(a, j_used);
    st64(a, C + c_objects, (objects > 1 ? objects : 1) - 1);
    st64(a, C + c_used, used - (used < size ? used : size));
}

/* replay undoes an allocation or finishes a free the journal announces,
 * as Go's arena does: every value written comes from the journal. */
static void replay(const mps_arena *a)
{
    uint32_t op = ctl32(a, j_op), class = ctl32(a, j_class), sl = ctl32(a, j_slot);
    uint64_t off = ctl64(a, j_off), C = MPS_ARENA_CTL;
    if (class >= MPS_ARENA_CLASSES || off % unit != 0 || off < a->heap_start || off + class_size(class) > a->heap_end ||
        sl > a->name_slots) {
        st32(a, C + j_op, op_none);
        return;
    }
    uint64_t size = class_size(class);
    if (op == op_alloc) {
        if (sl > 0)
            __atomic_store_n(slot(a, sl - 1), ctl32(a, j_slot_old), __ATOMIC_SEQ_CST);
        st32(a, C + c_names, ctl32(a, j_names));
        clear_block(a, off, size);
        if (ctl32(a, j_bump) != 0) {
            st64(a, C + c_bump, ctl64(a, j_prev));
        } else {
            st64(a, off + 8, ctl64(a, j_next));
            st32(a, off + b_meta, meta_of(state_free, class, 0, 0));
            st64(a, C + c_heads + 8 * (uint64_t)class, off);
        }
        st64(a, C + c_objects, ctl64(a, j_objects));
        st64(a, C + c_used, ctl64(a, j_used));
    } else if (op == op_free) {
        finish_free(a, off, class, sl);
    }
    st32(a, C + j_op, op_none);
}

/* lock_arena takes the allocator lock, replaying a dead holder's journal. */
static int lock_arena(const mps_arena *a)
{
    void *l = a->base + 64;
    int err = mps_lock_acquire(l, -1);
    if (err != 0 && err != -EOWNERDEAD)
        return err;
    if (err != 0)
        __atomic_add_fetch(p32(a, MPS_ARENA_CTL + c_recovered), 1, __ATOMIC_SEQ_CST);
    if (ctl32(a, j_op) != op_none)
        replay(a);
    if (err != 0)
        mps_lock_consistent(l);
    return 0;
}

static void unlock_arena(const mps_arena *a) { mps_lock_release(a->base + 64); }

/* type_index finds or appends the type table entry, under the lock. */
static int type_index(const mps_arena *a, uint64_t elem_size, uint32_t alignment, const char *format, uint16_t *out)
{
    size_t flen = strlen(format);
    uint64_t n = ctl32(a, c_types);
    if (n > MPS_ARENA_TYPES)
        n = MPS_ARENA_TYPES;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t e = a->types_off + i * type_size;
        if (ld64(a, e + t_elem_size) == elem_size && ld32(a, e + t_align) == alignment && ld32(a, e + t_len) == flen &&
            memcmp(a->base + e + t_format, format, flen) == 0) {
            *out = (uint16_t)i;
            return 0;
        }
    }
    if (n == MPS_ARENA_TYPES)
        return -ENOSPC;
    uint64_t e = a->types_off + n * type_size;
    st64(a, e + t_elem_size, elem_size);
    st32(a, e + t_align, alignment);
    st32(a, e + t_len, (uint32_t)flen);
    memset(a->base + e + t_format, 0, type_size - t_format);
    memcpy(a->base + e + t_format, format, flen);
    st32(a, MPS_ARENA_CTL + c_types, (uint32_t)(n + 1));
    *out = (uint16_t)n;
    return 0;
}

/* room allocates the heap in /dev/shm up to end, a chunk at a time. */
static int room(const mps_arena *a, uint64_t end)
{
    uint64_t have = ctl64(a, c_reserved);
    if (end <= have)
        return 0;
    uint64_t next = align_up(end, RESERVE_CHUNK);
    if (next > a->heap_end)
        next = a->heap_end;
    char path[MPS_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", MPS_SHM_DIR, a->name);
    int fd = mps__open_retry(path, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    int err = mps__allocate(fd, next);
    close(fd);
    if (err != 0)
        return err;
    st64(a, MPS_ARENA_CTL + c_reserved, next);
#ifdef MADV_POPULATE_WRITE
    /* Map the new chunk writable in this process in one call rather than
     * a fault or two per page at first touch (as Go does); a kernel
     * without it (before 5.14) faults the pages in as they are used. */
    if (have < a->heap_start)
        have = a->heap_start;
    if (next > have)
        (void)madvise(a->base + have, next - have, MADV_POPULATE_WRITE);
#endif
    return 0;
}

MPS_HIDDEN int mps__arena_alloc(mps_arena *a, const char *name, const struct mps_object_spec *spec,
                                int (*init)(struct mps__arena_block *blk, void *arg), void *arg,
                                struct mps__arena_block *blk, uint64_t *off_out, uint32_t *gen_out)
{
    size_t n = name == NULL ? 0 : strlen(name);
    if (n > 0 && (n > MPS_ARENA_NAME_MAX || strchr(name, '/') != NULL || name[0] == '#'))
        return -EINVAL;
    uint32_t alignment = spec->elem_align == 0 ? 8 : spec->elem_align;
    const char *format = spec->format == NULL ? "" : spec->format;
    if (alignment > 16 || (alignment & (alignment - 1)) != 0 || strlen(format) > MPS_FORMAT_MAX ||
        spec->count > UINT32_MAX || spec->kind == 0 || spec->kind > MPS_KIND_MAX || spec->kind == MPS_KIND_ARENA ||
        (spec->count > 0 && spec->elem_size == 0) || (spec->elem_size != 0 && spec->count > (1ull << 40) / spec->elem_size))
        return -EINVAL;
    int compact = spec->kind == MPS_KIND_VALUE || spec->kind == MPS_KIND_ARRAY;
    uint64_t lock_size = !spec->with_lock ? 0 : compact ? MPS_ARENA_COMPACT_LOCK : MPS_LOCK_AREA_SIZE;
    uint64_t end = MPS_ARENA_BLOCK_HEADER + align_up(n, 8), lock_off = 0;
    if (lock_size > 0) {
        lock_off = end;
        end += lock_size;
    }
    uint64_t pay_off = align_up(end, alignment), total = pay_off + spec->count * spec->elem_size;
    unsigned class = 0;
    while (class < MPS_ARENA_CLASSES && class_size(class) < total)
        class++;
    if (class == MPS_ARENA_CLASSES)
        return -ENOSPC;
    uint64_t size = class_size(class), C = MPS_ARENA_CTL;
    int err = lock_arena(a);
    if (err != 0)
        return err;
    uint16_t type;
    int64_t sl = -1;
    uint32_t tag = 0;
    if ((err = type_index(a, spec->elem_size, alignment, format, &type)) != 0)
        goto out;
    if (n > 0) {
        uint64_t hash = hash_name(name, n), mask = a->name_slots - 1, i = hash & mask;
        uint32_t g;
        tag = tag_of(a, hash);
        for (uint64_t k = 0; k < a->name_slots; k++, i = (i + 1) & mask) {
            uint32_t s = ld32(a, a->names_off + 4 * i);
            if (s == slot_empty || s == slot_tomb) {
                if (sl < 0)
                    sl = (int64_t)i;
                if (s == slot_empty)
                    break;
            } else if ((s & a->tag_mask) == tag && name_at(a, slot_block(a, s), name, n, &g)) {
                err = -EEXIST;
                goto out;
            }
        }
        if (sl < 0 || ctl32(a, c_names) >= a->name_slots / 4 * 3) {
            err = -ENOSPC;
            goto out;
        }
    }
    uint64_t head = ctl64(a, c_heads + 8 * (uint64_t)class), bump = bump_of(a), off, next = 0;
    if (head != 0) {
        uint32_t m = ld32(a, head + b_meta);
        if (!is_block(a, head) || (m & 0xff) != state_free || (m >> 8 & 0xff) != class) {
            err = -EBADMSG;
            goto out;
        }
        off = head;
        next = ld64(a, head + 8);
        if (next != 0 && !is_block(a, next)) {
            err = -EBADMSG;
            goto out;
        }
    } else {
        if (bump + size > a->heap_end) {
            err = -ENOSPC;
            goto out;
        }
        if ((err = room(a, bump + size)) != 0)
            goto out;
        off = bump;
    }

    /* Announce, then write. */
    st32(a, C + j_class, class);
    st64(a, C + j_off, off);
    st64(a, C + j_next, next);
    st32(a, C + j_slot, (uint32_t)(sl + 1));
    if (sl >= 0)
        st32(a, C + j_slot_old, ld32(a, a->names_off + 4 * (uint64_t)sl));
    st64(a, C + j_objects, ctl64(a, c_objects));
    st64(a, C + j_used, ctl64(a, c_used));
    st32(a, C + j_names, ctl32(a, c_names));
    st64(a, C + j_prev, head != 0 ? head : bump);
    st32(a, C + j_bump, head == 0);
    crash_point("alloc: journal written");
    st32(a, C + j_op, op_alloc);
    crash_point("alloc: announced");

    if (head != 0)
        st64(a, C + c_heads + 8 * (uint64_t)class, next);
    else
        st64(a, C + c_bump, off + size);
    crash_point("alloc: block taken");
    uint32_t gen = ld32(a, off + b_gen) + 1;
    if (gen == 0)
        gen = 1;
    clear_block(a, off, size);
    st32(a, off + b_gen, gen);
    uint16_t flags = lock_size == 0 ? 0 : compact ? flag_lock | flag_compact : flag_lock;
    st32(a, off + b_count, (uint32_t)spec->count);
    memcpy(a->base + off + b_type, &type, 2);
    memcpy(a->base + off + b_flags, &flags, 2);
    memcpy(a->base + off + MPS_ARENA_BLOCK_HEADER, name == NULL ? "" : name, n);
    crash_point("alloc: block written");
    st32(a, off + b_meta, meta_of(state_init, class, spec->kind, (unsigned)n));
    memset(blk, 0, sizeof *blk);
    blk->info.kind = spec->kind;
    blk->info.version = MPS_LAYOUT_VERSION;
    blk->info.header_size = MPS_ARENA_BLOCK_HEADER;
    blk->info.count = spec->count;
    blk->info.elem_size = spec->elem_size;
    blk->info.payload_offset = pay_off;
    blk->info.payload_size = spec->count * spec->elem_size;
    blk->info.lock_offset = (uint32_t)lock_off;
    memcpy(blk->info.format, format, strlen(format));
    blk->compact = compact && lock_size > 0;
    blk->mem = a->base + off;
    blk->size = size;
    blk->off = off;
    blk->gen = gen;
    if (init != NULL && (err = init(blk, arg)) != 0) {
        replay(a); /* undo */
        goto out;
    }
    crash_point("alloc: initialised");
    st32(a, off + b_meta, meta_of(state_ready, class, spec->kind, (unsigned)n));
    crash_point("alloc: published");
    if (sl >= 0) {
        __atomic_store_n(slot(a, (uint64_t)sl), (uint32_t)(off / unit) | tag, __ATOMIC_SEQ_CST);
        crash_point("alloc: named");
        __atomic_add_fetch(p32(a, C + c_names), 1, __ATOMIC_SEQ_CST);
    }
    __atomic_add_fetch(p64(a, C + c_objects), 1, __ATOMIC_SEQ_CST);
    crash_point("alloc: counted");
    __atomic_add_fetch(p64(a, C + c_used), size, __ATOMIC_SEQ_CST);
    crash_point("alloc: done");
    st32(a, C + j_op, op_none);
    *off_out = off;
    *gen_out = gen;
out:
    unlock_arena(a);
    return err;
}

/* find_slot returns the name table slot (+ 1; 0 none) that holds the
 * block at off, called name (n bytes), under the lock. */
static uint32_t find_slot(const mps_arena *a, uint64_t off, const char *name, size_t n)
{
    uint64_t hash = hash_name(name, n), mask = a->name_slots - 1, i = hash & mask;
    uint32_t tag = tag_of(a, hash);
    for (uint64_t k = 0; k < a->name_slots; k++, i = (i + 1) & mask) {
        uint32_t s = ld32(a, a->names_off + 4 * i), g;
        if (s == slot_empty)
            return 0;
        if (s != slot_tomb && (s & a->tag_mask) == tag && name_at(a, slot_block(a, s), name, n, &g))
            return slot_block(a, s) == off ? (uint32_t)(i + 1) : 0;
    }
    return 0;
}

MPS_HIDDEN int mps__arena_free(mps_arena *a, uint64_t off, uint32_t gen)
{
    int err = lock_arena(a);
    if (err != 0)
        return err;
    struct mps__arena_block blk;
    if ((err = describe(a, off, gen, &blk)) != 0)
        goto out;
    uint32_t meta = ld32(a, off + b_meta), class = meta >> 8 & 0xff, name_len = meta >> 24, sl = 0;
    if (name_len > 0) {
        char name[MPS_ARENA_NAME_MAX + 1];
        memcpy(name, a->base + off + MPS_ARENA_BLOCK_HEADER, name_len);
        sl = find_slot(a, off, name, name_len);
    }
    uint64_t C = MPS_ARENA_CTL;
    /* Announce, then write: the same journal (op 2) as Go's Heap.Free. */
    st32(a, C + j_class, class);
    st64(a, C + j_off, off);
    st64(a, C + j_prev, ctl64(a, c_heads + 8 * (uint64_t)class));
    st32(a, C + j_slot, sl);
    st64(a, C + j_objects, ctl64(a, c_objects));
    st64(a, C + j_used, ctl64(a, c_used));
    st32(a, C + j_names, ctl32(a, c_names));
    crash_point("free: journal written");
    st32(a, C + j_op, op_free);
    crash_point("free: announced");
    finish_free(a, off, class, sl);
    crash_point("free: done");
    st32(a, C + j_op, op_none);
out:
    unlock_arena(a);
    return err;
}

MPS_API int mps_arena_free(mps_arena *a, const char *object)
{
    if (a == NULL || object == NULL)
        return -EINVAL;
    uint64_t off = 0;
    uint32_t gen = 0;
    size_t n = strlen(object);
    if (!parse_handle(object, &off, &gen)) {
        if (n == 0 || n > MPS_ARENA_NAME_MAX || strchr(object, '/') != NULL || object[0] == '#')
            return -EINVAL;
        int err = lookup(a, object, n, &off, &gen);
        if (err != 0)
            return err;
    }
    return mps__arena_free(a, off, gen);
}

struct format_args {
    uint64_t size, name_slots;
};

/* format writes the control block of a new arena (the header is laid out
 * and the whole segment allocated already). */
static int format(mps_object *o, void *arg)
{
    const struct format_args *f = arg;
    unsigned char *base = (unsigned char *)mps_object_payload(o) - MPS_ARENA_CTL;
    if (mps_object_info(o)->lock_offset != 64)
        return -EBADMSG;
    mps_arena a = {.base = base};
    uint64_t types_off, names_off, heap_start, C = MPS_ARENA_CTL;
    tables(f->name_slots, &types_off, &names_off, &heap_start);
    st64(&a, C + c_magic, MPS_ARENA_MAGIC);
    st32(&a, C + c_version, MPS_ARENA_VERSION);
    st32(&a, C + c_classes, MPS_ARENA_CLASSES);
    st64(&a, C + c_size, f->size);
    st32(&a, C + c_name_slots, (uint32_t)f->name_slots);
    st32(&a, C + c_type_slots, MPS_ARENA_TYPES);
    st64(&a, C + c_names_off, names_off);
    st64(&a, C + c_types_off, types_off);
    st64(&a, C + c_heap_start, heap_start);
    st64(&a, C + c_heap_end, f->size & ~(uint64_t)(unit - 1));
    st64(&a, C + c_bump, heap_start);
    st64(&a, C + c_reserved, f->size & ~(uint64_t)(unit - 1)); /* all allocated up front */
    return 0;
}

MPS_API int mps_arena_create(const char *name, uint64_t size, uint32_t max_names, mps_arena **out)
{
    if (out == NULL)
        return -EINVAL;
    uint64_t want = (uint64_t)max_names + max_names / 3 + 1, slots = 64;
    while (slots < want)
        slots <<= 1;
    uint64_t types_off, names_off, heap_start;
    tables(slots, &types_off, &names_off, &heap_start);
    if (slots > 1ull << 31 || size < heap_start + 4096 || size > 1ull << 36)
        return -EINVAL;
    struct mps_object_spec spec = {.kind = MPS_KIND_ARENA, .format = "", .count = size - MPS_ARENA_CTL,
                                   .elem_size = 1, .elem_align = MPS_ARENA_CTL, .with_lock = 1};
    struct format_args f = {size, slots};
    mps_object *o;
    int err = mps_object_create(name, &spec, format, &f, &o);
    if (err != 0)
        return err;
    err = mps_arena_open(mps_object_name(o), out);
    if (err != 0)
        mps_object_unlink(o);
    mps_object_close(o);
    return err;
}

MPS_HIDDEN void mps__arena_retain(mps_arena *a)
{
    pthread_mutex_lock(&arenas_mu);
    a->refs++;
    pthread_mutex_unlock(&arenas_mu);
}

#endif /* MPS_USE_SYSTEM_LIB */
