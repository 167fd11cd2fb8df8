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
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../../tests/harness.h"
#include "../../04-lsm/tests/lsm_test_util.h"
#include "kv.h"

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

static const harness_test cov_repair_tests[] = {
    HARNESS_TEST(repair_passes_over_a_stale_manifest_and_rebuilds),
    HARNESS_TEST(repair_of_current_keeps_the_version),
};
const harness_suite cov_repair_suite = HARNESS_SUITE("cov_repair", cov_repair_tests);
