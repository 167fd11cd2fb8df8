/*
 * merge_live_test.c: exercise merge_live, merge_copy_op
 * (stages/02-hash/engine/merge.c): which records a merge copies: a put the index
 * still points at, and nothing else.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "exercise.h"
#include "io.h"
#include "kv.h"
#include "log_scan.h"
#include "segment.h"

static kv_options merge_options(void)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = 4096;
    return opt;
}

/* 40 keys written 5 times, every fourth one deleted at the end. */
static const char *merge_db(kv_db **out, kv_options *opt)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = ex_open(dir, opt, "open");
    char k[16], v[64];
    for (int round = 0; round < 5; round++)
        for (int i = 0; i < 40; i++) {
            snprintf(k, sizeof k, "m%02d", i);
            snprintf(v, sizeof v, "round-%d-of-key-%d-padding-padding-padding", round, i);
            ex_put(db, k, v, "fill");
        }
    for (int i = 0; i < 40; i += 4) {
        snprintf(k, sizeof k, "m%02d", i);
        EX_CHECK(kv_delete(db, k, strlen(k)) == KV_OK, "kv_delete");
    }
    *out = db;
    return dir;
}

static void merge_check(kv_db *db, const char *when)
{
    char k[16], v[64];
    for (int i = 0; i < 40; i++) {
        snprintf(k, sizeof k, "m%02d", i);
        snprintf(v, sizeof v, "round-4-of-key-%d-padding-padding-padding", i);
        if (i % 4 == 0)
            ex_absent(db, k, when);
        else
            ex_expect(db, k, v, when);
    }
}

/* The segments (*.log) of dir, by name (their numbers, oldest first). */
typedef struct merge_files {
    int n;
    char name[64][256];
} merge_files;

static void merge_list(const char *dir, merge_files *out)
{
    DIR *d = opendir(dir);
    EX_CHECK(d != NULL, "cannot list %s", dir);
    out->n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && out->n < 64;) {
        size_t l = strlen(e->d_name);
        if (l >= 4 && l < sizeof out->name[0] && strcmp(e->d_name + l - 4, ".log") == 0)
            memcpy(out->name[out->n++], e->d_name, l + 1);
    }
    closedir(d);
    for (int i = 1; i < out->n; i++) /* by name: the oldest first */
        for (int j = i; j > 0 && strcmp(out->name[j - 1], out->name[j]) > 0; j--) {
            char t[sizeof out->name[0]];
            memcpy(t, out->name[j], sizeof t);
            memcpy(out->name[j], out->name[j - 1], sizeof t);
            memcpy(out->name[j - 1], t, sizeof t);
        }
}

static int merge_listed(const merge_files *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->name[i], name) == 0)
            return 1;
    return 0;
}

/* The records of segment `name` of dir as "KEY=VALUE" (a delete "KEY-"),
 * appended to out (each on a line); last[k] set for key mNN to its
 * latest such text seen so far, and last_input[k] to `input` (which
 * segment it is in). */
static void merge_records(const char *dir, const char *name, char last[40][96],
                          int last_input[40], int input, char *out, size_t cap)
{
    const char *path = harness_join(dir, name);
    struct stat st;
    io_file *f = NULL;
    EX_CHECK(stat(path, &st) == 0 && io_open(path, IO_READ, &f) == KV_OK, "open %s", path);
    log_scan s;
    log_scan_init(&s, f, SEGMENT_START, (uint64_t)st.st_size);
    while (log_scan_next(&s) == LOG_SCAN_RECORD) {
        if (s.rec.is_seal)
            continue;
        char text[96];
        snprintf(text, sizeof text, "%.*s%s%.*s", (int)s.rec.klen, (const char *)s.rec.key,
                 s.rec.is_delete ? "-" : "=", s.rec.is_delete ? 0 : (int)s.rec.vlen,
                 (const char *)s.rec.value);
        if (out != NULL && strlen(out) + strlen(text) + 2 < cap)
            strcat(strcat(out, text), "\n");
        int k = -1;
        if (last != NULL && s.rec.klen == 3 && ((const char *)s.rec.key)[0] == 'm' &&
            sscanf((const char *)s.rec.key + 1, "%2d", &k) == 1 && k >= 0 && k < 40) {
            snprintf(last[k], 96, "%s", text);
            last_input[k] = input;
        }
    }
    log_scan_free(&s);
    io_close(f);
}

