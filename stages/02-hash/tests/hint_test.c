/*
 * hint_test.c: hint files (hint.h): a round trip, and every check that makes
 * kv_open ignore a hint and read its segment instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "coding.h"
#include "crc32c.h"
#include "hint.h"
#include "kv.h"
#include "segment.h"
#include "stage_util.h"

typedef struct seen {
    int calls;
    uint64_t offsets[8];
    uint32_t sizes[8];
    char keys[8][8];
    int fail_at;   /* return KV_ERR_NOMEM on this call (1-based), 0 = never */
} seen;

static int seen_entry(void *ctx, const uint8_t *key, size_t klen, uint64_t offset, uint32_t size)
{
    seen *s = ctx;
    if (s->calls < 8) {
        s->offsets[s->calls] = offset;
        s->sizes[s->calls] = size;
        memcpy(s->keys[s->calls], key, klen < 7 ? klen : 7);
    }
    return ++s->calls == s->fail_at ? KV_ERR_NOMEM : KV_OK;
}

static void hint_round_trip_gives_each_record_its_offset(void)
{
    const char *path = harness_join(harness_tmpdir(), "0000000007.hint");
    hint_builder b;
    CHECK_KV(hint_builder_init(&b), KV_OK);
    size_t pos = 0;
    CHECK_KV(hint_add(&b, "one", 3, 20, &pos), KV_OK);
    CHECK_MEM(b.buf + pos, 3, "one", 3);
    CHECK_KV(hint_add(&b, "two", 3, 300, NULL), KV_OK);
    CHECK_KV(hint_add(&b, "three", 5, 15, NULL), KV_OK);
    CHECK_EQ(b.covered, 335);
    /* The records follow the segment's 16-byte header. */
    CHECK_KV(hint_write(path, 7, SEGMENT_START + 335, &b), KV_OK);
    /* 24 header + (1+1+3) + (1+2+3) + (1+1+5) + 12 trailer */
    CHECK_EQ(stage_file_size(path), 24 + 5 + 6 + 7 + 12);
    hint_builder_free(&b);

    seen s = {0};
    uint64_t bytes = 0;
    CHECK_KV(hint_load(path, 7, SEGMENT_START + 335, seen_entry, &s, &bytes), KV_OK);
    CHECK_EQ(bytes, 54);
    CHECK_EQ(s.calls, 3);
    CHECK_EQ(s.offsets[0], SEGMENT_START);
    CHECK_EQ(s.offsets[1], SEGMENT_START + 20);
    CHECK_EQ(s.offsets[2], SEGMENT_START + 320);
    CHECK_EQ(s.sizes[1], 300);
    CHECK(strcmp(s.keys[2], "three") == 0);

    s = (seen){.fail_at = 2};
    CHECK_KV(hint_load(path, 7, SEGMENT_START + 335, seen_entry, &s, NULL), KV_ERR_NOMEM);
    CHECK_EQ(s.calls, 2);
}

/* Writes a hint file from parts, with a correct checksum. */
static void make_hint(const char *path, const char *magic, uint32_t version, uint32_t id,
                      uint64_t seg_bytes, const uint8_t *entries, size_t elen, uint64_t count)
{
    uint8_t buf[256];
    CHECK(elen + 36 <= sizeof buf);
    memcpy(buf, magic, 8);
    coding_put_u32(buf + 8, version);
    coding_put_u32(buf + 12, id);
    coding_put_u64(buf + 16, seg_bytes);
    memcpy(buf + 24, entries, elen);
    coding_put_u64(buf + 24 + elen, count);
    coding_put_u32(buf + 32 + elen, crc32c_value(buf, 32 + elen));
    stage_write_file(path, buf, 36 + elen);
}

static void expect_rejected(const char *path, uint32_t id, uint64_t seg_bytes, const char *why)
{
    seen s = {0};
    harness_context("expecting: %s", why);
    CHECK_KV(hint_load(path, id, seg_bytes, seen_entry, &s, NULL), KV_ERR_CORRUPT);
    CHECK_EQ(s.calls, 0);
    /* The reason is the hint's checks' own (an exercise's, in a learner's
     * build): that it names the file is checked, never its words. */
    CHECK_MSG(strstr(kv_errmsg(), path) != NULL, "kv_errmsg \"%s\" does not name the hint (%s)",
              kv_errmsg(), why);
}

/* A hint refused for what one of its entries says: hint_validate's reason
 * is the exercise's own words, so what is checked is where it points, the
 * offset of the entry in the file ("offset AT: ", hint_load's format). */
