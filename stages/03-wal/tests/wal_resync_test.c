/*
 * wal_resync_test.c: the search for the next valid fragment after damage
 * (wal_resync.h, and wal_reader_next as it resynchronises) finds what a
 * byte-by-byte search finds, on random bytes with valid, damaged and
 * overlapping fragments, zero runs and bytes that look like headers; it
 * skips zero runs of every length around block boundaries, and holes in a
 * file without reading them; and it reads each block once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "coding.h"
#include "crc32c.h"
#include "io.h"
#include "kv.h"
#include "wal_format.h"
#include "wal_reader.h"
#include "wal_resync.h"

/* ---- the reference: one offset at a time ----------------------------------- */

/* The first offset in [from, n) of a log in memory where a valid fragment
 * starts, trying each offset in turn as the reader did before it searched
 * block by block; n if none does. */
static size_t reference_resync(const uint8_t *p, size_t from, size_t n)
{
    for (size_t q = from; q < n; q++) {
        uint32_t left = wal_block_left(q);
        size_t block_end = n - q < left ? n : q + left;
        wal_fragment f;
        const char *why;
        if (block_end - q >= WAL_HEADER_SIZE &&
            wal_fragment_decode(p + q, p + block_end, left, &f, &why) == WAL_FRAGMENT_OK)
            return q;
    }
    return n;
}

/* The reader, set to resynchronise from `from` (as after a damage report):
 * where the record search it then makes begins, or n at the end. */
static size_t reader_resync(const uint8_t *p, size_t from, size_t n)
{
    wal_reader r;
    wal_reader_init_mem(&r, p, from, n);
    r.scanning = 1;
    int rc = wal_reader_next(&r);
    CHECK(rc == WAL_READ_END || rc == WAL_READ_RECORD || rc == WAL_READ_DAMAGE);
    size_t at = rc == WAL_READ_END ? n : (size_t)r.rec_offset;
    wal_reader_free(&r);
    return at;
}

/* ---- random logs ------------------------------------------------------------- */

/* A fragment at p (its header and len bytes of data, already in place). */
static void fragment_seal(uint8_t *p, int type, size_t len)
{
    coding_put_u16(p + 4, (uint16_t)len);
    p[6] = (uint8_t)type;
    coding_put_u32(p, crc32c_extend(crc32c_value(p + 4, 3), p + WAL_HEADER_SIZE, len));
}

/* Fills p[0, n) (p[0] at log offset `at`) with pieces of what damage and
 * logs hold: random bytes, zero runs, bytes 0..4 (every offset a possible
 * header), valid fragments of every type (some inside others' data), and
 * fragments with one byte changed. */
static void random_log(testdb_rng *rng, uint8_t *p, size_t n, uint64_t at)
{
    size_t i = 0;
    while (i < n) {
        size_t room = n - i, len = 1 + testdb_rng_below(rng, 600);
        if (len > room)
            len = room;
        switch (testdb_rng_below(rng, 6)) {
        case 0:
            testdb_rng_fill(rng, p + i, len);
            break;
        case 1:
            len = 1 + testdb_rng_below(rng, 5000);
            len = len > room ? room : len;
            memset(p + i, 0, len);
            break;
        case 2:
            for (size_t k = 0; k < len; k++)
                p[i + k] = (uint8_t)testdb_rng_below(rng, 5);
            break;
        default: {
            /* A fragment that fits in its block and in p. */
            size_t left = wal_block_left(at + i), data = testdb_rng_below(rng, 300);
            if (testdb_rng_below(rng, 8) == 0)
                data = testdb_rng_below(rng, WAL_MAX_FRAGMENT);
            if (left < WAL_HEADER_SIZE || room < WAL_HEADER_SIZE) {
                memset(p + i, 0, len);
                break;
            }
            if (data > left - WAL_HEADER_SIZE)
                data = left - WAL_HEADER_SIZE;
            if (data > room - WAL_HEADER_SIZE)
                data = room - WAL_HEADER_SIZE;
            testdb_rng_fill(rng, p + i + WAL_HEADER_SIZE, data);
            fragment_seal(p + i, 1 + (int)testdb_rng_below(rng, 4), data);
            len = WAL_HEADER_SIZE + data;
            if (testdb_rng_below(rng, 3) == 0) /* damaged */
                p[i + testdb_rng_below(rng, (uint32_t)len)] ^= (uint8_t)(1 + testdb_rng_below(rng, 255));
            if (testdb_rng_below(rng, 4) == 0 && len > 1)
                len = 1 + testdb_rng_below(rng, (uint32_t)len - 1); /* the next piece overlaps it */
            break;
        }
        }
        i += len;
    }
}

