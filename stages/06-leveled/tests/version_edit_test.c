/*
 * version_edit_test.c: version edits (version_edit.h): every field
 * encoded and decoded back, the bytes of the worked example in
 * docs/06-leveled.md, every malformed field refused with KV_ERR_CORRUPT
 * naming the record and the offset, every prefix and every flipped byte
 * decoded without reading past the record, the longest key that fits and
 * one past it, allocation failure, and the words kv dump prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../03-wal/tests/alloc_fail.h"
#include "internal_key.h"
#include "kv.h"
#include "manifest_test_util.h"
#include "version_edit.h"

/* The worked example of docs/06-leveled.md, "The manifest format". */
static void example_edit(version_edit *e)
{
    version_edit_init(e);
    mt_counters(e, 5, 8, 9);
    mt_pointer(e, 1, "c");
    CHECK_KV(version_edit_remove_file(e, 0, 3), KV_OK);
    uint8_t s[16], l[16];
    size_t sn = mt_ikey(s, "a", 3), ln = mt_ikey(l, "b", 4);
    CHECK_KV(version_edit_add_file(e, 1, 7, 4096, 2, s, sn, l, ln), KV_OK);
}
/* Internal keys in hex: a length byte, the user key, the trailer
 * (sequence << 8 | 1 for a put, little-endian). */
#define KEY_A3 "09" "61" "0103000000000000"   /* "a"@3 put */
#define KEY_A4 "09" "61" "0104000000000000"   /* "a"@4 put */
#define KEY_B3 "09" "62" "0103000000000000"   /* "b"@3 put */
#define KEY_B4 "09" "62" "0104000000000000"   /* "b"@4 put */
#define KEY_C5 "09" "63" "0105000000000000"   /* "c"@5 put */
#define EXAMPLE_HEX \
    "0105" "0208" "0309"          /* log_seq 5, next_file 8, last_seq 9 */ \
    "0401" KEY_C5                 /* pointer L1 "c"@5 */ \
    "050003"                      /* removed L0 #3 */ \
    "060107" "8020" "02" KEY_A3 KEY_B4 /* added L1 #7, 4096 bytes, 2 entries */
/* Where its fields end: a prefix that stops there is a valid edit. */
static const size_t example_fields[] = {0, 2, 4, 6, 18, 21, 47};

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        CHECK(sscanf(hex, "%2x", &v) == 1);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static void same_edit(const version_edit *a, const version_edit *b)
{
    mt_text ta, tb;
    mt_edit_text(a, &ta);
    mt_edit_text(b, &tb);
    CHECK_MSG(strcmp(ta.s, tb.s) == 0, "edits differ:\n%s---\n%s", ta.s, tb.s);
    CHECK_EQ(a->nadded, b->nadded);
    for (size_t i = 0; i < a->nadded; i++) {
        CHECK_MEM(a->added[i].smallest, a->added[i].smallest_len, b->added[i].smallest,
                  b->added[i].smallest_len);
        CHECK_MEM(a->added[i].largest, a->added[i].largest_len, b->added[i].largest,
                  b->added[i].largest_len);
    }
}

static void encoding_matches_the_worked_example(void)
{
    version_edit e;
    example_edit(&e);
    size_t n;
    uint8_t *p = mt_encode(&e, &n);
    uint8_t want[128];
    size_t wn = unhex(EXAMPLE_HEX, want);
    char hex[HARNESS_HEX_BUF];
    CHECK_MSG(n == wn && memcmp(p, want, n) == 0, "%zu bytes: %s", n, harness_hex(hex, p, n));
    CHECK_EQ(example_fields[sizeof example_fields / sizeof example_fields[0] - 1], n);
    free(p);
    version_edit_free(&e);
}

static void every_field_round_trips(void)
{
    version_edit e, d;
    example_edit(&e);
    mt_pointer(&e, 6, "zz");
    mt_add(&e, 0, 11, "k", "m");
    mt_add(&e, 6, 1ull << 40, "a", "a");
    CHECK_KV(version_edit_remove_file(&e, 6, UINT64_MAX), KV_OK);
    version_edit_set_last_seq(&e, IKEY_MAX_SEQ);
    size_t n;
    uint8_t *p = mt_encode(&e, &n);
    CHECK_KV(version_edit_decode(&d, p, n, "test"), KV_OK);
    same_edit(&e, &d);
    CHECK_EQ(d.removed[1].number, UINT64_MAX);
    CHECK_EQ(d.added[2].number, 1ull << 40);
    CHECK_EQ(d.last_seq, IKEY_MAX_SEQ);
    free(p);
    version_edit_free(&e);
    version_edit_free(&d);
}

