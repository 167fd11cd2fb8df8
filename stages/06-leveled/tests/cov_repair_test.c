/*
 * cov_repair_test.c: which version stage 06's kv repair writes its new
 * manifest from when CURRENT cannot be read (level_repair.c, step 1).
 *
 * A manifest other than the live one may be in the directory (a crash
 * during a switch leaves one).  Repair takes such a manifest only if it
 * accounts for every table in the directory: an older manifest, from
 * before a flush that made a table, would make that table garbage and
 * lose the writes in it (their log was removed once the table held them).
 * Then it rebuilds the version from the tables, and every key reads its
 * last value.
 *
 * A version whose counters only damage writes (level_repair.c, steps 1
 * and 4): writes counted up to IKEY_MAX_SEQ, or a next file number with
 * no room after it, would leave a new manifest kv_open refuses; repair
 * lowers them, and the database it leaves opens strictly and checks.
 *
 * A table whose file holds keys outside the range the manifest gives it
 * (level_repair.c, step 2): repair places it by the keys it holds, so the
 * database opens and each key reads its newest value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../tests/harness.h"
#include "../../04-lsm/tests/lsm_test_util.h"
#include "../../04-lsm/tests/table_test_util.h"
#include "current_file.h"
#include "internal_key.h"
#include "kv.h"
#include "manifest.h"
#include "manifest_test_util.h"

/* The live manifest's name (CURRENT's first word). */
static void repair_live_manifest(const char *dir, char name[64])
{
    FILE *f = fopen(harness_join(dir, "CURRENT"), "r");
    CHECK(f != NULL);
    CHECK(fscanf(f, "%63s", name) == 1);
    fclose(f);
}

static void repair_puts(kv_db *db, int from, int to, const char *tag)
{
    char k[32], v[200];
    for (int i = from; i < to; i++) {
        snprintf(k, sizeof k, "key%05d", i);
        memset(v, 'x', sizeof v - 1);
        v[sizeof v - 1] = '\0';
        snprintf(v, 40, "%s-%d", tag, i);
        v[strlen(v)] = 'x';
        lt_put(db, k, v);
    }
}

static void repair_expect(kv_db *db, int from, int to, const char *tag)
{
    char k[32], v[200];
    for (int i = from; i < to; i++) {
        snprintf(k, sizeof k, "key%05d", i);
        memset(v, 'x', sizeof v - 1);
        v[sizeof v - 1] = '\0';
        snprintf(v, 40, "%s-%d", tag, i);
        v[strlen(v)] = 'x';
        lt_expect(db, k, v);
    }
}

