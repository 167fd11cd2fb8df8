/*
 * lsm_totals_test.c: the totals kept across sessions (lsm_totals.c, the
 * file stats_file.h): what flushes and compactions did is in kv_stats
 * after a reopen, per session counters start again from zero and say so,
 * a damaged STATS is reported by kv check, ignored by kv_open (which says
 * why the totals start again) and set aside by kv repair, and a database
 * that keeps working saves its totals before it is closed.  It holds for
 * every LSM stage's table set (stage 06 adds its levels' columns).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../tests/harness.h"
#include "io.h"
#include "kv.h"
#include "lsm_db.h"
#include "lsm_test_util.h"
#include "stats_file.h"

/* kv_stats's text; free it with kv_free. */
static char *stats_text_of(kv_db *db)
{
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    return text;
}

/* kv_stats's text holds `want`; fails the test, showing the text, if not. */
static void expect_stats_has(kv_db *db, const char *want)
{
    char *text = stats_text_of(db);
    CHECK_MSG(strstr(text, want) != NULL, "no \"%s\" in:\n%s", want, text);
    kv_free(text);
}

/* The lines of kv_stats that are totals: flush.*, compact.* but the
 * session's, and the part after '|' of each level.N line (stage 06). */
static void totals_of(kv_db *db, char *out, size_t cap)
{
    char *text = stats_text_of(db);
    size_t n = 0;
    out[0] = '\0';
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        const char *keep = NULL;
        if (strncmp(line, "flush.", 6) == 0 || strncmp(line, "compact.", 8) == 0)
            keep = line;
        else if (strncmp(line, "level.", 6) == 0 && strchr(line, '|') != NULL)
            keep = strchr(line, '|');
        if (keep != NULL && n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s\n", keep);
    }
    kv_free(text);
}

/* Writes n keys of 100-byte values from `from` on, then flushes. */
static void put_and_flush(kv_db *db, int from, int n)
{
    char key[32], val[101];
    memset(val, 'v', 100);
    val[100] = '\0';
    for (int i = from; i < from + n; i++) {
        snprintf(key, sizeof key, "key%08d", i * 7919 % 100003);
        lt_put(db, key, val);
    }
    CHECK_KV(kv_flush(db), KV_OK);
}

/* A database that has flushed and compacted, closed. */
static const char *worked_db(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 64 * 1024, 0);
    put_and_flush(db, 0, 2000);
    put_and_flush(db, 1000, 2000);
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK(lt_stat(db, "flush.count") >= 2);
    CHECK(lt_stat(db, "compact.count") >= 1);
    CHECK_KV(kv_close(db), KV_OK);
    return dir;
}

static void totals_survive_a_reopen(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 64 * 1024, 0);
    put_and_flush(db, 0, 2000);
    put_and_flush(db, 1000, 2000);
    CHECK_KV(kv_compact(db), KV_OK);
    char before[4096], after[4096];
    totals_of(db, before, sizeof before);
    double flushes = lt_stat(db, "flush.count");
    CHECK(flushes >= 2 && lt_stat(db, "session.flush.count") == flushes);
    CHECK_KV(kv_close(db), KV_OK);

    db = lt_open(dir, 64 * 1024, 1); /* read-only: no background work */
    totals_of(db, after, sizeof after);
    CHECK_MSG(strcmp(before, after) == 0, "before the close:\n%safter the reopen:\n%s", before,
              after);
    CHECK_EQ(lt_stat(db, "session.flush.count"), 0);
    CHECK_EQ(lt_stat(db, "session.compact.count"), 0);
    CHECK_EQ(lt_stat(db, "totals.since_seq"), 0);
    expect_stats_has(db, "totals.since: the database was created\n");
    CHECK_KV(kv_close(db), KV_OK);

    db = lt_open(dir, 64 * 1024, 0);
    put_and_flush(db, 5000, 10);
    CHECK_EQ(lt_stat(db, "flush.count"), flushes + 1);
    CHECK_EQ(lt_stat(db, "session.flush.count"), 1);
    CHECK_KV(kv_close(db), KV_OK);
}

/* Flips one byte of dir/STATS. */
static void damage_stats(const char *dir)
{
    FILE *f = fopen(harness_join(dir, STATS_FILE_NAME), "r+b");
    CHECK(f != NULL);
    CHECK(fseek(f, 24, SEEK_SET) == 0);
    int c = fgetc(f);
    CHECK(fseek(f, 24, SEEK_SET) == 0);
    fputc(c ^ 0x20, f);
    fclose(f);
}

static void damaged_stats_is_ignored_and_said(void)
{
    const char *dir = worked_db();
    damage_stats(dir);
    lt_lines lines = {0};
    CHECK_KV(kv_check(dir, lt_collect, &lines), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(lines.text, "STATS: DAMAGED: STATS: offset") != NULL, "%s", lines.text);

    kv_db *db = lt_open(dir, 64 * 1024, 0);
    double seq = lt_stat(db, "seq.last");
    CHECK(seq > 0);
    CHECK_EQ(lt_stat(db, "totals.since_seq"), seq);
    CHECK_EQ(lt_stat(db, "flush.count"), 0);
    expect_stats_has(db, "totals.since: write ");
    expect_stats_has(db, "STATS: offset ");
    expect_stats_has(db, "kv_open ignored it");
    CHECK_KV(kv_close(db), KV_OK);

    /* The close wrote it again, counting from that open. */
    lines.len = 0;
    CHECK_KV(kv_check(dir, lt_collect, &lines), KV_OK);
    db = lt_open(dir, 64 * 1024, 1);
    CHECK_EQ(lt_stat(db, "totals.since_seq"), seq);
    expect_stats_has(db, "(an open found no STATS it could use then)");
    CHECK_KV(kv_close(db), KV_OK);
}

