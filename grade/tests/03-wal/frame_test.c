/*
 * frame_test.c: exercise frame, wal_frame (stages/03-wal/wal/wal_writer.c): a
 * record cut into fragments that never cross a 32 KiB block boundary.
 */
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "exercise.h"
#include "kv.h"
#include "wal_format.h"
#include "wal_writer.h"

/* Walks the fragments wal_frame wrote at file offset `at` and checks each
 * against the format; returns the record's bytes, reassembled. */
static uint8_t *frame_walk(const uint8_t *buf, size_t n, uint64_t at, size_t *len, int *frags)
{
    uint8_t *rec = malloc(n + 1);
    EX_CHECK(rec != NULL, "out of memory");
    size_t pos = 0, got = 0;
    int count = 0, done = 0;
    while (!done) {
        uint64_t off = at + pos;
        size_t left = WAL_BLOCK_SIZE - off % WAL_BLOCK_SIZE;
        if (left < WAL_HEADER_SIZE) {
            for (size_t i = 0; i < left; i++)
                EX_CHECK(buf[pos + i] == 0, EX_RULE(1, "the trailer") "fewer than 7 bytes left "
                         "in a block are written as "
                         "zeros, the trailer (file offset %llu)", (unsigned long long)(off + i));
            pos += left;
            continue;
        }
        EX_CHECK(pos + WAL_HEADER_SIZE <= n, "the fragments wal_frame reports writing hold a "
                 "whole header at file offset %llu", (unsigned long long)off);
        if (left == WAL_HEADER_SIZE) { /* a header fits: no trailer here */
            static const uint8_t zeros[WAL_HEADER_SIZE];
            EX_CHECK(memcmp(buf + pos, zeros, WAL_HEADER_SIZE) != 0,
                     EX_RULE(1, "the trailer: fewer than 7 bytes left") "exactly 7 bytes are "
                     "left in the block at file offset %llu: a header fits, so a fragment "
                     "starts there (with no data); only fewer than 7 bytes are the trailer, "
                     "and wal_frame wrote 7 zero bytes", (unsigned long long)off);
        }
        uint32_t flen = coding_get_u16(buf + pos + 4);
        int type = buf[pos + 6];
        EX_CHECK(WAL_HEADER_SIZE + flen <= left,
                 EX_RULE(2, "a fragment within its block") "invariant 1: a fragment never "
                 "crosses a block boundary (the fragment at file "
                 "offset %llu has %u bytes of data, %zu are left in its block)",
                 (unsigned long long)off, flen, left - WAL_HEADER_SIZE);
        EX_CHECK(pos + WAL_HEADER_SIZE + flen <= n, "a fragment lies within the bytes written");
        uint32_t crc = crc32c_value(buf + pos + 4, 3 + flen);
        EX_CHECK(coding_get_u32(buf + pos) == crc,
                 EX_RULE(4, "the CRC") "a fragment's checksum is the CRC-32C of its length, "
                 "type and data (bytes 4 "
                 "to the end of the fragment), at file offset %llu", (unsigned long long)off);
        int first = count == 0;
        EX_CHECK(type >= WAL_FULL && type <= WAL_LAST, EX_RULE(3, "the type") "a fragment's "
                 "type is 1..4");
        EX_CHECK(first ? (type == WAL_FULL || type == WAL_FIRST)
                       : (type == WAL_MIDDLE || type == WAL_LAST),
                 "fragment %d of the record has type %d: a record is one FULL, or FIRST, "
                 "MIDDLE..., LAST", count + 1, type);
        memcpy(rec + got, buf + pos + WAL_HEADER_SIZE, flen);
        got += flen;
        pos += WAL_HEADER_SIZE + flen;
        count++;
        done = type == WAL_FULL || type == WAL_LAST;
    }
    EX_CHECK(pos == n, EX_RULE(2, "the bytes written") "wal_frame returns the bytes it wrote: "
             "%zu (it said %zu)", pos, n);
    *len = got;
    *frags = count;
    return rec;
}

static void frame_check(uint64_t at, size_t len, int want_frags, const char *what)
{
    uint8_t *payload = malloc(len + 1), *buf = malloc(wal_framed_max(len) + 64);
    EX_CHECK(payload && buf, "out of memory");
    for (size_t i = 0; i < len; i++)
        payload[i] = (uint8_t)(i * 31 + 7);
    memset(buf, 0xAA, wal_framed_max(len) + 64);
    ex_context(EX_RULES("1 to 4", "the fragments, each within its block, with its header") "wal_frame of a %zu-byte record at file offset %llu (%s): no fragment "
               "crosses a 32 KiB block; at most wal_framed_max(len) bytes", len,
               (unsigned long long)at, what);
    size_t n = wal_frame(buf, at, payload, len);
    EX_CHECK(n <= wal_framed_max(len), "%s: wal_frame writes at most wal_framed_max(len) bytes "
             "(%zu > %llu)", what, n, (unsigned long long)wal_framed_max(len));
    size_t got;
    int frags;
    uint8_t *rec = frame_walk(buf, n, at, &got, &frags);
    EX_CHECK(got == len && (len == 0 || memcmp(rec, payload, len) == 0),
             "%s: " EX_RULE(2, "the fragments hold the record") "the fragments' data, end to end, "
             "is the record", what);
    if (want_frags)
        EX_CHECK(frags == want_frags, "%s: " EX_RULE(2, "as much as fits in each block") "%d "
                 "fragments (got %d)", what, want_frags, frags);
    free(rec);
    free(payload);
    free(buf);
}

