/* names.c - validation and generation of object names. */
#ifndef MPS_USE_SYSTEM_LIB

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "mpsync_impl.h"

MPS_HIDDEN int mps__check_name(const char *name, char *out)
{
    if (name == NULL)
        return -EINVAL;
    if (name[0] == '/')
        name++;
    size_t n = strnlen(name, MPS_NAME_MAX + 1);
    if (n == 0)
        return -EINVAL;
    if (n > MPS_NAME_MAX)
        return -ENAMETOOLONG;
    if (memchr(name, '/', n) != NULL)
        return -EINVAL;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return -EINVAL;
    /* Kept for the resource tracker's own files. */
    if (strncmp(name, MPS_REG_PREFIX, strlen(MPS_REG_PREFIX)) == 0 ||
        strncmp(name, MPS_TRK_PREFIX, strlen(MPS_TRK_PREFIX)) == 0 ||
        strncmp(name, MPS_REAP_PREFIX, strlen(MPS_REAP_PREFIX)) == 0)
        return -EINVAL;
    memcpy(out, name, n + 1);
    return 0;
}

MPS_HIDDEN int mps__random_name(const char *prefix, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[8];
    size_t got = 0;
    while (got < sizeof rnd) {
        ssize_t r = getrandom(rnd + got, sizeof rnd - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)r;
    }
    size_t p = strlen(prefix);
    memcpy(out, prefix, p);
    for (size_t i = 0; i < sizeof rnd; i++) {
        out[p + 2 * i] = hex[rnd[i] >> 4];
        out[p + 2 * i + 1] = hex[rnd[i] & 15];
    }
    out[p + 2 * sizeof rnd] = '\0';
    return 0;
}

MPS_HIDDEN void mps__shm_path(const char *name, char *out)
{
    size_t d = sizeof MPS_SHM_DIR - 1;
    memcpy(out, MPS_SHM_DIR, d);
    strcpy(out + d, name);
}

#endif /* MPS_USE_SYSTEM_LIB */