static void empty_edit_is_zero_bytes(void)
{
    version_edit e, d;
    version_edit_init(&e);
    size_t n;
    uint8_t *p = mt_encode(&e, &n);
    CHECK_EQ(n, 0);
    CHECK_KV(version_edit_decode(&d, p, 0, "test"), KV_OK);
    CHECK(!d.has_log_seq && !d.has_next_file && !d.has_last_seq);
    CHECK_EQ(d.nadded + d.nremoved + d.npointers, 0);
    CHECK_KV(version_edit_decode(&d, NULL, 0, "test"), KV_OK);
    free(p);
}

static void set_pointer_replaces_the_levels_pointer(void)
{
    version_edit e;
    version_edit_init(&e);
    mt_pointer(&e, 2, "a");
    mt_pointer(&e, 3, "b");
    mt_pointer(&e, 2, "c");
    CHECK_EQ(e.npointers, 2);
    CHECK_EQ(e.pointers[0].level, 2);
    CHECK_MEM(e.pointers[0].key, e.pointers[0].len - 8, "c", 1);
    version_edit_free(&e);
    CHECK_EQ(e.npointers, 0);
}

/* bytes (hex) must be refused, the message naming the label and `says`. */
static void expect_refused(const char *hex, const char *says)
{
    uint8_t buf[256];
    size_t n = unhex(hex, buf);
    uint8_t *p = malloc(n ? n : 1); /* exactly n bytes, so ASan sees a read past them */
    CHECK(p != NULL);
    memcpy(p, buf, n);
    version_edit d;
    harness_context("bytes %s", hex);
    CHECK_KV(version_edit_decode(&d, p, n, "MANIFEST-000009: record at offset 16"),
             KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "MANIFEST-000009: record at offset 16: offset ") != NULL,
              "%s", kv_errmsg());
    CHECK_MSG(strstr(kv_errmsg(), says) != NULL, "%s (wanted \"%s\")", kv_errmsg(), says);
    CHECK_EQ(d.nadded + d.nremoved + d.npointers, 0);
    free(p);
}

static void malformed_fields_are_refused_with_their_offset(void)
{
    expect_refused("08", "unknown tag 8");
    expect_refused("00", "unknown tag 0");
    expect_refused("0105" "ffffffffffffffffffff01", "tag that is not a varint32");
    expect_refused("0105" "0106", "offset 2 in the edit: log sequence given a second time");
    expect_refused("0208" "0209", "next file number given a second time");
    expect_refused("0301" "0301", "last sequence given a second time");
    expect_refused("01", "log sequence: not a varint");
    expect_refused("01" "80808080808080808001", "above the largest sequence number");
    expect_refused("0380808080808080808001", "above the largest sequence number");
    expect_refused("050703", "level 7, not below 7");
    expect_refused("0500", "file number: not a varint");
    expect_refused("050000", "file number 0");
    expect_refused("0501", "not a varint");
    /* pointers: a key past the end, too short, a bad type, twice a level */
    expect_refused("040109630105", "compact pointer of 9 bytes, past the record's end (3 "
                   "bytes left)");
    expect_refused("0401086301050000000000", "compact pointer of 8 bytes is not an internal key");
    expect_refused("040109630305000000000000", "is not an internal key");
    expect_refused("0401" KEY_C5 "0401" KEY_B4,
                   "offset 12 in the edit: a second compact pointer for level 1");
    expect_refused("0401", "length is not a varint32");
    /* added files */
    expect_refused("0601078020", "entries: not a varint");
    expect_refused("060107802002", "smallest key: its length is not a varint32");
    expect_refused("06010780200209" "6101030000000000", "smallest key of 9 bytes, past the "
                   "record's end (8 bytes left)");
    expect_refused("060107802002" KEY_A3, "largest key: its length is not a varint32");
    expect_refused("060107802002" KEY_A3 "09" "6201040000000000",
                   "largest key of 9 bytes, past the record's end (8 bytes left)");
    expect_refused("060107802002" KEY_B3 KEY_A4,
                   "offset 0 in the edit: file 7 has its smallest key after its largest");
    /* one user key: the newer (larger) sequence sorts first */
    expect_refused("0105" "060107802002" KEY_A3 KEY_A4,
                   "offset 2 in the edit: file 7 has its smallest key after its largest");
    expect_refused("060707802002" KEY_A3 KEY_B4, "level 7, not below 7");
    expect_refused("060100802002" KEY_A3 KEY_B4, "file number 0");
}

