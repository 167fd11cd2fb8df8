/*
 * table_forged_test.c: tables whose checksums are right and whose contents
 * are wrong.  A flipped byte is caught by a checksum (table_fault_test.c);
 * these are what a checksum cannot catch: whole records moved (a
 * misdirected write), and fields a buggy or foreign writer got wrong with
 * the checksums computed over them.  Each forgery below rewrites bytes of
 * a real table and then recomputes the checksums that cover them, so that
 * only the decoders' own checks (table_v1_format.h, table.h T2) and
 * kv check's walk stand between it and a wrong answer.
 *
 * The table is the worked example of docs/04-lsm.md: apple@2 put "red"
 * (record 0 at 16, 26 bytes), fig@3 delete (record 1 at 42, 21 bytes),
 * fig@1 put "green" (record 2 at 63, 26 bytes); offset array at 89, keys
 * at 113, tail at 137, 189 bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "coding.h"
#include "crc32c.h"
#include "internal_key.h"
#include "kv.h"
#include "table.h"
#include "table_test_util.h"

#define REC0 16u
#define REC1 42u
#define REC2 63u
#define KEYS_AT 113u
#define TAIL_AT 137u
#define FILE_BYTES 189u

/* The worked example's table at dir/name; returns its path. */
static const char *forge_base(const char *dir, const char *name)
{
    table_ctx *ctx = tt_ctx();
    const char *path = harness_join(dir, name);
    table_builder *b;
    uint8_t k[16];
    CHECK_KV(table_builder_new(ctx, path, &b), KV_OK);
    ikey_encode(k, "apple", 5, 2, IKEY_PUT);
    CHECK_KV(table_builder_add(b, k, 13, (const uint8_t *)"red", 3), KV_OK);
    ikey_encode(k, "fig", 3, 3, IKEY_DELETE);
    CHECK_KV(table_builder_add(b, k, 11, NULL, 0), KV_OK);
    ikey_encode(k, "fig", 3, 1, IKEY_PUT);
    CHECK_KV(table_builder_add(b, k, 11, (const uint8_t *)"green", 5), KV_OK);
    CHECK_KV(table_builder_finish(b, NULL), KV_OK);
    table_ctx_free(ctx);
    return path;
}

/* Recomputes the head checksum of the record at rec (one-byte lengths). */
static void forge_head_crc(uint8_t *bytes, size_t rec)
{
    size_t head = 8 + 2 + bytes[rec + 8]; /* CRCs, K and V, the key */
    coding_put_u32(bytes + rec, crc32c_value(bytes + rec + 4, head - 4));
}

/* Recomputes the checksum of the two keys and the tail. */
static void forge_tail_crc(uint8_t *bytes)
{
    coding_put_u32(bytes + FILE_BYTES - 4,
                   crc32c_value(bytes + KEYS_AT, FILE_BYTES - 4 - KEYS_AT));
}

static uint8_t *forge_read(const char *path)
{
    uint8_t *bytes;
    CHECK_EQ(tt_read_file(path, &bytes), FILE_BYTES);
    return bytes;
}

/* table_get of (ukey, seq) on the table at path: its status. */
static int forge_get(const char *path, const char *ukey, uint64_t seq, table_get_result *r)
{
    table_ctx *ctx = tt_ctx();
    table *t = NULL;
    int rc = table_open(ctx, path, &t);
    if (rc == KV_OK) {
        ikey_lookup lk;
        CHECK_KV(ikey_lookup_init(&lk, ukey, strlen(ukey), seq), KV_OK);
        rc = table_get(t, &lk, r);
        ikey_lookup_free(&lk);
        table_unref(t);
    }
    table_ctx_free(ctx);
    return rc;
}

/* A full scan of the table at path: its status, after as many entries as
 * it could show (*shown). */
static int forge_scan(const char *path, int *shown)
{
    table_ctx *ctx = tt_ctx();
    table *t = NULL;
    iter *it = NULL;
    *shown = 0;
    CHECK_KV(table_open(ctx, path, &t), KV_OK);
    CHECK_KV(table_iter_new(t, &it), KV_OK);
    for (iter_seek_first(it); iter_valid(it); iter_next(it))
        ++*shown;
    int rc = iter_status(it);
    iter_free(it);
    table_unref(t);
    table_ctx_free(ctx);
    return rc;
}

