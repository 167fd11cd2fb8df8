/*
 * reader_test.c: exercise reader, wal_reader_next
 * (stages/03-wal/wal/wal_reader.c): records reassembled from their fragments,
 * block by block, and the bytes that are not a valid record reported.
 */
#include <stdlib.h>
#include <string.h>

#include "ex_wal.h"
#include "exercise.h"
#include "io.h"
#include "kv.h"
#include "wal_format.h"
#include "wal_reader.h"

/* A log in memory: records of the given lengths, filled with a pattern. */
typedef struct log_mem {
    uint8_t *b;
    size_t n;
    uint64_t start[16], end[16];
    size_t len[16];
    int count;
} log_mem;

static void pattern(uint8_t *p, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + (size_t)seed * 13 + 1);
}

static void log_make(log_mem *l, const size_t *lens, int count)
{
    size_t total = 0;
    for (int i = 0; i < count; i++)
        total += lens[i] + 7 * (lens[i] / 32000 + 3);
    l->b = calloc(1, total + 64);
    EX_CHECK(l->b != NULL, "out of memory");
    l->n = 0;
    l->count = count;
    for (int i = 0; i < count; i++) {
        uint8_t *rec = malloc(lens[i] + 1);
        pattern(rec, lens[i], i);
        l->start[i] = l->n;
        l->len[i] = lens[i];
        l->n += ex_wal_frame(l->b + l->n, l->n, rec, lens[i]);
        l->end[i] = l->n;
        free(rec);
    }
}

static void expect_record(wal_reader *r, const log_mem *l, int i, const char *when)
{
    harness_context("wal_reader_next, record %d (%zu bytes, ends at %llu): %s", i, l->len[i],
                    (unsigned long long)l->end[i], when);
    int rc = wal_reader_next(r);
    EX_CHECK(rc == WAL_READ_RECORD, "%s: " EX_RULE(1, "a whole record") "record %d (%zu bytes) is "
             "read: WAL_READ_RECORD (got %d%s%s)",
             when, i, l->len[i], rc, rc == WAL_READ_DAMAGE ? ", damage: " : "",
             rc == WAL_READ_DAMAGE && r->why ? r->why : "");
    uint8_t *want = malloc(l->len[i] + 1);
    pattern(want, l->len[i], i);
    EX_CHECK(r->rec_len == l->len[i] && (l->len[i] == 0 || memcmp(r->rec, want, l->len[i]) == 0),
             "%s: " EX_RULE(1, "its fragments put together in order") "record %d comes back whole: "
             "its fragments' data in order (%zu bytes, want %zu)",
             when, i, r->rec_len, l->len[i]);
    free(want);
    EX_CHECK(r->rec_end == l->end[i], "%s: " EX_RULE(1, "rec_end") "rec_end is the byte after "
             "record %d's last fragment "
             "(%llu, got %llu)", when, i, (unsigned long long)l->end[i],
             (unsigned long long)r->rec_end);
}

static void reader_reads_every_record(void)
{
    EX_BOUND(3, "every wal_reader_next returns, and the log ends: each call moves forward "
                "(past a fragment, a block trailer, or one byte past damage) and the reader "
                "stops at limit");
    size_t lens[] = {5, 0, 40000, 100, 32761, 1, 70000, 3};
    log_mem l;
    log_make(&l, lens, 8);
    uint8_t *p = ex_guarded_copy(l.b, l.n);
    wal_reader r;
    wal_reader_init_mem(&r, p, 0, l.n);
    harness_context("reading a log of 8 records (one empty, three over a block) that ends at "
                    "limit");
    for (int i = 0; i < 8; i++) {
        expect_record(&r, &l, i, "a log of whole records");
        uint64_t want = i == 0 ? 0 : l.end[i - 1];
        EX_CHECK(r.rec_offset == want,
                 EX_RULE(1, "rec_offset") "rec_offset is where the search for a record began "
                 "(each call starts at "
                 "next_start, where the last one stopped): for record %d of a log of whole "
                 "records, the end of the record before, %llu (got %llu)", i,
                 (unsigned long long)want, (unsigned long long)r.rec_offset);
    }
    harness_context("wal_reader_next after the last of 8 records, at limit %zu: WAL_READ_END; "
                    "nothing at or past limit is read", l.n);
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_END, EX_RULE(2, "WAL_READ_END") "after the last record: "
             "WAL_READ_END (got %d)", rc);
    wal_reader_free(&r);
    free(l.b);
}