/* Tag 7: a table's dead entries, after its ADDED; round trip, and every
 * way it can be wrong. */
static void dead_entries_round_trip_and_are_checked(void)
{
    version_edit e, d;
    example_edit(&e);
    version_edit_file_dead(&e, 2, 77);
    mt_add(&e, 2, 12, "k", "m");           /* none dead: no tag 7 */
    size_t n;
    uint8_t *p = mt_encode(&e, &n);
    CHECK_KV(version_edit_decode(&d, p, n, "test"), KV_OK);
    same_edit(&e, &d);
    CHECK_EQ(d.added[0].dead, 2);
    CHECK_EQ(d.added[0].dead_from, 77);
    CHECK_EQ(d.added[1].dead, 0);
    free(p);
    version_edit_free(&e);
    version_edit_free(&d);
    /* "added L1 #7, 2 entries", then tag 7 */
#define ADDED_7 "060107" "8020" "02" KEY_A3 KEY_B4
    expect_refused("070701" "05", "dead entries of file 7: its file was not added before it");
    expect_refused(ADDED_7 "070801" "05", "file 8: its file was not added before it");
    expect_refused(ADDED_7 "070703" "05", "more than the file's entries");
    expect_refused(ADDED_7 "070700" "05", "a count of dead entries of 0");
    expect_refused(ADDED_7 "070701" "00", "dead from sequence 0");
    expect_refused(ADDED_7 "070701" "05" "070701" "05", "a second one for its file");
    expect_refused(ADDED_7 "070701" "80808080808080808001", "above the largest sequence");
    expect_refused(ADDED_7 "0707", "dead entries: not a varint");
    uint8_t ok[128];
    size_t okn = unhex(ADDED_7 "070702" "4d", ok);
    CHECK_KV(version_edit_decode(&d, ok, okn, "test"), KV_OK);
    CHECK_EQ(d.added[0].dead, 2);
    CHECK_EQ(d.added[0].dead_from, 0x4d);
    mt_text t;
    mt_edit_text(&d, &t);
    CHECK_MSG(strstr(t.s, "dead #7 2 entries from seq 77") != NULL, "%s", t.s);
    version_edit_free(&d);
#undef ADDED_7
}

static void every_prefix_decodes_or_is_refused(void)
{
    uint8_t full[128];
    size_t n = unhex(EXAMPLE_HEX, full);
    size_t f = 0;
    for (size_t len = 0; len <= n; len++) {
        uint8_t *p = malloc(len ? len : 1);
        CHECK(p != NULL);
        memcpy(p, full, len);
        version_edit d;
        int at_field = len == example_fields[f];
        harness_context("prefix of %zu bytes", len);
        CHECK_KV(version_edit_decode(&d, p, len, "prefix"),
                 at_field ? KV_OK : KV_ERR_CORRUPT);
        if (at_field)
            f++;
        version_edit_free(&d);
        free(p);
    }
    CHECK_EQ(f, sizeof example_fields / sizeof example_fields[0]);
}

/* Any byte, any value: decoded, or refused as corrupt; a decoded edit
 * encodes and decodes to itself. */
static void every_flipped_byte_decodes_or_is_refused(void)
{
    uint8_t full[128];
    size_t n = unhex(EXAMPLE_HEX, full);
    uint8_t *p = malloc(n);
    CHECK(p != NULL);
    for (size_t i = 0; i < n; i++)
        for (unsigned v = 0; v < 256; v++) {
            memcpy(p, full, n);
            p[i] = (uint8_t)v;
            version_edit d, again;
            harness_context("byte %zu = %02x", i, v);
            int rc = version_edit_decode(&d, p, n, "flip");
            if (rc != KV_OK) {
                CHECK_EQ(rc, KV_ERR_CORRUPT);
                continue;
            }
            size_t en;
            uint8_t *enc = mt_encode(&d, &en);
            CHECK_KV(version_edit_decode(&again, enc, en, "again"), KV_OK);
            same_edit(&d, &again);
            free(enc);
            version_edit_free(&d);
            version_edit_free(&again);
        }
    free(p);
}

