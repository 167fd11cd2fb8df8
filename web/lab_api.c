/*
 * lab_api.c: the lab page's door into one stage's engine (docs/lab.md),
 * compiled with it to WebAssembly: build/wasm/lab/kv-<stage>.js exports
 * these functions, and web/src/engine.js calls them.  Every call goes
 * through include/kv.h and nothing else.
 *
 * Interface rules:
 *   - One database is open at a time (the page opens one per stage), in
 *     the directory lab_open names.
 *   - Keys and values are bytes, passed as a pointer into the module's
 *     heap and a length (the page copies them there with malloc): any
 *     bytes, NUL included, and any size the engine takes, since nothing
 *     goes through the stack.
 *   - A call returns a kv.h status (or an id, >= 1); what it has to say (a
 *     value, lines of kv_inspect, kv_stats) is left in one buffer, read
 *     with lab_text() and lab_text_len(), valid until the next call.
 *     lab_errmsg() is kv_errmsg(), or the page's own reason, after a
 *     failure.  lab_text_failed() is 1 if the buffer could not grow and
 *     the text is cut (the status still says what the engine did).
 *   - Up to LAB_TXNS transactions are live at once, by slot (the page's
 *     sessions a, b, ...), and up to LAB_SNAPSHOTS snapshots, by id.
 *     lab_close ends them all first, as kv_close requires.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

#define LAB_SNAPSHOTS 16
#define LAB_TXNS 4

static kv_db *lab_db;
static const kv_snapshot *lab_snaps[LAB_SNAPSHOTS + 1]; /* by id, 1.. */
static kv_txn *lab_txns[LAB_TXNS];
static char *lab_buf;
static size_t lab_len, lab_cap;
static int lab_cut;
static char lab_message[512];

static void lab_clear(void)
{
    lab_len = 0;
    lab_cut = 0;
    if (lab_buf != NULL)
        lab_buf[0] = '\0';
}

static void lab_append(const void *p, size_t n)
{
    if (lab_cut)
        return;
    if (lab_len + n + 1 > lab_cap) {
        size_t cap = lab_cap ? lab_cap : 4096;
        while (cap < lab_len + n + 1)
            cap *= 2;
        char *grown = realloc(lab_buf, cap);
        if (grown == NULL) {
            lab_cut = 1; /* the text is cut; the status still says what happened */
            return;
        }
        lab_buf = grown;
        lab_cap = cap;
    }
    if (n > 0)
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

/* A length as 4 bytes, little-endian: the framing of lab_scan's pairs. */
static void lab_append_u32(size_t n)
{
    uint8_t b[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
    lab_append(b, 4);
}

const char *lab_text(void) { return lab_buf ? lab_buf : ""; }
size_t lab_text_len(void) { return lab_len; }
int lab_text_failed(void) { return lab_cut; }
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

/* Sets one option from its name and value; 0, or -1 (with a reason in
 * why) if the name is unknown or the value cannot be that option's.  The
 * engine judges the range of a value it takes (kv_open). */
static int lab_option(kv_options *opt, const char *name, long long v, char *why, size_t cap)
{
    static const char *const sizes[] = {"segment_bytes", "memtable_bytes", "block_bytes",
                                        "cache_bytes", "l1_bytes", "table_bytes",
                                        "value_threshold"};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (strcmp(name, sizes[i]) == 0 && v < 0) {
            snprintf(why, cap, "option %s = %lld: a size is a number of bytes, >= 0", name, v);
            return -1;
        }
    }
    if (v > INT32_MAX || v < INT32_MIN) {
        snprintf(why, cap, "option %s = %lld is out of range", name, v);
        return -1;
    }
    if (strcmp(name, "segment_bytes") == 0)
        opt->segment_bytes = (size_t)v;
    else if (strcmp(name, "memtable_bytes") == 0)
        opt->memtable_bytes = (size_t)v;
    else if (strcmp(name, "block_bytes") == 0)
        opt->block_bytes = (size_t)v;
    else if (strcmp(name, "bloom_bits_per_key") == 0)
        opt->bloom_bits_per_key = (int)v;
    else if (strcmp(name, "cache_bytes") == 0)
        opt->cache_bytes = (size_t)v;
    else if (strcmp(name, "l1_bytes") == 0)
        opt->l1_bytes = (size_t)v;
    else if (strcmp(name, "level_ratio") == 0)
        opt->level_ratio = (int)v;
    else if (strcmp(name, "table_bytes") == 0)
        opt->table_bytes = (size_t)v;
    else if (strcmp(name, "sync") == 0)
        opt->sync = (int)v;
    else if (strcmp(name, "value_threshold") == 0)
        opt->value_threshold = (size_t)v;
    else if (strcmp(name, "value_gc_percent") == 0)
        opt->value_gc_percent = (int)v;
    else if (strcmp(name, "record_cache_percent") == 0)
        opt->record_cache_percent = (int)v;
    else {
        snprintf(why, cap, "not an option: %s (names as kv_options's)", name);
        return -1;
    }
    return 0;
}

/* options: "name=value" words separated by spaces, e.g.
 * "segment_bytes=4096 bloom_bits_per_key=-1"; values are integers. */
static int lab_parse_options(const char *options, kv_options *opt)
{
    kv_options_init(opt);
    char *copy = strdup(options ? options : "");
    if (copy == NULL)
        return lab_status(KV_ERR_NOMEM, "out of memory");
    int rc = KV_OK;
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w && rc == KV_OK;
         w = strtok_r(NULL, " ", &save)) {
        char why[200];
        char *eq = strchr(w, '=');
        char *end = NULL;
        long long v = eq ? strtoll(eq + 1, &end, 10) : 0;
        if (eq)
            *eq = '\0';
        if (eq == NULL || end == eq + 1 || *end != '\0') {
            snprintf(why, sizeof why, "not an option: %s (name=integer)", w);
            rc = lab_status(KV_ERR_INVALID, why);
        } else if (lab_option(opt, w, v, why, sizeof why) != 0) {
            rc = lab_status(KV_ERR_INVALID, why);
        }
    }
    free(copy);
    return rc;
}

