/*
 * wal_format_test.c: the write-ahead log's framing (wal_format.h) written
 * by wal_frame and read back by wal_reader from memory, at every size that
 * meets a block boundary differently, and with the damage a crash or a bad
 * disk leaves.  Also the batch payload (wal_batch.h).
 */
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "coding.h"
#include "crc32c.h"
#include "kv.h"
#include "wal_batch.h"
#include "wal_format.h"
#include "wal_reader.h"
#include "wal_writer.h"

/* A log in memory: records appended with wal_frame. */
typedef struct mem_log {
    uint8_t *p;
    size_t len, cap;
} mem_log;

static void mem_log_add(mem_log *l, size_t n, uint8_t fill)
{
    uint8_t *rec = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        rec[i] = (uint8_t)(fill + i * 7);
    size_t need = l->len + (size_t)wal_framed_max(n);
    if (need > l->cap) {
        l->cap = need * 2;
        l->p = realloc(l->p, l->cap);
    }
    l->len += wal_frame(l->p + l->len, l->len, rec, n);
    free(rec);
}

/* Reads the log; checks it holds records of the given sizes and fills, in
 * order, then the end.  Returns the number of damage reports seen. */
static int mem_log_expect(const uint8_t *p, size_t len, const size_t *sizes,
                          const uint8_t *fills, size_t n)
{
    wal_reader r;
    wal_reader_init_mem(&r, p, 0, len);
    size_t got = 0;
    int damage = 0, rc;
    while ((rc = wal_reader_next(&r)) != WAL_READ_END) {
        CHECK(rc == WAL_READ_RECORD || rc == WAL_READ_DAMAGE);
        if (rc == WAL_READ_DAMAGE) {
            damage++;
            continue;
        }
        CHECK_MSG(got < n, "more records than written");
        CHECK_EQ(r.rec_len, sizes[got]);
        for (size_t i = 0; i < r.rec_len; i++)
            if (r.rec[i] != (uint8_t)(fills[got] + i * 7))
                CHECK_MSG(0, "record %zu byte %zu differs", got, i);
        got++;
    }
    CHECK_EQ(got, n);
    wal_reader_free(&r);
    return damage;
}

static void round_trip(const size_t *sizes, size_t n)
{
    mem_log l = {0};
    uint8_t fills[16];
    for (size_t i = 0; i < n; i++) {
        fills[i] = (uint8_t)(i * 31 + 1);
        mem_log_add(&l, sizes[i], fills[i]);
    }
    CHECK_EQ(mem_log_expect(l.p, l.len, sizes, fills, n), 0);
    free(l.p);
}

static void record_filling_the_block_exactly_is_one_fragment(void)
{
    size_t sizes[] = {WAL_MAX_FRAGMENT, 5};
    round_trip(sizes, 2);
    mem_log l = {0};
    mem_log_add(&l, WAL_MAX_FRAGMENT, 1);
    CHECK_EQ(l.len, WAL_BLOCK_SIZE);
    CHECK_EQ(l.p[6], WAL_FULL);
    free(l.p);
}

static void record_leaving_exactly_a_header_starts_next_with_empty_first(void)
{
    size_t sizes[] = {WAL_MAX_FRAGMENT - WAL_HEADER_SIZE, 100};
    round_trip(sizes, 2);
    mem_log l = {0};
    mem_log_add(&l, WAL_MAX_FRAGMENT - WAL_HEADER_SIZE, 1);
    mem_log_add(&l, 100, 2);
    /* The second record: an empty FIRST in the block's last 7 bytes, then
     * a LAST at the start of the next block. */
    CHECK_EQ(l.p[WAL_BLOCK_SIZE - 1], WAL_FIRST);
    CHECK_EQ(coding_get_u16(l.p + WAL_BLOCK_SIZE - 3), 0);
    CHECK_EQ(l.p[WAL_BLOCK_SIZE + 6], WAL_LAST);
    free(l.p);
}

static void trailer_shorter_than_a_header_is_zero_padding(void)
{
    size_t sizes[] = {WAL_MAX_FRAGMENT - 6, 10};
    round_trip(sizes, 2);
    mem_log l = {0};
    mem_log_add(&l, WAL_MAX_FRAGMENT - 6, 1);
    CHECK_EQ(l.len, WAL_BLOCK_SIZE - 6);
    mem_log_add(&l, 10, 2);
    static const uint8_t zeros[6];
    CHECK_MEM(l.p + WAL_BLOCK_SIZE - 6, 6, zeros, 6);
    CHECK_EQ(l.len, WAL_BLOCK_SIZE + WAL_HEADER_SIZE + 10);
    free(l.p);
}

static void empty_record_round_trips(void)
{
    size_t sizes[] = {0, 0, 3};
    round_trip(sizes, 3);
}

static void record_of_three_blocks_round_trips(void)
{
    size_t sizes[] = {10, 3 * WAL_BLOCK_SIZE, 20};
    round_trip(sizes, 3);
}

