/*
 * badfile.c: the engine on damaged files, without knowing any stage's
 * format.
 *
 * A database is written with a known history of puts, overwrites and
 * deletes, and closed.  Then every file in its directory but LOCK is
 * damaged in turn: cut to shorter lengths, single bytes flipped, garbage
 * appended.  After each damage (the files are restored between trials):
 *
 *   - kv_open returns KV_OK or KV_ERR_CORRUPT, never crashes, and for a
 *     flipped byte KV_ERR_CORRUPT names the damaged file in kv_errmsg();
 *   - if it opens, kv_get and a scan agree, and show: after a cut, for each
 *     key a value once written for it or nothing (a cut at a record boundary
 *     of a file that is not the last one looks like a shorter, valid file to
 *     the log stages: BAD_PREFIX would demand they detect it); after a
 *     flipped byte, the whole history or all of it but the last write (the
 *     flip may have hit the last record, which then looks torn); with only
 *     garbage appended, the whole history.  A read may fail with
 *     KV_ERR_CORRUPT instead (a stage may find damage lazily), except when
 *     only garbage was appended;
 *   - after an open that succeeded, a new put survives a reopen.
 *
 * Large damage (32 MiB of random bytes, gigabytes of sparse zeros) appended
 * to the file written next is judged the same way by kv_check and kv_open,
 * and the time each takes is printed.
 *
 * A torn tail is made stage-independently by a child process that puts one
 * record and exits without kv_close (a crash); the file that grew is cut in
 * the middle of what the child wrote.  strict_recovery must refuse it,
 * read_only must leave it in place, and the default must drop it.
 *
 * REQUIRES: the stage keeps its files directly in the database directory.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "harness.h"
#include "stage_caps.h"
#include "kv.h"
#include "testdb.h"

#define BAD_KEYS 12
#define BAD_OPS 90
#define BAD_MAX_VERSIONS 32
#define BAD_MAX_FILES 64
#define BAD_EVERY_BYTE_LIMIT 8192   /* files up to this size: every length/byte */
#define BAD_SAMPLES 1500            /* trials per larger file */

typedef struct bad_key {
    char name[16];
    char *versions[BAD_MAX_VERSIONS];   /* every value ever written */
    size_t vlens[BAD_MAX_VERSIONS];
    int nversions;
    int live;                            /* index of the current value, or -1 */
} bad_key;

typedef struct bad_file {
    char *name;
    unsigned char *data;
    size_t size;
} bad_file;

/* What a damaged database may show, once it opens. */
enum {
    BAD_INTACT,     /* exactly the latest state, no read errors */
    BAD_LAST_LOST,  /* the latest state, or the one before the last write */
    BAD_PREFIX,     /* the state after some prefix of the history */
    BAD_ANY         /* for each key, any value ever written for it, or absent */
};

typedef struct bad_db {
    const char *dir;
    size_t segment_bytes;   /* kv_options.segment_bytes while writing */
    bad_key keys[BAD_KEYS];
    int op_key[BAD_OPS], op_version[BAD_OPS];  /* the history: version -1 = delete */
    int nops;
    bad_file files[BAD_MAX_FILES];
    int nfiles;
    char what[400];
} bad_db;

/* ---- the history and the saved files ------------------------------------ */

static void bad_write_history(bad_db *b)
{
    testdb_rng rng;
    testdb_rng_seed(&rng, 77);
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = b->segment_bytes;
    kv_db *db = OPEN(b->dir, &opt);
    for (int i = 0; i < BAD_KEYS; i++) {
        snprintf(b->keys[i].name, sizeof b->keys[i].name, "key%02d", i);
        b->keys[i].live = -1;
    }
    for (int step = 0; step < BAD_OPS; step++) {
        bad_key *k = &b->keys[testdb_rng_below(&rng, BAD_KEYS)];
        b->op_key[b->nops] = (int)(k - b->keys);
        if (testdb_rng_below(&rng, 6) == 0 || k->nversions == BAD_MAX_VERSIONS) {
            DEL(db, k->name, strlen(k->name));
            k->live = -1;
            b->op_version[b->nops++] = -1;
            continue;
        }
        char v[64];
        size_t vl = 0;
        if (testdb_rng_below(&rng, 8) != 0) {
            vl = (size_t)snprintf(v, sizeof v, "%s=v%02d:", k->name, k->nversions);
            size_t pad = testdb_rng_below(&rng, 30);
            memset(v + vl, 'a' + (int)(step % 26), pad);
            vl += pad;
        }
        PUT(db, k->name, strlen(k->name), v, vl);
        k->versions[k->nversions] = malloc(vl ? vl : 1);
        CHECK(k->versions[k->nversions] != NULL);
        memcpy(k->versions[k->nversions], v, vl);
        k->vlens[k->nversions] = vl;
        b->op_version[b->nops++] = k->nversions;
        k->live = k->nversions++;
    }
    CLOSE(db);
}

