/*
 * parted_read.c: opening and reading a version-2 table (parted_format.h):
 * the kept region and its top level checked at open (P1), a lookup's
 * steps 1 to 3 through the top level, a filter partition and an index
 * partition, and the index partitions joined for an iterator.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bloom.h"
#include "error.h"
#include "parted_format.h"

static int parted_corrupt(table *t, uint64_t at, const char *what)
{
    return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": %s", table_path(t), at, what);
}

/* A block iterator that stopped failing (block.h: KV_ERR_CORRUPT, with
 * why and why_at, or KV_ERR_NOMEM) in the block `what` at `at` of t. */
static int parted_iter_failed(table *t, const block_iter *it, const char *what, uint64_t at)
{
    if (it->status == KV_ERR_NOMEM)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory reading the %s block at offset %"
                        PRIu64, table_path(t), what, at);
    return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the %s block there: %s (byte %zu)",
                    table_path(t), at, what, it->why, it->why_at);
}

int parted_top_entry(table *t, const table_v2_kept *k, const block_iter *top,
                     table_v2_handle *index, table_v2_handle *filter, int *has_filter)
{
    const uint8_t *end = top->value + top->value_len;
    const uint8_t *p = table_v2_handle_read(top->value, end, k->data_end, k->meta_at, index);
    *has_filter = p != NULL && p != end;
    if (*has_filter)
        p = table_v2_handle_read(p, end, k->data_end, k->meta_at, filter);
    if (p == end)
        return KV_OK;
    return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the top-level index entry there "
                    "holds no handles of partitions (they lie in [%" PRIu64 ", %" PRIu64 "))",
                    table_path(t), k->index_h.offset + top->at, k->data_end, k->meta_at);
}

/* P1: the top level's handles tile [D, P), all with a filter or none. */
static int parted_walk_top(table *t)
{
    const table_v2_kept *k = table_v2_kept_of(t);
    block_iter top = {0};
    block_iter_init(&top, &k->index, TABLE_V2_IKEY_MIN);
    uint64_t expect = k->data_end;
    int rc = KV_OK, filters = -1;
    for (block_iter_seek_first(&top); top.valid && rc == KV_OK; block_iter_next(&top)) {
        table_v2_handle ih, fh;
        int has_filter;
        if ((rc = parted_top_entry(t, k, &top, &ih, &fh, &has_filter)) != KV_OK)
            break;
        if (filters >= 0 && has_filter != filters)
            rc = parted_corrupt(t, k->index_h.offset + top.at,
                                "the top-level index entry there names a filter partition "
                                "where the one before it names none, or the other way round");
        else if (ih.offset != expect || (has_filter && fh.offset !=
                                         ih.offset + ih.size + TABLE_V2_TRAILER))
            rc = parted_corrupt(t, k->index_h.offset + top.at,
                                "the top-level index entry there names a partition that does "
                                "not follow the one before it");
        filters = has_filter;
        expect = has_filter ? fh.offset + fh.size + TABLE_V2_TRAILER
                            : ih.offset + ih.size + TABLE_V2_TRAILER;
    }
    if (rc == KV_OK && top.status != KV_OK)
        rc = parted_iter_failed(t, &top, "top-level index", k->index_h.offset);
    if (rc == KV_OK && expect != k->meta_at)
        rc = kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the partitions the top-level "
                      "index names end at %" PRIu64 ", not where the kept blocks begin",
                      table_path(t), k->index_h.offset, expect);
    block_iter_free(&top);
    return rc;
}

int parted_open_meta(table *t, const table_v2_footer *f)
{
    if (table_v2_kept_of(t)->filter != NULL)
        return parted_corrupt(t, f->metaindex.offset, "the metaindex names a whole filter, "
                              "which a table of partitions has not");
    return parted_walk_top(t);
}

/* The partition block at h, through the block cache (a partition always
 * goes in: no `once` buffer). */
static int parted_partition(table *t, table_v2_handle h, table_v2_blockref *ref,
                            unsigned *reads)
{
    int from_cache;
    return table_v2_block_get(t, NULL, h, NULL, 0, NULL, ref, &from_cache, reads);
}

/* Whether the filter partition at h rules ukey out; *rc KV_OK or its
 * failure. */
