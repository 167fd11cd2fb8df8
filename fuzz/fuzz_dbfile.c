/*
 * fuzz_dbfile.c: drive a database built from fuzzer bytes (see fuzz_dbfile.h).
 */
#include "fuzz_dbfile.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kv.h"

static char fuzz_dir[64];
static char fuzz_identity[128];   /* the stage's IDENTITY file, as kv_open wrote it */
static size_t fuzz_identity_len;

static void fuzz_dir_empty(void)
{
    DIR *d = opendir(fuzz_dir);
    struct dirent *e;
    char path[400];
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", fuzz_dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
}

static void fuzz_dir_remove(void)
{
    fuzz_dir_empty();
    rmdir(fuzz_dir);
}

static void fuzz_ignore_line(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

static void fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz invariant broken: %s (%s)\n", what, kv_errmsg());
        abort();
    }
}

/* Every key the iterator yields must read back, through kv_get, as the
 * iterator's value; keys must come in strictly increasing order. */
static void fuzz_walk(kv_db *db)
{
    kv_iter *it = NULL;
    if (kv_iter_new(db, &it) != KV_OK)
        return;
    unsigned char *prev = NULL;
    size_t prev_len = 0;
    for (kv_iter_seek_first(it); kv_iter_valid(it); kv_iter_next(it)) {
        size_t klen, vlen;
        const void *key = kv_iter_key(it, &klen);
        const void *val = kv_iter_value(it, &vlen);
        if (val == NULL)
            break;
        if (prev != NULL) {
            int c = memcmp(prev, key, prev_len < klen ? prev_len : klen);
            fuzz_check(c < 0 || (c == 0 && prev_len < klen), "iterator order");
        }
        free(prev);
        prev = malloc(klen);
        fuzz_check(prev != NULL, "malloc");
        memcpy(prev, key, klen);
        prev_len = klen;
        void *got = NULL;
        size_t got_len = 0;
        int rc = kv_get(db, key, klen, &got, &got_len);
        if (rc == KV_OK)
            fuzz_check(got_len == vlen && memcmp(got, val, vlen) == 0,
                       "kv_get differs from the iterator");
        else
            fuzz_check(rc < 0, "kv_get says not found for a key the iterator has");
        kv_free(got);
    }
    free(prev);
    kv_iter_free(it);
}

void fuzz_dbfile_run(const char *name, const uint8_t *data, size_t size)
{
    if (fuzz_dir[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/kvfuzz.XXXXXX",
                 tmp && strlen(tmp) < 40 ? tmp : "/tmp");
        fuzz_check(mkdtemp(fuzz_dir) != NULL, "mkdtemp");
        atexit(fuzz_dir_remove);
        /* The directory must say which stage wrote it, or every stage
         * refuses it: keep what a first open writes, for every input. */
        kv_db *db = NULL;
        fuzz_check(kv_open(fuzz_dir, NULL, &db) == KV_OK && kv_close(db) == KV_OK,
                   "create an empty database");
        char id_path[400];
        snprintf(id_path, sizeof id_path, "%s/IDENTITY", fuzz_dir);
        FILE *id = fopen(id_path, "rb");
        fuzz_check(id != NULL, "read IDENTITY");
        fuzz_identity_len = fread(fuzz_identity, 1, sizeof fuzz_identity, id);
        fclose(id);
        fuzz_dir_empty();
    }
    char path[400];
    snprintf(path, sizeof path, "%s/IDENTITY", fuzz_dir);
    FILE *id = fopen(path, "wb");
    fuzz_check(id != NULL && fwrite(fuzz_identity, 1, fuzz_identity_len, id) ==
                   fuzz_identity_len, "write IDENTITY");
    fclose(id);
    snprintf(path, sizeof path, "%s/%s", fuzz_dir, name);
    FILE *f = fopen(path, "wb");
    fuzz_check(f != NULL, "create the input file");
    fuzz_check(size == 0 || fwrite(data, 1, size, f) == size, "write the input file");
    fclose(f);

    kv_check(fuzz_dir, fuzz_ignore_line, NULL);
    kv_dump(fuzz_dir, fuzz_ignore_line, NULL);

    kv_options opt;
    kv_options_init(&opt);
    opt.read_only = 1;
    kv_db *db = NULL;
    if (kv_open(fuzz_dir, &opt, &db) == KV_OK) {
        fuzz_walk(db);
        fuzz_check(kv_close(db) == KV_OK, "close read-only");
    }
    kv_options_init(&opt);
    opt.strict_recovery = 1;
    if (kv_open(fuzz_dir, &opt, &db) == KV_OK)
        kv_close(db);
    if (kv_open(fuzz_dir, NULL, &db) == KV_OK) {
        fuzz_walk(db);
        int rc = kv_put(db, "fuzz", 4, "value", 5);
        fuzz_check(rc == KV_OK, "put after a successful open");
        void *got = NULL;
        size_t got_len = 0;
        fuzz_check(kv_get(db, "fuzz", 4, &got, &got_len) == KV_OK && got_len == 5 &&
                       memcmp(got, "value", 5) == 0, "read back the put");
        kv_free(got);
        fuzz_check(kv_close(db) == KV_OK, "close");
        /* What was cut or kept at the first open must open again. */
        fuzz_check(kv_open(fuzz_dir, NULL, &db) == KV_OK, "reopen after a successful open");
        kv_close(db);
    }
    fuzz_dir_empty();
}
