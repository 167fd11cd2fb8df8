/*
 * vlog_engine_test.c: the value log inside the engine: large values read
 * back from the logs that took them, after flushes and reopens; small ones
 * kept in the tables; garbage collection giving space back after
 * overwrites, while a snapshot or an iterator still reading a file keeps
 * it; files whose counts a crash lost measured again; a transaction that
 * read a value the collection moved commits; a damaged value and a
 * missing file reported by kv_get and kv check, and mended by kv repair
 * (a damaged file, or one cut short, emptied of what keys read there and
 * gone); emptied files gone at a clean close, counts an older build saved
 * of them mended; an idle database giving its space back without
 * kv_compact; a full disk climbed out of from inside (deletes and
 * kv_compact).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "coding.h"
#include "crc32c.h"
#include "file_bytes.h"
#include "file_header.h"
#include "io.h"
#include "io_fault.h"
#include "kv.h"

/* Small memtables and a threshold of 100 bytes. */
static kv_db *vl_open(const char *dir)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 64 << 10;
    opt.value_threshold = 100;
    return OPEN(dir, &opt);
}

/* Key i's value in round r: vlen bytes that say which. */
static size_t vl_value(int i, int r, char *buf, size_t cap)
{
    size_t vlen = 100 + (size_t)((i * 7919 + r * 104729) % 5000);
    if (vlen > cap)
        vlen = cap;
    for (size_t k = 0; k < vlen; k++)
        buf[k] = (char)('a' + (i + r + (int)k) % 26);
    int n = snprintf(buf, cap, "k%05d r%d ", i, r);
    buf[n] = '|';
    return vlen;
}

/* Key k (kl bytes, not NUL-terminated) as its number, if it is k%05d;
 * else -1.  Only its own bytes are read: what follows them in the
 * iterator's memory is not the key's. */
static int vl_key_number(const char *k, size_t kl)
{
    if (kl != 6 || k[0] != 'k')
        return -1;
    int n = 0;
    for (size_t i = 1; i < kl; i++) {
        if (k[i] < '0' || k[i] > '9')
            return -1;
        n = n * 10 + (k[i] - '0');
    }
    return n;
}

static void vl_put(kv_db *db, int i, int r)
{
    char k[16], v[8192];
    int kl = snprintf(k, sizeof k, "k%05d", i);
    size_t vl = vl_value(i, r, v, sizeof v);
    PUT(db, k, (size_t)kl, v, vl);
}

static void vl_expect(kv_db *db, const kv_snapshot *snap, int i, int r)
{
    char k[16], v[8192];
    int kl = snprintf(k, sizeof k, "k%05d", i);
    size_t vl = vl_value(i, r, v, sizeof v);
    if (snap != NULL)
        EXPECT_AT(db, snap, k, (size_t)kl, v, vl);
    else
        EXPECT(db, k, (size_t)kl, v, vl);
}

/* Files of dir whose name ends in suffix. */
static int vl_count(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    size_t sl = strlen(suffix);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        n += l > sl && strcmp(e->d_name + l - sl, suffix) == 0;
    }
    closedir(d);
    return n;
}

/* The number on kv_stats's line "name: N" (-1 if there is none). */
static double vl_stat(kv_db *db, const char *name)
{
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    char pat[128];
    snprintf(pat, sizeof pat, "\n%s: ", name);
    const char *p = strstr(text, pat);
    double v = p ? strtod(p + strlen(pat), NULL) : -1;
    kv_free(text);
    return v;
}

static void large_values_are_read_from_the_value_log(void)
{
    const char *dir = testdb_dir();
    kv_db *db = vl_open(dir);
    for (int i = 0; i < 300; i++)
        vl_put(db, i, 0);
    PUT(db, S("small"), S("tiny")); /* below the threshold: in the table */
    CHECK_KV(kv_flush(db), KV_OK);
    CHECK_MSG(vl_count(dir, ".vlog") > 0, "no value-log file after a flush of large values");
    CHECK(vl_stat(db, "session.values.flushed_to_log") >= 300);
    CHECK_EQ(vl_stat(db, "session.values.flushed_inline_not_found"), 0);
    for (int i = 0; i < 300; i++)
        vl_expect(db, NULL, i, 0);
    EXPECT(db, S("small"), S("tiny"));
    /* An iterator reads each value where its entry says. */
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    int n = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        size_t kl = 0, vl = 0;
        const char *k = kv_iter_key(it, &kl);
        const char *v = kv_iter_value(it, &vl);
        CHECK(v != NULL);
        int i = vl_key_number(k, kl);
        if (i >= 0) {
            char want[8192];
            size_t wl = vl_value(i, 0, want, sizeof want);
            CHECK_EQ(i, n); /* each key once, in order */
            CHECK_MEM(v, vl, want, wl);
            n++;
        }
    }
    CHECK_KV(kv_iter_status(it), KV_OK);
    kv_iter_free(it);
    CHECK_EQ(n, 300);
    CLOSE(db);
    db = vl_open(dir);
    for (int i = 0; i < 300; i += 7)
        vl_expect(db, NULL, i, 0);
    CHECK_EQ(vl_stat(db, "values.unmeasured_files"), 0); /* VLOGCOUNTS kept them */
    CLOSE(db);
}