static int parted_filter_rules_out(table *t, table_v2_handle h, uint64_t hash, unsigned *reads,
                                   int *rc)
{
    table_v2_blockref ref;
    *rc = parted_partition(t, h, &ref, reads);
    if (*rc != KV_OK)
        return 0;
    block_iter it = {0};
    block_iter_init(&it, &ref.b, 1);
    block_iter_seek_first(&it);
    int out = 0;
    if (!it.valid || it.key_len != 1 || it.key[0] != PARTED_FILTER_KEY[0])
        *rc = kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the filter partition there "
                       "holds no filter entry", table_path(t), h.offset);
    else
        out = !bloom_may_contain_hash(it.value, it.value + it.value_len, hash);
    block_iter_free(&it);
    table_v2_block_release(t, &ref);
    return out;
}

int parted_find_block(table *t, const table_v2_kept *k, const ikey_lookup *lk, uint64_t hash,
                      int ask_filter, table_get_result *r, table_v2_handle *h, int *found)
{
    *found = TABLE_V2_RULED_OUT;
    r->in_range = 1;
    size_t tlen;
    const uint8_t *target = ikey_lookup_ikey(lk, &tlen);
    block_iter top;
    top.key = NULL;
    top.key_cap = 0;
    block_iter_init(&top, &k->index, TABLE_V2_IKEY_MIN);
    block_iter_seek(&top, target, tlen);
    table_v2_handle ih, fh;
    int has_filter = 0, rc = KV_OK;
    if (!top.valid) {
        /* Past every partition's last separator: past every entry. */
        if (top.status != KV_OK)
            rc = parted_iter_failed(t, &top, "top-level index", k->index_h.offset);
        *found = TABLE_V2_NO_BLOCK;
    } else {
        rc = parted_top_entry(t, k, &top, &ih, &fh, &has_filter);
    }
    block_iter_free(&top);
    if (rc != KV_OK || *found == TABLE_V2_NO_BLOCK)
        return rc;
    has_filter = has_filter && ask_filter;
    r->filter_asked = has_filter;
    if (has_filter && parted_filter_rules_out(t, fh, hash, &r->reads, &rc)) {
        r->filter_said_no = 1;
        return KV_OK;
    }
    if (rc != KV_OK)
        return rc;
    *found = TABLE_V2_NO_BLOCK;
    table_v2_blockref ref;
    if ((rc = parted_partition(t, ih, &ref, &r->reads)) != KV_OK)
        return rc;
    block_iter ix;
    ix.key = NULL;
    ix.key_cap = 0;
    block_iter_init(&ix, &ref.b, TABLE_V2_IKEY_MIN);
    block_iter_seek(&ix, target, tlen);
    if (!ix.valid) {
        /* P2 says the partition's last separator is >= the key. */
        rc = ix.status != KV_OK
                 ? parted_iter_failed(t, &ix, "index partition", ih.offset)
                 : parted_corrupt(t, ih.offset, "the index partition there ends below the "
                                  "key the top level gives it");
    } else {
        const uint8_t *end = ix.value + ix.value_len;
        if (table_v2_handle_read(ix.value, end, TABLE_V2_DATA_AT, k->data_end, h) == end)
            *found = TABLE_V2_BLOCK;
        else
            rc = parted_corrupt(t, ih.offset, "an entry of the index partition there holds "
                                "no handle of a data block");
    }
    block_iter_free(&ix);
    table_v2_block_release(t, &ref);
    return rc;
}

int parted_filter_says_absent(table *t, const uint8_t *ukey, size_t ulen)
{
    ikey_lookup lk;
    if (ikey_lookup_init(&lk, ukey, ulen, IKEY_MAX_SEQ) != KV_OK)
        return 0;
    const table_v2_kept *k = table_v2_kept_of(t);
    size_t tlen;
    const uint8_t *target = ikey_lookup_ikey(&lk, &tlen);
    block_iter top = {0};
    block_iter_init(&top, &k->index, TABLE_V2_IKEY_MIN);
    block_iter_seek(&top, target, tlen);
    table_v2_handle ih, fh;
    int has_filter = 0, rc = KV_OK, out = 0;
    if (top.valid && parted_top_entry(t, k, &top, &ih, &fh, &has_filter) == KV_OK && has_filter)
        out = parted_filter_rules_out(t, fh, bloom_hash(ukey, ulen), NULL, &rc);
    block_iter_free(&top);
    ikey_lookup_free(&lk);
    return rc == KV_OK && out;
}

/* ---- the index partitions joined ---------------------------------------------- */