static void resync_block_finds_what_a_byte_by_byte_search_finds(void)
{
    testdb_rng rng;
    testdb_rng_seed(&rng, 2027);
    uint8_t *block = malloc(WAL_BLOCK_SIZE);
    CHECK(block != NULL);
    size_t found = 0;
    for (int trial = 0; trial < 3000; trial++) {
        /* Some bytes of one block, from offset `at` of it. */
        uint32_t at = testdb_rng_below(&rng, 4) == 0 ? 0 : testdb_rng_below(&rng, WAL_BLOCK_SIZE);
        size_t n = testdb_rng_below(&rng, WAL_BLOCK_SIZE - at + 1);
        if (testdb_rng_below(&rng, 2) == 0)
            n = WAL_BLOCK_SIZE - at;
        random_log(&rng, block, n, at);
        harness_context("trial %d: %zu bytes from offset %u of a block", trial, n, at);
        /* The reference in block terms: the byte at p[q] is at offset at + q. */
        size_t want = n;
        for (size_t q = 0; q < n && want == n; q++) {
            wal_fragment f;
            const char *why;
            if (wal_fragment_decode(block + q, block + n, WAL_BLOCK_SIZE - (at + (uint32_t)q), &f,
                                    &why) == WAL_FRAGMENT_OK)
                want = q;
        }
        CHECK_EQ(wal_resync_block(block, n, at), want);
        found += want < n;
    }
    CHECK_MSG(found > 300, "only %zu of the trials had a valid fragment to find", found);
    free(block);
}

static void reader_resync_finds_what_a_byte_by_byte_search_finds(void)
{
    testdb_rng rng;
    testdb_rng_seed(&rng, 1789);
    size_t cap = 4 * WAL_BLOCK_SIZE;
    uint8_t *p = malloc(cap);
    CHECK(p != NULL);
    size_t found = 0;
    for (int trial = 0; trial < 400; trial++) {
        size_t n = 1 + testdb_rng_below(&rng, (uint32_t)cap);
        random_log(&rng, p, n, 0);
        for (int k = 0; k < 4; k++) {
            size_t from = testdb_rng_below(&rng, (uint32_t)n);
            harness_context("trial %d: a log of %zu bytes, resync from %zu", trial, n, from);
            size_t want = reference_resync(p, from, n);
            CHECK_EQ(reader_resync(p, from, n), want);
            found += want < n;
        }
    }
    CHECK_MSG(found > 400, "only %zu of the searches had a valid fragment to find", found);
    free(p);
}

/* ---- zero runs around block boundaries -------------------------------------- */

/* Junk that is no header (no byte is a type), zeros [s, s + z), then a
 * FULL fragment of 5 bytes where the zeros end (or, if its block has no
 * room left for it, zeros to the next block and the fragment there), then
 * junk.  Returns the fragment's offset. */
static size_t zero_run_log(uint8_t *p, size_t n, size_t s, size_t z)
{
    memset(p, 0xEE, n);
    memset(p + s, 0, z);
    size_t at = s + z;
    if (wal_block_left(at) < WAL_HEADER_SIZE + 5) {
        memset(p + at, 0, wal_block_left(at));
        at += wal_block_left(at);
    }
    memset(p + at + WAL_HEADER_SIZE, 'v', 5);
    fragment_seal(p + at, WAL_FULL, 5);
    return at;
}

static void zero_runs_of_every_length_around_block_boundaries_are_skipped(void)
{
    static const size_t bases[] = {WAL_BLOCK_SIZE, 2 * WAL_BLOCK_SIZE};
    size_t n = 3 * WAL_BLOCK_SIZE + 4096;
    uint8_t *p = malloc(n);
    CHECK(p != NULL);
    for (size_t b = 0; b < 2; b++) {
        for (size_t s = bases[b] - 24; s <= bases[b] + 24; s++) {
            for (size_t z = 0; z < WAL_BLOCK_SIZE + 64; z++) {
                /* Every length up to 80, then lengths near a block's. */
                if (z > 80 && (z < WAL_BLOCK_SIZE - 80 || z > WAL_BLOCK_SIZE + 40))
                    continue;
                size_t want = zero_run_log(p, n, s, z);
                harness_context("zeros [%zu, %zu)", s, s + z);
                if (z <= 80) /* (the reference is slow) */
                    CHECK_EQ(reference_resync(p, s, n), want);
                CHECK_EQ(reader_resync(p, s, n), want);
                CHECK_EQ(reader_resync(p, s > 3 ? s - 3 : 0, n), want);
            }
        }
    }
    free(p);
}

/* ---- files: holes, and each block read once ---------------------------------- */

static uint64_t bytes_read;
static const io_ops *count_base;
static io_ops count_ops;

static long count_read_at(io_file *f, uint64_t off, void *buf, size_t n)
{
    long got = count_base->read_at(f, off, buf, n);
    if (got > 0)
        bytes_read += (uint64_t)got;
    return got;
}

static int count_open(const char *path, int flags, io_file **f)
{
    int rc = count_base->open(path, flags, f);
    if (rc == 0)
        (*f)->ops = &count_ops;
    return rc;
}

/* Writes p[0, n) to a file, leaving the zero run [hole, hole_end) as a
 * hole (never written) when hole < hole_end; then reads it back with the
 * reader resynchronising from `from`.  Returns where it resynchronised
 * (n at the end), in *read the bytes it read, and in *holes whether the
 * file system reports a hole in the file. */
