/*
 * inspect.c: kv_inspect and kv_inspect_get (kv.h) on every stage, through
 * kv.h only: the lines follow the grammar (tests/inspect_lines.h), what
 * they count agrees with kv_stats, detail is capped, and the places a get
 * looks end where kv_get's answer came from.  Which lines a stage has is
 * told by its own kv_stats: a stage whose stats count segments must show
 * as many "segment" lines, one that counts tables as many "table" lines,
 * and so on, so the suite needs no table of stages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "inspect_lines.h"
#include "kv.h"
#include "testdb.h"

static void inspect_collect(kv_db *db, unsigned flags, il_list *out)
{
    memset(out, 0, sizeof *out);
    CHECK_KV(kv_inspect(db, flags, il_collect, out), KV_OK);
    CHECK_MSG(out->bad_why == NULL, "a line does not follow the grammar (%s): %s",
              out->bad_why, out->bad);
    CHECK_MSG(out->n > 0 && strcmp(out->v[0].kind, "db") == 0, "the first line is not \"db\"");
    const char *stage = il_get(&out->v[0], "stage");
    CHECK_MSG(stage && strcmp(stage, kv_stage()) == 0, "db stage= is not %s", kv_stage());
}

/* Small parts, so that a few hundred writes make several of them: segments
 * of 2 KiB, memtables of 8 KiB, small blocks and levels. */
static kv_options inspect_small_options(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 2048;
    opt.memtable_bytes = 8192;
    opt.block_bytes = 256;
    opt.l1_bytes = 16384;
    opt.table_bytes = 4096;
    return opt;
}

/* keys k000..k(n-1), values of 40 bytes; every third overwritten, every
 * fifth deleted. */
static void inspect_fill(kv_db *db, int n)
{
    char key[16], val[64];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < n; i++) {
            if (round == 1 && i % 3 != 0)
                continue;
            snprintf(key, sizeof key, "k%03d", i);
            snprintf(val, sizeof val, "value-%d-of-key-%03d-padded-to-forty-bytes", round, i);
            PUT(db, key, strlen(key), val, 40);
        }
    for (int i = 0; i < n; i += 5) {
        snprintf(key, sizeof key, "k%03d", i);
        DEL(db, key, strlen(key));
    }
}

static void inspect_lines_follow_grammar(void)
{
    kv_options opt = inspect_small_options();
    kv_db *db = OPEN(testdb_dir(), &opt);
    il_list l;
    inspect_collect(db, 0, &l); /* an empty database */
    il_list_free(&l);
    inspect_fill(db, 120);
    PUT(db, S("a \"quoted\" \\ key\x01\xff"), S("v"));
    inspect_collect(db, 0, &l);
    il_list_free(&l);
    inspect_collect(db, KV_INSPECT_DETAIL, &l);
    /* The odd key comes back escaped wherever a line shows it. */
    int seen = 0;
    for (size_t i = 0; i < l.n; i++)
        for (int f = 0; f < l.v[i].n; f++)
            seen += strcmp(l.v[i].f[f].value, "a \\x22quoted\\x22 \\x5c key\\x01\\xff") == 0;
    CHECK_MSG(seen > 0, "no detail line shows the key written last");
    il_list_free(&l);
    CLOSE(db);
}

/* Runs kv_inspect between two identical kv_stats, so that a flush or a
 * compaction in the background cannot come between them; returns the
 * stats text (kv_free it). */
static char *inspect_quiet(kv_db *db, unsigned flags, il_list *l)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        char *before = NULL, *after = NULL;
        CHECK_KV(kv_stats(db, &before), KV_OK);
        inspect_collect(db, flags, l);
        CHECK_KV(kv_stats(db, &after), KV_OK);
        /* Only the counts inspect shows matter: compare up to the session
         * counters (a get's counters move with kv_inspect_get). */
        char *cut_b = strstr(before, "\nsession."), *cut_a = strstr(after, "\nsession.");
        if (cut_b)
            *cut_b = '\0';
        if (cut_a)
            *cut_a = '\0';
        int same = strcmp(before, after) == 0;
        kv_free(after);
        if (same) {
            if (cut_b)
                *cut_b = '\n';
            return before;
        }
        kv_free(before);
        il_list_free(l);
    }
    CHECK_MSG(0, "kv_stats never held still across a kv_inspect");
    return NULL;
}

