/*
 * manifest_test_util.c: the helpers of manifest_test_util.h.
 */
#include "manifest_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "file_header.h"
#include "internal_key.h"
#include "manifest.h"
#include "version_edit.h"
#include "wal_writer.h"

size_t mt_ikey(uint8_t *out, const char *user, uint64_t seq)
{
    size_t n = strlen(user);
    ikey_encode(out, user, n, seq, IKEY_PUT);
    return n + IKEY_TRAILER_SIZE;
}

void mt_add(version_edit *e, int level, uint64_t number, const char *lo, const char *hi)
{
    uint8_t s[300], l[300];
    size_t sn = mt_ikey(s, lo, 9), ln = mt_ikey(l, hi, 1);
    CHECK_KV(version_edit_add_file(e, level, number, 1000 * number, number, s, sn, l, ln),
             KV_OK);
}

void mt_counters(version_edit *e, uint64_t log_seq, uint64_t next_file, uint64_t last_seq)
{
    version_edit_set_log_seq(e, log_seq);
    version_edit_set_next_file(e, next_file);
    version_edit_set_last_seq(e, last_seq);
}

void mt_pointer(version_edit *e, int level, const char *key)
{
    uint8_t k[300];
    size_t n = mt_ikey(k, key, 5);
    CHECK_KV(version_edit_set_pointer(e, level, k, n), KV_OK);
}

uint8_t *mt_encode(const version_edit *e, size_t *len)
{
    uint8_t *p = NULL;
    CHECK_KV(version_edit_encode(e, &p, len), KV_OK);
    return p;
}

uint8_t *mt_manifest_bytes(const version_edit *const *edits, size_t n, size_t *len,
                           uint64_t *ends)
{
    size_t cap = MANIFEST_START;
    uint8_t **recs = calloc(n + 1, sizeof *recs);
    size_t *lens = calloc(n + 1, sizeof *lens);
    CHECK(recs != NULL && lens != NULL);
    for (size_t i = 0; i < n; i++) {
        recs[i] = mt_encode(edits[i], &lens[i]);
        cap += wal_framed_max(lens[i]);
    }
    uint8_t *out = malloc(cap);
    CHECK(out != NULL);
    file_header_encode(out, FILE_MAGIC_MAN06, MANIFEST_VERSION);
    size_t at = MANIFEST_START;
    for (size_t i = 0; i < n; i++) {
        at += wal_frame(out + at, at, recs[i], lens[i]);
        if (ends != NULL)
            ends[i] = at;
        free(recs[i]);
    }
    free(recs);
    free(lens);
    *len = at;
    return out;
}

static void mt_text_line(void *ctx, const char *line)
{
    mt_text *t = ctx;
    int n = snprintf(t->s + t->len, sizeof t->s - t->len, "%s\n", line);
    CHECK(n >= 0 && (size_t)n < sizeof t->s - t->len);
    t->len += (size_t)n;
}

void mt_edit_text(const version_edit *e, mt_text *out)
{
    out->len = 0;
    out->s[0] = '\0';
    CHECK_KV(version_edit_describe(e, "", mt_text_line, out), KV_OK);
}

void mt_state_text(const manifest_state *st, mt_text *out)
{
    version_edit e;
    CHECK_KV(manifest_state_snapshot(st, &e), KV_OK);
    mt_edit_text(&e, out);
    version_edit_free(&e);
}

uint8_t *mt_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)size + 1);
    CHECK(p != NULL);
    CHECK(fread(p, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    *n = (size_t)size;
    return p;
}

void mt_write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(p, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

/* A history: a new database's snapshot, two flushes, a compaction of
 * both into L1, a trivial move of one L1 table to L2. */
void mt_history(version_edit h[MT_HISTORY])
{
    for (int i = 0; i < MT_HISTORY; i++)
        version_edit_init(&h[i]);
    mt_counters(&h[0], 0, 2, 0);
    mt_add(&h[1], 0, 2, "b", "m");
    mt_counters(&h[1], 10, 3, 10);
    mt_add(&h[2], 0, 3, "a", "k");
    mt_counters(&h[2], 20, 4, 20);
    CHECK_KV(version_edit_remove_file(&h[3], 0, 2), KV_OK);
    CHECK_KV(version_edit_remove_file(&h[3], 0, 3), KV_OK);
    mt_add(&h[3], 1, 5, "g", "m");
    mt_add(&h[3], 1, 4, "a", "f");
    mt_pointer(&h[3], 0, "k");
    version_edit_set_next_file(&h[3], 6);
    CHECK_KV(version_edit_remove_file(&h[4], 1, 5), KV_OK);
    mt_add(&h[4], 2, 5, "g", "m");
}
const char *const mt_history_text =
    "log_seq 20\nnext_file 6\nlast_seq 20\npointer L0 \"k\"@5 put\n"
    "added L1 #4 4000 bytes 4 entries [\"a\"@9 put .. \"f\"@1 put]\n"
    "added L2 #5 5000 bytes 5 entries [\"g\"@9 put .. \"m\"@1 put]\n";

void mt_history_free(version_edit h[MT_HISTORY])
{
    for (int i = 0; i < MT_HISTORY; i++)
        version_edit_free(&h[i]);
}

const version_edit *const *mt_edit_ptrs(const version_edit *h, size_t n)
{
    static const version_edit *p[64];
    CHECK(n <= 64);
    for (size_t i = 0; i < n; i++)
        p[i] = &h[i];
    return p;
}

/* The state the bytes [0, n) replay to (KV_OK required) as text. */
void mt_replayed_text(const uint8_t *p, size_t n, mt_text *t)
{
    manifest_state st;
    uint8_t *copy = malloc(n);
    CHECK(copy != NULL);
    memcpy(copy, p, n);
    CHECK_KV(manifest_recover_mem(copy, n, "prefix", 0, &st), KV_OK);
    mt_state_text(&st, t);
    manifest_state_free(&st);
    free(copy);
}

/* The state's text after recovering dir (KV_OK required). */
void mt_recovered_text(const char *dir, mt_text *t)
{
    manifest_state st;
    CHECK_KV(manifest_recover(dir, 0, &st), KV_OK);
    mt_state_text(&st, t);
    manifest_state_free(&st);
}

manifest_writer *mt_write_history(const char *dir, const version_edit *h, size_t n)
{
    manifest_writer *w = NULL;
    CHECK_KV(manifest_create(dir, 1, &h[0], &w, NULL), KV_OK);
    for (size_t i = 1; i < n; i++)
        CHECK_KV(manifest_append(w, &h[i]), KV_OK);
    return w;
}