static void repair_passes_over_a_stale_manifest_and_rebuilds(void)
{
    const char *dir = lt_dir(), *saved = harness_tmpdir();
    kv_db *db = lt_open(dir, 16 << 10, 0);
    repair_puts(db, 0, 600, "old");
    CHECK_KV(kv_close(db), KV_OK);
    char stale[64], live[64];
    repair_live_manifest(dir, stale);
    lt_copy(dir, stale, saved, stale);
    /* Newer tables (and a newer manifest); the first one's is removed. */
    db = lt_open(dir, 16 << 10, 0);
    repair_puts(db, 300, 900, "new");
    CHECK_KV(kv_close(db), KV_OK);
    repair_live_manifest(dir, live);
    CHECK(strcmp(live, stale) != 0 && !lt_exists(dir, stale));
    /* The stale manifest back, the live one and CURRENT gone. */
    lt_copy(saved, stale, dir, stale);
    CHECK(unlink(harness_join(dir, live)) == 0);
    CHECK(unlink(harness_join(dir, "CURRENT")) == 0);

    lt_lines out = {0};
    CHECK_KV(kv_repair(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(strstr(out.text, "replays, but is stale") != NULL &&
                  strstr(out.text, "a new one is written from the") != NULL,
              "%s", out.text);
    out.len = 0;
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    db = lt_open(dir, 0, 0);
    repair_expect(db, 0, 300, "old");
    repair_expect(db, 300, 900, "new");
    CHECK_KV(kv_close(db), KV_OK);
}

/* CURRENT damaged, its manifest whole: repair keeps that version (levels,
 * numbers) and only writes it again under a new number. */
static void repair_of_current_keeps_the_version(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 16 << 10, 0);
    repair_puts(db, 0, 600, "v");
    CHECK_KV(kv_close(db), KV_OK);
    const char *before = lt_files(dir);
    char tables[4096];
    size_t n = 0;
    for (const char *p = before; *p;) { /* the table names, in order */
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 4 && memcmp(p + len - 4, ".tbl", 4) == 0 && n + len + 1 < sizeof tables) {
            memcpy(tables + n, p, len);
            n += len;
            tables[n++] = ' ';
        }
        p += len + (end != NULL);
    }
    tables[n] = '\0';
    FILE *f = fopen(harness_join(dir, "CURRENT"), "r+");
    CHECK(f != NULL);
    CHECK(fputc('X', f) != EOF);
    fclose(f);
    lt_lines out = {0};
    CHECK_KV(kv_repair(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(strstr(out.text, "replays whole and accounts for every table") != NULL, "%s",
              out.text);
    for (const char *p = tables; *p;) { /* no table rewritten, none merged */
        const char *end = strchr(p, ' ');
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(end - p), p);
        CHECK_MSG(lt_exists(dir, name), "%s is gone: %s", name, out.text);
        p = end + 1;
    }
    CHECK(strstr(out.text, "merged") == NULL);
    db = lt_open(dir, 0, 0);
    repair_expect(db, 0, 600, "v");
    CHECK_KV(kv_close(db), KV_OK);
}

/* An empty database whose MANIFEST-000001 is one snapshot of the counters
 * given and no table; CURRENT names it, or (damaged_current) is damaged,
 * so that repair takes the manifest as another one and writes it again. */
static const char *repair_counters_db(uint64_t log_seq, uint64_t next_file, uint64_t last_seq,
                                      int damaged_current)
{
    const char *dir = lt_empty_db();
    version_edit e;
    version_edit_init(&e);
    mt_counters(&e, log_seq, next_file, last_seq);
    size_t len;
    uint8_t *m = mt_manifest_bytes(mt_edit_ptrs(&e, 1), 1, &len, NULL);
    mt_write_file(harness_join(dir, "MANIFEST-000001"), m, len);
    free(m);
    version_edit_free(&e);
    char line[CURRENT_MAX_BYTES];
    size_t n = current_line_encode(line, 1);
    if (damaged_current)
        line[0] = 'X';
    mt_write_file(harness_join(dir, CURRENT_FILE_NAME), (const uint8_t *)line, n);
    return dir;
}

/* kv.h's promise after a kv_repair that said KV_OK. */
static void repair_opens_strict_and_checks(const char *dir)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    CHECK_KV(kv_close(db), KV_OK);
    lt_lines out = {0};
    CHECK_MSG(kv_check(dir, lt_collect, &out) == KV_OK, "%s", out.text);
}

/* Writes stop at IKEY_MAX_SEQ - 1, so that a log can be named after the
 * last one: a manifest counting to IKEY_MAX_SEQ is lowered to it, in a new
 * manifest, and the log owed above it is made. */