static long long inspect_stat_in(const char *text, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "\n%s: ", name);
    const char *at = strstr(text, key);
    return at ? strtoll(at + strlen(key), NULL, 10) : -1;
}

static void inspect_counts_agree_with_stats(void)
{
    kv_options opt = inspect_small_options();
    kv_db *db = OPEN(testdb_dir(), &opt);
    inspect_fill(db, 150);
    il_list l;
    char *stats = inspect_quiet(db, KV_INSPECT_DETAIL, &l);
    int checked = 0;
    long long v;
    if ((v = inspect_stat_in(stats, "log.records")) >= 0) {
        CHECK_EQ(il_u64(il_find(&l, "log"), "records"), v);
        CHECK_EQ(il_count(&l, "record", NULL, NULL), v);
        checked++;
    }
    if ((v = inspect_stat_in(stats, "segments.count")) >= 0) {
        CHECK_MSG(v > 1, "the fill made one segment: the test needs several");
        CHECK_EQ(il_count(&l, "segment", NULL, NULL), v);
        CHECK_EQ(il_u64(il_find(&l, "db"), "segments"), v);
        CHECK_EQ(il_count(&l, "segment", "active", "1"), 1);
        long long keys = inspect_stat_in(stats, "live.keys");
        CHECK_EQ(il_u64(il_find(&l, "index"), "keys"), keys);
        CHECK_EQ(il_count(&l, "slot", NULL, NULL), keys);
        /* Each live key has exactly one live op, in a record of its
         * segment (stage 02: "record" lines; stage 03: "op" lines). */
        CHECK_EQ(il_count(&l, "record", "live", "1") + il_count(&l, "op", "live", "1"), keys);
        CHECK_EQ(il_u64(il_find(&l, "db"), "live_bytes"), inspect_stat_in(stats, "live.bytes"));
        checked++;
    }
    if ((v = inspect_stat_in(stats, "tables.count")) >= 0) {
        CHECK_EQ(il_count(&l, "table", NULL, NULL), v);
        const il_line *mem = il_find(&l, "memtable");
        CHECK_MSG(mem != NULL, "no memtable line");
        CHECK_EQ(il_u64(mem, "entries"), inspect_stat_in(stats, "memtable.entries"));
        CHECK_EQ(il_count(&l, "entry", "mem", "active"), il_u64(mem, "entries"));
        checked++;
    }
    for (int level = 0; level < 7; level++) {
        char name[32], n[16];
        snprintf(name, sizeof name, "level.%d", level);
        snprintf(n, sizeof n, "%d", level);
        if ((v = inspect_stat_in(stats, name)) < 0)
            continue;
        const il_line *line = NULL;
        for (size_t i = 0; i < l.n; i++)
            if (strcmp(l.v[i].kind, "level") == 0 && il_u64(&l.v[i], "n") == (uint64_t)level)
                line = &l.v[i];
        CHECK_MSG(line != NULL, "no line for level %d", level);
        CHECK_EQ(il_u64(line, "tables"), v);
        CHECK_EQ(il_count(&l, "table", "level", n), v);
        checked++;
    }
    CHECK_MSG(checked > 0, "kv_stats counts nothing kv_inspect shows");
    kv_free(stats);
    il_list_free(&l);
    CLOSE(db);
}

/* A part with more than KV_INSPECT_DETAIL_MAX things inside shows that
 * many and says it cut the rest. */
