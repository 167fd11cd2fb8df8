/*
 * record_lookup.c: table.h's lookups with the record cache
 * (record_cache.h) in front of format v2's: in place of stage 05's
 * table_v2/entry/ lookups.  The context they read (record_ctx.h) is made
 * in table_context/; the format's steps are table_v2_parts.h's, version 2's
 * first steps parted_format.h's.
 *
 * A lookup of user key K at sequence s in table t:
 *   1. K outside t's keys: nothing (as format v2 does it: no entry is
 *      ever kept for a key t does not hold, so asking would only cost).
 *      Checked here, once, and K's bloom_hash computed once: the
 *      sampling, the doorkeeper and the format's filter all take it.
 *   2. The record cache holds (t, K) with a version e <= s (R2): that is
 *      the answer, and t's filter, index and blocks are not asked.
 *   3. Otherwise the format looks K up at the greatest sequence: the
 *      newest version t holds, which is what R1 lets the cache keep.
 *      Kept, and the answer if its sequence is <= s; if not (a snapshot
 *      older than it, or a newer version bypassed in step 2), the format
 *      looks K up again at s, and that answers.
 * A key t does not hold is not kept: a get that reaches t and misses asks
 * the format every time (its filter answers most of them from memory).
 *
 * The format's lookup: steps 2 and 3 of the file's version (version 2:
 * parted_find_block, through its partitions; version 1: format v2's own,
 * table_v2_find_block, the filter and the index it keeps), then the data
 * block (table_v2_get_at).
 *
 * kv_multi_get's two-step lookups (table_batch.h) take step 2's answers
 * and otherwise go to the format as they are (table_v2_get_at, handed
 * where to leave the read it still needs), keeping nothing: their reads
 * are made together by the caller, and what they find is for one
 * sequence, not the greatest.  Their second step, table_get_finish, is
 * format v2's own (table_v2_batch.c).
 */
#include <stdlib.h>

#include "bloom.h"
#include "error.h"
#include "parted_format.h"
#include "record_ctx.h"

/* Step 2: *hit = 1 and *r the answer if the record cache has it. */
static int record_lookup_cached(record_ctx *x, const table_v2_kept *k, const ikey_lookup *lk,
                                table_get_result *r, int *hit)
{
    *hit = 0;
    size_t ulen, tlen;
    const uint8_t *ukey = ikey_lookup_user(lk, &ulen);
    const uint8_t *target = ikey_lookup_ikey(lk, &tlen);
    record rec;
    int rc = record_cache_get(x->records, k->id, ukey, ulen, ikey_seq(target, tlen), &rec, hit);
    if (rc != KV_OK || !*hit)
        return rc;
    /* Asked (in range), but neither its filter nor its entries: kv_cost's
     * record_cache_hits (table_cost.h). */
    *r = (table_get_result){.state = rec.deleted ? IKEY_DELETED : IKEY_FOUND, .seq = rec.seq,
                            .in_range = 1};
    if (rec.deleted) {
        free(rec.value);
    } else {
        r->value = rec.value;
        r->value_len = rec.value_len;
        r->elsewhere = rec.elsewhere;
    }
    return KV_OK;
}

/* The format's lookup of lk (steps 2 to 5 of the file's version), K in
 * t's keys, h its bloom_hash; its filter asked if ask_filter is 1. */
static int record_format_get(table *t, const table_v2_kept *k, const ikey_lookup *lk,
                             uint64_t h, int ask_filter, table_get_result *r)
{
    *r = (table_get_result){.state = IKEY_ABSENT};
    table_v2_handle block = {0};
    int found;
    int rc = parted_find(t, k, lk, h, ask_filter, r, &block, &found);
    return table_v2_get_at(t, lk, rc, found, block, r, NULL, NULL);
}

/* Adds what a second lookup cost to the first's. */
static void record_lookup_add_costs(table_get_result *r, const table_get_result *first)
{
    r->reads += first->reads;
    r->bytes_read += first->bytes_read;
    r->blocks_read += first->blocks_read;
    r->blocks_cached += first->blocks_cached;
    r->block_hash_probes += first->block_hash_probes;
}

