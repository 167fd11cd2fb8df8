/*
 * cov_tools_test.c: what kv check and kv dump say of a stage-06 directory
 * holding more than the manifest's database, and that kv_open then removes
 * exactly what kv check said it would.
 *
 * From stage 06 on the manifest says what the database is: a table it does
 * not name, a manifest CURRENT does not name, a temporary file and a log
 * whose writes are all in the tables are leftovers (of a crash, or of a
 * deletion cut short).  kv check names each, with what kv_open will do, and
 * finds nothing damaged; kv_open removes them and counts them in kv_stats;
 * a file of no stage's is left alone.  A torn last edit of the manifest (a
 * crash during an append) is shown by kv dump and cut by kv_open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../04-lsm/tests/lsm_test_util.h"
#include "../../04-lsm/tests/table_test_util.h"
#include "kv.h"

/* 1 if `text` (lines from lt_collect) has a line holding `a` and `b`. */
static int cov_has_line(const lt_lines *out, const char *a, const char *b)
{
    const char *p = out->text;
    while (*p != '\0') {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
        if (strstr(line, a) != NULL && strstr(line, b) != NULL)
            return 1;
        p += n + (end != NULL);
    }
    return 0;
}

/* The live manifest's name (CURRENT's first word). */
static void cov_live_manifest(const char *dir, char name[64])
{
    FILE *f = fopen(harness_join(dir, "CURRENT"), "r");
    CHECK(f != NULL);
    CHECK(fscanf(f, "%63s", name) == 1);
    fclose(f);
}

/* Where cov_tools_db keeps the first log's copy. */
static const char *cov_saved_dir;

/* a=1, b=2 in one level-1 table; the first log's copy kept aside (its
 * writes are in the table once kv_compact has run). */
static const char *cov_tools_db(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 0, 0);
    lt_put(db, "a", "1");
    lt_put(db, "b", "2");
    CHECK_KV(kv_close(db), KV_OK);
    const char *files = lt_files(dir);
    CHECK_MSG(strstr(files, "000000000001.log") != NULL, "files: %s", files);
    cov_saved_dir = harness_tmpdir();
    lt_copy(dir, "000000000001.log", cov_saved_dir, "saved.log");
    db = lt_open(dir, 0, 0);
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_close(db), KV_OK);
    CHECK(!lt_exists(dir, "000000000001.log"));
    return dir;
}

static void check_names_every_leftover_and_open_removes_exactly_those(void)
{
    const char *dir = cov_tools_db();
    char live[64];
    cov_live_manifest(dir, live);
    /* The leftovers: a table no edit names, an old manifest, temporary
     * files, a log already in the tables; and a file of no stage's. */
    const char *old = strcmp(live, "MANIFEST-000001") != 0 ? "MANIFEST-000001" : "MANIFEST-000999";
    lt_copy(dir, live, dir, old);
    const char *files = lt_files(dir);
    char table[64] = {0};
    CHECK(sscanf(strstr(files, ".tbl") - 6, "%6[0-9]", table) == 1);
    strcat(table, ".tbl");
    lt_copy(dir, table, dir, "000777.tbl");
    lt_copy(dir, table, dir, "000778.tbl.tmp");
    lt_copy(dir, "CURRENT", dir, "CURRENT.tmp");
    lt_copy(cov_saved_dir, "saved.log", dir, "000000000001.log");
    tt_write_file(harness_join(dir, "notes.txt"), (const uint8_t *)"hello", 5);

    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(cov_has_line(&out, "000777.tbl", "not in the manifest"), "%s", out.text);
    CHECK_MSG(cov_has_line(&out, old, "not the live manifest"), "%s", out.text);
    CHECK_MSG(cov_has_line(&out, "000778.tbl.tmp", "an unfinished file"), "%s", out.text);
    CHECK_MSG(cov_has_line(&out, "CURRENT.tmp", "an unfinished file"), "%s", out.text);
    CHECK_MSG(cov_has_line(&out, "000000000001.log", "kv_open removes it unread"), "%s",
              out.text);
    CHECK_MSG(cov_has_line(&out, "notes.txt", "ignored"), "%s", out.text);
    CHECK_MSG(cov_has_line(&out, "total:", ": ok"), "%s", out.text);

    kv_db *db = lt_open(dir, 0, 0);
    lt_expect(db, "a", "1");
    lt_expect(db, "b", "2");
    CHECK_EQ(lt_stat(db, "open.obsolete_tables_removed"), 1);
    CHECK_EQ(lt_stat(db, "open.old_manifests_removed"), 1);
    CHECK_EQ(lt_stat(db, "open.flushed_logs_removed"), 1);
    CHECK(lt_stat(db, "open.temporary_files_removed") >= 2);
    CHECK_KV(kv_close(db), KV_OK);
    CHECK(!lt_exists(dir, "000777.tbl") && !lt_exists(dir, "000778.tbl.tmp"));
    CHECK(!lt_exists(dir, old) && !lt_exists(dir, "CURRENT.tmp"));
    CHECK(!lt_exists(dir, "000000000001.log"));
    CHECK(lt_exists(dir, "notes.txt") && lt_exists(dir, table));
    cov_live_manifest(dir, live); /* (each open starts a new manifest) */
    CHECK(lt_exists(dir, live));
    out.len = 0;
    out.text[0] = '\0';
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(!cov_has_line(&out, "kv_open removes it", ""), "%s", out.text);
}

/* Half of the last edit again at the manifest's end: what a crash during
 * an append leaves.  The edits before it are the database. */
static void dump_shows_a_torn_last_edit_and_open_cuts_it(void)
{
    const char *dir = cov_tools_db();
    char live[64];
    cov_live_manifest(dir, live);
    lt_lines out = {0};
    CHECK_KV(kv_dump(dir, lt_collect, &out), KV_OK);
    /* The last " edit at N:" line. */
    const char *at = NULL;
    for (const char *p = out.text; (p = strstr(p, " edit at ")) != NULL; p++)
        at = p;
    CHECK(at != NULL);
    unsigned long last = strtoul(at + strlen(" edit at "), NULL, 10);
    uint8_t *bytes = NULL;
    const char *path = harness_join(dir, live);
    size_t n = tt_read_file(path, &bytes);
    CHECK(last < n);
    size_t half = (n - last) / 2;
    uint8_t *grown = malloc(n + half);
    CHECK(grown != NULL);
    memcpy(grown, bytes, n);
    memcpy(grown + n, bytes + last, half);
    tt_write_file(path, grown, n + half);

    out.len = 0;
    out.text[0] = '\0';
    CHECK_KV(kv_dump(dir, lt_collect, &out), KV_OK);
    CHECK_MSG(cov_has_line(&out, live, "a torn last edit at"), "%s", out.text);
    out.len = 0;
    out.text[0] = '\0';
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_CHECK_WILL_CUT);
    CHECK_MSG(cov_has_line(&out, "total:", "kv_open will cut a torn tail"), "%s", out.text);

    kv_db *db = lt_open(dir, 0, 0);
    lt_expect(db, "a", "1");
    lt_expect(db, "b", "2");
    CHECK_KV(kv_close(db), KV_OK);
    out.len = 0;
    out.text[0] = '\0';
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
    free(grown);
    free(bytes);
}

static const harness_test cov_tools_tests[] = {
    HARNESS_TEST(check_names_every_leftover_and_open_removes_exactly_those),
    HARNESS_TEST(dump_shows_a_torn_last_edit_and_open_cuts_it),
};
const harness_suite cov_tools_suite = HARNESS_SUITE("cov_tools", cov_tools_tests);