static size_t file_resync(const uint8_t *p, size_t n, size_t hole, size_t hole_end,
                          size_t from, uint64_t *read, int *holes)
{
    const char *path = harness_join(harness_tmpdir(), "log");
    FILE *out = fopen(path, "wb");
    CHECK(out != NULL);
    CHECK(hole == 0 || fwrite(p, 1, hole, out) == hole);
    CHECK(fseek(out, (long)hole_end, SEEK_SET) == 0);
    CHECK(n == hole_end || fwrite(p + hole_end, 1, n - hole_end, out) == n - hole_end);
    CHECK(fclose(out) == 0);
    count_base = io_get_ops();
    count_ops = *count_base;
    count_ops.read_at = count_read_at;
    count_ops.open = count_open;
    io_set_ops(&count_ops);
    io_file *f = NULL;
    int rc = io_open(path, IO_READ, &f);
    io_set_ops(count_base);
    CHECK_KV(rc, KV_OK);
    *holes = 0;
    for (uint64_t at = 0; at < n && !*holes; at += 4096)
        *holes = io_data_after(f, at) > at;
    bytes_read = 0;
    wal_reader r;
    wal_reader_init_file(&r, f, from, n);
    r.scanning = 1;
    rc = wal_reader_next(&r);
    CHECK(rc == WAL_READ_END || rc == WAL_READ_RECORD || rc == WAL_READ_DAMAGE);
    size_t at = rc == WAL_READ_END ? n : (size_t)r.rec_offset;
    wal_reader_free(&r);
    *read = bytes_read;
    CHECK_KV(io_close(f), KV_OK);
    CHECK(unlink(path) == 0);
    return at;
}

/* A hole is zeros without being read: the search goes from the block where
 * it starts to the block where data starts again, whatever their offsets
 * (a file system keeps holes in 4 KiB pages, so a hole's ends may fall
 * anywhere in a block). */
static void holes_are_skipped_without_reading_them(void)
{
    static const size_t starts[] = {100, WAL_BLOCK_SIZE - 1, WAL_BLOCK_SIZE + 4096};
    static const size_t lengths[] = {4096, WAL_BLOCK_SIZE, 3 * WAL_BLOCK_SIZE + 8192,
                                     40 * WAL_BLOCK_SIZE, 40 * WAL_BLOCK_SIZE + 4096 + 9};
    size_t n = 48 * WAL_BLOCK_SIZE;
    uint8_t *p = malloc(n);
    CHECK(p != NULL);
    int no_holes = 0;
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        for (size_t j = 0; j < sizeof lengths / sizeof lengths[0]; j++) {
            size_t s = starts[i], z = lengths[j];
            size_t want = zero_run_log(p, n, s, z);
            harness_context("a hole [%zu, %zu)", s, s + z);
            uint64_t read = 0;
            int holes = 0;
            CHECK_EQ(file_resync(p, n, s, s + z, s - 1, &read, &holes), want);
            /* At most the block the hole starts in, the block where data
             * starts again, and the next one (where the fragment is if its
             * block had no room left).  (Unless the file system keeps no
             * holes: then the zeros are read, a block at a time.) */
            if (!holes && z >= 2 * WAL_BLOCK_SIZE)
                no_holes++;
            else
                CHECK_MSG(read <= 3 * WAL_BLOCK_SIZE,
                          "read %llu bytes of a file of %zu with a hole of %zu",
                          (unsigned long long)read, n, z);
            CHECK_EQ(file_resync(p, n, 0, 0, s - 1, &read, &holes), want); /* zeros written */
        }
    }
    if (no_holes)
        printf("    the file system of $TMPDIR keeps no holes (or lseek cannot find "
               "them): %d searches read their zeros\n", no_holes);
    free(p);
}

/* Damage of random bytes many blocks long: the search reads each block
 * once, and the bytes before the start never. */
static void resync_reads_each_block_once(void)
{
    testdb_rng rng;
    testdb_rng_seed(&rng, 7);
    size_t n = 20 * WAL_BLOCK_SIZE + 999, from = WAL_BLOCK_SIZE + 10;
    uint8_t *p = malloc(n);
    CHECK(p != NULL);
    testdb_rng_fill(&rng, p, n);
    size_t want = reference_resync(p, from, n);
    uint64_t read = 0;
    int holes = 0;
    CHECK_EQ(file_resync(p, n, 0, 0, from, &read, &holes), want);
    CHECK_MSG(read <= n - from, "read %llu bytes to search %zu", (unsigned long long)read,
              n - from);
    free(p);
}

static const harness_test tests[] = {
    HARNESS_TEST(resync_block_finds_what_a_byte_by_byte_search_finds),
    HARNESS_TEST(reader_resync_finds_what_a_byte_by_byte_search_finds),
    HARNESS_TEST(zero_runs_of_every_length_around_block_boundaries_are_skipped),
    HARNESS_TEST(holes_are_skipped_without_reading_them),
    HARNESS_TEST(resync_reads_each_block_once),
};
const harness_suite wal_resync_suite = HARNESS_SUITE("wal_resync", tests);
