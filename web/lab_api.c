/*
 * lab_api.c: the lab page's door into one stage's engine (docs/lab.md),
 * compiled with it to WebAssembly: build/wasm/lab/kv-<stage>.js exports
 * these functions, and web/src/engine.js calls them.  Every call goes
 * through include/kv.h and nothing else.
 *
 * One database is open at a time (the page opens one per stage).  Keys
 * and values are C strings (the page's console types text); a call
 * returns a kv.h status, and what it has to say (a value, lines of
 * kv_inspect, kv_stats) is left in one text buffer for lab_text(), valid
 * until the next call.  lab_errmsg() is kv_errmsg() after a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

#define LAB_SNAPSHOTS 16

static kv_db *lab_db;
static const kv_snapshot *lab_snaps[LAB_SNAPSHOTS + 1]; /* by id, 1.. */
static char *lab_buf;
static size_t lab_len, lab_cap;
static char lab_message[512];

static void lab_clear(void)
{
    lab_len = 0;
    if (lab_buf != NULL)
        lab_buf[0] = '\0';
}

static void lab_append(const char *p, size_t n)
{
    if (lab_len + n + 1 > lab_cap) {
        size_t cap = lab_cap ? lab_cap : 4096;
        while (cap < lab_len + n + 1)
            cap *= 2;
        char *grown = realloc(lab_buf, cap);
        if (grown == NULL)
            return; /* the text is cut; the status still says what happened */
        lab_buf = grown;
        lab_cap = cap;
    }
    memcpy(lab_buf + lab_len, p, n);
    lab_len += n;
    lab_buf[lab_len] = '\0';
}

static void lab_line(void *ctx, const char *line)
{
    (void)ctx;
    lab_append(line, strlen(line));
    lab_append("\n", 1);
}

/* Sets one option from "name=value"; 0, or -1 if the name is unknown. */
static int lab_option(kv_options *opt, const char *name, long long v)
{
    if (strcmp(name, "segment_bytes") == 0)
        opt->segment_bytes = (size_t)v;
    else if (strcmp(name, "memtable_bytes") == 0)
        opt->memtable_bytes = (size_t)v;
    else if (strcmp(name, "block_bytes") == 0)
        opt->block_bytes = (size_t)v;
    else if (strcmp(name, "bloom_bits_per_key") == 0)
        opt->bloom_bits_per_key = (int)v;
    else if (strcmp(name, "l1_bytes") == 0)
        opt->l1_bytes = (size_t)v;
    else if (strcmp(name, "level_ratio") == 0)
        opt->level_ratio = (int)v;
    else if (strcmp(name, "table_bytes") == 0)
        opt->table_bytes = (size_t)v;
    else if (strcmp(name, "sync") == 0)
        opt->sync = (int)v;
    else
        return -1;
    return 0;
}

const char *lab_text(void) { return lab_buf ? lab_buf : ""; }
const char *lab_errmsg(void) { return lab_message; }
const char *lab_stage(void) { return kv_stage(); }

/* Keeps kv_errmsg() (or msg) for lab_errmsg and returns rc. */
static int lab_status(int rc, const char *msg)
{
    if (rc < 0)
        snprintf(lab_message, sizeof lab_message, "%s", msg ? msg : kv_errmsg());
    else
        lab_message[0] = '\0';
    return rc;
}

static int lab_need_db(void)
{
    return lab_db ? KV_OK : lab_status(KV_ERR_INVALID, "no database is open");
}

/* options: "name=value" words separated by spaces, e.g.
 * "segment_bytes=4096 memtable_bytes=8192". */
int lab_open(const char *dir, const char *options)
{
    lab_clear();
    if (lab_db != NULL)
        return lab_status(KV_ERR_INVALID, "a database is already open: close it first");
    kv_options opt;
    kv_options_init(&opt);
    char *copy = strdup(options ? options : "");
    if (copy == NULL)
        return lab_status(KV_ERR_NOMEM, "out of memory");
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(w, '=');
        char *end = NULL;
        long long v = eq ? strtoll(eq + 1, &end, 10) : 0;
        if (eq)
            *eq = '\0';
        if (eq == NULL || *end != '\0' || v < 0 || lab_option(&opt, w, v) != 0) {
            char msg[200];
            snprintf(msg, sizeof msg, "not an option: %s (name=number, names as kv_options's)", w);
            free(copy);
            return lab_status(KV_ERR_INVALID, msg);
        }
    }
    free(copy);
    return lab_status(kv_open(dir, &opt, &lab_db), NULL);
}

int lab_close(void)
{
    lab_clear();
    for (int i = 1; i <= LAB_SNAPSHOTS; i++) {
        kv_snapshot_free(lab_db, lab_snaps[i]);
        lab_snaps[i] = NULL;
    }
    int rc = kv_close(lab_db);
    lab_db = NULL;
    return lab_status(rc, NULL);
}

int lab_put(const char *key, const char *val)
{
    lab_clear();
    int rc = lab_need_db();
    return rc ? rc : lab_status(kv_put(lab_db, key, strlen(key), val, strlen(val)), NULL);
}

int lab_del(const char *key)
{
    lab_clear();
    int rc = lab_need_db();
    return rc ? rc : lab_status(kv_delete(lab_db, key, strlen(key)), NULL);
}