/* Records 0 and 2 have the same length: swapped, each still fills its span
 * and passes its own checksums, and the offset array and the footer are
 * untouched.  Only the order of the keys is wrong, which no lookup checks
 * and kv check must. */
static void check_finds_whole_records_out_of_order(void)
{
    const char *path = forge_base(harness_tmpdir(), "swapped.tbl");
    uint8_t *bytes = forge_read(path);
    uint8_t rec0[26];
    memcpy(rec0, bytes + REC0, sizeof rec0);
    memmove(bytes + REC0, bytes + REC2, sizeof rec0);
    memcpy(bytes + REC2, rec0, sizeof rec0);
    tt_write_file(path, bytes, FILE_BYTES);
    free(bytes);
    int shown;
    CHECK_KV(forge_scan(path, &shown), KV_OK); /* a scan checks records, not order */
    CHECK_EQ(shown, 3);
    tt_lines lines = {0};
    CHECK_KV(table_check(path, "swapped.tbl", tt_collect, &lines), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(lines.text, "swapped.tbl: offset 16: the first key is not the footer's "
                     "smallest key") != NULL, "%s", lines.text);
    CHECK_MSG(strstr(lines.text, "offset 42: record 1 is not above the record before it") !=
                  NULL, "%s", lines.text);
    CHECK_MSG(strstr(lines.text, "the last key is not the footer's largest key") != NULL, "%s",
              lines.text);
    CHECK_MSG(strstr(lines.text, "records (1 tombstones): CORRUPT") != NULL, "%s", lines.text);
    CHECK_MSG(strstr(lines.text, "offset 63: record 2 is not above the record before it") !=
                  NULL, "%s", lines.text);
    CHECK(strstr(kv_errmsg(), "4 problems") != NULL);
    tt_lines_clear(&lines);
}

/* The footer's tombstone count is 0 instead of 1, its checksum right: an
 * open believes it (it fits the file); kv check counts and disagrees. */
static void check_finds_a_footer_count_the_records_deny(void)
{
    const char *path = forge_base(harness_tmpdir(), "count.tbl");
    uint8_t *bytes = forge_read(path);
    coding_put_u64(bytes + TAIL_AT + 24, 0);
    forge_tail_crc(bytes);
    tt_write_file(path, bytes, FILE_BYTES);
    free(bytes);
    tt_lines lines = {0};
    CHECK_KV(table_check(path, "count.tbl", tt_collect, &lines), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(lines.text, "the footer counts 3 records (0 tombstones); there are 3 (1)") !=
                  NULL, "%s", lines.text);
    tt_lines_clear(&lines);
}

/* Footers that cannot be true, with their checksum right: refused at open,
 * before anything they say is used. */
static void footer_that_cannot_be_true_is_refused_at_open(void)
{
    const char *dir = harness_tmpdir();
    table_get_result r;
    /* More tombstones than records. */
    const char *path = forge_base(dir, "deletes.tbl");
    uint8_t *bytes = forge_read(path);
    coding_put_u64(bytes + TAIL_AT + 24, 4);
    forge_tail_crc(bytes);
    tt_write_file(path, bytes, FILE_BYTES);
    CHECK_KV(forge_get(path, "fig", 9, &r), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), "the footer's counts do not fit a file of 189 bytes") != NULL);
    /* The largest key (fig@1 put, 11 bytes) replaced by aaa@1 put, which
     * sorts before the smallest (apple@2). */
    path = forge_base(dir, "keys.tbl");
    free(bytes);
    bytes = forge_read(path);
    memcpy(bytes + KEYS_AT + 13, "aaa", 3);
    forge_tail_crc(bytes);
    tt_write_file(path, bytes, FILE_BYTES);
    CHECK_KV(forge_get(path, "apple", 9, &r), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), "offset 113: the footer's smallest and largest keys are not two "
                 "internal keys in order") != NULL);
    tt_lines lines = {0};
    CHECK_KV(table_check(path, "keys.tbl", tt_collect, &lines), KV_ERR_CORRUPT);
    CHECK(strstr(lines.text, "keys.tbl: CORRUPT") != NULL);
    tt_lines_clear(&lines);
    free(bytes);
}

