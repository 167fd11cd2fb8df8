/*
 * block_builder.c: the contents of one block, entries with shared
 * prefixes and restart points (block_builder.h).
 */
#include "block_builder.h"
#include "block_hash.h"
#include "block_value.h"

#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "error.h"
#include "kv.h"

void block_builder_init(block_builder *b, unsigned interval)
{
    memset(b, 0, sizeof *b);
    b->interval = interval;
}

void block_builder_free(block_builder *b)
{
    free(b->buf);
    free(b->restarts);
    free(b->last);
    block_hash_builder_free(b->hash);
    block_value_packer_free(b->cells);
    block_builder_init(b, b->interval);
}

int block_builder_hash_index(block_builder *b)
{
    if (b->hash == NULL && (b->hash = block_hash_builder_new()) == NULL)
        return kv_error(KV_ERR_NOMEM, "block: cannot allocate a hash index's builder");
    return KV_OK;
}

int block_builder_value_cells(block_builder *b)
{
    if (b->cells == NULL && (b->cells = block_value_packer_new()) == NULL)
        return kv_error(KV_ERR_NOMEM, "block: cannot allocate a value packer");
    return KV_OK;
}

void block_builder_reset(block_builder *b)
{
    b->len = 0;
    b->nrestarts = 0;
    b->last_len = 0;
    b->counter = 0;
    b->entries = 0;
    block_hash_builder_reset(b->hash);
}

/* Makes room for `more` bytes after len in a buffer of cap bytes. */
static int block_builder_grow(uint8_t **p, size_t *cap, size_t len, size_t more)
{
    if (more <= *cap - len)
        return KV_OK;
    size_t want = *cap ? *cap : 256;
    while (want - len < more)
        want *= 2;
    uint8_t *grown = realloc(*p, want);
    if (grown == NULL)
        return kv_error(KV_ERR_NOMEM, "block: cannot allocate %zu bytes", want);
    *p = grown;
    *cap = want;
    return KV_OK;
}

size_t block_builder_size(const block_builder *b)
{
    return b->len + 4 * b->nrestarts + block_hash_builder_bytes(b->hash, b->entries, b->nrestarts) +
           4;
}

size_t block_builder_size_with(const block_builder *b, size_t klen, size_t vlen)
{
    return b->len + 4 * b->nrestarts + block_hash_builder_bytes(b->hash, b->entries + 1, 0) + 4 +
           3 * CODING_MAX_VARINT32 + klen + vlen + (b->cells != NULL) + 4;
}

int block_builder_add(block_builder *b, const uint8_t *key, size_t klen, const uint8_t *value,
                      size_t vlen)
{
    if (b->cells != NULL && block_value_pack(b->cells, value, vlen, &value, &vlen) != KV_OK)
        return KV_ERR_NOMEM;
    size_t shared = 0;
    int restart = b->entries == 0 || b->counter >= b->interval;
    if (!restart) {
        size_t n = klen < b->last_len ? klen : b->last_len;
        while (shared < n && b->last[shared] == key[shared])
            shared++;
    }
    size_t unshared = klen - shared;
    if (restart && b->nrestarts == b->restarts_cap) {
        size_t cap = b->restarts_cap ? 2 * b->restarts_cap : 16;
        uint32_t *grown = realloc(b->restarts, cap * sizeof *grown);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "block: cannot allocate %zu restart points", cap);
        b->restarts = grown;
        b->restarts_cap = cap;
    }
    if (block_hash_builder_room(b->hash) != KV_OK)
        return KV_ERR_NOMEM;
    size_t last_cap = b->last_cap;
    if (block_builder_grow(&b->buf, &b->cap, b->len, 3 * CODING_MAX_VARINT32 + unshared + vlen) !=
            KV_OK ||
        block_builder_grow(&b->last, &last_cap, 0, klen) != KV_OK)
        return KV_ERR_NOMEM;
    b->last_cap = last_cap;
    if (restart) {
        b->restarts[b->nrestarts++] = (uint32_t)b->len;
        b->counter = 0;
    }
    uint8_t *p = b->buf + b->len;
    p = coding_put_varint32(p, (uint32_t)shared);
    p = coding_put_varint32(p, (uint32_t)unshared);
    p = coding_put_varint32(p, (uint32_t)vlen);
    if (unshared > 0)
        memcpy(p, key + shared, unshared);
    p += unshared;
    if (vlen > 0)
        memcpy(p, value, vlen);
    p += vlen;
    b->len = (size_t)(p - b->buf);
    if (unshared > 0)
        memcpy(b->last + shared, key + shared, unshared);
    b->last_len = klen;
    block_hash_builder_note(b->hash, key, klen, (uint32_t)b->nrestarts - 1);
    b->counter++;
    b->entries++;
    return KV_OK;
}

int block_builder_finish(block_builder *b, const uint8_t **contents, size_t *len)
{
    size_t hash_bytes = block_hash_builder_finish(b->hash, b->nrestarts);
    if (block_builder_grow(&b->buf, &b->cap, b->len, 4 * b->nrestarts + hash_bytes + 4) != KV_OK)
        return KV_ERR_NOMEM;
    uint8_t *p = b->buf + b->len;
    for (size_t i = 0; i < b->nrestarts; i++, p += 4)
        coding_put_u32(p, b->restarts[i]);
    /* with the index's flag if it has one, and the cells' */
    uint32_t last = (uint32_t)b->nrestarts | (b->cells != NULL ? BLOCK_VALUE_FLAG : 0);
    p = block_hash_builder_put(b->hash, p, &last);
    coding_put_u32(p, last);
    *contents = b->buf;
    *len = b->len + 4 * b->nrestarts + hash_bytes + 4;
    return KV_OK;
}