static int lab_get_in(const kv_snapshot *snap, const char *key)
{
    lab_clear();
    int rc = lab_need_db();
    if (rc != KV_OK)
        return rc;
    void *val = NULL;
    size_t vlen = 0;
    rc = snap ? kv_get_at(lab_db, snap, key, strlen(key), &val, &vlen)
              : kv_get(lab_db, key, strlen(key), &val, &vlen);
    if (rc == KV_OK)
        lab_append(val, vlen);
    kv_free(val);
    return lab_status(rc, NULL);
}

int lab_get(const char *key) { return lab_get_in(NULL, key); }

/* Up to limit pairs from the first key >= from ("" = the first key), as
 * "key\tvalue\n" lines. */
int lab_scan(const char *from, int limit)
{
    lab_clear();
    int rc = lab_need_db();
    if (rc != KV_OK)
        return rc;
    kv_iter *it = NULL;
    if ((rc = kv_iter_new(lab_db, &it)) != KV_OK)
        return lab_status(rc, NULL);
    if (from && *from)
        kv_iter_seek(it, from, strlen(from));
    else
        kv_iter_seek_first(it);
    for (int n = 0; n < limit && kv_iter_valid(it); n++, kv_iter_next(it)) {
        size_t kl = 0, vl = 0;
        const void *k = kv_iter_key(it, &kl);
        const void *v = kv_iter_value(it, &vl);
        if (v == NULL)
            break;
        lab_append(k, kl);
        lab_append("\t", 1);
        lab_append(v, vl);
        lab_append("\n", 1);
    }
    rc = kv_iter_status(it);
    kv_iter_free(it);
    return lab_status(rc, NULL);
}

/* ops: one op a line, "put KEY VALUE" or "del KEY" (KEY without spaces;
 * VALUE the rest of the line), applied as one kv_write. */
int lab_batch(const char *ops)
{
    lab_clear();
    int rc = lab_need_db();
    if (rc != KV_OK)
        return rc;
    kv_batch *b = NULL;
    char *copy = strdup(ops);
    if (copy == NULL || (rc = kv_batch_new(&b)) != KV_OK) {
        free(copy);
        return lab_status(rc ? rc : KV_ERR_NOMEM, rc ? NULL : "out of memory");
    }
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); rc == KV_OK && l;
         l = strtok_r(NULL, "\n", &save)) {
        char *key = strchr(l, ' ');
        if (key == NULL) {
            rc = lab_status(KV_ERR_INVALID, "a batch line is \"put KEY VALUE\" or \"del KEY\"");
            break;
        }
        *key++ = '\0';
        char *val = strchr(key, ' ');
        if (val)
            *val++ = '\0';
        if (strcmp(l, "put") == 0 && val)
            rc = lab_status(kv_batch_put(b, key, strlen(key), val, strlen(val)), NULL);
        else if (strcmp(l, "del") == 0 && !val)
            rc = lab_status(kv_batch_delete(b, key, strlen(key)), NULL);
        else
            rc = lab_status(KV_ERR_INVALID, "a batch line is \"put KEY VALUE\" or \"del KEY\"");
    }
    if (rc == KV_OK)
        rc = lab_status(kv_write(lab_db, b), NULL);
    kv_batch_free(b);
    free(copy);
    return rc;
}

/* A snapshot: returns its id (1..16), or an error. */
int lab_snapshot(void)
{
    lab_clear();
    int rc = lab_need_db();
    if (rc != KV_OK)
        return rc;
    for (int i = 1; i <= LAB_SNAPSHOTS; i++) {
        if (lab_snaps[i] == NULL) {
            rc = lab_status(kv_snapshot_new(lab_db, &lab_snaps[i]), NULL);
            return rc == KV_OK ? i : rc;
        }
    }
    return lab_status(KV_ERR_INVALID, "16 snapshots are live: free one first");
}

int lab_get_at(int id, const char *key)
{
    if (id < 1 || id > LAB_SNAPSHOTS || lab_snaps[id] == NULL)
        return lab_status(KV_ERR_INVALID, "no such snapshot");
    return lab_get_in(lab_snaps[id], key);
}

int lab_snapshot_free(int id)
{
    if (id < 1 || id > LAB_SNAPSHOTS || lab_snaps[id] == NULL)
        return lab_status(KV_ERR_INVALID, "no such snapshot");
    kv_snapshot_free(lab_db, lab_snaps[id]);
    lab_snaps[id] = NULL;
    return lab_status(KV_OK, NULL);
}

int lab_compact(void)
{
    lab_clear();
    int rc = lab_need_db();
    return rc ? rc : lab_status(kv_compact(lab_db), NULL);
}

int lab_flush(void)
{
    lab_clear();
    int rc = lab_need_db();
    return rc ? rc : lab_status(kv_flush(lab_db), NULL);
}

int lab_inspect(int detail)
{
    lab_clear();
    int rc = lab_need_db();
    return rc ? rc
              : lab_status(kv_inspect(lab_db, detail ? KV_INSPECT_DETAIL : 0, lab_line, NULL),
                           NULL);
}

int lab_inspect_get(const char *key)
{
    lab_clear();
    int rc = lab_need_db();
    return rc ? rc : lab_status(kv_inspect_get(lab_db, key, strlen(key), lab_line, NULL), NULL);
}

int lab_stats(void)
{
    lab_clear();
    int rc = lab_need_db();
    if (rc != KV_OK)
        return rc;
    char *text = NULL;
    if ((rc = kv_stats(lab_db, &text)) == KV_OK)
        lab_append(text, strlen(text));
    kv_free(text);
    return lab_status(rc, NULL);
}