static void small_values_leave_no_value_log(void)
{
    const char *dir = testdb_dir();
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = 16 << 10;
    kv_db *db = OPEN(dir, &opt); /* the default threshold: 512 */
    char v[400];
    memset(v, 'v', sizeof v);
    for (int i = 0; i < 500; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "s%05d", i);
        PUT(db, k, (size_t)kl, v, sizeof v);
    }
    CHECK_KV(kv_flush(db), KV_OK);
    CHECK_EQ(vl_count(dir, ".vlog"), 0);
    CHECK_EQ(vl_stat(db, "values.files"), 0);
    CLOSE(db);
}

static void bad_options_are_refused(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.value_gc_percent = 100;
    kv_db *db = NULL;
    CHECK_KV(kv_open(testdb_dir(), &opt, &db), KV_ERR_INVALID);
    CHECK(strstr(kv_errmsg(), "value_gc_percent") != NULL);
}

/* Three rounds over the same keys, then kv_compact: the files of the first
 * two rounds hold only garbage, and go. */
static void collection_gives_space_back(void)
{
    const char *dir = testdb_dir();
    kv_db *db = vl_open(dir);
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < 400; i++)
            vl_put(db, i, r);
    uint64_t before = testdb_dir_bytes(dir);
    CHECK_KV(kv_compact(db), KV_OK);
    uint64_t after = testdb_dir_bytes(dir);
    CHECK_MSG(after * 2 < before, "kv_compact left %llu of %llu bytes",
              (unsigned long long)after, (unsigned long long)before);
    CHECK(vl_stat(db, "session.values.gc_files_removed") > 0);
    double amp = vl_stat(db, "values.space_amplification");
    CHECK_MSG(amp > 0 && amp < 1.5, "space amplification %.2f after collection", amp);
    for (int i = 0; i < 400; i++)
        vl_expect(db, NULL, i, 2);
    CLOSE(db);
    db = vl_open(dir);
    for (int i = 0; i < 400; i += 3)
        vl_expect(db, NULL, i, 2);
    CLOSE(db);
}

/* Round 0 of keys 0..199 goes to the value log; round 1 overwrites all
 * but key 7, so the first files are mostly garbage once a merge drops the
 * old versions. */
static kv_db *vl_all_but_seven(const char *dir)
{
    kv_db *db = vl_open(dir);
    for (int i = 0; i < 200; i++)
        vl_put(db, i, 0);
    CHECK_KV(kv_flush(db), KV_OK);
    for (int i = 0; i < 200; i++)
        if (i != 7)
            vl_put(db, i, 1);
    CHECK_KV(kv_flush(db), KV_OK);
    return db;
}

/* A snapshot and an iterator that read key 7 where round 0 put it keep
 * reading it there after the collection moved it; the file stays until
 * both are freed. */
static void readers_keep_what_they_read(void)
{
    const char *dir = testdb_dir();
    kv_db *db = vl_all_but_seven(dir);
    const kv_snapshot *snap = NULL;
    CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_MSG(vl_stat(db, "session.values.gc_values_moved") > 0, "key 7 was not moved");
    CHECK_MSG(vl_stat(db, "values.emptied_files_waiting") > 0,
              "the file the snapshot and the iterator read was removed, or never emptied");
    vl_put(db, 7, 2); /* and key 7 written again */
    vl_expect(db, snap, 7, 0);
    vl_expect(db, snap, 8, 1);
    kv_iter_seek(it, S("k00007"));
    CHECK(kv_iter_valid(it));
    size_t vl = 0;
    const char *v = kv_iter_value(it, &vl);
    char want[8192];
    size_t wl = vl_value(7, 0, want, sizeof want);
    CHECK(v != NULL);
    CHECK_MEM(v, vl, want, wl);
    kv_iter_free(it);
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK(vl_stat(db, "values.emptied_files_waiting") > 0); /* the snapshot still reads */
    vl_expect(db, snap, 7, 0);
    kv_snapshot_free(db, snap);
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_EQ(vl_stat(db, "values.emptied_files_waiting"), 0);
    vl_expect(db, NULL, 7, 2);
    for (int i = 8; i < 200; i++)
        vl_expect(db, NULL, i, 1);
    CLOSE(db);
}

