/*
 * record_lookup.c: table.h's context and lookups with the record cache
 * (record_cache.h) in front of format v2's: in place of stage 05's
 * table_v2/entry/, everything else of table_v2 unchanged.
 *
 * The context (record_ctx.h): format v2's as the first member of a larger
 * one that adds the record cache, so a table's t->ctx leads here.  One
 * budget, cache_bytes: record_cache_percent of it for records, the rest
 * for blocks.  It also holds the rate limiter new tables' writes ask
 * (paced_build.c), made and freed here with the rest.
 *
 * A lookup of user key K at sequence s in table t:
 *   1. K outside t's keys: nothing (as format v2 does it: no entry is
 *      ever kept for a key t does not hold, so asking would only cost).
 *   2. The record cache holds (t, K) with a version e <= s (R2): that is
 *      the answer, and t's filter, index and blocks are not asked.
 *   3. Otherwise format v2 looks K up at the greatest sequence: the
 *      newest version t holds, which is what R1 lets the cache keep.
 *      Kept, and the answer if its sequence is <= s; if not (a snapshot
 *      older than it, or a newer version bypassed in step 2), format v2
 *      looks K up again at s, and that answers.
 * A key t does not hold is not kept: a get that reaches t and misses asks
 * format v2 every time (its filter answers most of them from memory).
 *
 * kv_multi_get's two-step lookups (table_batch.h) take step 2's answers
 * and otherwise go to format v2 as they are, keeping nothing: their reads
 * are made together by the caller, and what they find is for one
 * sequence, not the greatest.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bloom.h"
#include "error.h"
#include "inspect_line.h"
#include "record_ctx.h"

#define RECORD_LOOKUP_DEFAULT_PERCENT 25
#define RECORD_LOOKUP_MAX_PERCENT 90
#define RECORD_LOOKUP_SHARDS 16
/* The doorkeeper (block_admit.h) sizes its table at one slot per 4 KiB of
 * what it guards; it is told of 32 times the record cache's bytes, one
 * slot per 128 bytes: about two per record the cache holds (a small
 * record is charged some 250 bytes, clock_charge). */
#define RECORD_ADMIT_SCALE 32

int table_ctx_new(const kv_options *opt, table_ctx **out)
{
    *out = NULL;
    kv_options o = {0};
    if (opt != NULL)
        o = *opt;
    int percent = o.record_cache_percent == 0 ? RECORD_LOOKUP_DEFAULT_PERCENT
                  : o.record_cache_percent == KV_NO_RECORD_CACHE ? 0 : o.record_cache_percent;
    if (o.record_cache_percent < KV_NO_RECORD_CACHE ||
        o.record_cache_percent > RECORD_LOOKUP_MAX_PERCENT)
        return kv_error(KV_ERR_INVALID, "option record_cache_percent = %d is out of range (1 .. "
                        "%d; 0 for the default, %d; KV_NO_RECORD_CACHE for none)",
                        o.record_cache_percent, RECORD_LOOKUP_MAX_PERCENT,
                        RECORD_LOOKUP_DEFAULT_PERCENT);
    if (o.table_partitions != 0 && o.table_partitions != KV_PARTITIONS)
        return kv_error(KV_ERR_INVALID, "option table_partitions = %d is not 0 (whole index "
                        "and filter, the default) or KV_PARTITIONS (%d: tables of partitions)",
                        o.table_partitions, KV_PARTITIONS);
    size_t total = o.cache_bytes ? o.cache_bytes : BLOCK_CACHE_DEFAULT_BYTES;
    size_t for_records = total / 100 * (size_t)percent + total % 100 * (size_t)percent / 100;
    o.cache_bytes = total - for_records;
    if (o.cache_bytes == 0)
        o.cache_bytes = 1; /* 0 would mean the default */
    record_ctx *x = calloc(1, sizeof *x);
    if (x == NULL)
        return kv_error(KV_ERR_NOMEM, "table: cannot allocate a context");
    record_sampling_init(&x->sampling);
    x->parted_tables = o.table_partitions == KV_PARTITIONS;
    int rc = table_v2_ctx_init(&x->v2, &o);
    if (rc == KV_OK && rate_limiter_init(&x->limiter, o.background_bytes_per_sec, 0, NULL, NULL,
                                         NULL) != KV_OK) {
        table_v2_ctx_release(&x->v2);
        rc = kv_error(KV_ERR_NOMEM, "table: cannot make the rate limiter's lock");
    }
    if (rc == KV_OK && for_records > 0) {
        x->records_budget = for_records;
        rc = record_cache_open(for_records, RECORD_LOOKUP_SHARDS, &x->records);
        if (rc == KV_OK && (x->admit = block_admit_new(for_records * RECORD_ADMIT_SCALE)) == NULL)
            rc = kv_error(KV_ERR_NOMEM, "table: cannot allocate the record cache's doorkeeper");
        if (rc != KV_OK) {
            record_cache_close(x->records);
            rate_limiter_destroy(&x->limiter);
            table_v2_ctx_release(&x->v2);
        }
    }
    if (rc != KV_OK) {
        free(x);
        return rc;
    }
    *out = &x->v2;
    return KV_OK;
}