static void reader_starts_at_a_record(void)
{
    EX_BOUND(3, "every wal_reader_next returns, and the log ends: each call moves forward "
                "(past a fragment, a block trailer, or one byte past damage) and the reader "
                "stops at limit");
    size_t lens[] = {10, 50000, 20, 30};
    log_mem l;
    log_make(&l, lens, 4);
    wal_reader r;
    wal_reader_init_mem(&r, l.b, l.start[2], l.n);
    expect_record(&r, &l, 2, "a reader started at record 2's offset");
    expect_record(&r, &l, 3, "a reader started at record 2's offset");
    harness_context("wal_reader_next after records 2 and 3, at limit %zu: WAL_READ_END", l.n);
    EX_CHECK(wal_reader_next(&r) == WAL_READ_END, "then WAL_READ_END");
    wal_reader_free(&r);
    free(l.b);
}

static void reader_cut_record_is_damage(void)
{
    EX_BOUND(3, "every wal_reader_next returns, and the log ends: each call moves forward "
                "(past a fragment, a block trailer, or one byte past damage) and the reader "
                "stops at limit");
    size_t lens[] = {10, 20, 50000};
    log_mem l;
    log_make(&l, lens, 3);
    uint64_t cut = l.start[2] + 40000; /* inside the last record's second fragment */
    wal_reader r;
    wal_reader_init_mem(&r, l.b, 0, cut);
    expect_record(&r, &l, 0, "before a cut");
    expect_record(&r, &l, 1, "before a cut");
    ex_context(EX_RULES("4 and 8", "a record cut short: damage, never handed out") "wal_reader_next "
               "of record 2 (50000 bytes at %llu), the log cut at %llu: a "
               "record cut short is WAL_READ_DAMAGE at its start, never handed out, and "
               "nothing past limit is read", (unsigned long long)l.start[2],
               (unsigned long long)cut);
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_DAMAGE, EX_RULE(4, "a record cut short") "a record cut short by the "
             "end of the log is "
             "WAL_READ_DAMAGE, never a short record handed out (got %d)", rc);
    EX_CHECK(r.bad_offset == l.start[2], EX_RULE(4, "reported at its start") "the damage is "
             "reported where the cut record starts, "
             "offset %llu (got %llu)", (unsigned long long)l.start[2],
             (unsigned long long)r.bad_offset);
    EX_CHECK(wal_reader_next(&r) == WAL_READ_END, "then WAL_READ_END");
    wal_reader_free(&r);
    free(l.b);
}

/* The log ends where a block ends, after the whole first fragment of a
 * record that starts a block, the block before it ending in a trailer.
 * Record 1 (32,741 bytes) ends 3 bytes before block 0's end, too few for a
 * header: those 3 are the trailer, and record 2's first fragment fills
 * block 1.  The log cut at block 1's end. */