/* Without VLOGCOUNTS (what a crash leaves), the files are measured again. */
static void lost_counts_are_measured_again(void)
{
    const char *dir = testdb_dir();
    kv_db *db = vl_open(dir);
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 300; i++)
            vl_put(db, i, r);
    CHECK_KV(kv_flush(db), KV_OK);
    CLOSE(db);
    CHECK(unlink(harness_join(dir, "VLOGCOUNTS")) == 0);
    db = vl_open(dir);
    /* (The jobs' thread may be measuring them already.) */
    CHECK(vl_stat(db, "values.unmeasured_files") > 0 ||
          vl_stat(db, "session.values.gc_files_measured") > 0);
    CHECK_KV(kv_compact(db), KV_OK); /* measures, then empties what is garbage */
    CHECK_EQ(vl_stat(db, "values.unmeasured_files"), 0);
    CHECK(vl_stat(db, "session.values.gc_files_measured") > 0);
    for (int i = 0; i < 300; i++)
        vl_expect(db, NULL, i, 1);
    CLOSE(db);
}

/* A transaction reads key 7; the collection moves key 7's value (a new
 * put of the same value); the transaction's commit is no conflict. */
static void a_moved_value_is_no_conflict(void)
{
    const char *dir = testdb_dir();
    kv_db *db = vl_all_but_seven(dir);
    kv_txn *t = NULL;
    CHECK_KV(kv_txn_begin(db, KV_TXN_SERIALIZABLE, &t), KV_OK);
    void *v = NULL;
    size_t vl = 0;
    CHECK_KV(kv_txn_get(t, S("k00007"), &v, &vl), KV_OK);
    kv_free(v);
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_MSG(vl_stat(db, "session.values.gc_values_moved") > 0, "key 7 was not moved");
    CHECK_KV(kv_txn_put(t, S("k00007"), S("mine")), KV_OK);
    CHECK_KV(kv_txn_commit(t), KV_OK);
    EXPECT(db, S("k00007"), S("mine"));
    /* A real write since the snapshot still is one. */
    CHECK_KV(kv_txn_begin(db, KV_TXN_SERIALIZABLE, &t), KV_OK);
    CHECK_KV(kv_txn_get(t, S("k00008"), &v, &vl), KV_OK);
    kv_free(v);
    vl_put(db, 8, 3);
    CHECK_KV(kv_txn_put(t, S("k00008"), S("mine")), KV_OK);
    CHECK_KV(kv_txn_commit(t), KV_ERR_CONFLICT);
    CLOSE(db);
}

/* The first .vlog file of dir (the harness keeps the path). */
static const char *vl_first_file(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    char *best = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".vlog") == 0 &&
            (best == NULL || strcmp(e->d_name, best) < 0)) {
            free(best);
            best = strdup(e->d_name);
        }
    }
    closedir(d);
    CHECK(best != NULL);
    const char *path = harness_join(dir, best);
    free(best);
    return path;
}

/* Reads every key; how many kv_get calls were KV_ERR_CORRUPT, each naming
 * `names` in its message. */
static int vl_read_all(kv_db *db, int n, const char *names)
{
    int corrupt = 0;
    for (int i = 0; i < n; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "k%05d", i);
        void *v = NULL;
        size_t vl = 0;
        int rc = kv_get(db, k, (size_t)kl, &v, &vl);
        kv_free(v);
        if (rc == KV_ERR_CORRUPT) {
            CHECK_MSG(strstr(kv_errmsg(), names) != NULL, "%s (wanted the file, %s)",
                      kv_errmsg(), names);
            corrupt++;
        } else {
            CHECK_KV(rc, KV_OK);
        }
    }
    return corrupt;
}

/* 200 keys of large values written, flushed and closed: the value-log
 * file that holds them. */
static const char *vl_written_file(const char *dir)
{
    kv_db *db = vl_open(dir);
    for (int i = 0; i < 200; i++)
        vl_put(db, i, 0);
    CHECK_KV(kv_flush(db), KV_OK);
    CLOSE(db);
    return vl_first_file(dir);
}