/* The index partitions joined into *out (malloc'd, *len bytes). */
static int parted_join(table *t, uint8_t **out_p, size_t *len_p)
{
    /* First the sizes: every partition's entries, and a restart word per
     * data block; then the bytes. */
    const table_v2_kept *k = table_v2_kept_of(t);
    block_iter top = {0};
    block_iter_init(&top, &k->index, TABLE_V2_IKEY_MIN);
    size_t entries_len = 0, len = 0;
    uint64_t restarts = 0;
    uint8_t *out = NULL;
    int rc = KV_OK;
    for (int pass = 0; pass < 2 && rc == KV_OK; pass++) {
        size_t at = 0;
        uint64_t r = 0;
        for (block_iter_seek_first(&top); top.valid && rc == KV_OK; block_iter_next(&top)) {
            table_v2_handle ih, fh;
            int has_filter;
            table_v2_blockref ref;
            if ((rc = parted_top_entry(t, k, &top, &ih, &fh, &has_filter)) != KV_OK ||
                (rc = parted_partition(t, ih, &ref, NULL)) != KV_OK)
                break;
            const block *b = &ref.b;
            if (pass == 0) {
                entries_len += b->entries_end;
                restarts += b->nrestarts;
            } else if (at + b->entries_end > entries_len || r + b->nrestarts > restarts) {
                rc = parted_corrupt(t, ih.offset, "the index partitions changed while read");
            } else {
                memcpy(out + at, b->data, b->entries_end);
                for (uint32_t i = 0; i < b->nrestarts; i++)
                    coding_put_u32(out + entries_len + 4 * (r + i),
                                   (uint32_t)(at + block_restart(b, i)));
                at += b->entries_end;
                r += b->nrestarts;
            }
            table_v2_block_release(t, &ref);
        }
        if (rc == KV_OK && top.status != KV_OK)
            rc = parted_iter_failed(t, &top, "top-level index", k->index_h.offset);
        if (rc != KV_OK || pass == 1)
            break;
        if (restarts != k->data_blocks)
            rc = parted_corrupt(t, k->index_h.offset, "the index partitions do not hold one "
                                "entry per data block the properties count");
        else if (entries_len > UINT32_MAX - 4 * restarts - 4)
            rc = parted_corrupt(t, k->index_h.offset, "the index partitions are too large to "
                                "join");
        len = entries_len + 4 * (size_t)restarts + 4;
        if (rc == KV_OK && (out = malloc(len)) == NULL)
            rc = kv_error(KV_ERR_NOMEM, "%s: cannot allocate %zu bytes for the index",
                          table_path(t), len);
        if (rc == KV_OK)
            coding_put_u32(out + len - 4, (uint32_t)restarts);
    }
    block_iter_free(&top);
    if (rc != KV_OK) {
        free(out);
        return rc;
    }
    *out_p = out;
    *len_p = len;
    return KV_OK;
}

/* The joined index is kept in the block cache, under the offset P (where
 * the top level lies, which no cached block has), so iterators and seeks
 * after the first find it there, charged to the budget. */
int parted_join_index(table *t, table_v2_blockref *ref)
{
    const table_v2_kept *k = table_v2_kept_of(t);
    if (k->version != PARTED_VERSION) {
        /* Version 1's index is the one it keeps, whole. */
        *ref = (table_v2_blockref){.b = k->index};
        return KV_OK;
    }
    *ref = (table_v2_blockref){.cached = NULL};
    block_cache *c = k->ctx->cache;
    const char *why;
    block_cache_handle *bh = block_cache_lookup(c, k->id, k->meta_at);
    if (bh != NULL) {
        /* Checked before it went in: its restart array is found again. */
        if ((why = block_init(&ref->b, block_cache_data(bh), block_cache_size(bh))) != NULL) {
            block_cache_release(c, bh);
            return parted_corrupt(t, k->meta_at, why);
        }
        ref->cached = bh;
        return KV_OK;
    }
    uint8_t *out;
    size_t len;
    int rc = parted_join(t, &out, &len);
    if (rc != KV_OK)
        return rc;
    if ((why = block_init(&ref->b, out, len)) != NULL) {
        free(out);
        return parted_corrupt(t, k->index_h.offset, why);
    }
    if ((bh = block_cache_prepare(c, len)) == NULL) {
        ref->owned = out;
        return KV_OK;
    }
    memcpy(block_cache_data(bh), out, len);
    free(out);
    block_init(&ref->b, block_cache_data(bh), len);
    block_cache_insert(c, bh, k->id, k->meta_at);
    ref->cached = bh;
    return KV_OK;
}
