/* version.c - library version and error strings. */
#ifndef MPS_USE_SYSTEM_LIB

#include <errno.h>
#include <string.h>

#include "mpsync_impl.h"

MPS_API int mps_version(void)
{
    return MPS_VERSION_MAJOR * 1000 + MPS_VERSION_MINOR;
}

MPS_API const char *mps_strerror(int err)
{
    if (err < 0)
        err = -err;
    switch (err) {
    case 0:
        return "success";
    case EBADMSG:
        return "not an mpsync object or corrupt header";
    case EPROTONOSUPPORT:
        return "unsupported mpsync layout version";
    default:
        /* strerror's table is static in glibc; strerrordesc_np would be
         * the thread-safe spelling but is glibc >= 2.32 only. */
        return strerror(err);
    }
}

#endif /* MPS_USE_SYSTEM_LIB */