static void damage_is_found_and_mended(int remove_file)
{
    const char *dir = testdb_dir();
    const char *path = vl_written_file(dir);
    const char *name = strrchr(path, '/') + 1;
    if (remove_file) {
        CHECK(unlink(path) == 0);
    } else {
        FILE *f = fopen(path, "r+b");
        CHECK(f != NULL);
        CHECK(fseek(f, 600, SEEK_SET) == 0);
        int c = fgetc(f);
        CHECK(fseek(f, 600, SEEK_SET) == 0);
        fputc(c ^ 0x20, f);
        fclose(f);
    }
    kv_db *db = vl_open(dir);
    int lost = vl_read_all(db, 200, name);
    CHECK_MSG(lost > 0, "no kv_get found the damage in %s", name);
    CLOSE(db);
    testdb_lines lines = {0};
    CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_ERR_CORRUPT);
    CHECK_MSG(lines.text != NULL && strstr(lines.text, "its value is lost") != NULL,
              "kv check did not name a lost value:\n%s", lines.text ? lines.text : "");
    testdb_lines_free(&lines);
    testdb_lines fix = {0};
    CHECK_KV(kv_repair(dir, testdb_lines_add, &fix), KV_OK);
    CHECK(fix.text != NULL && strstr(fix.text, "deleted") != NULL);
    testdb_lines_free(&fix);
    db = vl_open(dir);
    int found = 0;
    for (int i = 0; i < 200; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "k%05d", i);
        void *v = NULL;
        size_t vl = 0;
        int rc = kv_get(db, k, (size_t)kl, &v, &vl);
        CHECK_KV2(rc, rc, KV_OK, KV_NOT_FOUND);
        if (rc == KV_OK) {
            char want[8192];
            size_t wl = vl_value(i, 0, want, sizeof want);
            CHECK_MEM(v, vl, want, wl); /* what is left is right */
            found++;
        }
        kv_free(v);
    }
    CHECK_EQ(found, 200 - lost);
    CLOSE(db);
    /* As kv.h promises, kv check then finds the database intact: the
     * damaged file was emptied of the values keys read there, and went
     * (a copy of it in lost/). */
    testdb_lines again = {0};
    int checked = kv_check(dir, testdb_lines_add, &again);
    CHECK_MSG(checked == KV_OK, "kv check after kv repair: %s\n%s", kv_strerror(checked),
              again.text ? again.text : "");
    testdb_lines_free(&again);
    CHECK(access(path, F_OK) != 0);
    /* And the database goes on: every key written again and compacted. */
    db = vl_open(dir);
    for (int i = 0; i < 200; i++)
        vl_put(db, i, 1);
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_EQ(vl_stat(db, "values.emptied_files_waiting"), 0);
    for (int i = 0; i < 200; i++)
        vl_expect(db, NULL, i, 1);
    CLOSE(db);
    testdb_lines last = {0};
    CHECK_KV(kv_check(dir, testdb_lines_add, &last), KV_OK);
    CHECK_MSG(last.text == NULL || strstr(last.text, name) == NULL,
              "kv check still lists %s:\n%s", name, last.text ? last.text : "");
    testdb_lines_free(&last);
}

/* A damaged file some key still reads stays through kv_compact, which
 * succeeds, moves what can be read, and leaves the damage to kv check. */
static void a_damaged_file_a_key_reads_stays(void)
{
    const char *dir = testdb_dir();
    const char *path = vl_written_file(dir);
    const char *name = strrchr(path, '/') + 1;
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    CHECK(fseek(f, 600, SEEK_SET) == 0);
    int c = fgetc(f);
    CHECK(fseek(f, 600, SEEK_SET) == 0);
    fputc(c ^ 0x20, f);
    fclose(f);
    kv_db *db = vl_open(dir);
    int lost = vl_read_all(db, 200, name);
    CHECK(lost > 0);
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_KV(kv_compact(db), KV_OK); /* and again: nothing new to try */
    CHECK_EQ(vl_read_all(db, 200, name), lost);
    CLOSE(db);
    CHECK(access(path, F_OK) == 0);
    CHECK_KV(kv_check(dir, NULL, NULL), KV_ERR_CORRUPT);
}

/* Sessions that each overwrite a few keys, hold a snapshot across
 * kv_compact (so the files it empties wait) and close: the files emptied
 * go at the close, and the directory stays near the live bytes, however
 * many sessions there were. */
static void closed_sessions_leave_no_emptied_files(void)
{
    const char *dir = testdb_dir();
    char v[8192];
    int round = 0;
    uint64_t live = 20 * sizeof v;
    for (int s = 0; s < 12; s++) {
        kv_db *db = OPEN(dir, NULL);
        for (int o = 0; o < 5; o++, round++)
            for (int i = 0; i < 20; i++) {
                char k[16];
                int kl = snprintf(k, sizeof k, "k%05d", i);
                memset(v, 'a' + round % 26, sizeof v);
                PUT(db, k, (size_t)kl, v, sizeof v);
            }
        const kv_snapshot *snap = NULL;
        CHECK_KV(kv_snapshot_new(db, &snap), KV_OK);
        CHECK_KV(kv_compact(db), KV_OK);
        kv_snapshot_free(db, snap);
        CLOSE(db);
        uint64_t bytes = testdb_dir_bytes(dir);
        harness_context("after session %d", s);
        CHECK_MSG(bytes < 4 * live, "%llu bytes on disk for %llu live",
                  (unsigned long long)bytes, (unsigned long long)live);
    }
    kv_db *db = OPEN(dir, NULL);
    CHECK_EQ(vl_stat(db, "values.emptied_files_waiting"), 0);
    memset(v, 'a' + (round - 1) % 26, sizeof v);
    for (int i = 0; i < 20; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "k%05d", i);
        EXPECT(db, k, (size_t)kl, v, sizeof v);
    }
    CLOSE(db);
}