static void inspect_detail_is_capped(void)
{
    kv_db *db = OPEN(testdb_dir(), NULL);
    char key[16];
    for (int i = 0; i < (int)KV_INSPECT_DETAIL_MAX + 50; i++) {
        snprintf(key, sizeof key, "key%04d", i);
        PUT(db, key, strlen(key), S("v"));
    }
    il_list l;
    inspect_collect(db, KV_INSPECT_DETAIL, &l);
    const il_line *cut = il_find(&l, "cut");
    CHECK_MSG(cut != NULL, "%u things in one part and no \"cut\" line", KV_INSPECT_DETAIL_MAX + 50);
    CHECK_EQ(il_u64(cut, "shown"), KV_INSPECT_DETAIL_MAX);
    /* Two parts may be cut (stage 02's index and its segment). */
    CHECK_MSG(l.n < 3 * KV_INSPECT_DETAIL_MAX, "%zu lines for %u keys", l.n,
              KV_INSPECT_DETAIL_MAX + 50);
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.v[i].kind, "cut") == 0)
            CHECK_EQ(il_u64(&l.v[i], "shown"), KV_INSPECT_DETAIL_MAX);
    il_list_free(&l);
    il_list l0;
    inspect_collect(db, 0, &l0);
    CHECK_MSG(il_find(&l0, "cut") == NULL, "a cut without KV_INSPECT_DETAIL");
    il_list_free(&l0);
    CLOSE(db);
}

/* The lines of kv_inspect_get for key, checked against kv_get: the last
 * line is "answer", with kv_get's answer; every "look" before the one that
 * answered found nothing. */
static void inspect_check_get(kv_db *db, const char *key, size_t *skipped_bloom)
{
    il_list l = {0};
    CHECK_KV(kv_inspect_get(db, key, strlen(key), il_collect, &l), KV_OK);
    CHECK_MSG(l.bad_why == NULL, "a line does not follow the grammar (%s): %s", l.bad_why, l.bad);
    void *val = NULL;
    size_t vlen = 0;
    int rc;
    CHECK_KV2(rc, kv_get(db, key, strlen(key), &val, &vlen), KV_OK, KV_NOT_FOUND);
    kv_free(val);
    harness_context("key %s", key);
    CHECK_MSG(l.n >= 2, "kv_inspect_get gave %zu lines", l.n);
    const il_line *answer = &l.v[l.n - 1];
    CHECK_MSG(strcmp(answer->kind, "answer") == 0, "the last line is \"%s\"", answer->kind);
    const char *result = il_get(answer, "result");
    CHECK_MSG(result && strcmp(result, rc == KV_OK ? "found" : "not_found") == 0,
              "answer result=%s, kv_get said %s", result ? result : "(none)",
              kv_strerror(rc));
    if (rc == KV_OK)
        CHECK_EQ(il_u64(answer, "vlen"), vlen);
    for (size_t i = 0; i + 1 < l.n; i++) {
        CHECK_MSG(strcmp(l.v[i].kind, "look") == 0, "line %zu is \"%s\", not \"look\"", i,
                  l.v[i].kind);
        const char *r = il_get(&l.v[i], "result");
        CHECK_MSG(r != NULL, "a look without result=");
        int last = i + 2 == l.n;
        int answered = strcmp(r, "found") == 0 || strcmp(r, "deleted") == 0;
        const char *value = il_get(&l.v[i], "value");
        if (!last)
            /* Stage 02 and 03 look in the index, then read where it points:
             * the index's "found" is a place, not yet the answer; so is a
             * table entry whose value is kept elsewhere (stage 08). */
            CHECK_MSG(!answered || strcmp(il_get(&l.v[i], "part"), "index") == 0 ||
                          (value != NULL && strcmp(value, "elsewhere") == 0),
                      "look %zu said %s but the get went on", i, r);
        else if (rc == KV_OK)
            CHECK_MSG(strcmp(r, "found") == 0, "kv_get found it; the last look said %s", r);
        else
            CHECK_MSG(strcmp(r, "found") != 0, "kv_get did not find it; the last look found it");
        *skipped_bloom += strcmp(r, "skipped_bloom") == 0;
    }
    harness_context("%s", "");
    il_list_free(&l);
}

