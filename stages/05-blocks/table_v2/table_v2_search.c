/*
 * table_v2_search.c: step 5 of a lookup (table_v2_read.c): the first entry
 * at or after the lookup key in one data block, found by the block's
 * iterator (a binary search over its restart points, or a probe of its
 * hash index if it has one: block_hash.h; then entry by entry), and the
 * answer it gives: found, deleted, or absent; a value in a cell
 * (block_value.h) unpacked into the answer's copy.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "block_hash.h"
#include "block_value.h"
#include "error.h"
#include "table_v2_format.h"

int table_v2_block_iter_error(table *t, const block_iter *it, const char *what,
                              uint64_t block_at)
{
    if (it->status == KV_ERR_NOMEM)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a key of the %s block at offset %"
                        PRIu64, t->path, what, block_at);
    return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the %s block there: %s (at byte "
                    "%zu of its contents)", t->path, block_at, what, it->why, it->why_at);
}

int table_v2_value_error(table *t, uint64_t block_at, size_t entry_at, const char *why)
{
    return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the data block there: %s (the "
                    "entry at byte %zu of its contents)", t->path, block_at, why, entry_at);
}

int table_v2_block_answer(const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen,
                          const uint8_t *target, size_t tlen, table_get_result *r)
{
    size_t ulen = tlen - IKEY_TRAILER_SIZE;
    if (ikey_user_compare(key, klen - IKEY_TRAILER_SIZE, target, ulen) != 0)
        return KV_OK;
    r->seq = ikey_seq(key, klen);
    if (ikey_type_of(key, klen) == IKEY_DELETE) {
        r->state = IKEY_DELETED;
        return KV_OK;
    }
    uint8_t *v = malloc(vlen ? vlen : 1);
    if (v == NULL)
        return kv_error(KV_ERR_NOMEM, "table: cannot allocate %zu bytes for a value", vlen);
    if (vlen > 0 && value != NULL)
        memcpy(v, value, vlen);
    r->value = v;
    r->value_len = vlen;
    r->state = IKEY_FOUND;
    r->elsewhere = ikey_type_of(key, klen) == IKEY_PUT_ELSEWHERE;
    return KV_OK;
}

/* table_v2_block_answer of the entry d of a block of cells (block_value.h):
 * a value found is unpacked into its copy.  A damaged cell: KV_ERR_CORRUPT. */
static int table_v2_cell_answer(table *t, uint64_t block_at, const block_iter *d,
                                const uint8_t *target, size_t tlen, table_get_result *r)
{
    size_t len;
    const char *why = block_value_size(d->value, d->value_len, &len);
    if (why != NULL)
        return table_v2_value_error(t, block_at, d->at, why);
    int rc = table_v2_block_answer(d->key, d->key_len, NULL, len, target, tlen, r);
    if (rc != KV_OK || r->state != IKEY_FOUND)
        return rc;
    if ((why = block_value_unpack(d->value, d->value_len, r->value, len)) == NULL)
        return KV_OK;
    free(r->value);
    r->value = NULL;
    r->value_len = 0;
    r->state = IKEY_ABSENT;
    return table_v2_value_error(t, block_at, d->at, why);
}

int table_v2_block_search(table *t, const block *b, uint64_t block_at, const uint8_t *target,
                          size_t tlen, table_get_result *r)
{
    int rc = KV_OK;
    block_iter d;
    d.key = NULL;
    d.key_cap = 0;
    block_iter_init(&d, b, TABLE_V2_IKEY_MIN);
    block_hash_seek(&d, target, tlen); /* the binary search without a hash index */
    r->block_hash_probes += b->buckets != NULL;
    if (d.valid && b->cells)
        rc = table_v2_cell_answer(t, block_at, &d, target, tlen, r);
    else if (d.valid)
        rc = table_v2_block_answer(d.key, d.key_len, d.value, d.value_len, target, tlen, r);
    else if (d.status != KV_OK)
        rc = table_v2_block_iter_error(t, &d, "data", block_at);
    block_iter_free(&d);
    return rc;
}