static void repair_sets_damaged_stats_aside(void)
{
    const char *dir = worked_db();
    damage_stats(dir);
    lt_lines lines = {0};
    CHECK_KV(kv_repair(dir, lt_collect, &lines), KV_OK);
    CHECK_MSG(strstr(lines.text, "STATS: damaged") != NULL &&
                  strstr(lines.text, "STATS set aside") != NULL, "%s", lines.text);
    CHECK(lt_exists(dir, "lost/STATS") && !lt_exists(dir, STATS_FILE_NAME));
    lines.len = 0;
    CHECK_KV(kv_check(dir, lt_collect, &lines), KV_OK);
    kv_db *db = lt_open(dir, 64 * 1024, 1);
    expect_stats_has(db, "there was no STATS file");
    CHECK_KV(kv_close(db), KV_OK);
}

/* The flush.count that dir/STATS holds now. */
static uint64_t saved_flushes(const char *dir)
{
    uint64_t flushes = 0;
    stats_counters s = {0};
    stats_counters_add(&s, &flushes, "flush.count");
    int found = 0;
    CHECK_KV(stats_file_load(dir, &s, 0, &found), KV_OK);
    return flushes;
}

static void working_database_saves_its_totals(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 64 * 1024, 0);
    pthread_mutex_lock(&db->count.totals.lock);
    db->count.totals.period_us = 0; /* save after every job */
    pthread_mutex_unlock(&db->count.totals.lock);
    put_and_flush(db, 0, 100);
    /* The save follows the flush kv_flush waited for, on the same thread. */
    for (int i = 0; i < 2000 && saved_flushes(dir) < 1; i++)
        usleep(5000);
    CHECK_EQ(saved_flushes(dir), 1);
    CHECK_KV(kv_close(db), KV_OK);
}

static void check_and_dump_show_stats(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 64 * 1024, 0);
    put_and_flush(db, 0, 20); /* a dump short enough for lt_lines */
    CHECK_KV(kv_close(db), KV_OK);
    lt_lines lines = {0};
    CHECK_KV(kv_check(dir, lt_collect, &lines), KV_OK);
    CHECK_MSG(strstr(lines.text, "STATS: ") != NULL && strstr(lines.text, " counters kept "
                                                              "across sessions: ok") != NULL,
              "%s", lines.text);
    CHECK_MSG(strstr(lines.text, "not a file of stage") == NULL, "%s", lines.text);
    lines.len = 0;
    CHECK_KV(kv_dump(dir, lt_collect, &lines), KV_OK);
    CHECK_MSG(strstr(lines.text, "# STATS: the totals kept across sessions") != NULL &&
                  strstr(lines.text, "\n        20  flush.count = 1\n") != NULL,
              "%s", lines.text);
}

static ino_t stats_inode(const char *dir)
{
    struct stat st;
    CHECK(stat(harness_join(dir, STATS_FILE_NAME), &st) == 0);
    return st.st_ino;
}

/* STATS is written when a total changes, not at every close. */
static void stats_is_written_only_when_a_total_changes(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 64 * 1024, 0);
    lt_put(db, "a", "1");
    CHECK_KV(kv_close(db), KV_OK);
    CHECK(!lt_exists(dir, STATS_FILE_NAME)); /* no flush yet: all zero */
    db = lt_open(dir, 64 * 1024, 1);
    expect_stats_has(db, "totals.since: the database was created\n");
    CHECK_KV(kv_close(db), KV_OK);

    db = lt_open(dir, 64 * 1024, 0);
    put_and_flush(db, 0, 10);
    CHECK_KV(kv_close(db), KV_OK);
    ino_t saved = stats_inode(dir);
    db = lt_open(dir, 64 * 1024, 0);
    lt_expect(db, "a", "1");
    lt_put(db, "b", "2"); /* a write, but no flush: no total changes */
    CHECK_KV(kv_close(db), KV_OK);
    CHECK_MSG(stats_inode(dir) == saved, "a close that changed no total rewrote STATS");
    db = lt_open(dir, 64 * 1024, 0);
    CHECK_KV(kv_flush(db), KV_OK);
    CHECK_KV(kv_close(db), KV_OK);
    CHECK_MSG(stats_inode(dir) != saved, "a close after a flush did not save STATS");
}

static const harness_test lsm_totals_tests[] = {
    HARNESS_TEST(stats_is_written_only_when_a_total_changes),
    HARNESS_TEST(totals_survive_a_reopen),
    HARNESS_TEST(damaged_stats_is_ignored_and_said),
    HARNESS_TEST(repair_sets_damaged_stats_aside),
    HARNESS_TEST(working_database_saves_its_totals),
    HARNESS_TEST(check_and_dump_show_stats),
};
const harness_suite lsm_totals_suite = HARNESS_SUITE("lsm_totals", lsm_totals_tests);