void table_ctx_free(table_ctx *ctx)
{
    if (ctx == NULL)
        return;
    record_ctx *x = record_ctx_of(ctx);
    record_cache_close(x->records);
    block_admit_free(x->admit);
    rate_limiter_destroy(&x->limiter);
    table_v2_ctx_release(&x->v2);
    free(x);
}

/* kv_set_background_rate; and kv_close, which sets 0 before it waits for
 * the background jobs, so that a low rate cannot hold a close for as long
 * as the work it has left. */
int table_ctx_set_write_rate(table_ctx *ctx, uint64_t bytes_per_sec)
{
    rate_limiter_set_rate(&record_ctx_of(ctx)->limiter, bytes_per_sec);
    return KV_OK;
}

void table_ctx_stats(table_ctx *ctx, kv_line_fn line, void *line_ctx)
{
    table_v2_ctx_stats(ctx, line, line_ctx);
    record_ctx *x = record_ctx_of(ctx);
    record_counts c = {0};
    if (x->records != NULL)
        record_cache_counts(x->records, &c);
    struct {
        const char *name;
        uint64_t n;
    } rows[] = {
        {"session.record_cache.hits", c.hits},
        {"session.record_cache.misses", c.misses},
        {"session.record_cache.bypassed", c.bypassed},
        {"session.record_cache.evictions", c.evictions},
        {"session.record_cache.declined", x->admit ? block_admit_declined(x->admit) : 0},
        {"session.record_cache.entries", c.entries},
        {"session.record_cache.usage", c.bytes},
        {"session.record_cache.capacity", x->records_budget},
        {"record_cache.sampling", (uint64_t)atomic_load(&x->sampling.on)},
        {"session.record_cache.left_out", table_v2_counted(&x->sampling.left_out)},
        {"session.record_cache.sampling_changes", atomic_load(&x->sampling.changes)},
        {"rate_limiter.bytes_per_second", 0},
        {"session.rate_limiter.granted_bytes", 0},
        {"session.rate_limiter.waited_us", 0},
        {"session.rate_limiter.flush_granted_bytes", 0},
        {"session.rate_limiter.flush_waited_us", 0},
        {"rate_limiter.flushes_waiting", 0},
    };
    rate_limiter_counts l;
    rate_limiter_get_counts(&x->limiter, &l);
    size_t n = sizeof rows / sizeof rows[0];
    rows[n - 6].n = l.rate;
    rows[n - 5].n = l.granted;
    rows[n - 4].n = l.waited_ns / 1000;
    rows[n - 3].n = l.granted_high; /* flushes' tables (paced_build.c) */
    rows[n - 2].n = l.waited_high_ns / 1000;
    rows[n - 1].n = l.high_waiting;
    char text[96];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(text, sizeof text, "%s: %llu", rows[i].name, (unsigned long long)rows[i].n);
        line(line_ctx, text);
    }
    histogram_counts *waits = malloc(sizeof *waits); /* (8 KiB: not on the stack) */
    if (waits != NULL) {
        histogram_read(&x->limiter.waits, waits);
        histogram_stats_line(waits, "session.rate_limiter.wait", line, line_ctx);
        histogram_buckets_line(waits, "session.rate_limiter.wait", line, line_ctx);
        free(waits);
    }
}

/* kv_inspect's "cache" line (docs/lab.md): the one budget and what each
 * part of it holds, their hits and misses this session, and what open
 * tables keep outside it (their indexes and filters, pinned; and their
 * files' mappings, whose pages a read leaves resident: kv_options.map_tables). */
void table_ctx_describe(table_ctx *ctx, kv_line_fn line, void *line_ctx)
{
    record_ctx *x = record_ctx_of(ctx);
    record_counts rc = {0};
    if (x->records != NULL)
        record_cache_counts(x->records, &rc);
    lru_cache_stats bc;
    block_cache_stats(ctx->cache, &bc);
    inspect_line l;
    inspect_begin(&l, "cache");
    inspect_u64(&l, "budget", x->records_budget + bc.capacity);
    inspect_u64(&l, "record_budget", x->records_budget);
    inspect_u64(&l, "record_bytes", rc.bytes);
    inspect_u64(&l, "records", rc.entries);
    inspect_u64(&l, "record_hits", rc.hits);
    inspect_u64(&l, "record_misses", rc.misses);
    inspect_u64(&l, "block_budget", bc.capacity);
    inspect_u64(&l, "block_bytes", bc.usage);
    inspect_u64(&l, "blocks", bc.entries);
    inspect_u64(&l, "block_hits", bc.hits);
    inspect_u64(&l, "block_misses", bc.misses);
    inspect_u64(&l, "pinned_bytes", atomic_load(&ctx->meta_bytes));
    inspect_u64(&l, "tables", atomic_load(&ctx->tables_open));
    inspect_u64(&l, "mapped_bytes", file_cache_mapped_bytes(ctx->files));
    inspect_emit(&l, line, line_ctx);
}

