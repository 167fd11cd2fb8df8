/*
 * parted_build.c: writing a version-2 table (parted_format.h).
 *
 * Format v2's builder writes the data blocks and keeps their index, as
 * for version 1, but no filter of the whole table (table_v2_builder_new
 * with filter 0).  Beside it,
 * this builder keeps each user key's hash, in order, and where each data
 * block's hashes end: a key is hashed again in each block that holds a
 * version of it, so that a key whose versions straddle two partitions is
 * in both filters (P3).  At finish the index is cut into partitions of
 * about block_bytes, each after a data block's entry; each partition's
 * filter is built from the hashes of its data blocks; the partitions are
 * stored from D, then the top level (at P); format v2's builder ends the
 * file with the properties and the metaindex (table_v2_builder_store_meta)
 * and the footer, naming the top level as the index
 * (table_v2_builder_close).  Unless kv_options.table_partitions is
 * KV_PARTITIONS it writes version 1 instead: format v2's builder does it
 * all.
 */
#include <stdlib.h>
#include <string.h>

#include "block_builder.h"
#include "bloom.h"
#include "error.h"
#include "parted_format.h"

struct parted_builder {
    table_ctx *ctx;
    table_v2_builder *v2;
    table_v2_progress last;    /* how far v2 is, as its last add said */
    int whole;                 /* version 1: v2 does it all */
    int filters;               /* ctx->bloom_bits > 0 */
    uint64_t *hashes;          /* user keys' hashes, no repeat inside a block */
    size_t nhash, hash_cap;
    size_t *block_end;         /* data block i's hashes end at block_end[i] */
    size_t nblock, block_cap;
    int block_has_hash;        /* the block being filled has a hash yet */
};

static int parted_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return KV_OK;
    size_t n = *cap ? *cap * 2 : 1024;
    while (n < need)
        n *= 2;
    void *grown = realloc(*p, n * size);
    if (grown == NULL)
        return kv_error(KV_ERR_NOMEM, "cannot allocate %zu bytes for a table's key hashes",
                        n * size);
    *p = grown;
    *cap = n;
    return KV_OK;
}

/* The data block being filled ends where the hashes now end. */
static int parted_end_block(parted_builder *b)
{
    int rc = parted_grow((void **)&b->block_end, &b->block_cap, b->nblock + 1,
                         sizeof *b->block_end);
    if (rc == KV_OK)
        b->block_end[b->nblock++] = b->nhash;
    b->block_has_hash = 0;
    return rc;
}