static unsigned char *bad_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    CHECK(n >= 0);
    rewind(f);
    unsigned char *data = malloc((size_t)n + 1);
    CHECK(data != NULL);
    CHECK(fread(data, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return data;
}

static void bad_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f != NULL, "cannot write %s", path);
    CHECK(n == 0 || fwrite(data, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

/* Saves every regular file of the directory but LOCK.  STATS (the totals
 * of stages 04-07, no data) is removed instead: its damage is tested with
 * its format (stages/04-lsm/tests/stats_file_test.c, lsm_totals_test.c) and
 * by the sweep, and here it would only take the place of a data file. */
static void bad_save_files(bad_db *b)
{
    DIR *d = opendir(b->dir);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, "LOCK") == 0)
            continue;
        const char *path = harness_join(b->dir, e->d_name);
        if (strcmp(e->d_name, "STATS") == 0) {
            CHECK(unlink(path) == 0);
            continue;
        }
        struct stat st;
        CHECK(stat(path, &st) == 0);
        CHECK_MSG(S_ISREG(st.st_mode), "%s is not a regular file", path);
        CHECK(b->nfiles < BAD_MAX_FILES);
        bad_file *f = &b->files[b->nfiles++];
        f->name = strdup(e->d_name);
        CHECK(f->name != NULL);
        f->data = bad_read_file(path, &f->size);
    }
    closedir(d);
    CHECK_MSG(b->nfiles > 0, "the database directory holds no file but LOCK");
}

/* Puts the directory back as saved: the same files with the same bytes. */
static void bad_restore(bad_db *b)
{
    DIR *d = opendir(b->dir);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, "LOCK") == 0)
            continue;
        int known = 0;
        for (int i = 0; i < b->nfiles && !known; i++)
            known = strcmp(b->files[i].name, e->d_name) == 0;
        if (!known) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", b->dir, e->d_name);
            CHECK(unlink(path) == 0);
        }
    }
    closedir(d);
    for (int i = 0; i < b->nfiles; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", b->dir, b->files[i].name);
        bad_write_file(path, b->files[i].data, b->files[i].size);
    }
}

static void bad_setup(bad_db *b, size_t segment_bytes)
{
    memset(b, 0, sizeof *b);
    b->segment_bytes = segment_bytes;
    b->dir = harness_join(harness_tmpdir(), "db");
    bad_write_history(b);
    bad_save_files(b);
}

static void bad_free(bad_db *b)
{
    for (int i = 0; i < BAD_KEYS; i++)
        for (int v = 0; v < b->keys[i].nversions; v++)
            free(b->keys[i].versions[v]);
    for (int i = 0; i < b->nfiles; i++) {
        free(b->files[i].name);
        free(b->files[i].data);
    }
}

/* ---- one trial ------------------------------------------------------------ */

static int bad_key_index(const bad_db *b, const void *k, size_t kl)
{
    for (int i = 0; i < BAD_KEYS; i++)
        if (strlen(b->keys[i].name) == kl && memcmp(b->keys[i].name, k, kl) == 0)
            return i;
    return -1;
}

/* -1 if the value was never written for the key, else its version. */
static int bad_version_of(const bad_key *k, const void *v, size_t vl)
{
    for (int i = 0; i < k->nversions; i++)
        if (k->vlens[i] == vl && (vl == 0 || memcmp(k->versions[i], v, vl) == 0))
            return i;
    return -1;
}

/* The version a key holds after the first j operations (-1: absent). */
static int bad_version_after(const bad_db *b, int j, int key)
{
    int v = -1;
    for (int i = 0; i < j; i++)
        if (b->op_key[i] == key)
            v = b->op_version[i];
    return v;
}

#define BAD_UNREAD (-2)   /* a read of the key failed with KV_ERR_CORRUPT */

/* The versions read must be the state after some allowed prefix of the
 * history (keys whose read failed are left out). */
static void bad_check_state(bad_db *b, const int *got, int mode)
{
    if (mode == BAD_ANY)
        return;   /* bad_version_read has checked each value */
    int lowest = mode == BAD_INTACT ? b->nops : mode == BAD_LAST_LOST ? b->nops - 1 : 0;
    for (int j = b->nops; j >= lowest; j--) {
        int match = 1;
        for (int k = 0; k < BAD_KEYS && match; k++)
            match = got[k] == BAD_UNREAD || got[k] == bad_version_after(b, j, k);
        if (match)
            return;
    }
    char text[BAD_KEYS * 48] = "";
    size_t used = 0;
    for (int k = 0; k < BAD_KEYS && used < sizeof text; k++)
        used += (size_t)snprintf(text + used, sizeof text - used, " %s:%d(%d)",
                                 b->keys[k].name, got[k], b->keys[k].live);
    harness_fail(__FILE__, __LINE__, "%s: the database shows a state no %s of the history "
                 "had; version per key read (latest):%s", b->what,
                 mode == BAD_INTACT ? "complete run" :
                 mode == BAD_LAST_LOST ? "run missing at most its last write" : "prefix",
                 text);
}

