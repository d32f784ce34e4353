/* test_version.c: the header's version and the library's agree. */
#include "check.h"
#include "mpsync.h"

#include <errno.h>
#include <string.h>

int main(void)
{
    CHECK(mps_version() == MPS_VERSION_MAJOR * 1000 + MPS_VERSION_MINOR);
    CHECK(strcmp(mps_strerror(-ENOENT), mps_strerror(ENOENT)) == 0);
    CHECK(strstr(mps_strerror(-EBADMSG), "mpsync") != NULL);
    CHECK(strcmp(mps_kind_name(MPS_KIND_VALUE), "value") == 0);
    CHECK(strcmp(mps_kind_name(0), "unknown") == 0);
    CHECK(strcmp(mps_kind_name(MPS_KIND_MAX + 1), "unknown") == 0);
    return 0;
}