static void reader_record_cut_at_a_block_end(void)
{
    size_t lens[] = {10, 32741, 50000};
    log_mem l;
    log_make(&l, lens, 3);
    uint64_t first = l.end[1];
    if (WAL_BLOCK_SIZE - first % WAL_BLOCK_SIZE < WAL_HEADER_SIZE)
        first += WAL_BLOCK_SIZE - first % WAL_BLOCK_SIZE;
    EX_CHECK(first == WAL_BLOCK_SIZE && l.end[1] < first, "test setup: record 2 starts at "
             "block 1, after a trailer (record 1 ends at %llu)", (unsigned long long)l.end[1]);
    uint64_t edge = 2 * (uint64_t)WAL_BLOCK_SIZE;
    wal_reader r;
    wal_reader_init_mem(&r, l.b, 0, edge);
    expect_record(&r, &l, 0, "before a cut at a block's end");
    expect_record(&r, &l, 1, "before a cut at a block's end");
    harness_context("wal_reader_next of record 2, whose first fragment fills block 1 and the log "
                    "ends at %llu: WAL_READ_DAMAGE at %llu, where the record starts (after block "
                    "0's trailer)", (unsigned long long)edge, (unsigned long long)first);
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_DAMAGE && r.bad_offset == first,
             EX_RULE(4, "reported at its start") "a record whose first fragment is whole but "
             "whose next fragment the log ends "
             "before (the log cut at block 1's end, offset %llu) is WAL_READ_DAMAGE reported "
             "where the record starts, its first fragment at offset %llu (after block 0's "
             "trailer), not where the record before it ended, %llu (got %d at %llu)",
             (unsigned long long)edge, (unsigned long long)first,
             (unsigned long long)l.end[1], rc, (unsigned long long)r.bad_offset);
    EX_CHECK(r.next_start == edge,
             EX_RULE(4, "a record cut short by the end of the log") "after a record cut short "
             "at the log's end, the next search begins there, next_start %llu, a file offset "
             "(the end of block 1, not of block 0; got %llu)", (unsigned long long)edge,
             (unsigned long long)r.next_start);
    wal_reader_free(&r);
    free(l.b);
}

/* A log that ends with 3 bytes of a header in block 1: the damage is there,
 * and the next search begins at the log's end, a file offset. */
static void reader_header_cut_short_in_a_later_block(void)
{
    size_t lens[] = {10, 32741, 20};
    log_mem l;
    log_make(&l, lens, 3); /* (it leaves 64 bytes of room after the log) */
    EX_CHECK(l.end[2] > WAL_BLOCK_SIZE, "test setup: record 2 is in block 1");
    size_t n = l.n + 3;
    l.b[l.n] = 0x11, l.b[l.n + 1] = 0x22, l.b[l.n + 2] = 0x33;
    wal_reader r;
    wal_reader_init_mem(&r, l.b, 0, n);
    for (int i = 0; i < 3; i++)
        expect_record(&r, &l, i, "a whole record before the cut header");
    harness_context("wal_reader_next at %zu, where the log ends 3 bytes into a header: "
                    "WAL_READ_DAMAGE there", l.n);
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_DAMAGE && r.bad_offset == l.n,
             EX_RULE(3, "a bad fragment") "3 bytes of a header at the end of the log are damage "
             "at their offset %zu (got %d at %llu)", l.n, rc, (unsigned long long)r.bad_offset);
    EX_CHECK(r.next_start == n,
             EX_RULE(3, "a bad fragment") "after a header cut short by the end of the log, the "
             "next search begins at the log's end, next_start %zu, a file offset in block 1 "
             "(got %llu)", n, (unsigned long long)r.next_start);
    EX_CHECK(wal_reader_next(&r) == WAL_READ_END, EX_RULE(2, "WAL_READ_END") "then WAL_READ_END");
    wal_reader_free(&r);
    free(l.b);
}

/* Record 1 ends 3 bytes before block 0's end (its trailer); record 2's
 * header, at the start of block 1, is damaged.  The damage is reported
 * there, and the next search begins there: a file offset in block 1. */
static void reader_damage_after_a_trailer(void)
{
    size_t lens[] = {10, 32741, 20};
    log_mem l;
    log_make(&l, lens, 3);
    EX_CHECK(l.end[1] == WAL_BLOCK_SIZE - 3, "test setup: record 1 ends 3 bytes before block 0's "
             "end (at %llu)", (unsigned long long)l.end[1]);
    l.b[WAL_BLOCK_SIZE] ^= 0x40; /* record 2's crc */
    wal_reader r;
    wal_reader_init_mem(&r, l.b, 0, l.n);
    expect_record(&r, &l, 0, "before the trailer");
    expect_record(&r, &l, 1, "before the trailer");
    harness_context("wal_reader_next after record 1, past block 0's trailer, at record 2 whose "
                    "crc is damaged: WAL_READ_DAMAGE at %d", WAL_BLOCK_SIZE);
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_DAMAGE && r.bad_offset == WAL_BLOCK_SIZE,
             EX_RULE(3, "a bad fragment") "a damaged fragment at the start of block 1, after a "
             "trailer, is damage there, at %d (got %d at %llu)", WAL_BLOCK_SIZE, rc,
             (unsigned long long)r.bad_offset);
    EX_CHECK(r.next_start == WAL_BLOCK_SIZE,
             EX_RULE(1, "the block's trailer skipped") "the trailer skipped, the next search "
             "begins at the start of block 1, next_start %d, a file offset (got %llu)",
             WAL_BLOCK_SIZE, (unsigned long long)r.next_start);
    EX_CHECK(wal_reader_next(&r) == WAL_READ_END,
             EX_RULE(2, "WAL_READ_END") "then WAL_READ_END: nothing valid after the damage");
    wal_reader_free(&r);
    free(l.b);
}