/* VLOGCOUNTS as an older build wrote it at a clean close: a file it had
 * emptied but not removed saved with no value bytes and nothing live.  The
 * next open takes it for all garbage, and kv_compact removes it. */
static void old_counts_of_an_emptied_file_mend_at_open(void)
{
    const char *dir = testdb_dir();
    kv_db *db = vl_open(dir);
    for (int r = 0; r < 2; r++) {
        for (int i = 0; i < 100; i++)
            vl_put(db, i, r);
        CHECK_KV(kv_flush(db), KV_OK);
    }
    CLOSE(db);
    const char *first = vl_first_file(dir);
    struct stat st;
    CHECK(stat(first, &st) == 0);
    uint64_t start = strtoull(strrchr(first, '/') + 1, NULL, 10);
    /* Version 1: the one file, 0 value bytes, 0 live, flushed as saved. */
    uint8_t old[32 + 32 + 4], now[4096];
    FILE *f = fopen(harness_join(dir, "VLOGCOUNTS"), "rb");
    CHECK(f != NULL);
    size_t got = fread(now, 1, sizeof now, f);
    fclose(f);
    CHECK(got >= 32);
    file_header_encode(old, FILE_MAGIC_VLC08, 1);
    memcpy(old + 16, now + 16, 8); /* flushed */
    coding_put_u64(old + 24, 1);
    coding_put_u64(old + 32, start);
    coding_put_u64(old + 40, (uint64_t)st.st_size);
    coding_put_u64(old + 48, 0);
    coding_put_u64(old + 56, 0);
    coding_put_u32(old + 64, crc32c_value(old + 16, 48));
    f = fopen(harness_join(dir, "VLOGCOUNTS"), "wb");
    CHECK(f != NULL && fwrite(old, 1, sizeof old, f) == sizeof old);
    fclose(f);
    db = vl_open(dir);
    CHECK_KV(kv_compact(db), KV_OK);
    CHECK_MSG(access(first, F_OK) != 0, "%s, saved as holding nothing live, is still there",
              first);
    for (int i = 0; i < 100; i++)
        vl_expect(db, NULL, i, 1);
    CLOSE(db);
}

/* The size of dir once it stops shrinking below `bound`, waiting up to
 * `seconds` (the jobs' thread works in the background, a round a second). */
static uint64_t vl_wait_bytes_below(const char *dir, uint64_t bound, int seconds)
{
    uint64_t bytes = testdb_dir_bytes(dir);
    for (int t = 0; t < seconds * 10 && bytes > bound; t++) {
        usleep(100 * 1000);
        bytes = testdb_dir_bytes(dir);
    }
    return bytes;
}

/* With the default options (64 MiB memtables), keys overwritten many
 * times, closed and reopened: left alone, the database flushes its
 * memtable and collects what it made garbage, with no kv_compact. */
static void an_idle_database_gives_its_space_back(void)
{
    const char *dir = testdb_dir();
    kv_db *db = OPEN(dir, NULL);
    char v[4096];
    const int keys = 200, rounds = 12;
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < keys; i++) {
            char k[16];
            int kl = snprintf(k, sizeof k, "k%05d", i);
            memset(v, 'a' + r, sizeof v);
            PUT(db, k, (size_t)kl, v, sizeof v);
        }
    CLOSE(db);
    uint64_t live = (uint64_t)keys * sizeof v, before = testdb_dir_bytes(dir);
    CHECK(before > 6 * live);
    db = OPEN(dir, NULL);
    uint64_t after = vl_wait_bytes_below(dir, 2 * live, 15);
    CHECK_MSG(after <= 2 * live, "%llu bytes on disk for %llu live after 15 s idle (%llu "
              "before)", (unsigned long long)after, (unsigned long long)live,
              (unsigned long long)before);
    CHECK(vl_stat(db, "session.values.gc_files_removed") > 0);
    memset(v, 'a' + rounds - 1, sizeof v);
    for (int i = 0; i < keys; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "k%05d", i);
        EXPECT(db, k, (size_t)kl, v, sizeof v);
    }
    CLOSE(db);
}

static void damaged_value_is_reported_and_mended(void) { damage_is_found_and_mended(0); }
static void missing_file_is_a_dangling_pointer(void) { damage_is_found_and_mended(1); }

/* A value-log file cut short inside its last fragment (the last record's
 * sequence number; what a copy of a database torn at its end leaves):
 * every key still reads its value, but the file is not a whole log, and
 * kv check says so.  kv_repair must then leave a database that a strict
 * open opens and kv check finds intact (kv.h), every value as written,
 * the file as it was copied to lost/. */