/* Step 3.  h: bloom_hash of the user key. */
static int record_lookup_newest(record_ctx *x, table *t, const table_v2_kept *k,
                                const ikey_lookup *lk, uint64_t h, int ask_filter,
                                table_get_result *r)
{
    size_t ulen, tlen;
    const uint8_t *ukey = ikey_lookup_user(lk, &ulen);
    const uint8_t *target = ikey_lookup_ikey(lk, &tlen);
    uint64_t seq = ikey_seq(target, tlen);
    ikey_lookup newest;
    int rc = ikey_lookup_init(&newest, ukey, ulen, IKEY_MAX_SEQ);
    if (rc == KV_OK)
        rc = record_format_get(t, k, &newest, h, ask_filter, r);
    ikey_lookup_free(&newest);
    if (rc != KV_OK || r->state == IKEY_ABSENT)
        return rc;
    record rec = {.deleted = r->state == IKEY_DELETED, .elsewhere = r->elsewhere,
                  .seq = r->seq, .value = r->value, .value_len = r->value_len};
    /* Once the cache is full, a record goes in on its second miss only
     * (doorkeeper.h's doorkeeper); out of memory for the entry, the
     * answer stands and nothing is kept. */
    if (doorkeeper_ask(x->admit, k->id, h) &&
        record_cache_put(x->records, k->id, ukey, ulen, &rec) == KV_OK)
        doorkeeper_charged(x->admit, record_cache_charge(ulen, &rec) * RECORD_ADMIT_SCALE);
    if (r->seq <= seq)
        return KV_OK;
    /* Newer than the lookup: what t holds at seq is another version. */
    table_get_result first = *r;
    free(first.value);
    rc = record_format_get(t, k, lk, h, ask_filter, r);
    record_lookup_add_costs(r, &first);
    return rc;
}

/* table_get, and table_get_last (last 1): whose filter the context's
 * filters_for_hits skips (table.h). */
static int record_table_get(table *t, const ikey_lookup *lk, int last, table_get_result *r)
{
    const table_v2_kept *k = table_v2_kept_of(t);
    size_t ulen;
    const uint8_t *ukey = ikey_lookup_user(lk, &ulen);
    if (!ikey_user_in_range(ukey, ulen, k->smallest, k->smallest_len, k->largest,
                            k->largest_len)) {
        *r = (table_get_result){.state = IKEY_ABSENT};
        return KV_OK;
    }
    record_ctx *x = record_ctx_of(k->ctx);
    uint64_t h = bloom_hash(ukey, ulen); /* the sampling's, the doorkeeper's, the filter's */
    int ask_filter = !(last && k->ctx->filters_for_hits);
    if (x->records == NULL || !record_sampling_asks(&x->sampling, h))
        return record_format_get(t, k, lk, h, ask_filter, r);
    int hit;
    int rc = record_lookup_cached(x, k, lk, r, &hit);
    if (rc == KV_OK && !hit)
        rc = record_lookup_newest(x, t, k, lk, h, ask_filter, r);
    if (rc == KV_OK && (hit || r->state != IKEY_ABSENT))
        record_sampling_held(&x->sampling, hit);
    return rc;
}

int table_get(table *t, const ikey_lookup *lk, table_get_result *r)
{
    return record_table_get(t, lk, 0, r);
}

int table_get_last(table *t, const ikey_lookup *lk, table_get_result *r)
{
    return record_table_get(t, lk, 1, r);
}

/* A table of partitions keeps no whole filter, but may have partitions of
 * one: the context's word is enough. */
int table_get_last_skips(const table *t)
{
    return table_v2_kept_of(t)->ctx->filters_for_hits;
}

int table_get_start(table *t, const ikey_lookup *lk, int last, table_get_result *r,
                    table_pending *p, int *pending)
{
    const table_v2_kept *k = table_v2_kept_of(t);
    size_t ulen;
    const uint8_t *ukey = ikey_lookup_user(lk, &ulen);
    *pending = 0;
    *r = (table_get_result){.state = IKEY_ABSENT};
    if (!ikey_user_in_range(ukey, ulen, k->smallest, k->smallest_len, k->largest,
                            k->largest_len))
        return KV_OK;
    record_ctx *x = record_ctx_of(k->ctx);
    uint64_t h = bloom_hash(ukey, ulen);
    if (x->records != NULL && record_sampling_asks(&x->sampling, h)) {
        int hit;
        int rc = record_lookup_cached(x, k, lk, r, &hit);
        if (rc != KV_OK || hit)
            return rc;
    }
    table_v2_handle block = {0};
    int found;
    int rc = parted_find(t, k, lk, h, !(last && k->ctx->filters_for_hits), r, &block, &found);
    return table_v2_get_at(t, lk, rc, found, block, r, p, pending);
}
