/*
 * lsm_test_util.c: helpers for the engine tests (lsm_test_util.h).
 */
#include "lsm_test_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../tests/harness.h"
#include "batch.h"
#include "lsm_files.h"
#include "lsm_wal.h"
#include "table_test_util.h"
#include "wal_marker.h"
#include "wal_writer.h"

const char *lt_dir(void)
{
    return harness_join(harness_tmpdir(), "db");
}

kv_db *lt_open(const char *dir, size_t memtable_bytes, int read_only)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.memtable_bytes = memtable_bytes;
    opt.read_only = read_only;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    return db;
}

const char *lt_empty_db(void)
{
    const char *dir = lt_dir();
    kv_db *db = lt_open(dir, 0, 0);
    CHECK_KV(kv_close(db), KV_OK);
    CHECK(unlink(harness_join(dir, "000000000001.log")) == 0);
    return dir;
}

void lt_put(kv_db *db, const char *key, const char *val)
{
    CHECK_KV(kv_put(db, key, strlen(key), val, strlen(val)), KV_OK);
}

void lt_del(kv_db *db, const char *key)
{
    CHECK_KV(kv_delete(db, key, strlen(key)), KV_OK);
}

void lt_expect(kv_db *db, const char *key, const char *val)
{
    void *got = NULL;
    size_t n = 0;
    int rc = kv_get(db, key, strlen(key), &got, &n);
    harness_context("key %s", key);
    if (val == NULL) {
        CHECK_KV(rc, KV_NOT_FOUND);
        return;
    }
    CHECK_KV(rc, KV_OK);
    CHECK_MEM(got, n, val, strlen(val));
    kv_free(got);
}

double lt_stat_in(const char *text, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "\n%s: ", name);
    const char *at = strstr(text, key);
    CHECK_MSG(at != NULL, "kv_stats has no %s", name);
    return strtod(at + strlen(key), NULL);
}

double lt_stat(kv_db *db, const char *name)
{
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    double v = lt_stat_in(text, name);
    kv_free(text);
    return v;
}

int lt_exists(const char *dir, const char *name)
{
    FILE *f = fopen(harness_join(dir, name), "rb");
    if (f != NULL)
        fclose(f);
    return f != NULL;
}

static int lt_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *lt_files(const char *dir)
{
    char *names[256];
    size_t n = 0;
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "LOCK") == 0 ||
            strcmp(e->d_name, "IDENTITY") == 0 || strcmp(e->d_name, "STATS") == 0)
            continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], lt_name_cmp);
    static char text[8192];
    size_t len = 0;
    text[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", i ? " " : "", names[i]);
        free(names[i]);
    }
    return text;
}

const char *lt_first_table(const char *dir)
{
    static char name[256];
    name[0] = '\0';
    const char *files = lt_files(dir);
    for (const char *p = files; *p != '\0';) {
        size_t n = strcspn(p, " ");
        if (n > 4 && n < sizeof name && memcmp(p + n - 4, ".tbl", 4) == 0) {
            memcpy(name, p, n);
            name[n] = '\0';
            break;
        }
        p += n + (p[n] == ' ');
    }
    CHECK_MSG(name[0] != '\0', "no table in %s: %s", dir, files);
    return name;
}

void lt_copy(const char *dir, const char *name, const char *dir2, const char *name2)
{
    uint8_t *bytes = NULL;
    size_t n = tt_read_file(harness_join(dir, name), &bytes);
    tt_write_file(harness_join(dir2, name2), bytes, n);
    free(bytes);
}

const char *lt_copy_dir(const char *from)
{
    const char *to = lt_dir();
    CHECK(mkdir(to, 0755) == 0);
    DIR *d = opendir(from);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            lt_copy(from, e->d_name, to, e->d_name);
    closedir(d);
    return to;
}

uint64_t lt_write_log(const char *dir, uint64_t start, const lt_op *ops, const size_t *first,
                      const uint64_t *seqs, size_t nrecords, int seal)
{
    lsm_wal *w = NULL;
    CHECK_KV(lsm_wal_create(dir, start, &w), KV_OK);
    for (size_t i = 0; i < nrecords; i++) {
        batch_op bo[16];
        size_t n = first[i + 1] - first[i];
        CHECK(n <= 16);
        for (size_t j = 0; j < n; j++) {
            const lt_op *o = &ops[first[i] + j];
            bo[j] = (batch_op){.is_delete = o->val == NULL, .key = o->key,
                               .klen = strlen(o->key), .val = o->val,
                               .vlen = o->val ? strlen(o->val) : 0};
        }
        uint8_t rec[4096];
        size_t len = (size_t)lsm_wal_record_size(bo, n);
        CHECK(len <= sizeof rec);
        lsm_wal_record_encode(rec, bo, n);
        lsm_wal_record_stamp(rec, len, seqs[i]);
        const uint8_t *p = rec;
        CHECK_KV(wal_append(w->file, w->size, &p, &len, 1, &w->size), KV_OK);
    }
    int final = 0;
    if (seal)
        CHECK_KV(lsm_wal_seal(w, &final), KV_OK);
    uint64_t size = w->size;
    lsm_wal_free(w);
    return size;
}

void lt_collect(void *ctx, const char *line)
{
    lt_lines *l = ctx;
    int n = snprintf(l->text + l->len, sizeof l->text - l->len, "%s\n", line);
    if (n > 0 && l->len + (size_t)n < sizeof l->text)
        l->len += (size_t)n;
}