int lab_open(const char *dir, const char *options)
{
    lab_clear();
    if (lab_db != NULL)
        return lab_status(KV_ERR_INVALID, "a database is already open: close it first");
    kv_options opt;
    int rc = lab_parse_options(options, &opt);
    return rc != KV_OK ? rc : lab_status(kv_open(dir, &opt, &lab_db), NULL);
}

/* Whether this stage's kv_open takes these options: a database opened in
 * dir (an empty scratch directory) and closed again.  The open database,
 * if any, is not touched. */
int lab_probe(const char *dir, const char *options)
{
    lab_clear();
    kv_options opt;
    int rc = lab_parse_options(options, &opt);
    if (rc != KV_OK)
        return rc;
    kv_db *db = NULL;
    if ((rc = kv_open(dir, &opt, &db)) != KV_OK)
        return lab_status(rc, NULL);
    return lab_status(kv_close(db), NULL);
}

/* Ends the live transactions (aborted) and snapshots, then kv_close.
 * The text says how many transactions were aborted. */
int lab_close(void)
{
    lab_clear();
    int aborted = 0;
    for (int i = 0; i < LAB_TXNS; i++) {
        if (lab_txns[i] != NULL) {
            kv_txn_abort(lab_txns[i]);
            lab_txns[i] = NULL;
            aborted++;
        }
    }
    for (int i = 1; i <= LAB_SNAPSHOTS; i++) {
        kv_snapshot_free(lab_db, lab_snaps[i]);
        lab_snaps[i] = NULL;
    }
    int rc = kv_close(lab_db);
    lab_db = NULL;
    char note[64];
    snprintf(note, sizeof note, "%d", aborted);
    lab_append(note, strlen(note));
    return lab_status(rc, NULL);
}

int lab_put(const void *key, size_t klen, const void *val, size_t vlen)
{
    lab_clear();
    int rc = lab_need_db();
    return rc ? rc : lab_status(kv_put(lab_db, key, klen, val, vlen), NULL);
}

int lab_del(const void *key, size_t klen)
{
    lab_clear();
    int rc = lab_need_db();
    return rc ? rc : lab_status(kv_delete(lab_db, key, klen), NULL);
}

static int lab_value(int rc, void *val, size_t vlen)
{
    if (rc == KV_OK)
        lab_append(val, vlen);
    kv_free(val);
    return lab_status(rc, NULL);
}

int lab_get(const void *key, size_t klen)
{
    lab_clear();
    int rc = lab_need_db();
    if (rc != KV_OK)
        return rc;
    void *val = NULL;
    size_t vlen = 0;
    rc = kv_get(lab_db, key, klen, &val, &vlen);
    return lab_value(rc, val, vlen);
}

/* Up to limit pairs from the first key >= from (flen 0: the first key),
 * each as klen, vlen (4 bytes each, little-endian), key, value. */
