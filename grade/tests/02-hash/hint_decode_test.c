/*
 * hint_decode_test.c: exercise hint_decode, hint_decode and hint_validate
 * (stages/02-hash/segments/hint.c), reached through hint_load: a hint file's
 * entries decoded inside the bytes read, every length checked before it
 * is used, and the whole hint checked before any entry is used.
 */
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "exercise.h"
#include "hint.h"
#include "kv.h"
#include "log_record.h"
#include "segment.h"

typedef struct hint_bytes {
    uint8_t b[4096];
    size_t n;
    uint64_t entries;
    size_t at[16]; /* where each entry starts in the file */
} hint_bytes;

static void hb_start(hint_bytes *h, uint32_t id, uint64_t seg_bytes)
{
    memset(h, 0, sizeof *h);
    memcpy(h->b, HINT_MAGIC, 8);
    coding_put_u32(h->b + 8, HINT_VERSION);
    coding_put_u32(h->b + 12, id);
    coding_put_u64(h->b + 16, seg_bytes);
    h->n = HINT_HEADER;
}

static void hb_entry(hint_bytes *h, const char *key, uint32_t klen, uint32_t size)
{
    if (h->entries < 16)
        h->at[h->entries] = h->n;
    h->n = (size_t)(coding_put_varint32(h->b + h->n, klen) - h->b);
    h->n = (size_t)(coding_put_varint32(h->b + h->n, size) - h->b);
    memcpy(h->b + h->n, key, strlen(key));
    h->n += strlen(key);
    h->entries++;
}

static const char *hb_finish(hint_bytes *h)
{
    coding_put_u64(h->b + h->n, h->entries);
    coding_put_u32(h->b + h->n + 8, crc32c_value(h->b, h->n + 8));
    h->n += HINT_TRAILER;
    return ex_write_file("0000000001.hint", h->b, h->n);
}

typedef struct seen {
    int n;
    char keys[16][16];
    uint64_t offsets[16];
    uint32_t sizes[16];
} seen;

static int hint_collect(void *ctx, const uint8_t *key, size_t klen, uint64_t offset,
                        uint32_t size)
{
    seen *s = ctx;
    if (s->n < 16 && klen < 16) {
        memcpy(s->keys[s->n], key, klen);
        s->keys[s->n][klen] = '\0';
        s->offsets[s->n] = offset;
        s->sizes[s->n] = size;
    }
    s->n++;
    return 0;
}

static void hint_decode_entries_and_their_offsets(void)
{
    hint_bytes h;
    /* Records of 20, 30 and 13 bytes after the segment's 16-byte header. */
    hb_start(&h, 1, SEGMENT_START + 20 + 30 + 13);
    hb_entry(&h, "alpha", 5, 20);
    hb_entry(&h, "beta", 4, 30);
    hb_entry(&h, "c", 1, 13);
    const char *path = hb_finish(&h);
    seen s = {0};
    harness_context("hint_load of a valid %zu-byte hint of 3 entries (alpha 20, beta 30, c 13 "
                    "bytes) for a 79-byte segment: each entry handed out in order, offsets from 16 "
                    "on, nothing read past the hint's bytes", h.n);
    int rc = EX_KV(hint_load(path, 1, SEGMENT_START + 63, hint_collect, &s, NULL));
    EX_CHECK(rc == KV_OK, EX_RULES("1 to 7", "a valid hint refused by none of them") "a valid "
             "hint loads: KV_OK; each of its entries has lengths whole, a key length in "
             "1..65535 inside the entries, a record size its key can have, and the records "
             "cover the segment exactly (got %d: %s)", rc, ex_errmsg(rc));
    EX_CHECK(s.n == 3, EX_RULE(7, "the count of entries") "the callback gets each of the 3 "
             "entries (got %d)", s.n);
    EX_CHECK(strcmp(s.keys[0], "alpha") == 0 && strcmp(s.keys[1], "beta") == 0 &&
                 strcmp(s.keys[2], "c") == 0,
             EX_RULE(7, "every entry") "entries come in the segment's order, with their keys");
    EX_CHECK(s.offsets[0] == SEGMENT_START && s.offsets[1] == SEGMENT_START + 20 &&
                 s.offsets[2] == SEGMENT_START + 50,
             EX_RULE(5, "records laid end to end from offset 16") "a hint stores no offsets: "
             "the first record is at 16 (SEGMENT_START) and each next "
             "one where the one before ends (got %llu, %llu, %llu)",
             (unsigned long long)s.offsets[0], (unsigned long long)s.offsets[1],
             (unsigned long long)s.offsets[2]);
    EX_CHECK(s.sizes[0] == 20 && s.sizes[1] == 30 && s.sizes[2] == 13,
             EX_RULE(7, "every entry") "each entry's record_size is handed to the callback");
}

