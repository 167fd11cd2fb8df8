/*
 * vlog_where_test.c: where a value is (vlog_where.c): the pointer's bytes
 * round-trip and every malformed one is refused; the arithmetic of a value
 * inside a log's blocks agrees with the log writer itself (wal_frame), for
 * records that start anywhere in a block and values that cross one, two or
 * no block boundaries, the trailer case included.
 */
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "coding.h"
#include "kv.h"
#include "lsm_wal.h"
#include "value_log.h"
#include "wal_format.h"
#include "wal_writer.h"

static void where_round_trips(void)
{
    const vlog_where cases[] = {
        {1, LSM_WAL_START + WAL_HEADER_SIZE, 1, 0},
        {123456789, (5u << 20) + 100, 4096, 0xdeadbeef},
        {UINT64_MAX >> 8, (1ull << 40) + WAL_HEADER_SIZE, VLOG_MAX_VALUE, 0xffffffff},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[VLOG_WHERE_MAX];
        size_t n = vlog_where_encode(buf, &cases[i]);
        CHECK(n <= VLOG_WHERE_MAX);
        vlog_where w;
        const char *why = NULL;
        CHECK_MSG(vlog_where_decode(buf, n, &w, &why) == 0, "case %zu: %s", i, why);
        CHECK_EQ(w.file, cases[i].file);
        CHECK_EQ(w.offset, cases[i].offset);
        CHECK_EQ(w.len, cases[i].len);
        CHECK_EQ(w.crc, cases[i].crc);
        /* Every prefix is refused, and so is a byte more. */
        for (size_t k = 0; k < n; k++)
            CHECK_MSG(vlog_where_decode(buf, k, &w, &why) != 0, "case %zu: %zu of %zu bytes "
                      "accepted", i, k, n);
        buf[n] = 0;
        why = NULL;
        CHECK_MSG(vlog_where_decode(buf, n + 1, &w, &why) != 0 && why != NULL && why[0] != '\0',
                  "case %zu: a byte after the crc32c is refused, with a reason", i);
    }
}

static void where_outside_a_log_is_refused(void)
{
    /* Each is refused with a reason; what the reason says is the
     * decoder's own (the exercise's, in a learner's build): its wording is
     * not checked. */
    struct {
        vlog_where w;
        const char *what;
    } bad[] = {
        {{0, 100, 5, 0}, "file number 0"},
        {{7, 100, 0, 0}, "a length of 0"},
        {{7, 100, VLOG_MAX_VALUE + 1, 0}, "a length past 64 MiB"},
        {{7, 3, 5, 0}, "an offset in the file header"},
        {{7, LSM_WAL_START + 2, 5, 0}, "an offset in the first fragment's header"},
        {{7, WAL_BLOCK_SIZE + 3, 5, 0}, "an offset in a block's header"},
        {{7, UINT64_MAX - 7, 5, 0}, "an offset past any file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t buf[VLOG_WHERE_MAX];
        size_t n = vlog_where_encode(buf, &bad[i].w);
        vlog_where w;
        const char *why = NULL;
        CHECK_MSG(vlog_where_decode(buf, n, &w, &why) != 0, "case %zu (%s) accepted", i,
                  bad[i].what);
        CHECK_MSG(why != NULL && why[0] != '\0', "case %zu (%s) refused without a reason", i,
                  bad[i].what);
    }
}

/* A record of len bytes framed at `at` the way the log writer frames it;
 * each payload byte i holds (i * 7 + 3) & 0xff.  Returns the framed bytes
 * (malloc'd), which start at file offset `at`. */
static uint8_t *framed_record(uint64_t at, size_t len, size_t *framed)
{
    uint8_t *payload = malloc(len ? len : 1);
    CHECK(payload != NULL);
    for (size_t i = 0; i < len; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    uint8_t *out = malloc(wal_framed_max(len));
    CHECK(out != NULL);
    *framed = wal_frame(out, at, payload, len);
    free(payload);
    return out;
}

/* vlog_payload_offset, vlog_span and vlog_gather against the writer, for
 * records starting at `at`, each value [i, i + vlen) of the payload. */
static void check_record_at(uint64_t at, size_t len)
{
    size_t framed = 0;
    uint8_t *bytes = framed_record(at, len, &framed);
    /* The record's first fragment: where the writer put it (after the
     * trailer, if the block had no room for a header). */
    uint64_t start = wal_block_left(at) < WAL_HEADER_SIZE ? at + wal_block_left(at) : at;
    size_t starts[] = {0, 1, len / 3, len / 2, len > 40000 ? 32000 : len - 1};
    size_t vlens[] = {1, 100, 4096, 40000, 70000};
    for (size_t a = 0; a < sizeof starts / sizeof starts[0]; a++)
        for (size_t b = 0; b < sizeof vlens / sizeof vlens[0]; b++) {
            size_t i = starts[a], vlen = vlens[b];
            if (i + vlen > len)
                continue;
            vlog_where w = {.file = 1, .offset = vlog_payload_offset(start, i),
                            .len = (uint32_t)vlen};
            harness_context("record at %llu of %zu bytes, value [%zu, %zu)",
                            (unsigned long long)at, len, i, i + vlen);
            uint64_t span = vlog_span(&w);
            CHECK(w.offset >= at && w.offset + span <= at + framed);
            uint8_t *out = malloc(vlen);
            CHECK(out != NULL);
            vlog_gather(&w, bytes + (w.offset - at), out);
            for (size_t k = 0; k < vlen; k++)
                CHECK_MSG(out[k] == (uint8_t)((i + k) * 7 + 3), "byte %zu of the value is "
                          "wrong: the arithmetic and the writer disagree", k);
            /* In place, as a load gathers. */
            uint8_t *copy = malloc(span);
            CHECK(copy != NULL);
            memcpy(copy, bytes + (w.offset - at), span);
            vlog_gather(&w, copy, copy);
            CHECK(memcmp(copy, out, vlen) == 0);
            /* The span is its bytes and one header per boundary crossed. */
            uint64_t boundaries = (w.offset % WAL_BLOCK_SIZE + span - 1) / WAL_BLOCK_SIZE;
            CHECK_EQ(span, vlen + boundaries * WAL_HEADER_SIZE);
            free(copy);
            free(out);
        }
    free(bytes);
}

static void span_and_gather_agree_with_the_writer(void)
{
    const uint64_t ats[] = {LSM_WAL_START, LSM_WAL_START + 1000, WAL_BLOCK_SIZE - 7,
                            WAL_BLOCK_SIZE - 8, WAL_BLOCK_SIZE - 3, 3 * WAL_BLOCK_SIZE + 13,
                            5 * WAL_BLOCK_SIZE - 100};
    const size_t lens[] = {200, 5000, 40000, 100000};
    for (size_t a = 0; a < sizeof ats / sizeof ats[0]; a++)
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
            check_record_at(ats[a], lens[l]);
}

static void file_names_say_which_name(void)
{
    char name[64];
    vlog_file_name(name, sizeof name, 101, 0);
    CHECK(strcmp(name, "000000000101.vlog") == 0);
    vlog_file_name(name, sizeof name, 101, 1);
    CHECK(strcmp(name, "000000000101.log") == 0);
}

static const harness_test tests[] = {
    HARNESS_TEST(where_round_trips),
    HARNESS_TEST(where_outside_a_log_is_refused),
    HARNESS_TEST(span_and_gather_agree_with_the_writer),
    HARNESS_TEST(file_names_say_which_name),
};
const harness_suite vlog_where_suite = HARNESS_SUITE("vlog_where", tests);