static void reader_resyncs_after_damage(void)
{
    EX_BOUND(3, "every wal_reader_next returns, and the log ends: each call moves forward "
                "(past a fragment, a block trailer, or one byte past damage) and the reader "
                "stops at limit");
    size_t lens[] = {10, 20, 30, 40, 50};
    log_mem l;
    log_make(&l, lens, 5);
    l.b[l.start[2] + 9] ^= 0x10; /* record 2's data: its checksum fails */
    wal_reader r;
    wal_reader_init_mem(&r, l.b, 0, l.n);
    expect_record(&r, &l, 0, "before damage");
    expect_record(&r, &l, 1, "before damage");
    harness_context("wal_reader_next of record 2 (at %llu), its data damaged: WAL_READ_DAMAGE at "
                    "its offset, then resynchronise at the next valid fragment, record 3",
                    (unsigned long long)l.start[2]);
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_DAMAGE && r.bad_offset == l.start[2],
             EX_RULE(3, "a bad fragment") "a fragment whose checksum fails is WAL_READ_DAMAGE "
             "at its offset %llu (got %d at "
             "%llu): a reader never accepts a record whose CRC is wrong",
             (unsigned long long)l.start[2], rc, (unsigned long long)r.bad_offset);
    expect_record(&r, &l, 3, "the call after damage resynchronises at the next valid fragment");
    expect_record(&r, &l, 4, "after resynchronising");
    EX_CHECK(wal_reader_next(&r) == WAL_READ_END, "then WAL_READ_END");
    wal_reader_free(&r);
    free(l.b);
}

static void reader_skips_the_rest_of_a_damaged_record(void)
{
    EX_BOUND(3, "every wal_reader_next returns, and the log ends: each call moves forward "
                "(past a fragment, a block trailer, or one byte past damage) and the reader "
                "stops at limit");
    size_t lens[] = {10, 80000, 30};
    log_mem l;
    log_make(&l, lens, 3);
    l.b[l.start[1] + 100] ^= 0x01; /* the FIRST fragment of record 1 */
    wal_reader r;
    wal_reader_init_mem(&r, l.b, 0, l.n);
    expect_record(&r, &l, 0, "before damage");
    harness_context("wal_reader_next of record 1 (80000 bytes at %llu), its FIRST fragment "
                    "damaged: WAL_READ_DAMAGE at its start; its MIDDLE and LAST orphans are then "
                    "skipped without another report", (unsigned long long)l.start[1]);
    EX_CHECK(wal_reader_next(&r) == WAL_READ_DAMAGE && r.bad_offset == l.start[1],
             EX_RULE(3, "a bad fragment") "a damaged FIRST fragment: WAL_READ_DAMAGE at the "
             "record's start");
    expect_record(&r, &l, 2, EX_RULE(7, "the rest skipped without another report") "after a "
                  "damaged FIRST fragment, its MIDDLE and LAST fragments "
                  "(valid, but orphans) are skipped without another report, and the next "
                  "record is read");
    EX_CHECK(r.rec_offset == l.end[1],
             EX_RULE(7, "the rest skipped") "rec_offset is where the search for a record began: "
             "after skipped orphans, the "
             "end of the last one skipped, a file offset (%llu, got %llu)",
             (unsigned long long)l.end[1], (unsigned long long)r.rec_offset);
    EX_CHECK(wal_reader_next(&r) == WAL_READ_END, "then WAL_READ_END");
    wal_reader_free(&r);
    free(l.b);
}

