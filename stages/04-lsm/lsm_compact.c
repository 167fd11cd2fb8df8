/*
 * lsm_compact.c: kv_compact's part for stage 04's table set (table_set.h,
 * lsm_tables.h): once the engine has flushed the memtable (lsm_open.c), every
 * table is merged into one, without the versions no reader can see any more.
 *
 * The merge walks every version of every key, newest first within a key
 * (internal_key.h), and drops what no reader can read any more: the rule
 * is drop_rule.h's (C1, a newer version at or below the oldest snapshot;
 * C2, a tombstone at or below it with nothing older below, which always
 * holds here: this merge holds every table, and memtables hold only newer
 * writes).  Iterators hold their own references on the old tables, so
 * they never need what the merge drops.
 *
 * The output is named after the union of its inputs' ranges, lo-hi: it
 * holds what they held, so a crash after its rename and before the inputs
 * are removed leaves inputs that kv_open knows to be obsolete (lsm_files.h,
 * F1).  If every entry would be dropped, the newest tombstone is kept, so
 * the tables still say how far the logs were flushed (F3).  The inputs'
 * files are removed when the last version holding them goes (a get or an
 * iterator may still be reading one: lsm_tables.h).  A flush that finishes
 * meanwhile adds a newer table, which the install keeps ahead of the
 * output (F2).
 *
 * Cost: the merge reads every table once and writes the live data once;
 * the table builder keeps 8 bytes per output entry in memory until it
 * finishes (its offset array), 80 MB for ten million keys.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "drop_rule.h"
#include "error.h"
#include "lsm_files.h"
#include "lsm_tables.h"
#include "merge_iter.h"

typedef struct compact_state {
    uint64_t oldest;            /* the oldest live snapshot (drop_rule.h's s) */
    drop_rule rule;
    uint8_t *last_tomb;         /* the newest dropped tombstone, kept if
                                   nothing else is */
    size_t last_tomb_len, tomb_cap;
    uint64_t dropped;
} compact_state;

static int compact_keep_copy(uint8_t **dst, size_t *cap, const uint8_t *p, size_t n)
{
    if (n > *cap) {
        uint8_t *grown = realloc(*dst, n);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "kv_compact: out of memory for a key");
        *dst = grown;
        *cap = n;
    }
    memcpy(*dst, p, n);
    return KV_OK;
}

/* C2's condition here: every table is in the merge, nothing lies below. */
static int compact_nothing_below(void *ctx, const uint8_t *k, size_t len)
{
    (void)ctx, (void)k, (void)len;
    return 1;
}

/* Whether the entry is dropped (drop_rule.h); KV_OK or KV_ERR_NOMEM. */
static int compact_judge(compact_state *c, const uint8_t *ikey, size_t len, int *drop)
{
    uint64_t from = DROP_NEVER;
    int rc = drop_rule_next(&c->rule, ikey, len, compact_nothing_below, NULL, &from);
    *drop = rc == KV_OK && from <= c->oldest;
    uint64_t seq = ikey_seq(ikey, len);
    if (*drop && ikey_type_of(ikey, len) == IKEY_DELETE &&
        (c->last_tomb_len == 0 || ikey_seq(c->last_tomb, c->last_tomb_len) < seq)) {
        rc = compact_keep_copy(&c->last_tomb, &c->tomb_cap, ikey, len);
        c->last_tomb_len = len;
    }
    c->dropped += (uint64_t)*drop;
    return rc;
}

/* Merges the tables in[0..n) (newest first) into o. */
static int compact_merge(lsm_table *const *in, size_t n, lsm_table_out *o,
                         compact_state *c)
{
    iter **children = malloc(n * sizeof *children);
    if (children == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_compact: out of memory");
    size_t k = 0;
    int rc = KV_OK;
    for (; rc == KV_OK && k < n; k++)
        if ((rc = table_iter_new(in[k]->t, &children[k])) != KV_OK)
            break;
    iter *m = NULL;
    if (rc != KV_OK) {
        while (k > 0)
            iter_free(children[--k]);
    } else {
        rc = merge_iter_new(children, n, &m);
    }
    free(children);
    if (rc != KV_OK)
        return rc;
    for (iter_seek_first(m); rc == KV_OK && iter_valid(m); iter_next(m)) {
        int drop = 0;
        if ((rc = compact_judge(c, m->key, m->key_len, &drop)) == KV_OK && !drop)
            rc = table_builder_add(o->b, m->key, m->key_len, m->value, m->value_len);
    }
    if (rc == KV_OK)
        rc = iter_status(m);
    if (rc == KV_OK && table_builder_entries(o->b) == 0 && c->last_tomb_len > 0)
        rc = table_builder_add(o->b, c->last_tomb, c->last_tomb_len, NULL, 0);
    iter_free(m);
    return rc;
}

/* The input whose name the output takes (one table merged into itself)
 * keeps reading its own file, for readers still at an older version
 * (table_retire).  KV_OK if there is none. */
static int compact_retire_replaced(lsm_table *const *in, size_t n, uint64_t lo, uint64_t hi)
{
    for (size_t i = 0; i < n; i++)
        if (in[i]->lo == lo && in[i]->hi == hi)
            return table_retire(in[i]->t);
    return KV_OK;
}

static int compact_run(table_set *ts, lsm_table *const *in, size_t n)
{
    kv_db *db = ts->db;
    uint64_t t0 = lsm_now_us(), lo = in[n - 1]->lo, hi = in[0]->hi, bytes_in = 0;
    for (size_t i = 0; i < n; i++)
        bytes_in += table_file_bytes(in[i]->t);
    compact_state c = {.oldest = lsm_oldest_snapshot(db)};
    lsm_table_out o;
    int rc = lsm_table_out_begin(db, lo, hi, &o);
    if (rc == KV_OK)
        rc = compact_merge(in, n, &o, &c);
    drop_rule_free(&c.rule);
    free(c.last_tomb);
    if (rc == KV_OK)
        rc = compact_retire_replaced(in, n, lo, hi);
    lsm_table *t = NULL;
    table_meta meta = {0};
    if (rc == KV_OK)
        rc = lsm_table_out_finish(db, &o, "kv_compact", &t, &meta);
    else
        lsm_table_out_abandon(&o);
    if (rc != KV_OK)
        return rc;
    /* The inputs' files go with the last version that holds them (a
     * reader may still be at one): lsm_tables_install dooms them. */
    pthread_mutex_lock(&db->write_lock);
    rc = lsm_tables_install(ts, in, n, t, 0);
    pthread_mutex_unlock(&db->write_lock);
    if (rc != KV_OK) {
        lsm_table_unref(t); /* the inputs stay; the output is obsolete-proof (F1) */
        return rc;
    }
    __atomic_add_fetch(&db->compactions, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->compact_bytes_in, bytes_in, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->compact_bytes_out, meta.file_bytes, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->compact_dropped, c.dropped, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->compact_us, lsm_now_us() - t0, __ATOMIC_RELAXED);
    /* (The inputs' files went with the old version, unless a reader holds
     * it: a removal that failed is said here, or by a later call.) */
    return lsm_tables_take_removal_error(ts, "kv_compact");
}

int table_set_compact(table_set *ts)
{
    kv_db *db = ts->db;
    /* The version's references keep the inputs open until the end. */
    pthread_mutex_lock(&db->write_lock);
    table_set_version *v = table_set_current(ts);
    pthread_mutex_unlock(&db->write_lock);
    int rc = v->n > 0 ? compact_run(ts, v->tables, v->n) : KV_OK;
    table_set_version_unref(v);
    return rc;
}