static int bad_version_read(bad_db *b, int key, const void *v, size_t vl)
{
    const bad_key *k = &b->keys[key];
    int version = bad_version_of(k, v, vl);
    char hex[HARNESS_HEX_BUF];
    CHECK_MSG(version >= 0, "%s: %s has value [%s] (%zu bytes), never written for it",
              b->what, k->name, harness_hex(hex, v, vl), vl);
    return version;
}

/* Reads everything from an open database, with kv_get and with a scan,
 * and checks what it shows against `mode`.  Read errors other than
 * KV_ERR_CORRUPT, and any read error under BAD_INTACT, fail the test.  A
 * scan may also show the key `extra` (NULL: none). */
static void bad_check_contents(bad_db *b, kv_db *db, int mode, const char *extra)
{
    int got[BAD_KEYS];
    for (int i = 0; i < BAD_KEYS; i++) {
        const bad_key *k = &b->keys[i];
        void *v = NULL;
        size_t vl = 0;
        kv_error_clear();
        int s = kv_get(db, k->name, strlen(k->name), &v, &vl);
        if (s == KV_OK) {
            CHECK_MSG(v != NULL, "%s: kv_get(%s) is KV_OK with NULL", b->what, k->name);
            got[i] = bad_version_read(b, i, v, vl);
            kv_free(v);
        } else if (s == KV_NOT_FOUND) {
            got[i] = -1;
        } else {
            CHECK_MSG(s == KV_ERR_CORRUPT && mode != BAD_INTACT,
                      "%s: kv_get(%s) returned %d (%s): %s", b->what, k->name, s,
                      kv_strerror(s), kv_errmsg());
            CHECK_MSG(kv_errmsg()[0] != '\0', "%s: KV_ERR_CORRUPT with no kv_errmsg", b->what);
            got[i] = BAD_UNREAD;
        }
    }
    bad_check_state(b, got, mode);

    kv_iter *it = NULL;
    int s = kv_iter_new(db, &it);
    if (s != KV_OK) {
        CHECK_MSG(s == KV_ERR_CORRUPT && mode != BAD_INTACT,
                  "%s: kv_iter_new returned %d (%s): %s", b->what, s, kv_strerror(s),
                  kv_errmsg());
        return;
    }
    int scanned[BAD_KEYS], prev = -1;
    for (int i = 0; i < BAD_KEYS; i++)
        scanned[i] = -1;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        size_t kl = 0, vl = 0;
        const void *k = kv_iter_key(it, &kl);
        if (extra != NULL && kl == strlen(extra) && memcmp(k, extra, kl) == 0)
            continue;
        int key = bad_key_index(b, k, kl);
        char hex[HARNESS_HEX_BUF];
        CHECK_MSG(key >= 0, "%s: a scan shows key [%s], never written", b->what,
                  harness_hex(hex, k, kl));
        CHECK_MSG(key > prev, "%s: a scan shows %s out of order", b->what,
                  b->keys[key].name);
        prev = key;
        const void *v = kv_iter_value(it, &vl);
        if (v == NULL)
            break;
        scanned[key] = bad_version_read(b, key, v, vl);
    }
    s = kv_iter_status(it);
    kv_iter_free(it);
    CHECK_MSG(s == KV_OK || (s == KV_ERR_CORRUPT && mode != BAD_INTACT),
              "%s: kv_iter_status is %d (%s): %s", b->what, s, kv_strerror(s), kv_errmsg());
    if (s != KV_OK)
        return;
    /* A complete scan shows what the gets showed. */
    for (int i = 0; i < BAD_KEYS; i++)
        CHECK_MSG(got[i] == BAD_UNREAD || scanned[i] == got[i],
                  "%s: %s is version %d in a scan but %d by kv_get", b->what,
                  b->keys[i].name, scanned[i], got[i]);
}

/* Opens the damaged directory and checks what it says.  `file_named`: a
 * KV_ERR_CORRUPT must name this file.  `mode`: what an open that succeeds
 * may show (BAD_INTACT ...).  Returns the status of kv_open. */