static void merge_live_keeps_the_latest_values(void)
{
    kv_options opt = merge_options();
    kv_db *db;
    const char *dir = merge_db(&db, &opt);
    merge_files before, after;
    merge_list(dir, &before);
    /* Each key's latest record, and the segment it is in (last_input[k]:
     * its index in `before`). */
    static char last[40][96], want[8192], got[8192];
    int last_input[40] = {0};
    memset(last, 0, sizeof last);
    want[0] = got[0] = '\0';
    for (int i = 0; i < before.n; i++)
        merge_records(dir, before.name[i], last, last_input, i, NULL, 0);
    harness_context("kv_compact of 40 keys written 5 times in 4 KiB segments, every 4th deleted: a "
                    "merge copies a put only if the index points at exactly that record, and "
                    "drops every delete");
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "kv_compact: %s", ex_kv_errmsg());
    merge_list(dir, &after);
    /* What the merge wrote (read from its outputs, not through the index,
     * which merge_commit sets: a later exercise): the latest record of
     * each key whose latest record is a put in an input (a segment gone
     * since), and nothing else. */
    for (int k = 0; k < 40; k++)
        last_input[k] = last[k][0] != '\0' && !merge_listed(&after, before.name[last_input[k]]);
    int nwant = 0, ngot = 0;
    for (int k = 0; k < 40; k++)
        if (last_input[k] && strchr(last[k], '=') != NULL)
            nwant++;
    for (int i = 0; i < after.n; i++)
        if (!merge_listed(&before, after.name[i]))
            merge_records(dir, after.name[i], NULL, NULL, 0, got, sizeof got);
    for (const char *p = got; *p != '\0'; p = strchr(p, '\n') + 1)
        ngot++;
    int wrong = 0;
    for (int k = 0; k < 40; k++) {
        if (!last_input[k] || strchr(last[k], '=') == NULL)
            continue;
        snprintf(want, sizeof want, "%s\n", last[k]);
        wrong += strstr(got, want) == NULL;
    }
    int deletes = 0;
    for (const char *p = got; *p != '\0'; p = strchr(p, '\n') + 1)
        deletes += strcspn(p, "=-\n") < strcspn(p, "\n") && p[strcspn(p, "=-\n")] == '-';
    EX_CHECK(deletes == 0, EX_RULE(2, "a delete dropped") "the merge's outputs hold no delete "
             "(got %d): every older record a delete hides is in an input too", deletes);
    EX_CHECK(wrong == 0 && ngot == nwant,
             EX_RULE(3, "only the record the index points at") "the merge's outputs hold, of "
             "each key whose latest record is a put in one of its inputs, that record, and "
             "nothing else: %d records (got %d, %d of the latest missing)", nwant, ngot, wrong);
    harness_context("kv_get of m00..m39 right after kv_compact: every key reads its latest value, "
                    "every 4th is absent");
    merge_check(db, EX_RULE_OF(merge_commit, 2, "every key still at its input place pointed at "
                               "its output place") "right after kv_compact, whose outputs hold "
                "the right records, every key reads its latest value");
    kv_close(db);
}

static void merge_live_deleted_keys_stay_deleted(void)
{
    kv_options opt = merge_options();
    kv_db *db;
    const char *dir = merge_db(&db, &opt);
    harness_context("kv_compact of 40 keys written 5 times, every 4th deleted: only the puts the "
                    "index points at are copied, so a deleted key's old put is not");
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "kv_compact: %s", ex_kv_errmsg());
    kv_close(db);
    db = ex_open(dir, &opt, "reopen after kv_compact");
    harness_context("kv_get of m00..m39 after kv_compact and a reopen: deleted keys stay deleted, "
                    "since no dead put was copied");
    merge_check(db, EX_RULE(3, "only the record the index points at") "after kv_compact and a "
                "reopen (which replays the merge's outputs): a merge "
                "copies only the records the index points at; a copied old put of a deleted "
                "key would bring it back, since its delete is not copied");
    kv_close(db);
}

static void merge_live_reclaims_dead_bytes(void)
{
    kv_options opt = merge_options();
    kv_db *db;
    const char *dir = merge_db(&db, &opt);
    uint64_t before = ex_dir_bytes(dir);
    harness_context("kv_compact of 200 puts and 10 deletes of 40 keys: one record kept per live "
                    "key, every record read counted in session.merge_bytes_read");
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "kv_compact: %s", ex_kv_errmsg());
    uint64_t after = ex_dir_bytes(dir);
    /* 30 live keys of about 60-byte records: a few KB with headers. */
    EX_CHECK(after < before / 3,
             EX_RULE(3, "only the record the index points at") "a merge keeps one record per "
             "live key: 200 puts and 10 deletes of 30 live keys "
             "shrink to about a fifth (%llu -> %llu bytes)", (unsigned long long)before,
             (unsigned long long)after);
    uint64_t read = ex_stat(db, "session.merge_bytes_read");
    EX_CHECK(read > after && read <= before,
             EX_RULE(1, "every op counted as read") "a merge counts the bytes of every record "
             "it reads from its inputs, live or "
             "dead (session.merge_bytes_read): more than the %llu bytes it kept, at most the "
             "%llu there were (got %llu)", (unsigned long long)after,
             (unsigned long long)before, (unsigned long long)read);
    kv_close(db);
}

