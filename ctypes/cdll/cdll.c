/* cdll.c - see cdll.h. */
#include "cdll.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "_cgo_export.h"

static char *dl_error(void)
{
    const char *e = dlerror();
    return strdup(e != NULL ? e : "unknown dlerror");
}

void *cdll_open(const char *path, char **err)
{
    dlerror();
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
        *err = dl_error();
    return lib;
}

void *cdll_sym(void *lib, const char *name, char **err)
{
    dlerror();
    void *p = dlsym(lib, name);
    const char *e = dlerror();
    if (e != NULL) {
        *err = strdup(e);
        return NULL;
    }
    if (p == NULL)
        *err = strdup("symbol resolves to NULL");
    return p;
}

int cdll_close(void *lib, char **err)
{
    dlerror();
    if (dlclose(lib) != 0) {
        *err = dl_error();
        return -1;
    }
    return 0;
}

static ffi_type *ffi_types[CDLL_KINDS] = {
    &ffi_type_void, &ffi_type_sint8, &ffi_type_uint8, &ffi_type_sint16, &ffi_type_uint16,
    &ffi_type_sint32, &ffi_type_uint32, &ffi_type_sint64, &ffi_type_uint64,
    &ffi_type_float, &ffi_type_double, &ffi_type_pointer,
};

ffi_cif *cdll_prep(int ret, const uint8_t *kinds, int nargs, int nfixed, int variadic)
{
    ffi_cif *cif = calloc(1, sizeof *cif + (size_t)nargs * sizeof(ffi_type *));
    if (cif == NULL)
        return NULL;
    ffi_type **atypes = (ffi_type **)(cif + 1);
    for (int i = 0; i < nargs; i++)
        atypes[i] = ffi_types[kinds[i]];
    ffi_status st = variadic
        ? ffi_prep_cif_var(cif, FFI_DEFAULT_ABI, (unsigned)nfixed, (unsigned)nargs, ffi_types[ret], atypes)
        : ffi_prep_cif(cif, FFI_DEFAULT_ABI, (unsigned)nargs, ffi_types[ret], atypes);
    if (st != FFI_OK) {
        free(cif);
        return NULL;
    }
    return cif;
}

void cdll_free_cif(ffi_cif *cif) { free(cif); }

/* coarse_now reads the coarse monotonic clock: a few ns through the vDSO,
 * advanced once per kernel timer tick. */
static inline struct timespec coarse_now(void)
{
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts;
}

static inline int ticked_since(struct timespec before)
{
    struct timespec now = coarse_now();
    return now.tv_nsec != before.tv_nsec || now.tv_sec != before.tv_sec;
}

struct cdll_ret cdll_direct(uintptr_t fn, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                            uint64_t a5)
{
    struct timespec before = coarse_now();
    uint64_t slot = ((uint64_t(*)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t))fn)(a0, a1, a2, a3, a4, a5);
    return (struct cdll_ret){slot, ticked_since(before)};
}

struct cdll_ret cdll_calln(uintptr_t cif, uintptr_t fn, int n, uint64_t *slots)
{
    void *values[n > 0 ? n : 1];
    for (int i = 0; i < n; i++)
        values[i] = &slots[i];
    uint64_t ret[2] = {0, 0}; /* at least sizeof(ffi_arg), and room for a double */
    struct timespec before = coarse_now();
    ffi_call((ffi_cif *)cif, FFI_FN((void *)fn), ret, values);
    return (struct cdll_ret){ret[0], ticked_since(before)};
}

struct cdll_ret cdll_call(uintptr_t cif, uintptr_t fn, int n, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                          uint64_t a4, uint64_t a5)
{
    (void)n;
    void *values[6] = {&a0, &a1, &a2, &a3, &a4, &a5};
    uint64_t ret[2] = {0, 0};
    struct timespec before = coarse_now();
    ffi_call((ffi_cif *)cif, FFI_FN((void *)fn), ret, values);
    return (struct cdll_ret){ret[0], ticked_since(before)};
}

static void trampoline(ffi_cif *cif, void *ret, void **args, void *data)
{
    struct cdll_callback *cb = data;
    if (__atomic_load_n(&cb->freed, __ATOMIC_ACQUIRE)) {
        memset(ret, 0, cif->rtype->size > sizeof(ffi_arg) ? cif->rtype->size : sizeof(ffi_arg));
        __atomic_add_fetch(&cb->stale_calls, 1, __ATOMIC_RELAXED);
        return;
    }
    mpsCdllCallback(cb->handle, ret, args);
}

struct cdll_callback *cdll_callback_new(ffi_cif *cif, uintptr_t handle)
{
    struct cdll_callback *cb = calloc(1, sizeof *cb);
    if (cb == NULL)
        return NULL;
    cb->closure = ffi_closure_alloc(sizeof(ffi_closure), &cb->code);
    if (cb->closure == NULL || ffi_prep_closure_loc(cb->closure, cif, trampoline, cb, cb->code) != FFI_OK) {
        if (cb->closure != NULL)
            ffi_closure_free(cb->closure);
        free(cb);
        return NULL;
    }
    cb->cif = cif;
    cb->handle = handle;
    return cb;
}

void cdll_callback_free(struct cdll_callback *cb)
{
    /* The closure and this struct stay allocated: C code may still hold
     * the function pointer, and a call through it must find "freed" here
     * rather than crash. */
    __atomic_store_n(&cb->freed, 1, __ATOMIC_RELEASE);
}
