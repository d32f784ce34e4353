/* test_lock_noinline.c: test_lock.c with the library's own
 * mps_lock_acquire and mps_lock_release, not the header's inline fast
 * paths (MPS_NO_INLINE). */
#define MPS_NO_INLINE 1
#include "test_lock.c"