/* A hint that must be refused: KV_ERR_CORRUPT, no entry used, and
 * kv_errmsg naming `at`, the offset in the file of the entry that is wrong
 * (hint_validate's *at, plus the header), unless at is (size_t)-1. */
static void hint_refused(hint_bytes *h, uint64_t seg_bytes, size_t at, const char *rule)
{
    const char *path = hb_finish(h);
    seen s = {0};
    harness_context("hint_load of a %zu-byte hint for a %llu-byte segment: %s; refused "
                    "(KV_ERR_CORRUPT) before any entry is used", h->n,
                    (unsigned long long)seg_bytes, rule);
    int rc = EX_KV(hint_load(path, 1, seg_bytes, hint_collect, &s, NULL));
    EX_CHECK(rc == KV_ERR_CORRUPT, "%s: KV_ERR_CORRUPT (got %d)", rule, rc);
    EX_CHECK(s.n == 0, "%s: no entry is handed out before the whole hint checked out (%d were)",
             rule, s.n);
    EX_CHECK(strstr(kv_errmsg(), "offset") != NULL,
             "%s: kv_errmsg names the offset in the hint (got \"%s\")", rule, kv_errmsg());
    const char *after_path = strstr(kv_errmsg(), ".hint"); /* (its name has digits) */
    EX_CHECK(at == (size_t)-1 || (after_path != NULL && ex_names_number(after_path, at)),
             EX_RULE(7, "*at, the offset of the entry that is wrong") "kv_errmsg names the "
             "offset in the file of the entry that is wrong, %zu (hint_validate's *at, from the "
             "entries' start, plus the %d-byte header), where that entry starts, not where "
             "reading it stopped (got \"%s\"); the hint was refused, as it must be, for this: "
             "%s", at, (int)HINT_HEADER, kv_errmsg(), rule);
}

static void hint_decode_refuses_key_lengths_out_of_range(void)
{
    hint_bytes h;
    hb_start(&h, 1, SEGMENT_START + 20 + 20);
    hb_entry(&h, "ok", 2, 20);
    hb_entry(&h, "", 0, 20);
    hint_refused(&h, SEGMENT_START + 40, h.at[1],
                 EX_RULE(2, "a key length outside 1..65535") "a key length of 0 is out of range");
    hb_start(&h, 1, SEGMENT_START + 20 + 70000);
    hb_entry(&h, "ok", 2, 20);
    hb_entry(&h, "", 65536, 70000);
    hint_refused(&h, SEGMENT_START + 70020, h.at[1],
                 EX_RULE(2, "a key length outside 1..65535") "a key length over 65535 is out of "
                 "range");
}

static void hint_decode_refuses_a_key_past_the_entries(void)
{
    hint_bytes h;
    hb_start(&h, 1, SEGMENT_START + 20 + 300);
    hb_entry(&h, "ok", 2, 20);
    hb_entry(&h, "short", 200, 300); /* says 200 key bytes, has 5 then the trailer */
    hint_refused(&h, SEGMENT_START + 320, h.at[1],
                 EX_RULE(3, "a key past the entries") "a key runs past the entries (into the "
                 "trailer)");
}

static void hint_decode_refuses_a_lengths_varint_cut_short(void)
{
    hint_bytes h;
    hb_start(&h, 1, SEGMENT_START + 20);
    hb_entry(&h, "ok", 2, 20);
    h.b[h.n++] = 0x83; /* a varint's first byte, with more to come: none */
    hint_refused(&h, SEGMENT_START + 20, h.at[0] + 4,
                 EX_RULE(1, "lengths cut short") "entry lengths run past the entries");
}

static void hint_decode_refuses_impossible_record_sizes(void)
{
    hint_bytes h;
    hb_start(&h, 1, SEGMENT_START + 14);
    hb_entry(&h, "abcde", 5, 14); /* 10 + 5 = 15 bytes at least */
    hint_refused(&h, SEGMENT_START + 14, h.at[0],
                 EX_RULE(4, "a record size no record of that key can have") "a record smaller "
                 "than its header and key is impossible");
    hb_start(&h, 1, SEGMENT_START + 20);
    hb_entry(&h, "a", 1, 0xFFFFFFF0u);
    hint_refused(&h, SEGMENT_START + 20, h.at[0],
                 EX_RULE(4, "a record size no record of that key can have") "a record larger "
                 "than a 64 MiB value allows is impossible");
    /* The same in a segment long enough to hold it: only the value's bound
     * refuses it (10-byte header, 1-byte key, KV_MAX_VALUE + 1 value bytes). */
    uint32_t over = 10u + 1u + (uint32_t)KV_MAX_VALUE + 1u;
    hb_start(&h, 1, SEGMENT_START + (uint64_t)over);
    hb_entry(&h, "a", 1, over);
    hint_refused(&h, SEGMENT_START + (uint64_t)over, h.at[0],
                 EX_RULE(4, "a record size no record of that key can have") "a record whose "
                 "value would be one byte over KV_MAX_VALUE is impossible, even in a segment "
                 "long enough to hold it");
}