static int bad_trial(bad_db *b, const char *file_named, int mode)
{
    kv_db *db = NULL;
    kv_error_clear();
    int s = kv_open(b->dir, NULL, &db);
    if (s == KV_ERR_CORRUPT) {
        CHECK_MSG(kv_errmsg()[0] != '\0', "%s: KV_ERR_CORRUPT with no kv_errmsg", b->what);
        CHECK_MSG(file_named == NULL || strstr(kv_errmsg(), file_named) != NULL,
                  "%s: kv_errmsg does not name %s: \"%s\"", b->what, file_named, kv_errmsg());
        return s;
    }
    if (s != KV_OK)
        harness_fail_kv(__FILE__, __LINE__, b->what, s, KV_OK, KV_ERR_CORRUPT);
    bad_check_contents(b, db, mode, NULL);

    /* The engine accepted what it found: a new write must now be durable. */
    int ps = kv_put(db, S("zz-after-damage"), S("new value"));
    if (ps != KV_OK)
        harness_fail_kv(__FILE__, __LINE__, b->what, ps, KV_OK, KV_OK);
    CLOSE(db);
    db = NULL;
    int s2 = kv_open(b->dir, NULL, &db);
    if (s2 != KV_OK)
        harness_fail_kv(__FILE__, __LINE__, "reopen after a write on a recovered database",
                        s2, KV_OK, KV_OK);
    EXPECT(db, S("zz-after-damage"), S("new value"));
    CLOSE(db);
    return s;
}

/* With many files, the damage goes to the first, a middle one and the last
 * two (by name) only, to keep the run short. */
static int bad_file_chosen(const bad_db *b, int fi)
{
    int n = b->nfiles;
    return n <= 4 || fi == 0 || fi == n / 2 || fi >= n - 2;
}

/* 1: every length (or byte) of a file of `size` bytes; else the stride
 * that tries about BAD_SAMPLES of them.  A quarter of each under a
 * sanitizer (harness_cases). */
static size_t bad_step(size_t size)
{
    size_t every = (size_t)harness_cases(BAD_EVERY_BYTE_LIMIT, 4);
    size_t samples = (size_t)harness_cases(BAD_SAMPLES, 4);
    return size <= every ? 1 : size / samples + 1;
}

static const char *bad_path(bad_db *b, const bad_file *f)
{
    return harness_join(b->dir, f->name);
}

/* ---- the damage ------------------------------------------------------------ */

static void bad_cut_files(size_t segment_bytes)
{
    bad_db b;
    bad_setup(&b, segment_bytes);
    for (int fi = 0; fi < b.nfiles; fi++) {
        if (!bad_file_chosen(&b, fi))
            continue;
        const bad_file *f = &b.files[fi];
        const char *path = bad_path(&b, f);
        size_t step = bad_step(f->size);
        for (size_t len = f->size; len-- > 0;) {
            /* every length near the end, then every `step` bytes */
            if (f->size - len > 64 && len % step != 0 && len != 0)
                continue;
            snprintf(b.what, sizeof b.what, "%s cut from %zu to %zu bytes", f->name, f->size,
                     len);
            harness_context("%s", b.what);
            bad_restore(&b);
            CHECK(truncate(path, (off_t)len) == 0);
            bad_trial(&b, NULL, BAD_ANY);
        }
    }
    bad_restore(&b);
    bad_free(&b);
}

static void truncated_file_never_invents_values(void) { bad_cut_files(0); }

/* 1 if a test's run with small segments would repeat its run with the
 * default: the stage keeps one log whatever segment_bytes (stage_caps.h),
 * and its database is made of the same files, of the same sizes, either
 * way; said on the test's output. */
static int bad_segments_change_nothing(size_t segment_bytes)
{
    const stage_caps *caps = stage_caps_find();
    CHECK(caps != NULL);
    if (caps->has_segments)
        return 0;
    bad_db with, without;
    bad_setup(&with, segment_bytes);
    bad_setup(&without, 0);
    int same = with.nfiles == without.nfiles;
    for (int i = 0; same && i < with.nfiles; i++)
        same = strcmp(with.files[i].name, without.files[i].name) == 0 &&
               with.files[i].size == without.files[i].size;
    if (same)
        printf("    with segment_bytes = %zu: the same %d files, of the same sizes: stage %s "
               "keeps one log whatever segment_bytes, so the test above damaged them\n",
               segment_bytes, with.nfiles, kv_stage());
    bad_free(&with);
    bad_free(&without);
    return same;
}

/* With 300-byte segments, stages that split their log make many files. */
static void truncated_file_never_invents_values_in_small_segments(void)
{
    if (!bad_segments_change_nothing(300))
        bad_cut_files(300);
}

static void bad_flip_bytes(size_t segment_bytes)
{
    static const unsigned char masks[] = {0x01, 0x80, 0xFF, 0x10, 0x5A};
    bad_db b;
    bad_setup(&b, segment_bytes);
    int corrupt = 0, opened = 0;
    for (int fi = 0; fi < b.nfiles; fi++) {
        if (!bad_file_chosen(&b, fi))
            continue;
        const bad_file *f = &b.files[fi];
        const char *path = bad_path(&b, f);
        size_t step = bad_step(f->size);
        for (size_t pos = 0; pos < f->size; pos += step) {
            unsigned char mask = masks[pos % sizeof masks];
            snprintf(b.what, sizeof b.what, "%s byte %zu of %zu flipped with 0x%02x", f->name,
                     pos, f->size, mask);
            harness_context("%s", b.what);
            bad_restore(&b);
            unsigned char *copy = malloc(f->size);
            CHECK(copy != NULL);
            memcpy(copy, f->data, f->size);
            copy[pos] ^= mask;
            bad_write_file(path, copy, f->size);
            free(copy);
            if (bad_trial(&b, f->name, BAD_LAST_LOST) == KV_OK)
                opened++;
            else
                corrupt++;
        }
    }
    printf("    %d flips refused as corrupt, %d opened\n", corrupt, opened);
    CHECK_MSG(corrupt > 0, "no flipped byte anywhere was detected");
    bad_restore(&b);
    bad_free(&b);
}

