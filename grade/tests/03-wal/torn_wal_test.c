/*
 * torn_wal_test.c: exercise torn_wal, replay_find_next
 * (stages/03-wal/wal_records/record_io_wal.c): after damage in a segment, what follows
 * it: valid records (how many, from where) and whether a sync marker says
 * the damaged bytes had been synced.  record_replay then calls the damage
 * torn, what a crash can leave, when nothing valid follows it or when
 * everything after it was never synced (docs/03-wal.md, "Recovery").
 */
#include <stdio.h>
#include <string.h>

#include "ex_wal.h"
#include "exercise.h"
#include "io.h"
#include "kv.h"
#include "record_io.h"
#include "wal_format.h"

static int ignore_op(void *ctx, const record_op *op)
{
    (void)op;
    (*(int *)ctx)++;
    return 0;
}

static record_damage replay(const ex_seg *s, size_t n, int *ops)
{
    const char *path = ex_seg_write(s);
    io_file *f = NULL;
    EX_CHECK(io_open(path, IO_READ, &f) == KV_OK, "cannot open the test's segment");
    record_damage d;
    memset(&d, 0, sizeof d);
    *ops = 0;
    harness_context("record_replay of a damaged %zu-byte segment (replay_find_next after the "
                    "damage): count the valid records after it and where they start; torn unless "
                    "a valid sync marker names an offset past the damage", n);
    int rc = record_replay(f, n, ignore_op, ops, &d);
    EX_CHECK(rc == RECORD_DAMAGED, "test setup: the segment is damaged (record_replay returned "
             "%d)", rc);
    io_close(f);
    return d;
}

/* A segment of puts k0..k(n-1); offsets of each record in at[]. */
static void puts_seg(ex_seg *s, int n, uint64_t *at)
{
    ex_seg_init(s);
    uint8_t p[64];
    for (int i = 0; i < n; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        at[i] = ex_seg_add(s, p, ex_wal_put(p, k, "value-value-value"));
    }
}

static void torn_wal_a_cut_last_record(void)
{
    ex_seg s;
    uint64_t at[6];
    puts_seg(&s, 6, at);
    int ops;
    record_damage d = replay(&s, s.n - 5, &ops);
    EX_CHECK(ops == 5, EX_RULE(1, "what follows the damage") "the 5 records before the cut are "
             "replayed (got %d)", ops);
    EX_CHECK(d.has_next == 0 && d.records_after == 0,
             EX_RULE(1, "has_next") "nothing valid after a record cut short by the end of the "
             "file: has_next = 0");
    EX_CHECK(d.torn == 1, EX_RULE(1, "nothing valid after it: torn") "a last record cut short, "
             "nothing after it: torn, what a crash leaves");
    ex_seg_free(&s);
}

static void torn_wal_unsynced_records_after_damage(void)
{
    ex_seg s;
    uint64_t at[8];
    puts_seg(&s, 8, at);
    s.b[at[3] + 10] ^= 0x04; /* record 3's data */
    int ops;
    record_damage d = replay(&s, s.n, &ops);
    EX_CHECK(d.has_next == 1 && d.next == at[4],
             EX_RULE(1, "has_next and next") "valid records follow the damage: has_next = 1, "
             "next = %llu where the first one "
             "starts (got %d, %llu)", (unsigned long long)at[4], d.has_next,
             (unsigned long long)d.next);
    EX_CHECK(d.records_after == 4, EX_RULE(2, "records_after") "records_after counts the 4 "
             "valid records after the damage "
             "(got %llu)", (unsigned long long)d.records_after);
    EX_CHECK(d.unsynced == 1 && d.torn == 1,
             EX_RULE(3, "unsynced") "no sync marker after the damage says it had been synced: "
             "it may lie in writes a "
             "power loss lost out of order, so it is torn (unsynced = 1): the writes after it "
             "were never acknowledged as durable");
    ex_seg_free(&s);
}

static void torn_wal_synced_damage_is_corruption(void)
{
    ex_seg s;
    uint64_t at[8];
    puts_seg(&s, 8, at);
    uint8_t m[16];
    /* A marker after record 5 saying everything before it was synced. */
    uint64_t synced_to = s.n;
    ex_seg_add(&s, m, ex_wal_marker(m, synced_to));
    uint8_t p[64];
    ex_seg_add(&s, p, ex_wal_put(p, "later", "x"));
    s.b[at[3] + 10] ^= 0x04;
    int ops;
    record_damage d = replay(&s, s.n, &ops);
    EX_CHECK(d.has_next == 1, EX_RULE(1, "has_next") "valid records follow the damage");
    EX_CHECK(d.unsynced == 0 && d.torn == 0,
             EX_RULE(3, "a marker past the damage") "a sync marker after the damage names an "
             "offset (%llu) past it (%llu): those "
             "bytes were on stable storage, which a crash never damages: corruption, not a "
             "torn tail (got unsynced %d, torn %d)", (unsigned long long)synced_to,
             (unsigned long long)at[3], d.unsynced, d.torn);
    ex_seg_free(&s);
}