static void reader_record_without_its_last_fragment(void)
{
    EX_BOUND(3, "every wal_reader_next returns, and the log ends: each call moves forward "
                "(past a fragment, a block trailer, or one byte past damage) and the reader "
                "stops at limit");
    /* A FIRST fragment, then a FULL record: the LAST was lost. */
    uint8_t b[256];
    size_t n = 0;
    ex_wal_fragment(b, "first-part", 10, WAL_FIRST);
    n += 17;
    ex_wal_fragment(b + n, "whole", 5, WAL_FULL);
    n += 12;
    wal_reader r;
    wal_reader_init_mem(&r, b, 0, n);
    harness_context("wal_reader_next of a 29-byte log: a FIRST fragment, then a FULL record where "
                    "its LAST should be: WAL_READ_DAMAGE at 0, then the FULL record \"whole\"");
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_DAMAGE && r.bad_offset == 0,
             EX_RULE(5, "a record whose last fragment is missing") "a FIRST fragment followed "
             "by the start of another record: the first record lost "
             "its end: WAL_READ_DAMAGE at its start (got %d at %llu)", rc,
             (unsigned long long)r.bad_offset);
    EX_CHECK(r.next_start == 17,
             EX_RULE(5, "the new record then read") "after that damage the next search begins "
             "where the new record starts, next_start 17, so that it is read next (got %llu)",
             (unsigned long long)r.next_start);
    rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_RECORD && r.rec_len == 5 && memcmp(r.rec, "whole", 5) == 0,
             EX_RULE(5, "the new record then read") "then the record that began there is read "
             "(got %d)", rc);
    EX_CHECK(r.rec_start == 17 && r.rec_offset == 17,
             EX_RULE(5, "the new record then read") "that record starts at 17, where its search "
             "began (rec_start %llu, rec_offset %llu)", (unsigned long long)r.rec_start,
             (unsigned long long)r.rec_offset);
    wal_reader_free(&r);
}

static void reader_orphan_fragment_is_damage(void)
{
    EX_BOUND(3, "every wal_reader_next returns, and the log ends: each call moves forward "
                "(past a fragment, a block trailer, or one byte past damage) and the reader "
                "stops at limit");
    uint8_t b[256];
    ex_wal_fragment(b, "tail-part", 9, WAL_LAST);
    ex_wal_fragment(b + 16, "whole", 5, WAL_FULL);
    wal_reader r;
    wal_reader_init_mem(&r, b, 0, 28);
    harness_context("wal_reader_next of a 28-byte log: a LAST fragment with no FIRST, then a FULL "
                    "record: WAL_READ_DAMAGE at 0, then the FULL record");
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_DAMAGE && r.bad_offset == 0,
             EX_RULE(6, "a fragment without its start") "a LAST fragment with no FIRST before "
             "it (and no damage before it) is reported: "
             "WAL_READ_DAMAGE (got %d)", rc);
    rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_RECORD && r.rec_len == 5,
             EX_RULE(8, "damage never stops the reader") "then the next record is read");
    wal_reader_free(&r);
}

static void reader_zero_tail(void)
{
    EX_BOUND(3, "every wal_reader_next returns, and the log ends: each call moves forward "
                "(past a fragment, a block trailer, or one byte past damage) and the reader "
                "stops at limit");
    size_t lens[] = {10, 20};
    log_mem l;
    log_make(&l, lens, 2);
    size_t n = l.n + 5000; /* a tail of zeros, as a lost write leaves */
    uint8_t *b = calloc(1, n);
    memcpy(b, l.b, l.n);
    wal_reader r;
    wal_reader_init_mem(&r, b, 0, n);
    expect_record(&r, &l, 0, "before a zero tail");
    expect_record(&r, &l, 1, "before a zero tail");
    harness_context("wal_reader_next at %zu, where 5000 zero bytes follow 2 records: zeros are "
                    "damage at their offset, then WAL_READ_END; nothing past limit is read", l.n);
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_DAMAGE && r.bad_offset == l.n,
             EX_RULE(3, "a bad fragment") "zeros where a fragment should start are damage at "
             "their offset %zu (got %d at "
             "%llu)", l.n, rc, (unsigned long long)r.bad_offset);
    EX_CHECK(wal_reader_next(&r) == WAL_READ_END,
             EX_RULE(3, "resynchronised") "then WAL_READ_END: no valid fragment in the zeros");
    wal_reader_free(&r);
    free(b);
    free(l.b);
}

