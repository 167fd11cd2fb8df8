/*
 * table_lookup_test.c: exercise table_lookup, table_v1_search and
 * table_get (stages/04-lsm/table_v1/table_v1_read.c): the newest version of a key
 * at or below a sequence, by binary search over a table's on-disk offset
 * array (the tables are encoded by the test: ex_table.c), in about log2(N)
 * probes; no read for a key outside the table; damage reported, never
 * answered; a lookup of a long key gives back the memory it took.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "ex_table.h"
#include "exercise.h"
#include "kv.h"
#include "table.h"

static table_ctx *tl_ctx;

static table *tl_open(const char *path)
{
    if (tl_ctx == NULL)
        EX_CHECK(table_ctx_new(NULL, &tl_ctx) == KV_OK, "test setup: table_ctx_new");
    table *t = NULL;
    EX_CHECK(EX_KV(table_open(tl_ctx, path, &t)) == KV_OK,
             "test setup: table_open: %s", ex_kv_errmsg());
    return t;
}

/* The end of a test: the context tl_open made goes (a test frees what
 * it allocated: exercise.h). */
static void tl_done(void)
{
    table_ctx_free(tl_ctx);
    tl_ctx = NULL;
}

static int tl_get(table *t, const char *key, uint64_t seq, table_get_result *r)
{
    ikey_lookup lk;
    EX_CHECK(ikey_lookup_init(&lk, key, strlen(key), seq) == KV_OK, "test setup");
    harness_context("table_get(%s at sequence %llu)", key, (unsigned long long)seq);
    int rc = table_get(t, &lk, r);
    ikey_lookup_free(&lk);
    return rc;
}

/* Each key of the table at each sequence, against the entries. */
static void table_lookup_every_version(void)
{
    enum { NK = 150, NV = 3 };
    ex_entry *e = ex_entries(NK, NV);
    table *t = tl_open(ex_table_file(e, NK * NV, "t.tbl"));
    for (int k = -1; k <= 2 * NK; k++) {
        char key[16];
        snprintf(key, sizeof key, k < 0 ? "key" : "key%05d", k);
        for (uint64_t s = 0; s <= NK * NV + 1; s += (k % 7 == 0 ? 1 : 37)) {
            /* The model: the newest version at or below s. */
            const ex_entry *want = NULL;
            if (k >= 0 && k % 2 == 0 && k < 2 * NK)
                for (int v = 0; v < NV; v++) {
                    const ex_entry *x = &e[(k / 2) * NV + v];
                    if (x->seq <= s) {
                        want = x;
                        break;
                    }
                }
            table_get_result r;
            int rc = EX_KV(tl_get(t, key, s, &r));
            EX_CHECK(rc == KV_OK, EX_RULE(4, "a lookup") "table_get(%s at %llu) returns KV_OK "
                     "(got %d: %s)", key,
                     (unsigned long long)s, rc, ex_errmsg(rc));
            int inside = k >= 0 && k <= 2 * (NK - 1);
            EX_CHECK(r.in_range == inside, EX_RULE(3, "in range by user key")
                     "table_get(%s at sequence %llu): the table's user keys run from key00000 "
                     "to key%05d, so r->in_range is %d, got %d (the range is one of user keys: "
                     "a lookup's internal key sorts after the versions of its key newer than "
                     "its sequence, so compared with the smallest internal key it may look "
                     "below it)", key, (unsigned long long)s, 2 * (NK - 1), inside, r.in_range);
            ikey_lookup_state ws = want == NULL ? IKEY_ABSENT
                                   : want->type == IKEY_DELETE ? IKEY_DELETED : IKEY_FOUND;
            EX_CHECK(r.state == ws, EX_RULE(1, "the first record >= the target") "table_get(%s "
                     "at sequence %llu) finds the newest version at "
                     "or below the lookup's sequence (%s%llu): state %d, got %d", key,
                     (unsigned long long)s, want ? "the one of sequence " : "none",
                     (unsigned long long)(want ? want->seq : 0), (int)ws, (int)r.state);
            EX_CHECK(r.seq == (want ? want->seq : 0), EX_RULE(4, "r->seq") "table_get(%s at "
                     "%llu) says which version "
                     "it found in r->seq: %llu, got %llu", key, (unsigned long long)s,
                     (unsigned long long)(want ? want->seq : 0), (unsigned long long)r.seq);
            if (ws == IKEY_FOUND) {
                size_t vl = ex_entry_vlen(want);
                EX_CHECK(r.value != NULL && r.value_len == vl && memcmp(r.value, want->val, vl) == 0,
                         EX_RULE(4, "its value") "table_get(%s at %llu) gives that version's "
                         "value, a copy (%zu bytes)",
                         key, (unsigned long long)s, vl);
            } else {
                EX_CHECK(r.value == NULL, EX_RULE(5, "IKEY_ABSENT: no value") "no value unless "
                         "IKEY_FOUND");
            }
            free(r.value);
        }
    }
    table_unref(t);
    ex_entries_free(e, NK * NV);
    tl_done();
}

