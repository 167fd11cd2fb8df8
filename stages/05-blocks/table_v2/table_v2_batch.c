/*
 * table_v2_batch.c: a v2 table's lookup in two steps (table_batch.h), so
 * that the lookups of many keys read their blocks together
 * (kv_multi_get).  Steps 1 to 3 of a lookup (the key range, the filter,
 * the index: table_v2_read.c) need no read, so the first step, table_get's
 * steps told where to leave a read (table_v2_get_at with p), knows the
 * one data block the lookup needs: in the block cache, it answers at once;
 * else the block's stored bytes and trailer are the range to read.  The
 * second step, here, checks what was read, caches it and searches it as
 * table_get does, with the same counters and the same errors.  A first
 * reading skips this file.
 */
#include "table_batch.h"

#include "error.h"
#include "table_v2_format.h"

int table_v2_get_start(table *t, const ikey_lookup *lk, int last, table_get_result *r,
                       table_pending *p, int *pending)
{
    uint64_t hash;
    *pending = 0;
    if (!table_v2_in_range(t, lk, r, &hash))
        return KV_OK;
    table_v2_handle h = {0};
    int found;
    int ask_filter = !(last && t->kept.ctx->filters_for_hits);
    int rc = table_v2_find_block(t, lk, hash, ask_filter, r, &h, &found);
    return table_v2_get_at(t, lk, rc, found, h, r, p, pending);
}

/* table.h's second step, the same for every version of the file and
 * whatever layer started the lookup. */
int table_get_finish(table_pending *p, const io_read_req *done, const ikey_lookup *lk,
                     table_get_result *r)
{
    table *t = p->t;
    *r = (table_get_result){.state = IKEY_ABSENT, .reads = 1 + p->first_reads, .in_range = 1,
                            .filter_asked = p->filter_asked, .searched = 1, .blocks_read = 1};
    table_v2_count(&t->kept.ctx->reads, 1);
    table_v2_handle h = {.offset = p->at, .size = p->size};
    int rc = io_read_req_error(done);
    if (rc == KV_OK) {
        table_v2_count(&t->kept.ctx->read_bytes, done->got);
        r->bytes_read = done->got;
        if (done->got < done->len)
            rc = table_v2_read_short(t, done->off, done->got, done->len);
    }
    table_v2_blockref ref;
    if (rc == KV_OK && (rc = table_v2_block_keep(t, h, done->buf, 0, NULL, NULL, 0, &ref)) == KV_OK) {
        size_t tlen;
        const uint8_t *target = ikey_lookup_ikey(lk, &tlen);
        table_v2_count(&t->kept.ctx->get_blocks_read, 1);
        rc = table_v2_block_search(t, &ref.b, h.offset, target, tlen, r);
        table_v2_block_release(t, &ref);
    }
    table_pending_release(p);
    table_v2_get_done(t, TABLE_V2_BLOCK, rc, r);
    return rc;
}

void table_pending_release(table_pending *p)
{
    if (p->held != NULL)
        file_cache_release(p->t->kept.ctx->files, p->held);
    p->held = NULL;
}
