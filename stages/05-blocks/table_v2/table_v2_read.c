/*
 * table_v2_read.c: point lookups in a v2 table (table.h's table_get,
 * which table_v2_entry.c hands to table_v2_get here).
 *
 * A lookup of user key K at sequence s, in one table:
 *   1. K outside the table's [smallest, largest] user keys: no work
 *      (ikey_user_in_range; whoever starts a lookup checks it, once).
 *   2. The filter (in memory): if it rules K out, done, no read.
 *   3. The index (in memory): binary search over its restart points (one
 *      per entry) for the first separator >= the lookup key (K, s): the
 *      one data block that can hold the first entry at or after it.
 *   4. That block: from the block cache, or one positioned read of its
 *      stored bytes and trailer, checked, decompressed, then cached.
 *   5. In the block, binary search over its restart points, then at most
 *      15 entries decoded one by one: the first entry >= (K, s).  Its
 *      user key is K: found (or a tombstone); another key: absent
 *      (table_v2_search.c; a block the full cache turned away is walked
 *      from its first entry as it is decoded, table_v2_scan.c).
 * Nothing is allocated but the value returned, unless a key is longer
 * than a block iterator's inline buffer or a stored block than the stack
 * buffer of table_v2_block.c.
 *
 * kv_multi_get's first step (table_batch.h's table_get_start) is the same
 * lookup, handed where to leave the read of step 4 when the block is not
 * cached; its second step is table_v2_batch.c's.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bloom.h"
#include "error.h"
#include "lz4_steps.h"
#include "table_v2_format.h"

/* A lookup decompresses a block of up to this size, which the block cache
 * turned away, into its stack (a block of the default 4 KiB target ends
 * within one entry past it). */
#define TABLE_V2_GET_ONCE (8u * 1024u)

int table_v2_index_handle(table *t, const block_iter *ix, table_v2_handle *h)
{
    const uint8_t *end = ix->value + ix->value_len;
    if (table_v2_handle_read(ix->value, end, TABLE_V2_DATA_AT, t->kept.data_end, h) == end) {
        /* The index has a restart point at each entry, one per data block
         * (checked at open where the bits are kept): the entry's restart
         * is the block's place (table_v2_checked.c). */
        h->nth1 = t->checked != NULL ? ix->restart + 1 : 0;
        return KV_OK;
    }
    return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the index entry there holds no "
                    "handle of a data block (the data blocks end at %" PRIu64 ")", t->path,
                    t->kept.index_h.offset + ix->at, t->kept.data_end);
}

/* Steps 4 and 5 for the block at h. */
static int table_v2_get_in_block(table *t, table_v2_handle h, const uint8_t *target,
                                 size_t tlen, table_get_result *r)
{
    table_v2_blockref ref;
    int from_cache;
    /* Where a block the full cache turns away is decompressed
     * (doorkeeper.h; the slack is table_v2_scan's). */
    uint8_t once[TABLE_V2_GET_ONCE + LZ4_STEPS_SLACK];
    /* Where a block read with a positioned read (an unmapped file) lies
     * while it is decoded as far as the key (table_v2_scan). */
    uint8_t read_buf[TABLE_V2_STACK_READ];
    int rc = table_v2_block_get(t, NULL, h, once, TABLE_V2_GET_ONCE, read_buf, &ref,
                                &from_cache, &r->reads);
    if (rc != KV_OK)
        return rc;
    table_v2_count(from_cache ? &t->kept.ctx->get_blocks_cached : &t->kept.ctx->get_blocks_read, 1);
    r->blocks_cached = (unsigned)from_cache;
    r->blocks_read = (unsigned)!from_cache;
    r->bytes_read = from_cache ? 0 : (uint64_t)h.size + TABLE_V2_TRAILER;
    if (ref.lz4 != NULL)
        rc = table_v2_scan(t, h, &ref, once, target, tlen, r);
    else
        rc = table_v2_block_search(t, &ref.b, h.offset, target, tlen, r);
    table_v2_block_release(t, &ref);
    return rc;
}

/* Steps 4 and 5 for table_get_start (table_batch.h): the block at h
 * searched if the block cache has it, else its read left to the caller
 * in *p (table_v2_batch.c's table_get_finish ends the lookup). */
static int table_v2_start_in_block(table *t, table_v2_handle h, const uint8_t *target,
                                   size_t tlen, table_get_result *r, table_pending *p,
                                   int *pending)
{
    int hit;
    table_v2_blockref ref;
    int rc = table_v2_block_cached(t, h, &ref, &hit);
    if (rc != KV_OK)
        return rc;
    if (hit) {
        table_v2_count(&t->kept.ctx->get_blocks_cached, 1);
        r->blocks_cached = 1;
        rc = table_v2_block_search(t, &ref.b, h.offset, target, tlen, r);
        table_v2_block_release(t, &ref);
        return rc;
    }
    file_cache_handle *fh = NULL;
    if ((rc = file_cache_get(t->kept.ctx->files, t->kept.id, t->path, &fh)) != KV_OK)
        return rc;
    *p = (table_pending){
        .read = {.f = file_cache_file(fh), .off = h.offset,
                 .len = (size_t)h.size + TABLE_V2_TRAILER},
        .t = t, .held = fh, .at = h.offset, .size = h.size,
        .first_reads = r->reads, .filter_asked = r->filter_asked};
    *pending = 1;
    return KV_OK;
}

