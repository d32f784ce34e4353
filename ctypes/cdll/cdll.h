/* cdll.h - the C half of package cdll: dlopen/dlsym with their errors
 * taken in the same call, and libffi calls and closures. */
#ifndef MPS_CDLL_H
#define MPS_CDLL_H

#include <ffi.h>
#include <stdint.h>

/* Type kinds. This table is the numbering: cdll.go names its types by these constants. */
enum {
    CDLL_VOID, CDLL_INT8, CDLL_UINT8, CDLL_INT16, CDLL_UINT16, CDLL_INT32, CDLL_UINT32,
    CDLL_INT64, CDLL_UINT64, CDLL_FLOAT, CDLL_DOUBLE, CDLL_POINTER, CDLL_KINDS
};

/* cdll_open dlopens path; on failure *err gets a copy of dlerror()'s
 * message (free it). */
void *cdll_open(const char *path, char **err);
void *cdll_sym(void *lib, const char *name, char **err);
int cdll_close(void *lib, char **err);

/* cdll_prep makes a call interface for nargs arguments (nfixed of them
 * fixed, if variadic) of the given kinds; NULL on a libffi error. */
ffi_cif *cdll_prep(int ret, const uint8_t *kinds, int nargs, int nfixed, int variadic);
void cdll_free_cif(ffi_cif *cif);

/* The outcome of a call: the raw return slot, and whether the kernel's
 * coarse monotonic clock (one step per timer tick, 1-10 ms) moved while
 * the function ran. Go uses ticked to let the scheduler see a goroutine
 * that goes from one long call into the next (see Func.call). */
struct cdll_ret {
    uint64_t slot;
    int ticked;
};

/* cdll_call calls fn through cif with up to 6 arguments passed by value,
 * each in a 64-bit slot; cdll_calln takes the slots in an array. The
 * function and cif pointers travel as integers: cgo checks every pointer
 * argument for Go pointers at run time (~8 ns), and these are C's. */
struct cdll_ret cdll_call(uintptr_t cif, uintptr_t fn, int n, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                          uint64_t a4, uint64_t a5);
struct cdll_ret cdll_calln(uintptr_t cif, uintptr_t fn, int n, uint64_t *slots);

/* cdll_direct calls fn as a function of six 64-bit integer arguments: for
 * signatures of at most six integer or pointer arguments and an integer,
 * pointer or void result, which the x86-64 and arm64 calling conventions
 * pass in general registers whatever their width (the callee reads the
 * low bits; callers extend narrow values, as encode does). */
struct cdll_ret cdll_direct(uintptr_t fn, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                            uint64_t a5);

/* A callback: a libffi closure whose user data is this struct. */
struct cdll_callback {
    ffi_closure *closure;
    void *code;      /* the C function pointer */
    ffi_cif *cif;
    uintptr_t handle; /* a runtime/cgo.Handle of the Go callback */
    int freed;        /* set by Free: calls return zero and are counted */
    int64_t stale_calls;
};

struct cdll_callback *cdll_callback_new(ffi_cif *cif, uintptr_t handle);
void cdll_callback_free(struct cdll_callback *cb);

#endif