int lab_scan(const void *from, size_t flen, int limit)
{
    lab_clear();
    int rc = lab_need_db();
    if (rc != KV_OK)
        return rc;
    kv_iter *it = NULL;
    if ((rc = kv_iter_new(lab_db, &it)) != KV_OK)
        return lab_status(rc, NULL);
    if (flen > 0)
        kv_iter_seek(it, from, flen);
    else
        kv_iter_seek_first(it);
    for (int n = 0; n < limit && kv_iter_valid(it); n++, kv_iter_next(it)) {
        size_t kl = 0, vl = 0;
        const void *k = kv_iter_key(it, &kl);
        const void *v = kv_iter_value(it, &vl);
        if (k == NULL || v == NULL)
            break;
        lab_append_u32(kl);
        lab_append_u32(vl);
        lab_append(k, kl);
        lab_append(v, vl);
    }
    rc = kv_iter_status(it);
    kv_iter_free(it);
    return lab_status(rc, NULL);
}

/* ops: a batch, framed as the page writes it: for each op one byte ('p'
 * put, 'd' delete), klen and vlen (4 bytes each, little-endian), the key,
 * the value (none for a delete); applied as one kv_write. */
int lab_batch(const uint8_t *ops, size_t len)
{
    lab_clear();
    int rc = lab_need_db();
    if (rc != KV_OK)
        return rc;
    kv_batch *b = NULL;
    if ((rc = kv_batch_new(&b)) != KV_OK)
        return lab_status(rc, NULL);
    size_t at = 0;
    while (rc == KV_OK && at < len) {
        if (len - at < 9) {
            rc = lab_status(KV_ERR_INVALID, "a batch op is cut short");
            break;
        }
        uint8_t op = ops[at];
        size_t kl = (size_t)ops[at + 1] | (size_t)ops[at + 2] << 8 | (size_t)ops[at + 3] << 16 |
                    (size_t)ops[at + 4] << 24;
        size_t vl = (size_t)ops[at + 5] | (size_t)ops[at + 6] << 8 | (size_t)ops[at + 7] << 16 |
                    (size_t)ops[at + 8] << 24;
        at += 9;
        if (kl > len - at || vl > len - at - kl) {
            rc = lab_status(KV_ERR_INVALID, "a batch op is longer than the batch");
            break;
        }
        if (op == 'p')
            rc = lab_status(kv_batch_put(b, ops + at, kl, ops + at + kl, vl), NULL);
        else if (op == 'd')
            rc = lab_status(kv_batch_delete(b, ops + at, kl), NULL);
        else
            rc = lab_status(KV_ERR_INVALID, "a batch op is 'p' (put) or 'd' (delete)");
        at += kl + vl;
    }
    if (rc == KV_OK)
        rc = lab_status(kv_write(lab_db, b), NULL);
    kv_batch_free(b);
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
    return lab_status(KV_ERR_INVALID, "16 snapshots are live: release one first");
}

int lab_get_at(int id, const void *key, size_t klen)
{
    lab_clear();
    if (id < 1 || id > LAB_SNAPSHOTS || lab_snaps[id] == NULL)
        return lab_status(KV_ERR_INVALID, "no such snapshot");
    void *val = NULL;
    size_t vlen = 0;
    int rc = kv_get_at(lab_db, lab_snaps[id], key, klen, &val, &vlen);
    return lab_value(rc, val, vlen);
}

int lab_snapshot_free(int id)
{
    lab_clear();
    if (id < 1 || id > LAB_SNAPSHOTS || lab_snaps[id] == NULL)
        return lab_status(KV_ERR_INVALID, "no such snapshot");
    kv_snapshot_free(lab_db, lab_snaps[id]);
    lab_snaps[id] = NULL;
    return lab_status(KV_OK, NULL);
}

/* ---- transactions, by slot (0 .. LAB_TXNS-1) ---------------------------- */

static int lab_need_txn(int slot)
{
    lab_clear();
    if (slot < 0 || slot >= LAB_TXNS)
        return lab_status(KV_ERR_INVALID, "no such session");
    if (lab_txns[slot] == NULL)
        return lab_status(KV_ERR_INVALID, "this session has no transaction: begin one first");
    return KV_OK;
}

/* isolation: KV_TXN_SNAPSHOT or KV_TXN_SERIALIZABLE. */
int lab_txn_begin(int slot, int isolation)
{
    lab_clear();
    int rc = lab_need_db();
    if (rc != KV_OK)
        return rc;
    if (slot < 0 || slot >= LAB_TXNS)
        return lab_status(KV_ERR_INVALID, "no such session");
    if (lab_txns[slot] != NULL)
        return lab_status(KV_ERR_INVALID, "this session's transaction is live: commit or abort "
                                          "it first");
    return lab_status(kv_txn_begin(lab_db, isolation, &lab_txns[slot]), NULL);
}