static void zero_tail_is_the_end_not_data(void)
{
    mem_log l = {0};
    size_t sizes[] = {100, 200};
    uint8_t fills[] = {1, 2};
    mem_log_add(&l, 100, 1);
    mem_log_add(&l, 200, 2);
    uint8_t *p = calloc(1, l.len + 50000);
    memcpy(p, l.p, l.len);
    CHECK_EQ(mem_log_expect(p, l.len + 50000, sizes, fills, 2), 1);
    free(p);
    free(l.p);
}

static void torn_tail_is_reported_once_and_ends_the_log(void)
{
    mem_log l = {0};
    size_t sizes[] = {100, 40000};
    uint8_t fills[] = {1, 2};
    mem_log_add(&l, 100, 1);
    mem_log_add(&l, 40000, 2);
    /* Cut inside the second record's second fragment. */
    wal_reader r;
    wal_reader_init_mem(&r, l.p, 0, l.len - 10);
    CHECK_EQ(wal_reader_next(&r), WAL_READ_RECORD);
    CHECK_EQ(wal_reader_next(&r), WAL_READ_DAMAGE);
    CHECK_EQ(r.bad_offset, 107u);
    CHECK_EQ(wal_reader_next(&r), WAL_READ_END);
    wal_reader_free(&r);
    CHECK_EQ(mem_log_expect(l.p, l.len, sizes, fills, 2), 0);
    free(l.p);
}

static void flipped_byte_in_a_middle_block_is_damage_then_resync(void)
{
    mem_log l = {0};
    mem_log_add(&l, 10, 1);
    mem_log_add(&l, 3 * WAL_BLOCK_SIZE, 2);
    mem_log_add(&l, 30, 3);
    l.p[WAL_BLOCK_SIZE + 100] ^= 0x40; /* inside the big record's MIDDLE */
    wal_reader r;
    wal_reader_init_mem(&r, l.p, 0, l.len);
    CHECK_EQ(wal_reader_next(&r), WAL_READ_RECORD);
    CHECK_EQ(wal_reader_next(&r), WAL_READ_DAMAGE);
    CHECK_EQ(r.bad_offset, 17u); /* the damaged record's start */
    CHECK_EQ(wal_reader_next(&r), WAL_READ_RECORD);
    CHECK_EQ(r.rec_len, 30u);
    CHECK_EQ(wal_reader_next(&r), WAL_READ_END);
    wal_reader_free(&r);
    free(l.p);
}

static void length_past_the_block_is_damage_even_with_a_good_crc(void)
{
    uint8_t block[64] = {0};
    coding_put_u16(block + 4, 40); /* 7 + 40 > the 30 bytes left below */
    block[6] = WAL_FULL;
    coding_put_u32(block, crc32c_extend(crc32c_value(block + 4, 3), block + 7, 40));
    wal_fragment f;
    const char *why = NULL;
    CHECK_EQ(wal_fragment_decode(block, block + 64, 30, &f, &why), WAL_FRAGMENT_BAD);
    CHECK(why != NULL && why[0] != '\0'); /* a reason, in the decoder's own words */
    CHECK_EQ(wal_fragment_decode(block, block + 64, 64, &f, &why), WAL_FRAGMENT_OK);
    CHECK_EQ(wal_fragment_decode(block, block + 20, 64, &f, &why), WAL_FRAGMENT_SHORT);
    block[6] = 9;
    CHECK_EQ(wal_fragment_decode(block, block + 64, 64, &f, &why), WAL_FRAGMENT_BAD);
}

static void fragment_without_its_start_is_damage(void)
{
    mem_log l = {0};
    mem_log_add(&l, 40000, 1);
    mem_log_add(&l, 10, 2);
    wal_reader r; /* start reading at the second block: an orphan LAST */
    wal_reader_init_mem(&r, l.p, WAL_BLOCK_SIZE, l.len);
    CHECK_EQ(wal_reader_next(&r), WAL_READ_DAMAGE);
    CHECK_EQ(wal_reader_next(&r), WAL_READ_RECORD);
    CHECK_EQ(r.rec_len, 10u);
    wal_reader_free(&r);
    free(l.p);
}

static int batch_seen(void *ctx, size_t i, const batch_op *op)
{
    int *n = ctx;
    (*n)++;
    CHECK_EQ(op->is_delete, (int)(i == 1));
    return 0;
}