static void flipped_byte_is_caught_or_loses_at_most_last_write(void) { bad_flip_bytes(0); }

/* With 300-byte segments, stages that split their log make many files. */
static void flipped_byte_is_caught_or_loses_at_most_last_write_in_small_segments(void)
{
    if (!bad_segments_change_nothing(300))
        bad_flip_bytes(300);
}

static void bad_append_garbage(size_t segment_bytes)
{
    static const size_t lengths[] = {1, 9, 100, 100};
    bad_db b;
    bad_setup(&b, segment_bytes);
    testdb_rng rng;
    testdb_rng_seed(&rng, 5);
    for (int fi = 0; fi < b.nfiles; fi++) {
        if (!bad_file_chosen(&b, fi))
            continue;
        const bad_file *f = &b.files[fi];
        const char *path = bad_path(&b, f);
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
            size_t n = lengths[li];
            int zeros = li == 3;
            snprintf(b.what, sizeof b.what, "%s with %zu %s bytes appended", f->name, n,
                     zeros ? "zero" : "random");
            harness_context("%s", b.what);
            bad_restore(&b);
            unsigned char *copy = malloc(f->size + n);
            CHECK(copy != NULL);
            memcpy(copy, f->data, f->size);
            if (zeros)
                memset(copy + f->size, 0, n);
            else
                testdb_rng_fill(&rng, copy + f->size, n);
            bad_write_file(path, copy, f->size + n);
            free(copy);
            bad_trial(&b, NULL, BAD_INTACT);
        }
    }
    bad_restore(&b);
    bad_free(&b);
}

static void appended_garbage_is_cut_or_corrupt(void) { bad_append_garbage(0); }

/* With 300-byte segments, stages that split their log make many files. */
static void appended_garbage_is_cut_or_corrupt_in_small_segments(void)
{
    bad_append_garbage(300);
}

static void bad_check_damage(size_t segment_bytes)
{
    bad_db b;
    bad_setup(&b, segment_bytes);
    for (int fi = 0; fi < b.nfiles; fi++) {
        if (!bad_file_chosen(&b, fi))
            continue;
        const bad_file *f = &b.files[fi];
        if (f->size == 0)
            continue;
        snprintf(b.what, sizeof b.what, "%s with its first byte flipped", f->name);
        harness_context("%s", b.what);
        bad_restore(&b);
        unsigned char *copy = malloc(f->size);
        CHECK(copy != NULL);
        memcpy(copy, f->data, f->size);
        copy[0] ^= 0xFF;
        bad_write_file(bad_path(&b, f), copy, f->size);
        free(copy);
        testdb_lines lines = {0};
        CHECK_KV(kv_check(b.dir, testdb_lines_add, &lines), KV_ERR_CORRUPT);
        CHECK_MSG(lines.text != NULL && strstr(lines.text, f->name) != NULL,
                  "no line of kv_check names %s:\n%s", f->name, lines.text ? lines.text : "");
        testdb_lines_free(&lines);
    }
    bad_restore(&b);
    testdb_lines lines = {0};
    harness_context("the undamaged database");
    CHECK_KV(kv_check(b.dir, testdb_lines_add, &lines), KV_OK);
    testdb_lines_free(&lines);
    bad_free(&b);
}

static void check_reports_damage_naming_the_file(void) { bad_check_damage(0); }

/* With 300-byte segments, stages that split their log make many files. */
static void check_reports_damage_naming_the_file_in_small_segments(void)
{
    bad_check_damage(300);
}

/* ---- many megabytes of damage ------------------------------------------------ */

#define BAD_MEGABYTES 32

static size_t bad_file_size(const char *path);