/* An added file whose smallest key is `klen` bytes (user key klen - 8). */
static int decode_with_key_of(size_t klen)
{
    uint8_t *key = malloc(klen);
    CHECK(key != NULL);
    memset(key, 'k', klen - 8);
    coding_put_u64(key + klen - 8, ikey_trailer(1, IKEY_PUT));
    version_edit e, d;
    version_edit_init(&e);
    CHECK_KV(version_edit_add_file(&e, 2, 1, 1, 1, key, klen, key, klen), KV_OK);
    size_t n;
    uint8_t *p = mt_encode(&e, &n);
    int rc = version_edit_decode(&d, p, n, "long key");
    if (rc == KV_OK)
        CHECK_EQ(d.added[0].smallest_len, klen);
    version_edit_free(&e);
    version_edit_free(&d);
    free(p);
    free(key);
    return rc;
}

static void longest_key_fits_and_one_more_byte_is_refused(void)
{
    CHECK_KV(decode_with_key_of(KV_MAX_KEY + 8), KV_OK);
    CHECK_KV(decode_with_key_of(KV_MAX_KEY + 9), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "smallest key of 65544 bytes is not an internal key") != NULL,
              "%s", kv_errmsg());
    CHECK_KV(decode_with_key_of(9), KV_OK);
}

/* Every allocation of building, encoding and decoding fails in turn:
 * KV_ERR_NOMEM, nothing half done, nothing leaked. */
static void allocation_failure_is_nomem_everywhere(void)
{
    if (!alloc_fail_available())
        return; /* a sanitizer brings its own allocator */
    uint8_t want[128];
    size_t wn = unhex(EXAMPLE_HEX, want);
    for (long nth = 1;; nth++) {
        harness_context("allocation %ld fails", nth);
        version_edit e, d;
        version_edit_init(&e);
        version_edit_init(&d);
        uint8_t s[16], l[16], *p = NULL;
        size_t sn = mt_ikey(s, "a", 3), ln = mt_ikey(l, "b", 4), n = 0;
        alloc_fail_arm(nth);
        int rc = version_edit_add_file(&e, 1, 7, 4096, 2, s, sn, l, ln);
        if (rc == KV_OK)
            rc = version_edit_set_pointer(&e, 1, l, ln);
        if (rc == KV_OK)
            rc = version_edit_remove_file(&e, 0, 3);
        if (rc == KV_OK)
            rc = version_edit_encode(&e, &p, &n);
        if (rc == KV_OK)
            rc = version_edit_decode(&d, want, wn, "nomem");
        long failed = alloc_fail_failures();
        alloc_fail_disarm();
        CHECK_KV(rc, failed ? KV_ERR_NOMEM : KV_OK);
        if (rc == KV_OK)
            CHECK_EQ(d.nadded, 1);
        free(p);
        version_edit_free(&e);
        version_edit_free(&d);
        if (!failed)
            break;
    }
}

static void describe_says_each_field_in_words(void)
{
    version_edit e;
    example_edit(&e);
    mt_text t;
    mt_edit_text(&e, &t);
    CHECK_MSG(strcmp(t.s, "log_seq 5\nnext_file 8\nlast_seq 9\npointer L1 \"c\"@5 put\n"
                          "removed L0 #3\n"
                          "added L1 #7 4096 bytes 2 entries [\"a\"@3 put .. \"b\"@4 put]\n") == 0,
              "%s", t.s);
    version_edit_free(&e);
}

static const harness_test version_edit_tests[] = {
    HARNESS_TEST(encoding_matches_the_worked_example),
    HARNESS_TEST(every_field_round_trips),
    HARNESS_TEST(empty_edit_is_zero_bytes),
    HARNESS_TEST(set_pointer_replaces_the_levels_pointer),
    HARNESS_TEST(malformed_fields_are_refused_with_their_offset),
    HARNESS_TEST(dead_entries_round_trip_and_are_checked),
    HARNESS_TEST(every_prefix_decodes_or_is_refused),
    HARNESS_TEST(every_flipped_byte_decodes_or_is_refused),
    HARNESS_TEST(longest_key_fits_and_one_more_byte_is_refused),
    HARNESS_TEST(allocation_failure_is_nomem_everywhere),
    HARNESS_TEST(describe_says_each_field_in_words),
};
const harness_suite version_edit_suite = HARNESS_SUITE("version_edit", version_edit_tests);