static void hint_decode_refuses_records_that_do_not_fit_the_segment(void)
{
    hint_bytes h;
    hb_start(&h, 1, SEGMENT_START + 40);
    hb_entry(&h, "a", 1, 20);
    hb_entry(&h, "b", 1, 30);
    hint_refused(&h, SEGMENT_START + 40, h.at[1],
                 EX_RULE(5, "records that run past the segment") "records run past the end of "
                 "the segment");
    hb_start(&h, 1, SEGMENT_START + 60);
    hb_entry(&h, "a", 1, 20);
    hb_entry(&h, "b", 1, 30);
    hint_refused(&h, SEGMENT_START + 60, (size_t)-1,
                 EX_RULE(6, "records that fall short") "records must cover the whole segment: 50 "
                 "of 60 bytes is not a hint of it");
    const char *after_path = strstr(kv_errmsg(), ".hint"); /* (its name has digits) */
    EX_CHECK(after_path != NULL && ex_names_number(after_path, h.n - HINT_TRAILER),
             EX_RULE(6, "records that fall short") "records that do not cover the whole segment "
             "are found where the entries end: "
             "kv_errmsg names that offset in the hint file, %zu (hint_validate's *at, from the "
             "entries' start, plus the %d-byte header; got \"%s\")", h.n - HINT_TRAILER,
             (int)HINT_HEADER, kv_errmsg());
}

static void hint_decode_smallest_and_largest_record_sizes(void)
{
    hint_bytes h;
    /* A record of header and key only (an empty value, or a delete):
     * 10 + 5 = 15 bytes; then the largest a 1-byte key allows. */
    uint32_t largest = LOG_RECORD_HEADER + 1 + KV_MAX_VALUE;
    hb_start(&h, 1, SEGMENT_START + 15 + (uint64_t)largest);
    hb_entry(&h, "abcde", 5, 15);
    hb_entry(&h, "z", 1, largest);
    const char *path = hb_finish(&h);
    seen s = {0};
    harness_context("hint_load of a hint whose records are 15 bytes (10 + 5-byte key) and 10 + 1 + "
                    "64 MiB: the smallest and largest sizes a record can have are possible, and "
                    "the hint loads");
    int rc = EX_KV(hint_load(path, 1, SEGMENT_START + 15 + (uint64_t)largest,
                             hint_collect, &s, NULL));
    EX_CHECK(rc == KV_OK && s.n == 2,
             EX_RULE(4, "the record sizes a key can have") "a record of exactly 10 + key_len "
             "bytes (an empty value, or a delete) and one of "
             "10 + key_len + 64 MiB are possible: the hint loads (got %d, %d entries: %s)", rc,
             s.n, rc == KV_OK ? "-" : ex_errmsg(rc));
}

static void hint_decode_refuses_a_wrong_entry_count(void)
{
    hint_bytes h;
    hb_start(&h, 1, SEGMENT_START + 20 + 30);
    hb_entry(&h, "a", 1, 20);
    hb_entry(&h, "b", 1, 30);
    h.entries = 3; /* the trailer says 3 entries; there are 2 */
    hint_refused(&h, SEGMENT_START + 50, (size_t)-1,
                 EX_RULE(7, "the count of entries") "the trailer's entry count must be the "
                 "number of entries: counted one by one as they are checked, 2, not 3");
}

static const harness_test hint_decode_tests[] = {
    HARNESS_TEST(hint_decode_entries_and_their_offsets),
    HARNESS_TEST(hint_decode_refuses_key_lengths_out_of_range),
    HARNESS_TEST(hint_decode_refuses_a_key_past_the_entries),
    HARNESS_TEST(hint_decode_refuses_a_lengths_varint_cut_short),
    HARNESS_TEST(hint_decode_refuses_impossible_record_sizes),
    HARNESS_TEST(hint_decode_refuses_records_that_do_not_fit_the_segment),
    HARNESS_TEST(hint_decode_smallest_and_largest_record_sizes),
    HARNESS_TEST(hint_decode_refuses_a_wrong_entry_count),
};
const harness_suite hint_decode_suite = HARNESS_SUITE("hint_decode", hint_decode_tests);
