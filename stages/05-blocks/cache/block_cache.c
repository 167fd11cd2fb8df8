/*
 * block_cache.c: the block cache of block_cache.h, an lru_cache whose
 * entries hold a block's bytes as their payload (one allocation a block)
 * and are charged the whole allocation.
 */
#include "block_cache.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "doorkeeper.h"
#include "error.h"

struct block_cache {
    lru_cache *lru;
    doorkeeper *admit;
    atomic_uint_fast64_t last_id;
};

int block_cache_new_sharded(size_t capacity_bytes, unsigned shards, block_cache **out)
{
    block_cache *c = malloc(sizeof *c);
    if (c == NULL)
        return kv_error(KV_ERR_NOMEM, "block cache: cannot allocate");
    if (capacity_bytes == 0)
        capacity_bytes = BLOCK_CACHE_DEFAULT_BYTES;
    int rc = lru_cache_new(capacity_bytes, shards, NULL, &c->lru);
    if (rc != KV_OK) {
        free(c);
        return rc;
    }
    c->admit = doorkeeper_new(capacity_bytes);
    if (c->admit == NULL) {
        lru_cache_free(c->lru);
        free(c);
        return kv_error(KV_ERR_NOMEM, "block cache: cannot allocate its doorkeeper");
    }
    atomic_init(&c->last_id, 0);
    *out = c;
    return KV_OK;
}

int block_cache_new(size_t capacity_bytes, block_cache **out)
{
    return block_cache_new_sharded(capacity_bytes, BLOCK_CACHE_SHARDS, out);
}

void block_cache_free(block_cache *c)
{
    if (c == NULL)
        return;
    lru_cache_free(c->lru);
    doorkeeper_free(c->admit);
    free(c);
}

uint64_t block_cache_new_id(block_cache *c)
{
    return atomic_fetch_add_explicit(&c->last_id, 1, memory_order_relaxed) + 1;
}

block_cache_handle *block_cache_lookup(block_cache *c, uint64_t id, uint64_t offset)
{
    return lru_cache_lookup(c->lru, id, offset);
}

block_cache_handle *block_cache_prepare(block_cache *c, size_t size)
{
    return lru_cache_entry_new(c->lru, size);
}

uint8_t *block_cache_data(block_cache_handle *h)
{
    return lru_entry_payload(h);
}

size_t block_cache_size(const block_cache_handle *h)
{
    return lru_entry_payload_bytes(h);
}

void block_cache_set_size(block_cache_handle *h, size_t size)
{
    lru_entry_shrink(h, size);
}

void block_cache_insert(block_cache *c, block_cache_handle *h, uint64_t id, uint64_t offset)
{
    /* What the allocation really costs: set_size gives no memory back, so
     * the charge is the size prepared, not the size in use. */
    size_t charge = lru_entry_overhead() + lru_entry_allocated(h);
    doorkeeper_charged(c->admit, charge);
    lru_cache_insert(c->lru, h, id, offset, charge);
}

int block_cache_admit(block_cache *c, uint64_t id, uint64_t offset)
{
    return doorkeeper_ask(c->admit, id, offset);
}

void block_cache_release(block_cache *c, block_cache_handle *h)
{
    lru_cache_release(c->lru, h);
}

void block_cache_stats(block_cache *c, lru_cache_stats *s)
{
    lru_cache_stats_get(c->lru, s);
}

void block_cache_report(block_cache *c, kv_line_fn line, void *line_ctx)
{
    lru_cache_report(c->lru, "block_cache", line, line_ctx);
    char text[96];
    snprintf(text, sizeof text, "session.block_cache.declined: %" PRIu64,
             doorkeeper_declined(c->admit));
    line(line_ctx, text);
}