static void reader_orphan_after_a_record_is_damage(void)
{
    EX_BOUND(3, "every wal_reader_next returns, and the log ends: each call moves forward "
                "(past a fragment, a block trailer, or one byte past damage) and the reader "
                "stops at limit");
    uint8_t b[256];
    ex_wal_fragment(b, "first", 5, WAL_FULL);
    ex_wal_fragment(b + 12, "tail-part", 9, WAL_LAST);
    ex_wal_fragment(b + 28, "whole", 5, WAL_FULL);
    wal_reader r;
    wal_reader_init_mem(&r, b, 0, 40);
    harness_context("wal_reader_next of a 40-byte log: FULL at 0, an orphan LAST at 12, FULL at "
                    "28: the record, then WAL_READ_DAMAGE at 12 (an orphan right after a record is "
                    "reported), then the record at 28");
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_RECORD && r.rec_len == 5, "a FULL record is read (got %d)", rc);
    rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_DAMAGE && r.bad_offset == 12,
             EX_RULE(6, "a fragment without its start") "a LAST fragment right after a whole "
             "record has lost its start, and is reported: "
             "WAL_READ_DAMAGE at 12; orphans are skipped silently only after damage already "
             "reported, and a valid fragment ends that (got %d at %llu)", rc,
             (unsigned long long)r.bad_offset);
    rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_RECORD && r.rec_len == 5,
             EX_RULE(8, "damage never stops the reader") "then the next record is read");
    wal_reader_free(&r);
}

static void reader_resyncs_after_damage_at_the_log_start(void)
{
    EX_BOUND(3, "every wal_reader_next returns, and the log ends: each call moves forward "
                "(past a fragment, a block trailer, or one byte past damage) and the reader "
                "stops at limit");
    size_t lens[] = {10, 20, 30};
    log_mem l;
    log_make(&l, lens, 3);
    l.b[5] ^= 0x10; /* record 0's length: its checksum fails */
    uint8_t *p = ex_guarded_copy(l.b, l.n);
    wal_reader r;
    wal_reader_init_mem(&r, p, 0, l.n);
    harness_context("a log whose first fragment, at offset 0, is damaged: after the damage the "
                    "search for the next valid fragment moves forward, from offset 1");
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_DAMAGE && r.bad_offset == 0,
             EX_RULE(3, "a bad fragment") "a bad fragment at offset 0 is WAL_READ_DAMAGE at 0 "
             "(got %d at %llu)", rc,
             (unsigned long long)r.bad_offset);
    expect_record(&r, &l, 1, "after damage at the log's first byte, the search for the next "
                  "valid fragment starts one byte after the bad one (never before it)");
    expect_record(&r, &l, 2, "after resynchronising");
    EX_CHECK(wal_reader_next(&r) == WAL_READ_END, "then WAL_READ_END");
    wal_reader_free(&r);
    free(l.b);
}

/* l written to a file, opened, and r a reader over all of it (window 0);
 * the file, for the caller to close. */
static io_file *log_file_reader(const log_mem *l, wal_reader *r)
{
    const char *path = ex_write_file("wal.log", l->b, l->n);
    io_file *f = NULL;
    EX_CHECK(EX_KV(io_open(path, IO_READ, &f)) == KV_OK, "cannot open the test's file %s: %s", path,
             ex_kv_errmsg());
    wal_reader_init_file(r, f, 0, l->n);
    return f;
}