/* A record forged at REC1 (the first record any lookup probes, and one a
 * scan reads) must be refused by a lookup, a scan and kv check, each
 * naming the record's offset and a reason.  The reason's words are the
 * decoder's own (`what` is the reference's, for the failure message):
 * what is checked is that there is one, after the offset, and that kv
 * check gives the same. */
static void forged_record_is_refused(const char *name, const uint8_t *bytes, const char *what)
{
    const char *path = harness_join(harness_tmpdir(), name);
    tt_write_file(path, bytes, FILE_BYTES);
    harness_context("a record whose %s", what);
    table_get_result r;
    CHECK_KV(forge_get(path, "fig", 9, &r), KV_ERR_CORRUPT);
    const char *at = strstr(kv_errmsg(), "offset 42: ");
    CHECK_MSG(at != NULL && at[11] != '\0',
              "a lookup refuses the damaged record naming its offset and why, as \"offset 42: "
              "REASON\": got \"%s\"", kv_errmsg());
    /* The decoder's reason ends the message, after the last ": ". */
    char reason[200];
    const char *last = at;
    for (const char *p = at; (p = strstr(p, ": ")) != NULL; p += 2)
        last = p;
    snprintf(reason, sizeof reason, "%s", last + 2);
    CHECK_MSG(reason[0] != '\0', "the refusal ends with a reason: \"%s\"", kv_errmsg());
    int shown;
    CHECK_KV(forge_scan(path, &shown), KV_ERR_CORRUPT);
    CHECK_MSG(shown == 1, "a scan shows the records before the damaged one (1), then stops: %d",
              shown);
    tt_lines lines = {0};
    CHECK_KV(table_check(path, name, tt_collect, &lines), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(lines.text, reason) != NULL, "kv check gives the lookup's reason (\"%s\"): "
              "%s", reason, lines.text);
    tt_lines_clear(&lines);
}

/* Fields a writer got wrong, with the head checksum computed over them
 * (or not reached: the lengths are checked before it). */
static void records_with_fields_out_of_range_are_refused(void)
{
    const char *base = forge_base(harness_tmpdir(), "base.tbl");
    uint8_t *orig = forge_read(base), bytes[FILE_BYTES];

    /* fig@3 delete given type 7: no such type. */
    memcpy(bytes, orig, FILE_BYTES);
    bytes[REC1 + 10 + 3] = 7;
    forge_head_crc(bytes, REC1);
    forged_record_is_refused("type.tbl", bytes, "internal key has an unknown type");

    /* fig@3 delete with V = 5, its "value" the first 5 bytes of record 2:
     * offset 2 moved to fit (record 2 is beyond saving, but a lookup of
     * fig meets record 1 first), the offset array's checksum recomputed. */
    memcpy(bytes, orig, FILE_BYTES);
    bytes[REC1 + 9] = 5;
    coding_put_u32(bytes + REC1 + 4, crc32c_value(bytes + REC2, 5));
    forge_head_crc(bytes, REC1); /* the head covers the value's checksum */
    coding_put_u64(bytes + 89 + 16, REC2 + 5);
    coding_put_u32(bytes + TAIL_AT + 12, crc32c_value(bytes + 89, 24));
    forge_tail_crc(bytes);
    forged_record_is_refused("tombstone.tbl", bytes, "tombstone carries a value");

    /* A value length over 64 MiB (a 4-byte varint: 2^26 + 1). */
    memcpy(bytes, orig, FILE_BYTES);
    memcpy(bytes + REC1 + 9, "\x81\x80\x80\x20", 4);
    forged_record_is_refused("value.tbl", bytes, "value length is larger than 64 MiB");

    /* K is no varint32: five bytes with the continuation bit set. */
    memcpy(bytes, orig, FILE_BYTES);
    memset(bytes + REC1 + 8, 0xff, 5);
    forged_record_is_refused("varint.tbl", bytes, "key length is not a varint32");
    free(orig);
}

static const harness_test table_forged_tests[] = {
    HARNESS_TEST(check_finds_whole_records_out_of_order),
    HARNESS_TEST(check_finds_a_footer_count_the_records_deny),
    HARNESS_TEST(footer_that_cannot_be_true_is_refused_at_open),
    HARNESS_TEST(records_with_fields_out_of_range_are_refused),
};
const harness_suite table_forged_suite = HARNESS_SUITE("table_forged", table_forged_tests);
