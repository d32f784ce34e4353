/* check.h - the assertions of libmpsync's C tests.  A failed CHECK prints
 * the file, line and expression and exits 1. */
#ifndef MPS_CHECK_H
#define MPS_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

/* CHECK_RC checks that call returns want, printing both codes if not. */
#define CHECK_RC(call, want)                                                   \
    do {                                                                       \
        int rc_ = (call);                                                      \
        if (rc_ != (want)) {                                                   \
            fprintf(stderr, "%s:%d: %s returned %d (%s), want %d\n", __FILE__, \
                    __LINE__, #call, rc_, mps_strerror(rc_), (want));          \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#endif