int lab_txn_get(int slot, const void *key, size_t klen)
{
    int rc = lab_need_txn(slot);
    if (rc != KV_OK)
        return rc;
    void *val = NULL;
    size_t vlen = 0;
    rc = kv_txn_get(lab_txns[slot], key, klen, &val, &vlen);
    return lab_value(rc, val, vlen);
}

int lab_txn_put(int slot, const void *key, size_t klen, const void *val, size_t vlen)
{
    int rc = lab_need_txn(slot);
    return rc ? rc : lab_status(kv_txn_put(lab_txns[slot], key, klen, val, vlen), NULL);
}

int lab_txn_del(int slot, const void *key, size_t klen)
{
    int rc = lab_need_txn(slot);
    return rc ? rc : lab_status(kv_txn_delete(lab_txns[slot], key, klen), NULL);
}

int lab_txn_check(int slot)
{
    int rc = lab_need_txn(slot);
    return rc ? rc : lab_status(kv_txn_check(lab_txns[slot]), NULL);
}

/* Commit or abort: the slot is free again either way (kv.h). */
int lab_txn_commit(int slot)
{
    int rc = lab_need_txn(slot);
    if (rc != KV_OK)
        return rc;
    rc = kv_txn_commit(lab_txns[slot]);
    lab_txns[slot] = NULL;
    return lab_status(rc, NULL);
}

int lab_txn_abort(int slot)
{
    int rc = lab_need_txn(slot);
    if (rc != KV_OK)
        return rc;
    kv_txn_abort(lab_txns[slot]);
    lab_txns[slot] = NULL;
    return lab_status(KV_OK, NULL);
}

/* ---- the rest of kv.h ------------------------------------------------------- */

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

int lab_inspect_get(const void *key, size_t klen)
{
    lab_clear();
    int rc = lab_need_db();
    return rc ? rc : lab_status(kv_inspect_get(lab_db, key, klen, lab_line, NULL), NULL);
}

/* Keeps only the index's look of a get (stages 02 and 03): where the key
 * hashed and the slot it ends at. */
static void lab_index_look(void *ctx, const char *line)
{
    if (strncmp(line, "look part=index ", 16) == 0)
        lab_line(ctx, line);
}

/* kv_inspect_get of every key, in key order, for a picture of a whole
 * index: of each get, the line of its look in the index ("look
 * part=index ..."), after a line of the page's own, in kv_inspect's grammar,
 * "key n=I key=\"K\"" (the i-th key of the scan, its first 64 bytes
 * quoted as kv_inspect quotes them, then key_len=N if it is longer).  At
 * most limit keys. */
int lab_inspect_every_get(int limit)
{
    lab_clear();
    int rc = lab_need_db();
    if (rc != KV_OK)
        return rc;
    kv_iter *it = NULL;
    if ((rc = kv_iter_new(lab_db, &it)) != KV_OK)
        return lab_status(rc, NULL);
    kv_iter_seek_first(it);
    for (int n = 0; rc == KV_OK && n < limit && kv_iter_valid(it); n++, kv_iter_next(it)) {
        size_t kl = 0;
        const void *k = kv_iter_key(it, &kl);
        char head[40 + 4 * 64];
        int at = snprintf(head, sizeof head, "key n=%d key=\"", n);
        for (size_t i = 0; i < kl && i < 64; i++) {
            unsigned char c = ((const unsigned char *)k)[i];
            if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
                head[at++] = (char)c;
            else
                at += snprintf(head + at, sizeof head - (size_t)at, "\\x%02x", c);
        }
        if (kl > 64)
            snprintf(head + at, sizeof head - (size_t)at, "\" key_len=%zu", kl);
        else
            snprintf(head + at, sizeof head - (size_t)at, "\"");
        lab_line(NULL, head);
        rc = kv_inspect_get(lab_db, k, kl, lab_index_look, NULL);
    }
    if (rc == KV_OK)
        rc = kv_iter_status(it);
    kv_iter_free(it);
    return lab_status(rc, NULL);
}

/* kv_dump of the open database's directory: every record of its files,
 * decoded, as the kv dump command prints them. */
int lab_dump(const char *dir)
{
    lab_clear();
    return lab_status(kv_dump(dir, lab_line, NULL), NULL);
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