static void frame_small_record_is_one_full_fragment(void)
{
    uint8_t buf[64];
    ex_context(EX_RULES("3 and 4", "a FULL fragment's header and data") "wal_frame of the "
               "5-byte record \"hello\" at file offset 0: one FULL fragment "
               "of 12 bytes, CRC-32C of length, type and data at 0");
    size_t n = wal_frame(buf, 0, (const uint8_t *)"hello", 5);
    EX_CHECK(n == 12, EX_RULE(3, "one FULL fragment") "a 5-byte record at offset 0 is one "
             "fragment: 7 + 5 = 12 bytes (got %zu)",
             n);
    EX_CHECK(coding_get_u16(buf + 4) == 5 && buf[6] == WAL_FULL,
             EX_RULE(3, "the header") "bytes 4-5 are the data's length (little-endian), byte 6 "
             "the type, FULL = 1");
    EX_CHECK(memcmp(buf + 7, "hello", 5) == 0, EX_RULE(3, "the header") "the data follows the "
             "7-byte header");
    EX_CHECK(coding_get_u32(buf) == crc32c_value(buf + 4, 8),
             EX_RULE(4, "the CRC") "bytes 0-3 are the CRC-32C of the length, the type and the "
             "data: unlike "
             "LevelDB's, the length and type are under the checksum");
    frame_check(100, 5, 1, "a small record");
}

static void frame_empty_record(void)
{
    uint8_t buf[16];
    ex_context(EX_RULE(5, "an empty record") "wal_frame of an empty record at file offset "
               "0, into 16 bytes: one FULL "
               "fragment of length 0, 7 bytes");
    EX_CHECK(wal_frame(buf, 0, (const uint8_t *)"", 0) == 7 && buf[6] == WAL_FULL &&
                 coding_get_u16(buf + 4) == 0,
             EX_RULE(5, "an empty record") "an empty record is one FULL fragment of length 0: 7 "
             "bytes");
}

static void frame_large_record_spans_blocks(void)
{
    frame_check(0, 70000, 3, "70000 bytes from the start of a block: FIRST, MIDDLE, LAST");
    frame_check(1000, 100000, 0, "100000 bytes from offset 1000");
    frame_check(WAL_BLOCK_SIZE - 100, 5000, 2, "a record that starts 100 bytes before a block "
                "ends: FIRST of 93 bytes, then LAST");
}

static void frame_trailer_when_no_header_fits(void)
{
    for (uint32_t left = 1; left < WAL_HEADER_SIZE; left++)
        frame_check(3 * WAL_BLOCK_SIZE - left, 20, 1,
                    "fewer than 7 bytes left in the block: a trailer of zeros, then the record "
                    "at the next block");
    frame_check(2 * WAL_BLOCK_SIZE - WAL_HEADER_SIZE, 20, 2,
                "exactly 7 bytes left: a FIRST fragment with no data, then LAST");
    frame_check(2 * WAL_BLOCK_SIZE - WAL_HEADER_SIZE - 20, 20, 1,
                "a record that fills its block to the last byte");
    /* After the trailer, the next block is whole again (left is a block's
     * size): a record longer than a block, framed there, is FIRST then
     * LAST, the first fragment filling that block exactly. */
    frame_check(3 * WAL_BLOCK_SIZE - 3, WAL_BLOCK_SIZE + 100, 2,
                "a record longer than a block after a 3-byte trailer: the next block is whole "
                "(left = WAL_BLOCK_SIZE), so its FIRST fragment fills it and LAST takes the rest");
}

static void frame_every_offset_of_a_block_edge(void)
{
    for (uint64_t at = WAL_BLOCK_SIZE - 40; at < WAL_BLOCK_SIZE + 8; at++)
        for (size_t len = 0; len < 48; len += 7)
            frame_check(at, len, 0, "around a block's end");
}

static const harness_test frame_tests[] = {
    HARNESS_TEST(frame_small_record_is_one_full_fragment),
    HARNESS_TEST(frame_empty_record),
    HARNESS_TEST(frame_large_record_spans_blocks),
    HARNESS_TEST(frame_trailer_when_no_header_fits),
    HARNESS_TEST(frame_every_offset_of_a_block_edge),
};
const harness_suite frame_suite = HARNESS_SUITE("frame", frame_tests);