static void repair_lowers_a_version_counting_past_the_last_write(void)
{
    const char *dir = repair_counters_db(IKEY_MAX_SEQ, 2, IKEY_MAX_SEQ, 0);
    lt_lines out = {0};
    CHECK_KV(kv_repair(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(strstr(out.text, "lowered to it") != NULL, "%s", out.text);
    repair_opens_strict_and_checks(dir);
}

/* A next file number of 2^64 - 1 would name the new manifest
 * MANIFEST-18446744073709551615 and wrap the next to 0: repair goes on
 * from the numbers in use instead. */
static void repair_next_file_with_no_room_goes_on_from_the_numbers_in_use(void)
{
    const char *dir = repair_counters_db(0, UINT64_MAX, 0, 1);
    lt_lines out = {0};
    CHECK_MSG(kv_repair(dir, lt_collect, &out) == KV_OK, "%s", out.text);
    CHECK_MSG(lt_exists(dir, "MANIFEST-000002"), "%s", lt_files(dir));
    repair_opens_strict_and_checks(dir);
}

/* Without CURRENT, repair rebuilds the version from the tables.  Two
 * copies of a table whose one data block is damaged (its entry count still
 * read: the loss is a known key range): each is dropped, and the loss of
 * the second is looked for in the tables still there, not in the first
 * one, already dropped.  The repaired database opens strictly and checks,
 * and the write its log holds is kept. */
static void repair_without_a_manifest_drops_two_unreadable_tables(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 0, 0);
    lt_put(db, "key", "1");
    CHECK_KV(kv_flush(db), KV_OK);
    lt_put(db, "a", "2");
    CHECK_KV(kv_close(db), KV_OK);
    char table[256], live[64];
    snprintf(table, sizeof table, "%s", lt_first_table(dir));
    CHECK(table[0] != '\0');
    uint8_t *bytes = NULL;
    size_t n = tt_read_file(harness_join(dir, table), &bytes);
    CHECK(n > 20);
    bytes[19] ^= 0xff; /* the first data block's first key: its checksum fails */
    CHECK(unlink(harness_join(dir, table)) == 0);
    tt_write_file(harness_join(dir, "000097.tbl"), bytes, n);
    tt_write_file(harness_join(dir, "000098.tbl"), bytes, n);
    free(bytes);
    repair_live_manifest(dir, live);
    CHECK(unlink(harness_join(dir, live)) == 0);
    CHECK(unlink(harness_join(dir, "CURRENT")) == 0);
    lt_lines out = {0};
    CHECK_MSG(kv_repair(dir, lt_collect, &out) == KV_OK, "%s (%s)", out.text, kv_errmsg());
    CHECK_MSG(strstr(out.text, "000098.tbl: nothing in it could be read") != NULL, "%s",
              out.text);
    CHECK_MSG(!lt_exists(dir, "000097.tbl") && !lt_exists(dir, "000098.tbl"), "%s",
              lt_files(dir));
    repair_opens_strict_and_checks(dir);
    db = lt_open(dir, 0, 0);
    lt_expect(db, "a", "2");
    CHECK_KV(kv_close(db), KV_OK);
}

/* ---- a salvaged table placed by its keys ---------------------------------- */

/* The deepest level holding two tables or more, in the live manifest's
 * version; *first and *last its first and last tables' numbers, *lo and
 * *hi the user keys of the last one's range (room for 32 bytes). */
static int repair_level_of_two(const char *dir, uint64_t *first, uint64_t *last, char *lo,
                               char *hi)
{
    manifest_state st;
    CHECK_KV(manifest_recover(dir, 0, &st), KV_OK);
    int level = -1;
    for (int l = VERSION_LEVELS - 1; l >= 1 && level < 0; l--)
        if (st.v->nfiles[l] >= 2) {
            const vfile *a = st.v->files[l][0], *b = st.v->files[l][st.v->nfiles[l] - 1];
            *first = a->number;
            *last = b->number;
            snprintf(lo, 32, "%.*s", (int)(b->smallest_len - IKEY_TRAILER_SIZE), b->smallest);
            snprintf(hi, 32, "%.*s", (int)(b->largest_len - IKEY_TRAILER_SIZE), b->largest);
            level = l;
        }
    manifest_state_free(&st);
    return level;
}

/* Key i's value of `tag`: 199 letters that do not compress (a table of
 * them is its size), naming both. */
static void repair_value(char v[200], int i, const char *tag)
{
    uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull + (uint64_t)tag[0];
    for (int j = 0; j < 199; j++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        v[j] = (char)('a' + x % 26);
    }
    v[199] = '\0';
    memcpy(v, tag, strlen(tag));
}

/* Keys from, from + step, ... below to, each with its value of `tag`. */
static void repair_put_values(kv_db *db, int from, int to, int step, const char *tag)
{
    char k[32], v[200];
    for (int i = from; i < to; i += step) {
        snprintf(k, sizeof k, "key%05d", i);
        repair_value(v, i, tag);
        lt_put(db, k, v);
    }
}

/* A table whose file holds keys outside the range the manifest gives it
 * (an older table's bytes under its name, as a misplaced copy leaves) and
 * is cut short: repair salvages what it can read, and those keys overlap
 * the table beside it on its level.  Kept there, the version would break
 * the levels' order and kv_open would refuse it; moved to level 0, its
 * older versions would hide newer ones deeper down.  The repaired
 * database opens strictly and checks, every key outside the lost table's
 * range reads its newest value (odd keys "old", even ones "new": the
 * salvaged copy holds the even keys' older values), and a key inside it
 * its newest value or nothing. */
static void repair_places_a_table_by_the_keys_it_holds(void)
{
    const char *dir = lt_dir();
    kv_options opt;
    kv_options_init(&opt); /* tables of 16 KiB: a level holds several */
    opt.memtable_bytes = opt.table_bytes = 16 << 10;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    repair_put_values(db, 0, 600, 1, "old");
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_close(db), KV_OK);
    uint64_t first = 0, last = 0;
    char lo[32], hi[32], name[64];
    CHECK_MSG(repair_level_of_two(dir, &first, &last, lo, hi) >= 1, "%s", lt_files(dir));
    snprintf(name, sizeof name, "%06llu.tbl", (unsigned long long)first);
    uint8_t *older = NULL;
    size_t older_n = tt_read_file(harness_join(dir, name), &older);

    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    repair_put_values(db, 0, 600, 2, "new");
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_close(db), KV_OK);
    int level = repair_level_of_two(dir, &first, &last, lo, hi);
    CHECK_MSG(level >= 1, "%s", lt_files(dir));
    snprintf(name, sizeof name, "%06llu.tbl", (unsigned long long)last);
    tt_write_file(harness_join(dir, name), older, older_n / 2);
    free(older);

    lt_lines out = {0};
    CHECK_MSG(kv_repair(dir, lt_collect, &out) == KV_OK, "%s (%s)", out.text, kv_errmsg());
    CHECK_MSG(strstr(out.text, "reach outside the range its manifest entry gave it") != NULL,
              "%s", out.text);
    repair_opens_strict_and_checks(dir);
    db = lt_open(dir, 0, 0);
    int kept = 0;
    char k[32], v[200];
    for (int i = 0; i < 600; i++) {
        snprintf(k, sizeof k, "key%05d", i);
        repair_value(v, i, i % 2 ? "old" : "new");
        void *got = NULL;
        size_t n = 0;
        int st = kv_get(db, k, strlen(k), &got, &n);
        int inside = strcmp(k, lo) >= 0 && strcmp(k, hi) <= 0;
        CHECK_MSG(st == KV_OK || (inside && st == KV_NOT_FOUND), "%s: %s\n%s", k,
                  kv_strerror(st), out.text);
        CHECK_MSG(st != KV_OK || (n == strlen(v) && memcmp(got, v, n) == 0),
                  "%s reads %.12s, not its newest value %.12s\n%s", k, (char *)got, v,
                  out.text);
        kept += st == KV_OK;
        kv_free(got);
    }
    CHECK_KV(kv_close(db), KV_OK);
    CHECK_MSG(kept > 300, "%d keys read\n%s", kept, out.text);
}

static const harness_test cov_repair_tests[] = {
    HARNESS_TEST(repair_passes_over_a_stale_manifest_and_rebuilds),
    HARNESS_TEST(repair_of_current_keeps_the_version),
    HARNESS_TEST(repair_lowers_a_version_counting_past_the_last_write),
    HARNESS_TEST(repair_next_file_with_no_room_goes_on_from_the_numbers_in_use),
    HARNESS_TEST(repair_without_a_manifest_drops_two_unreadable_tables),
    HARNESS_TEST(repair_places_a_table_by_the_keys_it_holds),
};
const harness_suite cov_repair_suite = HARNESS_SUITE("cov_repair", cov_repair_tests);
