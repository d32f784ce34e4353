/* test_header.c: object header layout, publication and the validator's
 * refusal of every kind of corruption. */
#include "check.h"
#include "mpsync.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

static _Alignas(64) unsigned char buf[4096];

static struct mps_header *hdr(void) { return (struct mps_header *)buf; }

static void make(int with_lock)
{
    struct mps_object_spec spec = {
        .kind = MPS_KIND_ARRAY, .format = "d", .count = 10, .elem_size = 8, .with_lock = with_lock};
    uint64_t size;
    struct mps_object_info info;
    memset(buf, 0, sizeof buf);
    CHECK_RC(mps_object_size(&spec, &size), 0);
    CHECK(size <= sizeof buf);
    CHECK_RC(mps_header_init(buf, sizeof buf, &spec, &info), 0);
    CHECK_RC(mps_header_validate(buf, sizeof buf, &info), -EAGAIN);
    CHECK_RC(mps_header_publish(buf), 0);
}

static void test_layout(void)
{
    struct mps_object_info info;
    make(1);
    CHECK_RC(mps_header_validate(buf, sizeof buf, &info), 0);
    CHECK(info.kind == MPS_KIND_ARRAY && info.count == 10 && info.elem_size == 8);
    CHECK(info.payload_size == 80 && info.payload_offset % 8 == 0);
    CHECK(info.lock_offset == MPS_HEADER_SIZE);
    CHECK(strcmp(info.format, "d") == 0);
    CHECK(memcmp(buf, "MPSY", 4) == 0);

    struct mps_object_spec spec = {.kind = MPS_KIND_LOCK, .format = ""};
    uint64_t size;
    CHECK_RC(mps_object_size(&spec, &size), 0);
    CHECK(size >= MPS_HEADER_SIZE);
    /* An over-aligned payload starts at a multiple of its alignment. */
    spec = (struct mps_object_spec){.kind = MPS_KIND_VALUE, .format = "x", .count = 1, .elem_size = 64, .elem_align = 64};
    memset(buf, 0, sizeof buf);
    CHECK_RC(mps_header_init(buf, sizeof buf, &spec, &info), 0);
    CHECK(info.payload_offset % 64 == 0);
    /* Too small a mapping. */
    CHECK_RC(mps_header_init(buf, 70, &spec, &info), -ENOSPC);
}

static void test_bad_spec(void)
{
    uint64_t size;
    struct mps_object_spec spec = {.kind = 0, .format = "i", .count = 1, .elem_size = 4};
    CHECK_RC(mps_object_size(&spec, &size), -EINVAL);
    spec.kind = MPS_KIND_VALUE;
    spec.format = "bad\n";
    CHECK_RC(mps_object_size(&spec, &size), -EINVAL);
    spec.format = "i";
    spec.elem_align = 3;
    CHECK_RC(mps_object_size(&spec, &size), -EINVAL);
    spec.elem_align = 0;
    spec.elem_size = 0;
    CHECK_RC(mps_object_size(&spec, &size), -EINVAL);
    spec.elem_size = 1u << 20;
    spec.count = UINT64_MAX / 2;
    CHECK_RC(mps_object_size(&spec, &size), -EOVERFLOW);
    char long_format[MPS_FORMAT_MAX + 2];
    memset(long_format, 'i', sizeof long_format - 1);
    long_format[sizeof long_format - 1] = 0;
    spec = (struct mps_object_spec){.kind = MPS_KIND_VALUE, .format = long_format, .count = 1, .elem_size = 4};
    CHECK_RC(mps_object_size(&spec, &size), -EINVAL);
}

/* corrupt publishes a fresh object, applies one change and expects want. */
#define CORRUPT(stmt, want)                                                    \
    do {                                                                       \
        struct mps_object_info info_;                                          \
        make(1);                                                               \
        stmt;                                                                  \
        CHECK_RC(mps_header_validate(buf, sizeof buf, &info_), (want));        \
    } while (0)

static void test_corruption(void)
{
    struct mps_object_info info;
    memset(buf, 0, sizeof buf);
    CHECK_RC(mps_header_validate(buf, sizeof buf, &info), -EAGAIN);
    CHECK_RC(mps_header_validate(NULL, sizeof buf, &info), -EINVAL);
    make(0);
    CHECK_RC(mps_header_validate(buf, 63, &info), -EBADMSG);
    CHECK_RC(mps_header_validate(buf, 100, &info), -EBADMSG); /* payload beyond */

    CORRUPT(hdr()->magic ^= 1, -EBADMSG);
    CORRUPT(hdr()->state = 7, -EBADMSG);
    CORRUPT(hdr()->version = MPS_LAYOUT_VERSION + 1, -EPROTONOSUPPORT);
    CORRUPT(hdr()->version = 1, -EPROTONOSUPPORT); /* pids as lock owners */
    CORRUPT(hdr()->flags = 1, -EPROTONOSUPPORT);
    CORRUPT(hdr()->kind = 0, -EBADMSG);
    CORRUPT(hdr()->kind = MPS_KIND_MAX + 1, -EBADMSG);
    CORRUPT(hdr()->header_size = 8, -EBADMSG);
    CORRUPT(hdr()->header_size = 68, -EBADMSG);
    CORRUPT(hdr()->header_size = 1u << 30, -EBADMSG);
    CORRUPT(hdr()->count = UINT64_MAX, -EBADMSG);
    CORRUPT((hdr()->count = UINT64_MAX / 4, hdr()->payload_size = 0), -EBADMSG);
    CORRUPT(hdr()->elem_size = 0, -EBADMSG);
    CORRUPT(hdr()->payload_size = 8, -EBADMSG);
    CORRUPT(hdr()->payload_offset = UINT64_MAX - 7, -EBADMSG);
    CORRUPT(hdr()->payload_offset = sizeof buf - 72, -EBADMSG);
    CORRUPT(hdr()->payload_offset = 4, -EBADMSG);
    CORRUPT(hdr()->payload_offset = MPS_HEADER_SIZE, -EBADMSG); /* overlaps the lock */
    CORRUPT(hdr()->format_offset = 0, -EBADMSG);
    CORRUPT(hdr()->format_offset = UINT32_MAX, -EBADMSG);
    CORRUPT(hdr()->format_len = MPS_FORMAT_MAX + 1, -EBADMSG);
    CORRUPT(hdr()->format_len = 3, -EBADMSG); /* no NUL where expected */
    CORRUPT(buf[hdr()->format_offset] = '\n', -EBADMSG);
    CORRUPT(hdr()->lock_offset = 12, -EBADMSG);
    CORRUPT(hdr()->lock_offset = sizeof buf - 8, -EBADMSG);
    CORRUPT(hdr()->lock_offset = (uint32_t)hdr()->payload_offset, -EBADMSG);
    CORRUPT((void)0, 0);
}

int main(void)
{
    test_layout();
    test_bad_spec();
    test_corruption();
    return 0;
}