static void inspect_get_path_ends_where_get_answers(void)
{
    /* Every filter asked, then the last table a get reaches searched
     * without its filter (kv_options.filters_for_hits, ignored by a stage
     * without filters): the path is the one the get takes either way. */
    for (int hits = 0; hits < 2; hits++) {
        harness_context("filters_for_hits %s", hits ? "1" : "KV_FILTERS_ALWAYS");
        kv_options opt = inspect_small_options();
        opt.filters_for_hits = hits ? 1 : KV_FILTERS_ALWAYS;
        kv_db *db = OPEN(testdb_dir(), &opt);
        inspect_fill(db, 150);
        size_t bloom = 0;
        char key[16];
        for (int i = 0; i < 150; i++) {
            snprintf(key, sizeof key, "k%03d", i);  /* live, overwritten or deleted */
            inspect_check_get(db, key, &bloom);
            snprintf(key, sizeof key, "k%03da", i); /* never written, inside the range */
            inspect_check_get(db, key, &bloom);
        }
        inspect_check_get(db, "zzz", &bloom);       /* past every key */
        /* A stage whose tables have filters stops some of the absent keys
         * with them (150 keys at 10 bits per key: a miss rate near 1%). */
        il_list l;
        inspect_collect(db, KV_INSPECT_DETAIL, &l);
        if (!hits && il_find(&l, "filter") != NULL)
            CHECK_MSG(bloom > 0, "tables have filters but no look was skipped by one");
        il_list_free(&l);
        CLOSE(db);
    }
}

static void inspect_refuses_bad_arguments(void)
{
    kv_db *db = testdb_fresh(NULL);
    il_list l = {0};
    CHECK_KV(kv_inspect(NULL, 0, il_collect, &l), KV_ERR_INVALID);
    CHECK_KV(kv_inspect_get(NULL, "k", 1, il_collect, &l), KV_ERR_INVALID);
    CHECK_KV(kv_inspect_get(db, "", 0, il_collect, &l), KV_ERR_INVALID);
    CHECK_KV(kv_inspect_get(db, NULL, 1, il_collect, &l), KV_ERR_INVALID);
    CHECK_EQ(l.n, 0);
    /* A NULL line function is allowed: nothing is emitted. */
    CHECK_KV(kv_inspect(db, KV_INSPECT_DETAIL, NULL, NULL), KV_OK);
    CHECK_KV(kv_inspect_get(db, "k", 1, NULL, NULL), KV_OK);
    CLOSE(db);
}

/* Inspecting changes nothing a reader or a reopen can see. */
static void inspect_changes_nothing(void)
{
    const char *dir = testdb_dir();
    kv_options opt = inspect_small_options();
    kv_db *db = OPEN(dir, &opt);
    inspect_fill(db, 60);
    il_list a, b = {0};
    inspect_collect(db, KV_INSPECT_DETAIL, &a);
    for (int i = 0; i < 5; i++) {
        il_list_free(&b);
        inspect_collect(db, KV_INSPECT_DETAIL, &b);
        size_t skipped = 0;
        inspect_check_get(db, "k001", &skipped);
    }
    CHECK_EQ(a.n, b.n);
    il_list_free(&a);
    il_list_free(&b);
    CLOSE(db);
    kv_options ro;
    kv_options_init(&ro);
    ro.read_only = 1;
    db = OPEN(dir, &ro);
    inspect_collect(db, KV_INSPECT_DETAIL, &a);
    il_list_free(&a);
    EXPECT(db, S("k001"), "value-0-of-key-001-padded-to-forty-bytes", 40);
    ABSENT(db, S("k000"));
    CLOSE(db);
}

static const harness_test inspect_tests[] = {
    HARNESS_TEST(inspect_lines_follow_grammar),
    HARNESS_TEST(inspect_counts_agree_with_stats),
    HARNESS_TEST(inspect_detail_is_capped),
    HARNESS_TEST(inspect_get_path_ends_where_get_answers),
    HARNESS_TEST(inspect_refuses_bad_arguments),
    HARNESS_TEST(inspect_changes_nothing),
};
const harness_suite inspect_suite = HARNESS_SUITE("inspect", inspect_tests);