static double bad_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bad_ignore_line(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

/* Judges the damage now in the file `name` (the one the database writes
 * to next): whatever the stage decides (a torn tail it cuts, or damage it
 * refuses), kv_open with strict_recovery refuses it naming the file, and
 * kv_check agrees with the default open.  The times are printed (measured,
 * not asserted: the machine may be busy; docs/01-log.md and docs/03-wal.md,
 * "Recovery", quote them). */
static void bad_time_recovery(bad_db *b, const char *name)
{
    kv_db *db = NULL;
    kv_options strict;
    kv_options_init(&strict);
    strict.strict_recovery = 1;
    double t0 = bad_seconds();
    int s = kv_open(b->dir, &strict, &db);
    double strict_s = bad_seconds() - t0;
    CHECK_KV(s, KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), name) != NULL, "kv_errmsg does not name %s: %s", name,
              kv_errmsg());
    t0 = bad_seconds();
    int check = kv_check(b->dir, bad_ignore_line, NULL);
    double check_s = bad_seconds() - t0;
    t0 = bad_seconds();
    s = kv_open(b->dir, NULL, &db);
    double open_s = bad_seconds() - t0;
    if (s == KV_OK)
        kv_close(db);
    CHECK_MSG((check == KV_CHECK_WILL_CUT && s == KV_OK) ||
              (check == KV_ERR_CORRUPT && s == KV_ERR_CORRUPT),
              "kv_check %d, kv_open %d", check, s);
    printf("    %s: strict kv_open %.3f s, kv_check %.3f s, kv_open %.3f s (%s)\n", b->what,
           strict_s, check_s, open_s, s == KV_OK ? "cut off" : "refused");
}

static const char *bad_growing_file(bad_db *b, const char *key, const char *val);

/* 32 MiB of random bytes appended to the file the database writes to next
 * (found as the one a put makes grow): judged in bounded time. */
static void appended_megabytes_are_judged_in_bounded_time(void)
{
    bad_db b;
    bad_setup(&b, 0);
    const char *grown = bad_growing_file(&b, "grow", "one more");
    bad_restore(&b);
    size_t n = (size_t)BAD_MEGABYTES << 20;
    unsigned char *junk = malloc(n);
    CHECK(junk != NULL);
    testdb_rng rng;
    testdb_rng_seed(&rng, 32);
    testdb_rng_fill(&rng, junk, n);
    FILE *f = fopen(grown, "ab");
    CHECK(f != NULL && fwrite(junk, 1, n, f) == n);
    CHECK(fclose(f) == 0);
    free(junk);
    snprintf(b.what, sizeof b.what, "%s with %d MiB of random bytes appended",
             strrchr(grown, '/') + 1, BAD_MEGABYTES);
    harness_context("%s", b.what);
    bad_time_recovery(&b, strrchr(grown, '/') + 1);
    bad_restore(&b);
    bad_free(&b);
}

/* The size of the sparse tail: KV_TEST_SPARSE_GIB GiB (1 unless set; the
 * pages quote 10). */
static uint64_t bad_sparse_bytes(void)
{
    const char *s = getenv("KV_TEST_SPARSE_GIB");
    long gib = s != NULL && *s != '\0' ? strtol(s, NULL, 10) : 0;
    return (uint64_t)(gib > 0 ? gib : 1) << 30;
}

/* Gigabytes of zeros appended without being written (a sparse tail, as
 * `truncate -s +10G` leaves, or a file system whose size update reached
 * the disk before the data): judged in bounded time. */
static void appended_sparse_zeros_are_judged_in_bounded_time(void)
{
    bad_db b;
    bad_setup(&b, 0);
    const char *grown = bad_growing_file(&b, "grow", "one more");
    bad_restore(&b);
    uint64_t zeros = bad_sparse_bytes();
    CHECK(truncate(grown, (off_t)(bad_file_size(grown) + zeros)) == 0);
    snprintf(b.what, sizeof b.what, "%s with %llu GiB of zeros appended (sparse)",
             strrchr(grown, '/') + 1, (unsigned long long)(zeros >> 30));
    harness_context("%s", b.what);
    bad_time_recovery(&b, strrchr(grown, '/') + 1);
    bad_restore(&b);
    bad_free(&b);
}

/* ---- torn tails ------------------------------------------------------------ */

typedef struct torn {
    bad_db b;
    char name[256];     /* the file the crashed writer appended to */
    size_t cut;         /* its length after the cut */
} torn;

static size_t bad_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* A child opens the database, puts one record and dies without kv_close;
 * the one file that grew is then cut in the middle of what it wrote. */
static void torn_make(torn *t)
{
    bad_setup(&t->b, 0);
    char value[200];
    memset(value, 'T', sizeof value);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        kv_db *db = NULL;
        if (kv_open(t->b.dir, NULL, &db) != KV_OK)
            _exit(1);
        if (kv_put(db, S("torn-key"), value, sizeof value) != KV_OK)
            _exit(2);
        _exit(0);
    }
    int wstatus = 0;
    CHECK(waitpid(pid, &wstatus, 0) == pid);
    CHECK_MSG(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0,
              "the writer child failed (status 0x%x)", wstatus);

    /* Find what grew: a saved file that is longer, or a new file. */
    int grown = 0;
    DIR *d = opendir(t->b.dir);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, "LOCK") == 0 || stage_caps_is_meta_file(e->d_name))
            continue;
        size_t before = 0;
        for (int i = 0; i < t->b.nfiles; i++)
            if (strcmp(t->b.files[i].name, e->d_name) == 0)
                before = t->b.files[i].size;
        size_t now = bad_file_size(harness_join(t->b.dir, e->d_name));
        if (now > before) {
            grown++;
            snprintf(t->name, sizeof t->name, "%s", e->d_name);
            t->cut = before + (now - before) / 2;
        }
    }
    closedir(d);
    CHECK_MSG(grown == 1, "%d files grew with one put (expected exactly one)", grown);
    CHECK(truncate(harness_join(t->b.dir, t->name), (off_t)t->cut) == 0);
    snprintf(t->b.what, sizeof t->b.what, "%s with a torn tail at %zu bytes", t->name, t->cut);
    harness_context("%s", t->b.what);
}