static void a_value_log_cut_short_is_mended_by_repair(void)
{
    const char *dir = testdb_dir();
    const char *path = vl_written_file(dir);
    char name[64], lost[1024];
    snprintf(name, sizeof name, "%s", strrchr(path, '/') + 1);
    snprintf(lost, sizeof lost, "%s/lost/%s", dir, name);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK(truncate(path, st.st_size - 1) == 0);
    kv_db *db = vl_open(dir);
    CHECK_EQ(vl_read_all(db, 200, name), 0);
    CLOSE(db);
    CHECK_KV(kv_check(dir, NULL, NULL), KV_ERR_CORRUPT);
    testdb_lines fix = {0};
    CHECK_KV(kv_repair(dir, testdb_lines_add, &fix), KV_OK);
    CHECK_MSG(fix.text != NULL && strstr(fix.text, name) != NULL,
              "kv repair did not name %s:\n%s", name, fix.text ? fix.text : "");
    testdb_lines_free(&fix);
    kv_options strict;
    kv_options_init(&strict);
    strict.memtable_bytes = 64 << 10;
    strict.value_threshold = 100;
    strict.strict_recovery = 1;
    db = OPEN(dir, &strict);
    for (int i = 0; i < 200; i++)
        vl_expect(db, NULL, i, 0);
    CLOSE(db);
    testdb_lines chk = {0};
    int checked = kv_check(dir, testdb_lines_add, &chk);
    CHECK_MSG(checked == KV_OK, "kv check after kv repair: %s\n%s", kv_strerror(checked),
              chk.text ? chk.text : "");
    testdb_lines_free(&chk);
    CHECK(stat(lost, &st) == 0 && (uint64_t)st.st_size > 0);
}

/* The key at the iterator, as its number (k%05d), or -1 for another key. */
static int vl_iter_key(kv_iter *it)
{
    size_t kl = 0;
    const char *k = kv_iter_key(it, &kl);
    return vl_key_number(k, kl);
}

/* The iterator's value is key i's of round r. */
static void vl_iter_value_is(kv_iter *it, int i, int r)
{
    char want[8192];
    size_t wl = vl_value(i, r, want, sizeof want), vl = 0;
    const char *v = kv_iter_value(it, &vl);
    CHECK_MSG(v != NULL, "key %d: no value: %s", i, kv_errmsg());
    CHECK_MEM(v, vl, want, wl);
}

/* A scan of 400 values: each as a read of one would give it, most told
 * to the store in windows; steps back and seeks inside a window land where
 * they should.  The windows open after a few steps where the store reads
 * its files with calls (they are read together), after 16 where it maps
 * them (value_store_ahead_min: then a value is read only when it is asked
 * for, and what the store keeps to read it is let go when the window
 * closes). */
static void vl_scan_reads_ahead(int mapped)
{
    const char *dir = testdb_dir();
    kv_db *db = vl_open(dir);
    for (int i = 0; i < 400; i++)
        vl_put(db, i, 0);
    CHECK_KV(kv_flush(db), KV_OK);
    for (int i = 0; i < 400; i += 3) /* newer values, some still in the memtable */
        vl_put(db, i, 1);
    PUT(db, S("k00100x"), S("small")); /* kept in place, between two others */
    /* Forward: every value as a read of one would give it, read in windows. */
    double before = vl_stat(db, "session.values.read_ahead_values");
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    int n = 0, small = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        int i = vl_iter_key(it);
        if (i < 0) {
            size_t vl = 0;
            const char *v = kv_iter_value(it, &vl);
            CHECK_MEM(v, vl, "small", 5);
            small++;
            continue;
        }
        CHECK_EQ(i, n);
        vl_iter_value_is(it, i, i % 3 == 0);
        n++;
    }
    CHECK_KV(kv_iter_status(it), KV_OK);
    CHECK_EQ(n, 400);
    CHECK_EQ(small, 1);
    CHECK_MSG(vl_stat(db, "session.values.read_ahead_values") - before >= 200,
              "a scan of 400 values read %.0f of them ahead",
              vl_stat(db, "session.values.read_ahead_values") - before);
    /* Steps back and seeks in the middle of a window land where they
     * should (step 30 is inside a window either way). */
    kv_iter_seek(it, S("k00050"));
    for (int k = 0; k < 30; k++)
        kv_iter_next(it);
    CHECK_EQ(vl_iter_key(it), 80);
    vl_iter_value_is(it, 80, 0);
    for (int k = 0; k < 4; k++)
        kv_iter_prev(it);
    CHECK_EQ(vl_iter_key(it), 76);
    vl_iter_value_is(it, 76, 0);
    for (int k = 0; k < 24; k++)
        kv_iter_next(it);
    CHECK_EQ(vl_iter_key(it), 100); /* then k00100x, then 101 */
    kv_iter_next(it);
    CHECK_EQ(vl_iter_key(it), -1);
    kv_iter_next(it);
    CHECK_EQ(vl_iter_key(it), 101);
    kv_iter_seek(it, S("k00390"));
    int last = -1;
    for (; kv_iter_valid(it); kv_iter_next(it))
        last = vl_iter_key(it);
    CHECK_EQ(last, 399);
    kv_iter_seek_last(it);
    kv_iter_prev(it);
    CHECK_EQ(vl_iter_key(it), 398);
    CHECK_KV(kv_iter_status(it), KV_OK);
    kv_iter_free(it);
    /* A scan of keys only: over mapped files it reads no value, and what
     * the store kept for the values left goes when a seek closes the
     * window, or when the iterator is freed in the middle of one. */
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    kv_iter_seek_first(it);
    for (int k = 0; k < 40; k++)
        kv_iter_next(it);
    CHECK_EQ(vl_iter_key(it), 40);
    if (mapped)
        CHECK_MSG(vl_stat(db, "values.read_ahead_held") > 0,
                  "a scan of keys only, 40 steps in, left no value to read");
    else
        CHECK_EQ(vl_stat(db, "values.read_ahead_held"), 0);
    kv_iter_seek(it, S("k00200"));
    CHECK_EQ(vl_stat(db, "values.read_ahead_held"), 0);
    for (int k = 0; k < 40; k++)
        kv_iter_next(it);
    vl_iter_value_is(it, 240, 240 % 3 == 0);
    kv_iter_free(it);
    CHECK_EQ(vl_stat(db, "values.read_ahead_held"), 0);
    CLOSE(db);
}