static void torn_wal_marker_before_the_damage_proves_nothing(void)
{
    ex_seg s;
    uint64_t at[8];
    puts_seg(&s, 8, at);
    uint8_t m[16];
    ex_seg_add(&s, m, ex_wal_marker(m, at[2])); /* synced up to record 2 only */
    s.b[at[5] + 10] ^= 0x04;
    int ops;
    record_damage d = replay(&s, s.n, &ops);
    EX_CHECK(d.has_next == 1, EX_RULE(1, "has_next") "valid records (and a marker) follow the "
             "damage");
    EX_CHECK(d.unsynced == 1 && d.torn == 1,
             EX_RULE(3, "a marker before the damage proves nothing") "a marker whose synced_to "
             "(%llu) is not past the damage (%llu) says nothing about "
             "it: still unsynced, so torn", (unsigned long long)at[2],
             (unsigned long long)at[5]);
    ex_seg_free(&s);
}

/* A marker's synced_to is where the synced bytes end: a marker naming
 * the damage's own offset says every byte before it was synced, not the
 * damaged record itself. */
static void torn_wal_marker_at_the_damage_proves_nothing(void)
{
    ex_seg s;
    uint64_t at[8];
    puts_seg(&s, 8, at);
    uint8_t m[16];
    ex_seg_add(&s, m, ex_wal_marker(m, at[5])); /* synced up to record 5's start */
    s.b[at[5] + 10] ^= 0x04;
    int ops;
    record_damage d = replay(&s, s.n, &ops);
    EX_CHECK(d.offset == at[5], "test setup: the damage is reported at record 5's start, %llu "
             "(got %llu)", (unsigned long long)at[5], (unsigned long long)d.offset);
    EX_CHECK(d.unsynced == 1 && d.torn == 1,
             EX_RULE(3, "a marker past the damage, not at it") "a marker whose synced_to is "
             "the damage's own offset (%llu) says the bytes before the damage were synced, not "
             "the damaged record: only a synced_to past d->offset proves it, so it is still "
             "unsynced, and torn (got unsynced %d, torn %d)", (unsigned long long)at[5],
             d.unsynced, d.torn);
    ex_seg_free(&s);
}

static void torn_wal_a_record_that_is_no_batch_is_not_counted(void)
{
    ex_seg s;
    uint64_t at[4];
    puts_seg(&s, 4, at);
    /* After the records: a whole, valid WAL record whose payload is
     * neither a batch nor a sync marker (an op count of 1, then an op of
     * type 9), then one more put. */
    static const uint8_t junk[] = {1, 9, 1, 1, 'k', 'v'};
    ex_seg_add(&s, junk, sizeof junk);
    uint8_t p[64];
    ex_seg_add(&s, p, ex_wal_put(p, "later", "x"));
    s.b[at[1] + 10] ^= 0x04; /* record 1's data */
    int ops;
    record_damage d = replay(&s, s.n, &ops);
    EX_CHECK(d.records_after == 3,
             EX_RULE(2, "a record that is neither a batch nor a marker not counted") "records_after "
             "counts the valid records after the damage, 3 (records 2 and 3 and the last put): a "
             "whole WAL record whose payload is neither a batch nor a marker is no valid record "
             "(got %llu)", (unsigned long long)d.records_after);
    ex_seg_free(&s);
}

static void torn_wal_a_damaged_record_after_the_damage_proves_nothing(void)
{
    ex_seg s;
    uint64_t at[4];
    puts_seg(&s, 4, at);
    /* After the records: a sync marker's payload in a FIRST fragment whose
     * LAST was lost (a put follows it), so it is damage, not a marker. */
    uint8_t m[16];
    size_t mlen = ex_wal_marker(m, s.n + 1000);
    uint64_t x = ex_seg_add(&s, m, mlen);
    ex_wal_fragment(s.b + x, m, (uint32_t)mlen, WAL_FIRST);
    uint8_t p[64];
    ex_seg_add(&s, p, ex_wal_put(p, "later", "x"));
    s.b[at[1] + 10] ^= 0x04; /* record 1's data */
    int ops;
    record_damage d = replay(&s, s.n, &ops);
    EX_CHECK(d.has_next == 1 && d.next == at[2],
             EX_RULE(1, "has_next and next") "valid records follow the damage: has_next = 1, "
             "next = %llu (got %d, %llu)",
             (unsigned long long)at[2], d.has_next, (unsigned long long)d.next);
    EX_CHECK(d.records_after == 3,
             EX_RULE(2, "a damaged record not counted") "records_after counts the valid records "
             "after the damage, 3 (records 2, 3 and the "
             "last put): a record that is itself damaged (a FIRST fragment without its LAST) "
             "is not counted, whatever its bytes hold (got %llu)",
             (unsigned long long)d.records_after);
    EX_CHECK(d.unsynced == 1 && d.torn == 1,
             EX_RULE(3, "only a valid marker") "only a valid sync marker says the damaged bytes "
             "were synced: a marker's bytes in "
             "a damaged record (its LAST fragment lost) prove nothing, so the damage is still "
             "unsynced, torn (got unsynced %d, torn %d)", d.unsynced, d.torn);
    ex_seg_free(&s);
}

static const harness_test torn_wal_tests[] = {
    HARNESS_TEST(torn_wal_a_cut_last_record),
    HARNESS_TEST(torn_wal_unsynced_records_after_damage),
    HARNESS_TEST(torn_wal_synced_damage_is_corruption),
    HARNESS_TEST(torn_wal_marker_before_the_damage_proves_nothing),
    HARNESS_TEST(torn_wal_marker_at_the_damage_proves_nothing),
    HARNESS_TEST(torn_wal_a_damaged_record_after_the_damage_proves_nothing),
    HARNESS_TEST(torn_wal_a_record_that_is_no_batch_is_not_counted),
};
const harness_suite torn_wal_suite = HARNESS_SUITE("torn_wal", torn_wal_tests);