/* A lookup key (k, s, the largest type) sorts before every version of k at
 * or below s, and is equal to one of them if it has sequence s and that
 * type: a put whose value is kept elsewhere (internal_key.h; stage 08
 * writes them).  The search must stop on it, not step past. */
static void table_lookup_stops_on_an_equal_key(void)
{
    ex_entry e[] = {{"k", 0, 9, IKEY_PUT, "newer", 0},
                    {"k", 0, 5, IKEY_PUT_ELSEWHERE, "where", 0},
                    {"k", 0, 3, IKEY_PUT, "older", 0}};
    table *t = tl_open(ex_table_file(e, 3, "t.tbl"));
    table_get_result r;
    EX_CHECK(EX_KV(tl_get(t, "k", 5, &r)) == KV_OK, "table_get: %s", ex_kv_errmsg());
    EX_CHECK(r.state == IKEY_FOUND && r.value_len == 5 && memcmp(r.value, "where", 5) == 0,
             EX_RULE(4, "its value") "table_get(k at sequence 5) finds the version of sequence "
             "5, whose internal key "
             "equals the lookup key (a put kept elsewhere has the largest type): the search "
             "wants the first entry at or above the lookup key, not above it");
    EX_CHECK(r.elsewhere, EX_RULE(4, "r->elsewhere") "that version says its value is kept "
             "elsewhere (r.elsewhere)");
    free(r.value);
    table_unref(t);
    tl_done();
}

static void table_lookup_outside_costs_no_read(void)
{
    ex_entry e[] = {{"b", 0, 5, IKEY_PUT, "1", 0}, {"d", 0, 6, IKEY_PUT, "2", 0},
                    {"f", 0, 7, IKEY_PUT, "3", 0}};
    table *t = tl_open(ex_table_file(e, 3, "t.tbl"));
    const char *outside[] = {"a", "ab", "fa", "g", "zzz"};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        table_get_result r;
        EX_CHECK(tl_get(t, outside[i], 100, &r) == KV_OK && r.state == IKEY_ABSENT,
                 "%s, outside the table's keys [b, f]: absent", outside[i]);
        EX_CHECK(r.reads == 0, EX_RULE(3, "outside the table: no read") "a key outside "
                 "[smallest, largest] (%s, the table holds b..f) "
                 "costs no read: compare it with the two keys the open table keeps (%u reads)",
                 outside[i], r.reads);
    }
    /* "f" and a zero byte: past f, the largest user key, by one byte that
     * is smaller than any trailer's first byte: compared with the user
     * key alone it is outside; compared with the user key and its trailer
     * (largest_len, not largest_len - IKEY_TRAILER_SIZE) it would seem
     * inside. */
    {
        table_get_result r;
        ikey_lookup lk;
        EX_CHECK(ikey_lookup_init(&lk, "f\0", 2, 100) == KV_OK, "test setup");
        harness_context("table_get(\"f\\0\" at sequence 100), one byte past f, the table's "
                        "largest user key: outside the table, compared with the largest key's "
                        "user part (largest_len - IKEY_TRAILER_SIZE bytes)");
        int rc = table_get(t, &lk, &r);
        ikey_lookup_free(&lk);
        EX_CHECK(rc == KV_OK && r.state == IKEY_ABSENT && r.reads == 0 && !r.in_range,
                 "\"f\\0\" (f and a zero byte) sorts after f, the table's largest user key, so "
                 "it is outside the table: no read, in_range 0; the range is checked on user "
                 "keys, the largest's without its 8-byte trailer (got state %d, %u reads, "
                 "in_range %d)", (int)r.state, r.reads, r.in_range);
    }
    table_get_result r;
    EX_CHECK(tl_get(t, "c", 100, &r) == KV_OK && r.state == IKEY_ABSENT && r.reads > 0,
             EX_RULE(5, "IKEY_ABSENT") "c, between b and d: absent, after a search");
    table_unref(t);
    tl_done();
}