static void a_scan_reads_ahead(void)
{
    vl_scan_reads_ahead(1);
}

/* The same through a backend that cannot map (io_fault, failing nothing):
 * every window's values read at once, with io_read_batch. */
static void a_scan_reads_ahead_with_calls(void)
{
    io_fault_plan plan = {0};
    io_fault_install(&plan);
    vl_scan_reads_ahead(0);
    io_fault_uninstall();
}

/* A damaged value in a window fails the scan only where it is asked for,
 * and then the error names it. */
static void a_damaged_value_read_ahead_fails_alone(void)
{
    const char *dir = testdb_dir();
    const char *path = vl_written_file(dir);
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    CHECK(fseek(f, 20000, SEEK_SET) == 0);
    int c = fgetc(f);
    CHECK(fseek(f, 20000, SEEK_SET) == 0);
    fputc(c ^ 0x20, f);
    fclose(f);
    kv_db *db = vl_open(dir);
    int bad[200], nbad = 0;
    for (int i = 0; i < 200; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "k%05d", i);
        void *v = NULL;
        size_t vl = 0;
        int rc = kv_get(db, k, (size_t)kl, &v, &vl);
        CHECK_KV2(rc, rc, KV_OK, KV_ERR_CORRUPT);
        bad[i] = rc != KV_OK;
        nbad += bad[i];
        kv_free(v);
    }
    CHECK_MSG(nbad > 0, "the damage at byte 20000 of %s hit no value", path);
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    int n = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it), n++)
        if (!bad[vl_iter_key(it)])
            vl_iter_value_is(it, vl_iter_key(it), 0);
    CHECK_KV(kv_iter_status(it), KV_OK);
    CHECK_EQ(n, 200);
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        size_t vl = 0;
        if (kv_iter_value(it, &vl) == NULL)
            break;
    }
    CHECK_KV(kv_iter_status(it), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), strrchr(path, '/') + 1) != NULL &&
                  strstr(kv_errmsg(), "crc32c") != NULL,
              "the error does not name the damaged value: %s", kv_errmsg());
    kv_iter_free(it);
    CLOSE(db);
}

/* A disk of 16 MiB (io_fault's), default options, values of 8 KiB: puts
 * are refused before the disk is full, not by a failed write; deleting
 * half the keys and kv_compact give space back; puts resume; nothing is
 * lost, across a reopen too. */
