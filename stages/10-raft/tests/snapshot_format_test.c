/*
 * snapshot_format_test.c: snapshot_check (snapshot_format.h) refuses a
 * snapshot whose checksum holds but whose records break S2 or S3, naming
 * the record and its offset: a count past the bytes, a key of 0 bytes, a
 * value past the end, keys out of order or twice, a key of the replica's
 * own, bytes after the last record.  (A checksum that fails is
 * replica_test.c's damaged snapshot.)
 */
#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "coding.h"
#include "command.h"
#include "crc32c.h"
#include "error.h"
#include "snapshot_format.h"

/* A snapshot at index 7 saying `count` records, of the records "k=v"
 * (separated by spaces; "k=" an empty value, "-N" N bytes of junk
 * instead of a record), sealed with its checksum.  Returns its length. */
static size_t snap_build(uint8_t *out, size_t cap, uint64_t count, const char *const *recs,
                         size_t nrecs)
{
    size_t at = SNAPSHOT_HEADER;
    memcpy(out, SNAPSHOT_MAGIC, 8);
    coding_put_u64(out + 8, 7);
    coding_put_u64(out + 16, count);
    for (size_t i = 0; i < nrecs; i++) {
        const char *eq = strchr(recs[i], '=');
        if (recs[i][0] == '-') {
            size_t junk = (size_t)recs[i][1] - '0';
            memset(out + at, 0xab, junk);
            at += junk;
            continue;
        }
        size_t klen = (size_t)(eq - recs[i]), vlen = strlen(eq + 1);
        CHECK(at + 8 + klen + vlen + 4 <= cap);
        coding_put_u32(out + at, (uint32_t)klen);
        coding_put_u32(out + at + 4, (uint32_t)vlen);
        memcpy(out + at + 8, recs[i], klen);
        memcpy(out + at + 8 + klen, eq + 1, vlen);
        at += 8 + klen + vlen;
    }
    coding_put_u32(out + at, crc32c_value(out, at));
    return at + 4;
}

/* snapshot_check of the snapshot: KV_ERR_CORRUPT with want in its message. */
static void refused(uint64_t count, const char *const *recs, size_t nrecs, const char *want)
{
    uint8_t buf[512];
    size_t len = snap_build(buf, sizeof buf, count, recs, nrecs);
    uint64_t index = 99, n = 99;
    CHECK_KV(snapshot_check(buf, len, &index, &n), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), want) != NULL, "the message says \"%s\" (got %s)", want,
              kv_errmsg());
}

static void a_snapshot_whose_records_break_the_format_is_refused(void)
{
    const char *ab[] = {"a=1", "b=22"};
    uint8_t buf[512];
    size_t len = snap_build(buf, sizeof buf, 2, ab, 2);
    uint64_t index = 0, n = 0;
    CHECK_KV(snapshot_check(buf, len, &index, &n), KV_OK);
    CHECK_MSG(index == 7 && n == 2, "the well-formed one: index 7, 2 records (got %llu, %llu)",
              (unsigned long long)index, (unsigned long long)n);
    /* S2: the records tile the bytes exactly. */
    refused(3, ab, 2, "record 2 at offset 45: 0 bytes left, its lengths take 8");
    const char *three[] = {"a=1", "b=22", "-5"};
    refused(3, three, 3, "record 2 at offset 45: 5 bytes left, its lengths take 8");
    refused(1, ab, 2, "11 bytes after record 1, at offset 34");
    const char *empty_key[] = {"=1"};
    refused(1, empty_key, 1, "record 0 at offset 24: a key of 0 bytes and a value of 1 do not fit");
    /* A value longer than the bytes left: its vlen says 3 where 2 are. */
    len = snap_build(buf, sizeof buf, 2, ab, 2);
    coding_put_u32(buf + 34 + 4, 3);
    coding_put_u32(buf + len - 4, crc32c_value(buf, len - 4));
    CHECK_KV(snapshot_check(buf, len, &index, &n), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "record 1 at offset 34: a key of 1 bytes and a value of 3 "
                                  "do not fit") != NULL, "a value past the end (got %s)",
              kv_errmsg());
    /* S3: keys increase strictly; none is the replica's own but a member's. */
    const char *ba[] = {"b=1", "a=2"};
    refused(2, ba, 2, "record 1 at offset 34: its key does not follow the one before");
    const char *twice[] = {"ab=1", "ab=2"};
    refused(2, twice, 2, "record 1 at offset 35: its key does not follow the one before");
    const char *longer_first[] = {"ab=1", "a=2"};
    refused(2, longer_first, 2, "record 1 at offset 35: its key does not follow");
    const char *prefix_first[] = {"a=1", "ab=2"};
    len = snap_build(buf, sizeof buf, 2, prefix_first, 2);
    CHECK_KV(snapshot_check(buf, len, &index, &n), KV_OK);
    const char *own[] = {COMMAND_RESERVED "applied=1"};
    refused(1, own, 1, "record 0 at offset 24 names a key of the replica's own");
    const char *member[] = {COMMAND_MEMBER_KEY "12345678=127.0.0.1:1"};
    len = snap_build(buf, sizeof buf, 1, member, 1);
    CHECK_KV(snapshot_check(buf, len, &index, &n), KV_OK);
}

static const harness_test tests[] = {
    HARNESS_TEST(a_snapshot_whose_records_break_the_format_is_refused),
};
const harness_suite snapshot_format_suite = HARNESS_SUITE("snapshot_format", tests);