int parted_builder_new(table_ctx *ctx, const char *path, uint32_t version,
                       parted_builder **out)
{
    *out = NULL;
    parted_builder *b = calloc(1, sizeof *b);
    if (b == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a table builder", path);
    b->ctx = ctx;
    b->whole = version != PARTED_VERSION;
    b->filters = !b->whole && ctx->bloom_bits > 0;
    int rc = table_v2_builder_new(ctx, path, version, b->whole, &b->v2);
    if (rc != KV_OK) {
        free(b);
        return rc;
    }
    *out = b;
    return KV_OK;
}

int parted_builder_add(parted_builder *b, const uint8_t *ikey, size_t ikey_len,
                       const uint8_t *value, size_t value_len)
{
    int rc = table_v2_builder_add(b->v2, ikey, ikey_len, value, value_len, &b->last);
    if (rc != KV_OK || !b->filters)
        return rc;
    /* A block ended before this entry went in (at most one): format v2
     * has stored one more than this builder has ended. */
    if (b->last.blocks != b->nblock && (rc = parted_end_block(b)) != KV_OK)
        return rc;
    uint64_t h = bloom_hash(ikey, ikey_len - IKEY_TRAILER_SIZE);
    if (b->block_has_hash && b->hashes[b->nhash - 1] == h)
        return KV_OK;
    if ((rc = parted_grow((void **)&b->hashes, &b->hash_cap, b->nhash + 1,
                          sizeof *b->hashes)) != KV_OK)
        return rc;
    b->hashes[b->nhash++] = h;
    b->block_has_hash = 1;
    return KV_OK;
}

void parted_builder_progress(const parted_builder *b, table_v2_progress *p)
{
    *p = b->last;
}

uint64_t parted_builder_file_bytes(const parted_builder *b)
{
    /* Format v2's estimate, with the index counted once, plus the filters
     * and a top-level entry and two trailers per partition of about a
     * block. */
    uint64_t size = b->last.file_bytes;
    if (b->whole)
        return size;
    if (b->filters)
        size += (b->nhash * (uint64_t)b->ctx->bloom_bits + 7) / 8;
    uint64_t parts = b->last.blocks * 32 / b->ctx->block_bytes + 1;
    return size + parts * (2 * TABLE_V2_TRAILER + 64);
}

/* Writing the partitions at finish. */
typedef struct parted_writer {
    parted_builder *b;
    block_builder part, top;
    bloom_builder bloom;
    uint8_t *buf;              /* a filter's bytes */
    size_t buf_cap;
    size_t first_block;        /* the partition's first data block */
} parted_writer;

/* The filter partition of data blocks [w->first_block, last]; its handle
 * written at *put, which moves past it. */
static int parted_write_filter(parted_writer *w, size_t last, uint8_t **put)
{
    parted_builder *b = w->b;
    bloom_builder_reset(&w->bloom);
    size_t from = w->first_block ? b->block_end[w->first_block - 1] : 0;
    int rc = KV_OK;
    for (size_t i = from; i < b->block_end[last] && rc == KV_OK; i++)
        rc = bloom_builder_add_hash(&w->bloom, b->hashes[i]);
    size_t n = bloom_builder_bytes(&w->bloom);
    if (rc == KV_OK && (rc = parted_grow((void **)&w->buf, &w->buf_cap, n, 1)) == KV_OK) {
        bloom_builder_finish(&w->bloom, w->buf);
        block_builder_reset(&w->part);
        rc = block_builder_add(&w->part, (const uint8_t *)PARTED_FILTER_KEY, 1, w->buf, n);
    }
    const uint8_t *contents;
    size_t len;
    if (rc == KV_OK)
        rc = block_builder_finish(&w->part, &contents, &len);
    if (rc == KV_OK)
        rc = table_v2_builder_store(b->v2, contents, len, NULL, put);
    return rc;
}

/* Stores the partition that ends with data block `last`, whose entry
 * (its separator) is key, and adds its top-level entry. */
static int parted_write_partition(parted_writer *w, size_t last, const uint8_t *key,
                                  size_t klen)
{
    const uint8_t *contents;
    size_t len;
    uint8_t hv[2 * TABLE_V2_HANDLE_MAX], *p = hv;  /* the top-level entry's value */
    int rc = block_builder_finish(&w->part, &contents, &len);
    if (rc == KV_OK)
        rc = table_v2_builder_store(w->b->v2, contents, len, NULL, &p);
    if (rc == KV_OK && w->b->filters)
        rc = parted_write_filter(w, last, &p);
    if (rc == KV_OK)
        rc = block_builder_add(&w->top, key, klen, hv, (size_t)(p - hv));
    block_builder_reset(&w->part);
    w->first_block = last + 1;
    return rc;
}

/* The partitions, from the index of the data blocks (one entry, and one
 * restart point, per data block: as many as this builder ended, where it
 * keeps filters). */
static int parted_write_partitions(parted_writer *w, const uint8_t *index, size_t index_len)
{
    block flat;
    const char *why = block_init(&flat, index, index_len);
    if (why != NULL)
        return kv_error(KV_ERR_CORRUPT, "the index built for the partitions: %s", why);
    if (w->b->filters && flat.nrestarts != w->b->nblock)
        return kv_error(KV_ERR_CORRUPT, "the builder counted %zu data blocks, format v2's "
                        "index %u", w->b->nblock, (unsigned)flat.nrestarts);
    block_iter it = {0};
    block_iter_init(&it, &flat, TABLE_V2_IKEY_MIN);
    size_t i = 0;
    int rc = KV_OK;
    size_t target = w->b->ctx->block_bytes;
    for (block_iter_seek_first(&it); it.valid && rc == KV_OK; i++) {
        rc = block_builder_add(&w->part, it.key, it.key_len, it.value, it.value_len);
        /* The key is needed after the iterator moves on. */
        uint8_t *key = rc == KV_OK ? malloc(it.key_len) : NULL;
        size_t klen = it.key_len;
        if (rc == KV_OK && key == NULL)
            rc = kv_error(KV_ERR_NOMEM, "cannot allocate a key");
        if (rc == KV_OK)
            memcpy(key, it.key, klen);
        block_iter_next(&it);
        if (rc == KV_OK && (block_builder_size(&w->part) >= target || !it.valid))
            rc = parted_write_partition(w, i, key, klen);
        free(key);
    }
    if (rc == KV_OK && it.status != KV_OK)
        rc = kv_error(it.status, "the index built for the partitions cannot be read");
    block_iter_free(&it);
    return rc;
}

/* The top level, stored at P; *h says where. */
static int parted_write_top(parted_writer *w, table_v2_handle *h)
{
    const uint8_t *contents;
    size_t len;
    int rc = block_builder_finish(&w->top, &contents, &len);
    if (rc == KV_OK)
        rc = table_v2_builder_store(w->b->v2, contents, len, h, NULL);
    return rc;
}

static void parted_builder_free(parted_builder *b)
{
    free(b->hashes);
    free(b->block_end);
    free(b);
}

int parted_builder_finish(parted_builder *b, table_meta *meta)
{
    if (b->whole) {
        int rc = table_v2_builder_finish(b->v2, meta); /* frees b->v2 */
        parted_builder_free(b);
        return rc;
    }
    const uint8_t *index;
    size_t index_len;
    parted_writer w = {.b = b};
    block_builder_init(&w.part, 1);
    block_builder_init(&w.top, 1);
    if (b->filters)
        bloom_builder_init(&w.bloom, b->ctx->bloom_bits);
    int rc = table_v2_builder_end_data(b->v2, &index, &index_len);
    if (rc == KV_OK && b->filters)
        rc = parted_end_block(b);
    if (rc == KV_OK)
        rc = parted_write_partitions(&w, index, index_len);
    table_v2_handle top;
    if (rc == KV_OK)
        rc = parted_write_top(&w, &top);
    block_builder_free(&w.part);
    block_builder_free(&w.top);
    if (b->filters)
        bloom_builder_destroy(&w.bloom);
    free(w.buf);
    if (rc == KV_OK)
        rc = table_v2_builder_store_meta(b->v2);
    if (rc == KV_OK)
        rc = table_v2_builder_close(b->v2, &top, meta); /* frees b->v2 */
    else
        table_v2_builder_abandon(b->v2);
    parted_builder_free(b);
    return rc;
}

void parted_builder_abandon(parted_builder *b)
{
    if (b == NULL)
        return;
    table_v2_builder_abandon(b->v2);
    parted_builder_free(b);
}