/* The delete records in dir's segments (*.log), counted. */
static int merge_count_deletes(const char *dir)
{
    DIR *d = opendir(dir);
    EX_CHECK(d != NULL, "cannot list %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 4, ".log") != 0)
            continue;
        const char *path = harness_join(dir, e->d_name);
        struct stat st;
        io_file *f = NULL;
        EX_CHECK(stat(path, &st) == 0 && io_open(path, IO_READ, &f) == KV_OK, "open %s", path);
        log_scan s;
        log_scan_init(&s, f, SEGMENT_START, (uint64_t)st.st_size);
        while (log_scan_next(&s) == LOG_SCAN_RECORD)
            n += s.rec.is_delete;
        log_scan_free(&s);
        io_close(f);
    }
    closedir(d);
    return n;
}

static void merge_live_drops_deletes(void)
{
    kv_options opt = merge_options();
    kv_db *db;
    const char *dir = merge_db(&db, &opt);
    /* More puts of other keys, so that the deletes are in closed segments,
     * the merge's inputs, and the active one holds puts only. */
    char k[16];
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof k, "z%03d", i);
        ex_put(db, k, "a-value-that-fills-the-segment-after-the-deletes", "fill");
    }
    EX_CHECK(merge_count_deletes(dir) == 10, "test setup: the 10 deletes are in the segments");
    harness_context("kv_compact of 40 keys written 5 times, 10 of them deleted, then 100 puts of "
                    "other keys: a delete read from an input is dropped");
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "kv_compact: %s", ex_kv_errmsg());
    int left = merge_count_deletes(dir);
    EX_CHECK(left == 0,
             EX_RULE(2, "a delete dropped") "a merge's outputs hold no delete: every older record "
             "a delete hides is in an input too and is dropped with it (%d delete records left "
             "in the segments)", left);
    merge_check(db, EX_RULE(2, "a delete dropped") "after a merge that dropped the deletes, the "
                "deleted keys stay deleted");
    kv_close(db);
}

static void merge_live_keeps_values_written_since(void)
{
    kv_options opt = merge_options();
    kv_db *db;
    const char *dir = merge_db(&db, &opt);
    harness_context("kv_compact of 40 keys written 5 times, every 4th deleted");
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "kv_compact: %s", ex_kv_errmsg());
    harness_context("kv_put(m01), kv_delete(m02), then a second kv_compact: it copies the newest "
                    "put and drops the deleted key");
    ex_put(db, "m01", "after-the-first-merge", "put after a merge");
    EX_CHECK(kv_delete(db, "m02", 3) == KV_OK, "delete after a merge");
    EX_CHECK(EX_KV(kv_compact(db)) == KV_OK, "a second kv_compact: %s", ex_kv_errmsg());
    kv_close(db);
    db = ex_open(dir, &opt, "reopen");
    harness_context("kv_get of m01, m02, m03 after two merges and a reopen: the newest put, a "
                    "deleted key absent, a key copied twice");
    ex_expect(db, "m01", "after-the-first-merge", EX_RULE(3, "only the record the index points "
              "at") "a second merge copies the newest put");
    ex_absent(db, "m02", EX_RULE(2, "a delete dropped") "a key deleted between two merges stays "
              "deleted");
    ex_expect(db, "m03", "round-4-of-key-3-padding-padding-padding",
              "keys a first merge copied are copied again by the second");
    kv_close(db);
}

static const harness_test merge_live_tests[] = {
    HARNESS_TEST(merge_live_keeps_the_latest_values),
    HARNESS_TEST(merge_live_deleted_keys_stay_deleted),
    HARNESS_TEST(merge_live_reclaims_dead_bytes),
    HARNESS_TEST(merge_live_drops_deletes),
    HARNESS_TEST(merge_live_keeps_values_written_since),
};
const harness_suite merge_live_suite = HARNESS_SUITE("merge_live", merge_live_tests);