static void expect_rejected_at(const char *path, uint32_t id, uint64_t seg_bytes, size_t at,
                               const char *what)
{
    seen s = {0};
    harness_context("expecting a refusal at offset %zu: %s", at, what);
    CHECK_KV(hint_load(path, id, seg_bytes, seen_entry, &s, NULL), KV_ERR_CORRUPT);
    CHECK_EQ(s.calls, 0);
    char want[48];
    snprintf(want, sizeof want, ": offset %zu: ", at);
    const char *m = strstr(kv_errmsg(), want);
    CHECK_MSG(m != NULL && m[strlen(want)] != '\0',
              "kv_errmsg \"%s\" does not name offset %zu with a reason after it (%s)",
              kv_errmsg(), at, what);
    CHECK(strstr(kv_errmsg(), path) != NULL);
}

static void hint_with_any_damage_is_rejected_whole(void)
{
    const char *path = harness_join(harness_tmpdir(), "0000000003.hint");
    const uint64_t H = SEGMENT_START; /* the records follow the segment's header */
    /* Two good entries: "ab" in 20 bytes, "c" in 11 bytes: 31 bytes. */
    const uint8_t good[] = {2, 20, 'a', 'b', 1, 11, 'c'};
    make_hint(path, HINT_MAGIC, 1, 3, H + 31, good, sizeof good, 2);
    seen s = {0};
    CHECK_KV(hint_load(path, 3, H + 31, seen_entry, &s, NULL), KV_OK);
    CHECK_EQ(s.calls, 2);

    expect_rejected(path, 4, H + 31, "another segment");
    expect_rejected(path, 3, H + 32, "size differs");
    make_hint(path, "KVHINT99", 1, 3, H + 31, good, sizeof good, 2);
    expect_rejected(path, 3, H + 31, "bad magic");
    make_hint(path, HINT_MAGIC, 2, 3, H + 31, good, sizeof good, 2);
    expect_rejected(path, 3, H + 31, "unknown version");
    make_hint(path, HINT_MAGIC, 1, 3, H + 31, good, sizeof good, 3);
    expect_rejected(path, 3, H + 31, "entry count");
    make_hint(path, HINT_MAGIC, 1, 3, H + 32, good, sizeof good, 2);
    expect_rejected_at(path, 3, H + 32, 24 + 7, "records that do not cover the whole segment");
    make_hint(path, HINT_MAGIC, 1, 3, H + 30, good, sizeof good, 2);
    expect_rejected_at(path, 3, H + 30, 24 + 4, "a record that runs past the end of the segment");

    const uint8_t zero_key[] = {0, 10};
    make_hint(path, HINT_MAGIC, 1, 3, H + 10, zero_key, sizeof zero_key, 1);
    expect_rejected_at(path, 3, H + 10, 24, "a key length of 0");
    const uint8_t small[] = {2, 11, 'a', 'b'};
    make_hint(path, HINT_MAGIC, 1, 3, H + 11, small, sizeof small, 1);
    expect_rejected_at(path, 3, H + 11, 24, "a record size too small for its key");
    const uint8_t cut_key[] = {5, 20, 'a'};
    make_hint(path, HINT_MAGIC, 1, 3, H + 20, cut_key, sizeof cut_key, 1);
    expect_rejected_at(path, 3, H + 20, 24, "a key that runs past the entries");
    const uint8_t cut_varint[] = {2, 0x80};
    make_hint(path, HINT_MAGIC, 1, 3, H + 20, cut_varint, sizeof cut_varint, 1);
    expect_rejected_at(path, 3, H + 20, 24, "lengths that run past the entries");

    make_hint(path, HINT_MAGIC, 1, 3, H + 31, good, sizeof good, 2);
    stage_flip_byte(path, 26);
    expect_rejected(path, 3, H + 31, "checksum mismatch");
    stage_write_file(path, "KVHINT02", 8);
    expect_rejected(path, 3, H + 31, "not a possible size");
    /* A hint larger than its segment's records could need is refused
     * before it is read (a 10 GB sparse hint would otherwise be). */
    make_hint(path, HINT_MAGIC, 1, 3, H + 31, good, sizeof good, 2);
    expect_rejected(path, 3, H + 5, "not a possible size for the hint of a 21-byte segment");
}

static void hint_that_cannot_be_read_is_an_io_error(void)
{
    seen s = {0};
    const char *path = harness_join(harness_tmpdir(), "0000000001.hint");
    CHECK_KV(hint_load(path, 1, 0, seen_entry, &s, NULL), KV_ERR_IO);
    CHECK(strstr(kv_errmsg(), path) != NULL);
    hint_builder b;
    CHECK_KV(hint_builder_init(&b), KV_OK);
    CHECK_KV(hint_write(harness_join(path, "x"), 1, 0, &b), KV_ERR_IO); /* not a directory */
    hint_builder_free(&b);
}

static const harness_test hint_tests[] = {
    HARNESS_TEST(hint_round_trip_gives_each_record_its_offset),
    HARNESS_TEST(hint_with_any_damage_is_rejected_whole),
    HARNESS_TEST(hint_that_cannot_be_read_is_an_io_error),
};
const harness_suite hint_suite = HARNESS_SUITE("hint", hint_tests);