static void strict_recovery_refuses_torn_tail(void)
{
    torn t;
    torn_make(&t);
    kv_options opt;
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    kv_db *db = NULL;
    kv_error_clear();
    CHECK_KV(kv_open(t.b.dir, &opt, &db), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), t.name) != NULL, "kv_errmsg does not name %s: \"%s\"",
              t.name, kv_errmsg());
    CHECK_MSG(bad_file_size(harness_join(t.b.dir, t.name)) == t.cut,
              "a refused open changed the size of %s", t.name);
    bad_free(&t.b);
}

/* The number after "name: " in kv_stats, or -1 if there is none. */
static long long bad_stat(kv_db *db, const char *name)
{
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    char key[128];
    snprintf(key, sizeof key, "\n%s: ", name);
    const char *at = strstr(text, key);
    long long v = at ? strtoll(at + strlen(key), NULL, 10) : -1;
    kv_free(text);
    return v;
}

/* A read-only open reports what it found, and says it cut nothing. */
static void read_only_leaves_torn_tail_in_place(void)
{
    torn t;
    torn_make(&t);
    kv_options opt;
    kv_options_init(&opt);
    opt.read_only = 1;
    kv_db *db = OPEN(t.b.dir, &opt);
    bad_check_contents(&t.b, db, BAD_INTACT, NULL);
    ABSENT(db, S("torn-key"));
    CHECK_MSG(bad_stat(db, "open.torn_tail_bytes_found") > 0, "no torn tail reported found");
    CHECK_EQ(bad_stat(db, "open.torn_tail_bytes_cut"), 0);
    CLOSE(db);
    CHECK_MSG(bad_file_size(harness_join(t.b.dir, t.name)) == t.cut,
              "a read-only open changed the size of %s", t.name);
    bad_free(&t.b);
}

static void recover_drops_torn_tail(void)
{
    torn t;
    torn_make(&t);
    kv_db *db = OPEN(t.b.dir, NULL);
    bad_check_contents(&t.b, db, BAD_INTACT, NULL);
    ABSENT(db, S("torn-key"));
    PUT(db, S("after-recovery"), S("kept"));
    CLOSE(db);
    kv_options strict;
    kv_options_init(&strict);
    strict.strict_recovery = 1;
    db = OPEN(t.b.dir, &strict);   /* the tear is gone: even strict opens */
    bad_check_contents(&t.b, db, BAD_INTACT, "after-recovery");
    ABSENT(db, S("torn-key"));
    EXPECT(db, S("after-recovery"), S("kept"));
    CLOSE(db);
    bad_free(&t.b);
}

/* ---- the first bytes of a file ------------------------------------------------ */

/* The one data file a fresh database has (besides IDENTITY and LOCK). */
static const char *bad_only_file(const char *dir)
{
    const char *found = NULL;
    int n = 0;
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "LOCK") == 0 ||
            strcmp(e->d_name, "IDENTITY") == 0 || stage_caps_is_meta_file(e->d_name))
            continue;
        found = harness_join(dir, e->d_name);
        n++;
    }
    closedir(d);
    CHECK_MSG(n == 1, "a fresh database holds %d data files (expected one)", n);
    return found;
}

/* A crash while the first data file was being created leaves part of its
 * header and nothing else: no record is lost by rewriting it.  kv_check
 * says the next open cuts it, strict refuses, read-only leaves it, and the
 * default open rewrites it and works. */
static void file_whose_creation_was_cut_short_is_rewritten(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_db *db = OPEN(dir, NULL);
    CLOSE(db);
    const char *file = bad_only_file(dir);
    CHECK(truncate(file, 5) == 0);
    testdb_lines lines = {0};
    CHECK_KV(kv_check(dir, testdb_lines_add, &lines), KV_CHECK_WILL_CUT);
    /* kv.h: the bytes the next open cuts are named by a line
     * "FILE: offset X: torn ...". */
    CHECK_MSG(strstr(lines.text, ": offset 0: torn") != NULL, "kv_check names the torn tail "
              "(\"FILE: offset 0: torn ...\"): %s", lines.text);
    testdb_lines_free(&lines);
    kv_options opt;
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    CHECK_KV(kv_open(dir, &opt, &db), KV_ERR_CORRUPT);
    kv_options_init(&opt);
    opt.read_only = 1;
    db = OPEN(dir, &opt);
    ABSENT(db, S("a"));
    CHECK_EQ(bad_stat(db, "open.torn_tail_bytes_found"), 5);
    CLOSE(db);
    CHECK_EQ(bad_file_size(file), 5);
    db = OPEN(dir, NULL);
    PUT(db, S("a"), S("1"));
    CLOSE(db);
    CHECK_KV(kv_check(dir, NULL, NULL), KV_OK);
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    db = OPEN(dir, &opt);
    EXPECT(db, S("a"), S("1"));
    CLOSE(db);
}