static void table_lookup_binary_search(void)
{
    enum { NK = 4000 };
    ex_entry *e = ex_entries(NK, 1);
    table *t = tl_open(ex_table_file(e, NK, "big.tbl"));
    unsigned worst = 0;
    for (int k = 1; k < 2 * NK; k += 61) {
        char key[16];
        snprintf(key, sizeof key, "key%05d", k);
        table_get_result r;
        EX_CHECK(EX_KV(tl_get(t, key, NK + 1, &r)) == KV_OK, "table_get: %s", ex_kv_errmsg());
        free(r.value);
        if (r.reads > worst)
            worst = r.reads;
    }
    EX_CHECK(worst <= 3 * 13 + 2, EX_RULE(2, "about log2(N) probes") "a lookup in a table of %d "
             "records binary-searches the "
             "offset array: about log2(N) = 12 probes of two reads each (the two offsets, the "
             "head), and one for the value; the worst took %u reads", NK, worst);
    table_unref(t);
    ex_entries_free(e, NK);
    tl_done();
}

static void table_lookup_long_keys(void)
{
    /* Keys longer than a probe's 256-byte buffer. */
    static char keys[40][600];
    ex_entry e[40];
    for (int i = 0; i < 40; i++) {
        memset(keys[i], 'a' + i % 26, 500);
        snprintf(keys[i] + 500, 100, "%05d", i);
        e[i] = (ex_entry){keys[i], 0, (uint64_t)(i + 1), IKEY_PUT, "v", 0};
    }
    /* Sort them (the letters repeat every 26). */
    for (int i = 1; i < 40; i++)
        for (int j = i; j > 0 && strcmp(e[j - 1].key, e[j].key) > 0; j--) {
            ex_entry x = e[j];
            e[j] = e[j - 1];
            e[j - 1] = x;
        }
    table *t = tl_open(ex_table_file(e, 40, "long.tbl"));
    for (int i = 0; i < 40; i++) {
        table_get_result r;
        EX_CHECK(EX_KV(tl_get(t, e[i].key, 100, &r)) == KV_OK && r.state == IKEY_FOUND &&
                 r.value_len == 1, "a key of 505 bytes, longer than a probe's buffer, is found "
                 "(table_v1_read_head reads the rest of a long head): %s", ex_kv_errmsg());
        free(r.value);
    }
    table_unref(t);
    tl_done();
}

/* The bytes malloc has handed out and not had back, every thread's. */
static size_t tl_heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

static void table_lookup_long_keys_keep_no_memory(void)
{
    /* Keys longer than a probe's 256-byte buffer: a lookup allocates the
     * heads it reads, and must give them back. */
    static char keys[40][600];
    ex_entry e[40];
    for (int i = 0; i < 40; i++) {
        memset(keys[i], 'a', 500);
        snprintf(keys[i] + 500, 100, "%05d", i);
        e[i] = (ex_entry){keys[i], 0, (uint64_t)(i + 1), IKEY_PUT, "v", 0};
    }
    table *t = tl_open(ex_table_file(e, 40, "long.tbl"));
    size_t before = 0;
    enum { PASSES = 30 };
    for (int pass = 0; pass < PASSES; pass++) {
        if (pass == 5)
            before = tl_heap_in_use();
        for (int i = 0; i < 40; i++) {
            table_get_result r;
            EX_CHECK(EX_KV(tl_get(t, e[i].key, 100, &r)) == KV_OK && r.state == IKEY_FOUND,
                     "a key of 505 bytes is found: %s", ex_kv_errmsg());
            free(r.value);
        }
    }
    size_t after = tl_heap_in_use();
    harness_context("the heap measured (mallinfo2) after 5 passes over the 40 keys and "
                    "after %d", PASSES);
    EX_CHECK(after < before + 8192,
             "%d lookups of keys of 505 bytes (longer than a probe's 256-byte buffer) leave the "
             "heap as it was: table_get frees the heads its search read into memory of their "
             "own (table_v1_probe_free) once it has its answer; the heap grew by %zu bytes",
             40 * (PASSES - 5), after > before ? after - before : 0);
    table_unref(t);
    tl_done();
}