/* Whether user key K lies in t's keys (step 1). */
static int record_in_range(const table *t, const uint8_t *ukey, size_t ulen)
{
    return table_v2_holds_user_key(t, ukey, ulen);
}

/* Step 2: *hit = 1 and *r the answer if the record cache has it. */
static int record_lookup_cached(record_ctx *x, table *t, const ikey_lookup *lk,
                                table_get_result *r, int *hit)
{
    *hit = 0;
    size_t ulen, tlen;
    const uint8_t *ukey = ikey_lookup_user(lk, &ulen);
    const uint8_t *target = ikey_lookup_ikey(lk, &tlen);
    record rec;
    int rc = record_cache_get(x->records, t->id, ukey, ulen, ikey_seq(target, tlen), &rec, hit);
    if (rc != KV_OK || !*hit)
        return rc;
    *r = (table_get_result){.state = rec.deleted ? IKEY_DELETED : IKEY_FOUND, .seq = rec.seq,
                            .in_range = 1, .record_cached = 1};
    if (rec.deleted) {
        free(rec.value);
    } else {
        r->value = rec.value;
        r->value_len = rec.value_len;
        r->elsewhere = rec.elsewhere;
    }
    return KV_OK;
}

/* Adds what a second lookup cost to the first's. */
static void record_lookup_add_costs(table_get_result *r, const table_get_result *first)
{
    r->reads += first->reads;
    r->bytes_read += first->bytes_read;
    r->blocks_read += first->blocks_read;
    r->blocks_cached += first->blocks_cached;
}

/* Step 3.  h: bloom_hash of the user key. */
static int record_lookup_newest(record_ctx *x, table *t, const ikey_lookup *lk, uint64_t h,
                                table_get_result *r)
{
    size_t ulen, tlen;
    const uint8_t *ukey = ikey_lookup_user(lk, &ulen);
    const uint8_t *target = ikey_lookup_ikey(lk, &tlen);
    uint64_t seq = ikey_seq(target, tlen);
    ikey_lookup newest;
    int rc = ikey_lookup_init(&newest, ukey, ulen, IKEY_MAX_SEQ);
    if (rc == KV_OK)
        rc = table_v2_get(t, &newest, r);
    ikey_lookup_free(&newest);
    if (rc != KV_OK || r->state == IKEY_ABSENT)
        return rc;
    record rec = {.deleted = r->state == IKEY_DELETED, .elsewhere = r->elsewhere,
                  .seq = r->seq, .value = r->value, .value_len = r->value_len};
    /* Once the cache is full, a record goes in on its second miss only
     * (block_admit.h's doorkeeper); out of memory for the entry, the
     * answer stands and nothing is kept. */
    if (block_admit_ask(x->admit, t->id, h) &&
        record_cache_put(x->records, t->id, ukey, ulen, &rec) == KV_OK)
        block_admit_charged(x->admit, record_cache_charge(ulen, &rec) * RECORD_ADMIT_SCALE);
    if (r->seq <= seq)
        return KV_OK;
    /* Newer than the lookup: what t holds at seq is another version. */
    table_get_result first = *r;
    free(first.value);
    rc = table_v2_get(t, lk, r);
    record_lookup_add_costs(r, &first);
    return rc;
}

int table_get(table *t, const ikey_lookup *lk, table_get_result *r)
{
    record_ctx *x = record_ctx_of(t->ctx);
    size_t ulen;
    const uint8_t *ukey = ikey_lookup_user(lk, &ulen);
    if (x->records == NULL || !record_in_range(t, ukey, ulen))
        return table_v2_get(t, lk, r);
    uint64_t h = bloom_hash(ukey, ulen); /* the sampling's and the doorkeeper's */
    if (!record_sampling_asks(&x->sampling, h))
        return table_v2_get(t, lk, r);
    int hit;
    int rc = record_lookup_cached(x, t, lk, r, &hit);
    if (rc == KV_OK && !hit)
        rc = record_lookup_newest(x, t, lk, h, r);
    if (rc == KV_OK && (hit || r->state != IKEY_ABSENT))
        record_sampling_held(&x->sampling, hit);
    return rc;
}

int table_get_start(table *t, const ikey_lookup *lk, table_get_result *r, table_pending *p,
                    int *pending)
{
    record_ctx *x = record_ctx_of(t->ctx);
    size_t ulen;
    const uint8_t *ukey = ikey_lookup_user(lk, &ulen);
    *pending = 0;
    if (x->records != NULL && record_in_range(t, ukey, ulen) &&
        record_sampling_asks(&x->sampling, bloom_hash(ukey, ulen))) {
        int hit;
        int rc = record_lookup_cached(x, t, lk, r, &hit);
        if (rc != KV_OK || hit)
            return rc;
    }
    return table_v2_get_start(t, lk, r, p, pending);
}

int table_get_finish(table_pending *p, const io_read_req *done, const ikey_lookup *lk,
                     table_get_result *r)
{
    return table_v2_get_finish(p, done, lk, r);
}