static void batch_payload_round_trips_and_rejects_bad_bytes(void)
{
    batch_op ops[] = {{.key = "k1", .klen = 2, .val = "value", .vlen = 5},
                      {.is_delete = 1, .key = "k2", .klen = 2},
                      {.key = "k3", .klen = 2, .val = "", .vlen = 0}};
    uint64_t size = wal_batch_size(ops, 3);
    uint8_t buf[64];
    CHECK_EQ((uint64_t)(wal_batch_encode(buf, ops, 3) - buf), size);
    int n = 0;
    size_t count = 0;
    const char *why = NULL;
    CHECK_EQ(wal_batch_decode(buf, buf + size, batch_seen, &n, &count, &why), 0);
    CHECK_EQ(n, 3);
    CHECK_EQ(count, 3u);
    CHECK_EQ(wal_batch_decode(buf, buf + size - 1, NULL, NULL, NULL, &why), -1);
    CHECK_EQ(wal_batch_decode(buf, buf + size + 1, NULL, NULL, NULL, &why), -1);
    buf[1] = 7; /* an unknown op type */
    CHECK_EQ(wal_batch_decode(buf, buf + size, NULL, NULL, NULL, &why), -1);
    uint8_t marker[WAL_MARKER_SIZE];
    uint64_t to = 0;
    wal_marker_encode(marker, 12345, 0);
    CHECK(wal_marker_decode(marker, marker + WAL_MARKER_SIZE, &to));
    CHECK_EQ(to, 12345u);
    CHECK_EQ(wal_batch_decode(marker, marker + WAL_MARKER_SIZE, NULL, NULL, NULL, &why), -1);
}

/* A file may start with a 16-byte header (common/file_header.h) before its
 * first fragment: blocks still start at multiples of 32 KiB in the file,
 * so the first block has 16 bytes less room, and the reader starts at 16. */
static void reader_starts_past_a_file_header(void)
{
    enum { HEADER = 16 };
    size_t sizes[] = {10, WAL_BLOCK_SIZE - HEADER - (WAL_HEADER_SIZE + 10) - WAL_HEADER_SIZE - 3,
                      40000, 0};
    uint8_t fills[] = {1, 2, 3, 4};
    mem_log l = {.cap = HEADER};
    l.p = malloc(l.cap);
    memset(l.p, 0xa5, HEADER); /* not zeros, not a fragment */
    l.len = HEADER;
    for (size_t i = 0; i < 4; i++)
        mem_log_add(&l, sizes[i], fills[i]);
    /* The second record leaves 3 bytes in block 0: a trailer, so the
     * third starts block 1, and ends in block 2. */
    wal_reader r;
    wal_reader_init_mem(&r, l.p, HEADER, l.len);
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ(wal_reader_next(&r), WAL_READ_RECORD);
        CHECK_EQ(r.rec_len, sizes[i]);
        CHECK(sizes[i] == 0 || r.rec[0] == fills[i]);
        if (i == 0)
            CHECK_EQ(r.rec_start, HEADER);
        if (i == 2)
            CHECK_EQ(r.rec_start, WAL_BLOCK_SIZE);
    }
    CHECK_EQ(wal_reader_next(&r), WAL_READ_END);
    wal_reader_free(&r);
    free(l.p);
}

static void marker_and_seal_round_trip_and_are_never_a_batch(void)
{
    uint8_t m[WAL_SEAL_SIZE];
    uint64_t to = 0;
    const char *why = NULL;
    CHECK_EQ(wal_marker_encode(m, 77, 1), WAL_SEAL_SIZE);
    CHECK_EQ(wal_marker_decode(m, m + WAL_SEAL_SIZE, &to), 2);
    CHECK_EQ(to, 77u);
    CHECK_EQ(wal_marker_decode(m, m + WAL_MARKER_SIZE, &to), 1); /* its first 9 bytes */
    m[WAL_MARKER_SIZE] = 2;
    CHECK_EQ(wal_marker_decode(m, m + WAL_SEAL_SIZE, &to), 0);
    m[0] = 1;
    CHECK_EQ(wal_marker_decode(m, m + WAL_MARKER_SIZE, &to), 0);
    CHECK_EQ(wal_marker_decode(m, m + 8, &to), 0);
    /* A batch's first byte is its op count's varint, never 0. */
    batch_op op = {.key = "k", .klen = 1, .val = "v", .vlen = 1};
    uint8_t buf[16];
    wal_batch_encode(buf, &op, 1);
    CHECK(buf[0] != 0);
    CHECK_EQ(wal_batch_decode(m, m + WAL_MARKER_SIZE, NULL, NULL, NULL, &why), -1);
}

static const harness_test wal_format_tests[] = {
    HARNESS_TEST(record_filling_the_block_exactly_is_one_fragment),
    HARNESS_TEST(record_leaving_exactly_a_header_starts_next_with_empty_first),
    HARNESS_TEST(trailer_shorter_than_a_header_is_zero_padding),
    HARNESS_TEST(empty_record_round_trips),
    HARNESS_TEST(record_of_three_blocks_round_trips),
    HARNESS_TEST(zero_tail_is_the_end_not_data),
    HARNESS_TEST(torn_tail_is_reported_once_and_ends_the_log),
    HARNESS_TEST(flipped_byte_in_a_middle_block_is_damage_then_resync),
    HARNESS_TEST(length_past_the_block_is_damage_even_with_a_good_crc),
    HARNESS_TEST(fragment_without_its_start_is_damage),
    HARNESS_TEST(batch_payload_round_trips_and_rejects_bad_bytes),
    HARNESS_TEST(reader_starts_past_a_file_header),
    HARNESS_TEST(marker_and_seal_round_trip_and_are_never_a_batch),
};
const harness_suite wal_format_suite = HARNESS_SUITE("wal_format", wal_format_tests);