static void table_lookup_damage_is_reported(void)
{
    ex_entry *e = ex_entries(64, 1);
    size_t n;
    uint64_t *offs = NULL;
    uint8_t *b = ex_table_bytes(e, 64, &n, &offs);
    uint64_t array_at = coding_get_u64(b + n - 52 + 32);
    /* Offset 20 now points at record 21: an intact record, the wrong one. */
    coding_put_u64(b + array_at + 8 * 20, offs[21]);
    table *t = tl_open(ex_write_file("off.tbl", b, n));
    int corrupt = 0;
    for (int k = 0; k < 64; k++) {
        char key[16];
        snprintf(key, sizeof key, "key%05d", 2 * k);
        table_get_result r;
        int rc = tl_get(t, key, 1000, &r);
        EX_CHECK(rc == KV_OK || rc == KV_ERR_CORRUPT, EX_RULE(2, "each probe reads two offsets") "a damaged offset array gives KV_OK or "
                 "KV_ERR_CORRUPT (got %d)", rc);
        if (rc == KV_OK && r.state == IKEY_FOUND)
            EX_CHECK(r.value_len == ex_entry_vlen(&e[k]) &&
                     memcmp(r.value, e[k].val, r.value_len) == 0,
                     "T2: a damaged offset array never gives a wrong value (%s)", key);
        corrupt += rc == KV_ERR_CORRUPT;
        free(r.value);
    }
    EX_CHECK(corrupt > 0, EX_RULE(2, "each probe reads two offsets") "a probe of the damaged "
             "offset reports KV_ERR_CORRUPT: read the span "
             "of a record from two offsets (table_v1_span), which must fit it exactly");
    table_unref(t);
    /* A value whose bytes are damaged: its crc32c says so. */
    free(b);
    b = ex_table_bytes(e, 64, &n, NULL);
    uint8_t scratch[200];
    size_t vat = offs[10] + ex_record(&e[10], scratch, 0); /* where its value starts */
    EX_CHECK(ex_entry_vlen(&e[10]) > 0, "test setup: entry 10 has a value");
    b[vat] ^= 0x40;
    t = tl_open(ex_write_file("val.tbl", b, n));
    table_get_result r;
    int rc = tl_get(t, e[10].key, 1000, &r);
    EX_CHECK(rc == KV_ERR_CORRUPT, EX_RULE(4, "the value read and checked") "a value whose "
             "crc32c does not match is KV_ERR_CORRUPT, not "
             "an answer (table_v1_value checks it): got %d", rc);
    table_unref(t);
    free(b);
    free(offs);
    ex_entries_free(e, 64);
    tl_done();
}

/* The kv_stats lines of table_ctx_describe, joined. */
static void tl_line(void *ctx, const char *line)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 1024 - n, "%s\n", line);
}

static void table_lookup_counts_gets_and_reads(void)
{
    ex_entry e[] = {{"b", 0, 5, IKEY_PUT, "1", 0}, {"d", 0, 6, IKEY_PUT, "2", 0},
                    {"f", 0, 7, IKEY_PUT, "3", 0}};
    table *t = tl_open(ex_table_file(e, 3, "t.tbl"));
    const char *keys[] = {"b", "c", "f"};
    unsigned reads = 0;
    for (size_t i = 0; i < 3; i++) {
        table_get_result r;
        EX_CHECK(EX_KV(tl_get(t, keys[i], 100, &r)) == KV_OK, "table_get: %s", ex_kv_errmsg());
        reads += r.reads;
        free(r.value);
    }
    char text[1024] = "";
    table_ctx_describe(tl_ctx, 0, tl_line, text);
    char want[128];
    snprintf(want, sizeof want, "session.table.gets: 3\nsession.table.reads_per_get: %.2f\n",
             reads / 3.0);
    EX_CHECK(strstr(text, want) != NULL,
             EX_RULE(6, "the lookup counted") "each table_get is counted once, with the reads "
             "it made (r->reads), so that "
             "kv_stats' reads per get is what the lookups cost: 3 gets, %u reads, want\n%s"
             "got\n%s", reads, want, text);
    table_unref(t);
    tl_done();
}

static const harness_test table_lookup_tests[] = {
    HARNESS_TEST(table_lookup_every_version),
    HARNESS_TEST(table_lookup_stops_on_an_equal_key),
    HARNESS_TEST(table_lookup_outside_costs_no_read),
    HARNESS_TEST(table_lookup_binary_search),
    HARNESS_TEST(table_lookup_long_keys),
    HARNESS_TEST(table_lookup_long_keys_keep_no_memory),
    HARNESS_TEST(table_lookup_damage_is_reported),
    HARNESS_TEST(table_lookup_counts_gets_and_reads),
};
const harness_suite table_lookup_suite = HARNESS_SUITE("table_lookup", table_lookup_tests);