static void reader_reads_a_file_through_a_small_window(void)
{
    EX_BOUND(3, "every wal_reader_next returns, and the log ends: each call moves forward "
                "(past a fragment, a block trailer, or one byte past damage) and the reader "
                "stops at limit");
    size_t lens[] = {5, 5, 5, 5, 5, 100, 0, 300, 40000, 7, 90, 33000, 12};
    log_mem l;
    log_make(&l, lens, 13);
    wal_reader r;
    io_file *f = log_file_reader(&l, &r);
    r.window = 64;
    harness_context("reading a log file with window = 64: the block's bytes [base, loaded) "
                    "are at r->block[0, loaded - base)");
    for (int i = 0; i < 13; i++)
        expect_record(&r, &l, i, "a file read 64 bytes at a time (r->window): the bytes "
                      "loaded are [base, loaded) of the block, so a fragment is decoded up to "
                      "r->block + (loaded - base), and one that runs past the window is read "
                      "whole before it is judged");
    harness_context("wal_reader_next after the last of 13 records, read through a 64-byte window: "
                    "WAL_READ_END at limit %zu", l.n);
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_END, "after the last record: WAL_READ_END (got %d)", rc);
    wal_reader_free(&r);
    io_close(f);
    free(l.b);
}

/* A block read from a file is read once, not again for each record in it:
 * a log of 16 small records, one block, takes one read (window 0: whole
 * blocks), where a reader that loads the block again at every call (its
 * bytes [base, loaded) forgotten) reads once a record. */
static void reader_reads_a_block_once(void)
{
    EX_BOUND(3, "every wal_reader_next returns, and the log ends: each call moves forward "
                "(past a fragment, a block trailer, or one byte past damage) and the reader "
                "stops at limit");
    size_t lens[16];
    for (int i = 0; i < 16; i++)
        lens[i] = 10;
    log_mem l;
    log_make(&l, lens, 16);
    wal_reader r;
    io_file *f = log_file_reader(&l, &r);
    uint64_t reads0, bytes0, reads1, bytes1;
    io_thread_reads(&reads0, &bytes0);
    for (int i = 0; i < 16; i++)
        expect_record(&r, &l, i, "16 records of 10 bytes in one block of a file, window 0");
    harness_context("wal_reader_next after the last of 16 records: WAL_READ_END at limit %zu",
                    l.n);
    EX_CHECK(wal_reader_next(&r) == WAL_READ_END, "after the last record: WAL_READ_END");
    io_thread_reads(&reads1, &bytes1);
    EX_CHECK(reads1 - reads0 <= 2 && bytes1 - bytes0 <= l.n,
             EX_RULE(9, "a block read once") "a block is read from the file once, and the "
             "records in it are taken from the "
             "bytes already read ([base, loaded)): 16 records of a %zu-byte log in one block "
             "took %llu reads of %llu bytes (want at most 2 reads, %zu bytes): load the block "
             "only when the reader has none (block_len 0) or moves to the next", l.n,
             (unsigned long long)(reads1 - reads0), (unsigned long long)(bytes1 - bytes0), l.n);
    wal_reader_free(&r);
    io_close(f);
    free(l.b);
}

/* A valid fragment C hidden across the end of record A and a bad fragment
 * B: C's first byte is A's last, so C starts one byte before B. */