static void a_full_disk_is_climbed_out_of_from_inside(void)
{
    const char *dir = testdb_dir();
    const uint64_t disk = 16u << 20;
    io_fault_plan plan = {.disk_bytes = disk};
    io_fault_install(&plan);
    kv_db *db = OPEN(dir, NULL);
    char v[8192];
    int n = 0, rc = KV_OK;
    for (; n < 100000; n++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "k%05d", n);
        memset(v, 'a' + n % 26, sizeof v);
        if ((rc = kv_put(db, k, (size_t)kl, v, sizeof v)) != KV_OK)
            break;
    }
    CHECK_KV(rc, KV_ERR_IO);
    CHECK_MSG(strstr(kv_errmsg(), "keeps for deletes") != NULL, "refused for another reason: %s",
              kv_errmsg());
    uint64_t avail = 0, total = 0;
    CHECK_KV(io_space(dir, &avail, &total), KV_OK);
    CHECK_MSG(avail > 0 && total == disk, "the disk filled (%llu of %llu bytes free)",
              (unsigned long long)avail, (unsigned long long)total);
    CHECK_MSG(n > 1000, "only %d puts of 8 KiB fit on a disk of 16 MiB", n);
    CHECK(vl_stat(db, "session.write.refused_for_room") >= 1);
    for (int i = 0; i < n; i += 2) {
        char k[16];
        int kl = snprintf(k, sizeof k, "k%05d", i);
        DEL(db, k, (size_t)kl);
    }
    CHECK_KV(kv_compact(db), KV_OK);
    uint64_t after = 0;
    CHECK_KV(io_space(dir, &after, &total), KV_OK);
    CHECK_MSG(after > avail + disk / 4, "kv_compact after deleting half the keys: %llu bytes "
              "free, %llu before", (unsigned long long)after, (unsigned long long)avail);
    for (int i = 0; i < n / 4; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "new%05d", i);
        memset(v, 'A' + i % 26, sizeof v);
        PUT(db, k, (size_t)kl, v, sizeof v);
    }
    for (int reopen = 0; reopen < 2; reopen++) {
        for (int i = 0; i < n; i++) {
            char k[16];
            int kl = snprintf(k, sizeof k, "k%05d", i);
            memset(v, 'a' + i % 26, sizeof v);
            if (i % 2 == 0)
                ABSENT(db, k, (size_t)kl);
            else
                EXPECT(db, k, (size_t)kl, v, sizeof v);
        }
        CLOSE(db);
        if (reopen == 0) {
            io_fault_uninstall();
            db = OPEN(dir, NULL);
        }
    }
}

/* A value-log file no table can point into (it starts past every write the
 * tables hold: here a new database's, whose first log is log 1, beside a
 * value log 1 copied in from another): an open that writes moves it to
 * lost/ and goes on, rather than give a new log its name and refuse the
 * next open ("log 1 is there twice"). */
static void a_value_log_no_table_points_into_goes_to_lost(void)
{
    const char *src = testdb_dir();
    kv_db *db = vl_open(src);
    for (int i = 0; i < 50; i++)
        vl_put(db, i, 0);
    CHECK_KV(kv_flush(db), KV_OK);
    CLOSE(db);
    char from[4096];
    snprintf(from, sizeof from, "%s/000000000001.vlog", src);
    file_bytes b;
    CHECK_KV(file_bytes_open(from, &b), KV_OK);
    const char *dst = testdb_dir();
    db = vl_open(dst); /* a new database: its tables hold no write */
    CLOSE(db);
    int renamed = 0;
    CHECK_KV(io_replace(dst, "000000000001.vlog", b.p, (size_t)b.n, &renamed), KV_OK);
    file_bytes_close(&b);
    db = vl_open(dst);
    char kept[4096];
    snprintf(kept, sizeof kept, "%s/lost/000000000001.vlog", dst);
    CHECK_MSG(access(kept, F_OK) == 0, "the stray value log is kept in lost/");
    for (int i = 0; i < 50; i++)
        vl_put(db, i, 1);
    CHECK_KV(kv_flush(db), KV_OK);
    CLOSE(db);
    db = vl_open(dst);
    for (int i = 0; i < 50; i++)
        vl_expect(db, NULL, i, 1);
    CLOSE(db);
    testdb_lines lines = {0};
    CHECK_KV(kv_check(dst, testdb_lines_add, &lines), KV_OK);
    testdb_lines_free(&lines);
}

static const harness_test tests[] = {
    HARNESS_TEST(large_values_are_read_from_the_value_log),
    HARNESS_TEST(small_values_leave_no_value_log),
    HARNESS_TEST(bad_options_are_refused),
    HARNESS_TEST(collection_gives_space_back),
    HARNESS_TEST(readers_keep_what_they_read),
    HARNESS_TEST(lost_counts_are_measured_again),
    HARNESS_TEST(a_moved_value_is_no_conflict),
    HARNESS_TEST(damaged_value_is_reported_and_mended),
    HARNESS_TEST(missing_file_is_a_dangling_pointer),
    HARNESS_TEST(a_value_log_cut_short_is_mended_by_repair),
    HARNESS_TEST(a_damaged_file_a_key_reads_stays),
    HARNESS_TEST(closed_sessions_leave_no_emptied_files),
    HARNESS_TEST(old_counts_of_an_emptied_file_mend_at_open),
    HARNESS_TEST(an_idle_database_gives_its_space_back),
    HARNESS_TEST(a_full_disk_is_climbed_out_of_from_inside),
    HARNESS_TEST(a_scan_reads_ahead),
    HARNESS_TEST(a_scan_reads_ahead_with_calls),
    HARNESS_TEST(a_damaged_value_read_ahead_fails_alone),
    HARNESS_TEST(a_value_log_no_table_points_into_goes_to_lost),
};
const harness_suite vlog_engine_suite = HARNESS_SUITE("vlog_engine", tests);