const table_v2_kept *table_v2_kept_of(const table *t)
{
    return &t->kept;
}

int table_v2_find_block(table *t, const ikey_lookup *lk, uint64_t hash, int ask_filter,
                        table_get_result *r, table_v2_handle *h, int *found)
{
    *found = TABLE_V2_RULED_OUT;
    r->in_range = 1;
    const uint8_t *f = ask_filter ? t->kept.filter : NULL;
    r->filter_asked = f != NULL;
    /* A lookup the filter answers touches one counter, no more. */
    if (f != NULL && !bloom_may_contain_hash(f, f + t->kept.filter_len, hash)) {
        r->filter_said_no = 1;
        return KV_OK;
    }
    *found = TABLE_V2_NO_BLOCK;
    size_t tlen;
    const uint8_t *target = ikey_lookup_ikey(lk, &tlen);
    size_t ulen;
    const uint8_t *ukey = ikey_lookup_user(lk, &ulen);
    uint32_t entry;
    if (t->fence_lines != NULL && table_v2_fences_find(t, ukey, ulen, &entry)) {
        /* The fences name the entry (table_v2_fences.c): no search. */
        int rc = table_v2_fences_handle(t, entry, h);
        if (rc == KV_OK)
            *found = TABLE_V2_BLOCK;
        return rc;
    }
    block_iter ix;
    ix.key = NULL;
    ix.key_cap = 0;
    block_iter_init(&ix, &t->kept.index, TABLE_V2_IKEY_MIN);
    block_iter_seek(&ix, target, tlen);
    int rc = KV_OK;
    if (!ix.valid) {
        /* Every separator is below the lookup key: so is every entry. */
        if (ix.status != KV_OK)
            rc = table_v2_block_iter_error(t, &ix, "index", t->kept.index_h.offset);
    } else if ((rc = table_v2_index_handle(t, &ix, h)) == KV_OK) {
        *found = TABLE_V2_BLOCK;
    }
    block_iter_free(&ix);
    return rc;
}

/* The filter's "absent" (found RULED_OUT in the table's range) and the
 * index's searches are counted here, for every version alike. */
void table_v2_get_done(table *t, int found, int rc, table_get_result *r)
{
    table_ctx *ctx = t->kept.ctx;
    r->searched = !r->filter_said_no; /* in range, and the filter let it through */
    if (found == TABLE_V2_RULED_OUT) {
        if (r->filter_said_no)
            table_v2_count(&ctx->filter_negatives, 1);
        return;
    }
    table_v2_count(&ctx->searches, 1);
    if (rc == KV_OK && r->state == IKEY_ABSENT && r->filter_asked)
        table_v2_count(&ctx->filter_misses, 1);
    table_v2_count(&ctx->get_reads, r->reads);
}

int table_v2_get_at(table *t, const ikey_lookup *lk, int rc, int found, table_v2_handle h,
                    table_get_result *r, table_pending *p, int *pending)
{
    if (p != NULL)
        *pending = 0;
    if (rc == KV_OK && found == TABLE_V2_BLOCK) {
        size_t tlen;
        const uint8_t *target = ikey_lookup_ikey(lk, &tlen);
        if (p == NULL)
            rc = table_v2_get_in_block(t, h, target, tlen, r);
        else if ((rc = table_v2_start_in_block(t, h, target, tlen, r, p, pending)) == KV_OK &&
                 *pending)
            return KV_OK; /* counted when it ends (table_get_finish) */
    }
    table_v2_get_done(t, found, rc, r);
    return rc;
}

int table_v2_in_range(table *t, const ikey_lookup *lk, table_get_result *r, uint64_t *hash)
{
    *r = (table_get_result){.state = IKEY_ABSENT};
    size_t ulen;
    const uint8_t *ukey = ikey_lookup_user(lk, &ulen);
    if (!ikey_user_in_range(ukey, ulen, t->kept.smallest, t->kept.smallest_len, t->kept.largest,
                            t->kept.largest_len))
        return 0;
    *hash = t->kept.filter != NULL ? bloom_hash(ukey, ulen) : 0;
    return 1;
}

int table_v2_get(table *t, const ikey_lookup *lk, int last, table_get_result *r)
{
    uint64_t hash;
    if (!table_v2_in_range(t, lk, r, &hash))
        return KV_OK;
    table_v2_handle h = {0};
    int found;
    int ask_filter = !(last && t->kept.ctx->filters_for_hits);
    int rc = table_v2_find_block(t, lk, hash, ask_filter, r, &h, &found);
    return table_v2_get_at(t, lk, rc, found, h, r, NULL, NULL);
}