static void reader_resync_searches_after_the_damage_only(void)
{
    EX_BOUND(3, "every wal_reader_next returns, and the log ends: each call moves forward "
                "(past a fragment, a block trailer, or one byte past damage) and the reader "
                "stops at limit");
    uint8_t c[32], b[128];
    memset(b, 0, sizeof b);
    ex_wal_fragment(c, "hidden", 6, WAL_FULL); /* 13 bytes */
    uint8_t a[10];
    memset(a, 'a', sizeof a);
    a[9] = c[0];
    ex_wal_fragment(b, a, 10, WAL_FULL);       /* A: [0, 17) */
    memcpy(b + 17, c + 1, 12);                 /* C: [16, 29); B at 17 is not a fragment */
    ex_wal_fragment(b + 29, "after", 5, WAL_FULL); /* D: [29, 41) */
    wal_reader r;
    wal_reader_init_mem(&r, b, 0, 41);
    harness_context("wal_reader_next of a 41-byte log: FULL at 0 to 17, bytes at 17 that are no "
                    "fragment, FULL at 29: after damage at X the search starts at X + 1, never "
                    "before it");
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_RECORD && r.rec_len == 10 && r.rec_end == 17,
             "a FULL record at 0 is read (got %d)", rc);
    rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_DAMAGE && r.bad_offset == 17,
             EX_RULE(3, "a bad fragment") "bytes at 17 that are not a fragment: WAL_READ_DAMAGE "
             "at 17 (got %d at %llu)", rc,
             (unsigned long long)r.bad_offset);
    rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_RECORD && r.rec_len == 5 && memcmp(r.rec, "after", 5) == 0 &&
                 r.rec_start == 29,
             EX_RULE(3, "resynchronised from X + 1") "after damage at offset X the search for "
             "the next valid fragment starts at X + 1 "
             "and goes forward: the record at 29 is next, not bytes from before the damage "
             "(a valid-looking fragment at 16, which overlaps the record already read) (got "
             "%d, a record of %zu bytes at %llu)", rc, r.rec_len,
             (unsigned long long)r.rec_start);
    wal_reader_free(&r);
}

static void reader_trailer_after_the_first_block(void)
{
    EX_BOUND(3, "every wal_reader_next returns, and the log ends: each call moves forward "
                "(past a fragment, a block trailer, or one byte past damage) and the reader "
                "stops at limit");
    /* Record 0 spans blocks 0 and 1 and ends at 40014; record 1 ends at
     * 65533, 3 bytes before the end of block 1: a trailer, then record 2
     * in block 2. */
    size_t lens[] = {40000, 25512, 10, 20};
    log_mem l;
    log_make(&l, lens, 4);
    EX_CHECK(l.end[1] == 2 * WAL_BLOCK_SIZE - 3, "test setup: record 1 ends 3 bytes before "
             "block 1 ends (at %llu)", (unsigned long long)l.end[1]);
    uint8_t *p = ex_guarded_copy(l.b, l.n);
    wal_reader r;
    wal_reader_init_mem(&r, p, 0, l.n);
    for (int i = 0; i < 4; i++)
        expect_record(&r, &l, i, "a log whose second block ends in a 3-byte trailer: the bytes "
                      "left in the block are block_len - pos (pos is the offset inside the "
                      "block), fewer than a header, so they are skipped and the next "
                      "fragment starts the next block");
    harness_context("wal_reader_next after the last of 4 records, at limit %zu: WAL_READ_END", l.n);
    int rc = wal_reader_next(&r);
    EX_CHECK(rc == WAL_READ_END, "after the last record: WAL_READ_END (got %d)", rc);
    wal_reader_free(&r);
    free(l.b);
}

static const harness_test reader_tests[] = {
    HARNESS_TEST(reader_reads_every_record),
    HARNESS_TEST(reader_starts_at_a_record),
    HARNESS_TEST(reader_cut_record_is_damage),
    HARNESS_TEST(reader_record_cut_at_a_block_end),
    HARNESS_TEST(reader_header_cut_short_in_a_later_block),
    HARNESS_TEST(reader_damage_after_a_trailer),
    HARNESS_TEST(reader_resyncs_after_damage),
    HARNESS_TEST(reader_resyncs_after_damage_at_the_log_start),
    HARNESS_TEST(reader_resync_searches_after_the_damage_only),
    HARNESS_TEST(reader_reads_a_file_through_a_small_window),
    HARNESS_TEST(reader_reads_a_block_once),
    HARNESS_TEST(reader_trailer_after_the_first_block),
    HARNESS_TEST(reader_skips_the_rest_of_a_damaged_record),
    HARNESS_TEST(reader_record_without_its_last_fragment),
    HARNESS_TEST(reader_orphan_fragment_is_damage),
    HARNESS_TEST(reader_zero_tail),
    HARNESS_TEST(reader_orphan_after_a_record_is_damage),
};
const harness_suite reader_suite = HARNESS_SUITE("reader", reader_tests);