/* The file that grows with a put, after the history of b. */
static const char *bad_growing_file(bad_db *b, const char *key, const char *val)
{
    kv_db *db = OPEN(b->dir, NULL);
    PUT(db, key, strlen(key), val, strlen(val));
    CLOSE(db);
    const char *grown = NULL;
    for (int i = 0; i < b->nfiles; i++)
        if (bad_file_size(bad_path(b, &b->files[i])) > b->files[i].size)
            grown = bad_path(b, &b->files[i]);
    CHECK_MSG(grown != NULL, "no file grew with a put");
    return grown;
}

/* Records were written after the header, so a crash cannot have damaged
 * it: a file with records behind a wrong header is damage, never a torn
 * tail at offset 0 that would cut all of them. */
static void file_with_records_is_never_cut_at_its_header(void)
{
    bad_db b;
    bad_setup(&b, 0);
    const char *file = bad_growing_file(&b, "h", "v");
    FILE *f = fopen(file, "r+b");
    CHECK(f != NULL);
    static const char zeros[16];
    CHECK(fwrite(zeros, 1, sizeof zeros, f) == sizeof zeros);
    CHECK(fclose(f) == 0);
    kv_db *db = NULL;
    CHECK_KV(kv_open(b.dir, NULL, &db), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), strrchr(file, '/') + 1) != NULL, "%s", kv_errmsg());
    CHECK_KV(kv_check(b.dir, NULL, NULL), KV_ERR_CORRUPT);
    bad_free(&b);
}

/* A byte flipped in the last record, a whole record, is damage: a torn
 * write is cut short by the end of the file, this one is not.  kv_check and
 * kv_open both say so, instead of the next write dropping an acknowledged
 * record. */
static void flipped_byte_in_the_last_record_is_damage_not_a_torn_tail(void)
{
    bad_db b;
    bad_setup(&b, 0);
    static const char value[] = "the-last-value-written-0123456789";
    const char *file = bad_growing_file(&b, "last", value);
    size_t n = 0;
    unsigned char *data = bad_read_file(file, &n);
    unsigned char *at = memmem(data, n, value, sizeof value - 1);
    CHECK_MSG(at != NULL, "the value is not in %s", file);
    at[10] ^= 0x01;
    bad_write_file(file, data, n);
    free(data);
    testdb_lines lines = {0};
    CHECK_KV(kv_check(b.dir, testdb_lines_add, &lines), KV_ERR_CORRUPT);
    testdb_lines_free(&lines);
    kv_db *db = NULL;
    CHECK_KV(kv_open(b.dir, NULL, &db), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), strrchr(file, '/') + 1) != NULL, "%s", kv_errmsg());
    CHECK_EQ(bad_file_size(file), n); /* nothing cut */
    bad_free(&b);
}

static const harness_test tests[] = {
    HARNESS_TEST(truncated_file_never_invents_values),
    HARNESS_TEST(truncated_file_never_invents_values_in_small_segments),
    HARNESS_TEST(flipped_byte_is_caught_or_loses_at_most_last_write),
    HARNESS_TEST(flipped_byte_is_caught_or_loses_at_most_last_write_in_small_segments),
    HARNESS_TEST(appended_garbage_is_cut_or_corrupt),
    HARNESS_TEST(appended_garbage_is_cut_or_corrupt_in_small_segments),
    HARNESS_TEST(check_reports_damage_naming_the_file),
    HARNESS_TEST(check_reports_damage_naming_the_file_in_small_segments),
    HARNESS_TEST(appended_megabytes_are_judged_in_bounded_time),
    HARNESS_TEST(appended_sparse_zeros_are_judged_in_bounded_time),
    HARNESS_TEST(file_whose_creation_was_cut_short_is_rewritten),
    HARNESS_TEST(file_with_records_is_never_cut_at_its_header),
    HARNESS_TEST(flipped_byte_in_the_last_record_is_damage_not_a_torn_tail),
    HARNESS_TEST(strict_recovery_refuses_torn_tail),
    HARNESS_TEST(read_only_leaves_torn_tail_in_place),
    HARNESS_TEST(recover_drops_torn_tail),
};
const harness_suite badfile_suite = HARNESS_SUITE("badfile", tests);
