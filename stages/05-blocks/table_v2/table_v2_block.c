/*
 * table_v2_block.c: reading stored blocks of a v2 table (table_v2_format.h):
 * the positioned read through the open-file cache, the trailer's checks,
 * lz4 decompression bounded by the recorded sizes, and the block cache.
 *
 * A lookup's block comes from the block cache, or from the file's mapping
 * (file_cache.h, F4: no system call), or costs exactly one positioned
 * read: the stored contents and the trailer together (the index gave
 * their size).  The checksum is checked before anything in the
 * block is believed, the raw size before anything is allocated for it,
 * and only a block that passed every check goes into the cache (its C2).
 */
#include <inttypes.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "table_v2_format.h"

int table_v2_read(table *t, file_cache_handle **pin, uint64_t off, void *buf, size_t n,
                  unsigned *reads)
{
    file_cache_handle *fh = pin != NULL ? *pin : NULL;
    int rc = fh != NULL ? KV_OK : file_cache_get(t->kept.ctx->files, t->kept.id, t->path, &fh);
    if (rc != KV_OK)
        return rc;
    size_t got = 0;
    rc = io_read_at(file_cache_file(fh), off, buf, n, &got);
    if (pin != NULL)
        *pin = fh;
    else
        file_cache_release(t->kept.ctx->files, fh);
    table_v2_count(&t->kept.ctx->reads, 1);
    if (reads != NULL)
        (*reads)++;
    if (rc != KV_OK)
        return rc;
    table_v2_count(&t->kept.ctx->read_bytes, got);
    return got < n ? table_v2_read_short(t, off, got, n) : KV_OK;
}

int table_v2_read_short(table *t, uint64_t off, size_t got, size_t n)
{
    return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the file ends after %zu of "
                    "%zu bytes (it was %" PRIu64 " bytes at open)",
                    t->path, off, got, n, t->file_bytes);
}

int table_v2_read_view(table *t, file_cache_handle **pin, uint64_t off, void *buf, size_t n,
                       const uint8_t **p, unsigned *reads)
{
    if (*pin == NULL) {
        int rc = file_cache_get(t->kept.ctx->files, t->kept.id, t->path, pin);
        if (rc != KV_OK)
            return rc;
    }
    uint64_t len;
    const uint8_t *map = file_cache_map(*pin, &len);
    if (map == NULL || off > len || n > len - off) {
        /* Not mapped, or past what was mapped: the positioned read says
         * how the file ends. */
        *p = buf;
        return table_v2_read(t, pin, off, buf, n, reads);
    }
    *p = map + off;
    if (atomic_load_explicit(&t->map_hint, memory_order_relaxed) != (uintptr_t)map)
        atomic_store_explicit(&t->map_hint, (uintptr_t)map, memory_order_relaxed);
    /* The first read of the mapping asks, once, to keep the file held for
     * the table's lookups (table_v2_block_pinned). */
    if (!atomic_exchange_explicit(&t->map_pin_tried, 1, memory_order_relaxed))
        atomic_store_explicit(&t->map_pin, file_cache_pin(t->kept.ctx->files, t->kept.id),
                              memory_order_release);
    table_v2_count(&t->kept.ctx->reads, 1);
    table_v2_count(&t->kept.ctx->read_bytes, n);
    if (reads != NULL)
        (*reads)++;
    return KV_OK;
}

const char *table_v2_uncompress(const uint8_t *p, uint32_t size, uint8_t *dst, uint32_t raw)
{
    int n = LZ4_decompress_safe((const char *)p, (char *)dst, (int)size, (int)raw);
    return n == (int)raw ? NULL : "its lz4 contents do not decompress to its raw size";
}

const char *table_v2_block_init(block *b, const uint8_t *p, size_t n, int type)
{
    const char *why = block_init(b, p, n);
    if (why == NULL && type == TABLE_V2_LZ4 && b->cells)
        why = "it is stored with lz4 and says its values are compressed too";
    return why;
}

static int table_v2_block_damage(table *t, table_v2_handle h, const char *why)
{
    return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the block there (%" PRIu32
                    " bytes stored): %s", t->path, h.offset, h.size, why);
}

/* Grows *buf to n bytes. */
static int table_v2_scratch(table *t, uint8_t **buf, size_t *cap, size_t n)
{
    if (n <= *cap)
        return KV_OK;
    uint8_t *grown = realloc(*buf, n);
    if (grown == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate %zu bytes for a block", t->path, n);
    *buf = grown;
    *cap = n;
    return KV_OK;
}

int table_v2_block_decode(table *t, table_v2_handle h, const uint8_t *p, uint8_t **scratch,
                          size_t *scratch_cap, block *b)
{
    int type;
    uint32_t raw;
    const char *why = table_v2_stored_check(p, h.size, &type, &raw);
    if (why != NULL)
        return table_v2_block_damage(t, h, why);
    const uint8_t *contents = p;
    if (type == TABLE_V2_LZ4) {
        int rc = table_v2_scratch(t, scratch, scratch_cap, raw);
        if (rc != KV_OK)
            return rc;
        if ((why = table_v2_uncompress(p, h.size, *scratch, raw)) != NULL)
            return table_v2_block_damage(t, h, why);
        contents = *scratch;
    }
    why = table_v2_block_init(b, contents, raw, type);
    return why == NULL ? KV_OK : table_v2_block_damage(t, h, why);
}

/* Decompresses or copies the checked stored block at p into dst (raw
 * bytes) and finds its restart array. */
static const char *table_v2_block_fill(const uint8_t *p, uint32_t size, int type, uint8_t *dst,
                                       uint32_t raw, block *b)
{
    if (type == TABLE_V2_LZ4) {
        const char *why = table_v2_uncompress(p, size, dst, raw);
        if (why != NULL)
            return why;
    } else {
        memcpy(dst, p, raw);
    }
    return table_v2_block_init(b, dst, raw, type);
}

/* A block the cache turned away, left where it lies: in the file's
 * mapping, which ref now holds, or in a lookup's read buffer (*in_map
 * NULL): its contents in place if raw, else its lz4 bytes for
 * table_v2_scan to decode as far as it needs. */
static int table_v2_block_leave(table *t, table_v2_handle h, const uint8_t *stored, int type,
                                uint32_t raw, int mapped, file_cache_handle **in_map,
                                table_v2_blockref *ref)
{
    if (type == TABLE_V2_LZ4) {
        ref->lz4 = stored;
        ref->lz4_size = h.size;
        ref->raw = raw;
    } else {
        int known = mapped && table_v2_checked_in_place(t, h); /* passed block_init */
        const char *why = (known ? block_init_known : block_init)(&ref->b, stored, raw);
        if (why != NULL)
            return table_v2_block_damage(t, h, why);
    }
    ref->held = *in_map;
    *in_map = NULL;
    return KV_OK;
}

int table_v2_block_keep(table *t, table_v2_handle h, const uint8_t *stored, int mapped,
                        file_cache_handle **in_map, uint8_t *once, size_t once_cap,
                        table_v2_blockref *ref)
{
    *ref = (table_v2_blockref){.cached = NULL};
    int type = TABLE_V2_RAW;
    uint32_t raw = 0;
    const char *why = table_v2_check_stored(t, h, stored, mapped, &type, &raw);
    if (why != NULL)
        return table_v2_block_damage(t, h, why);
    /* The rest of the table's blocks, checked ahead in the background
     * (table_v2_check_ahead.c). */
    if (mapped && !atomic_load_explicit(&t->ahead_asked, memory_order_relaxed))
        table_v2_check_ahead_ask(t);
    block_cache *c = t->kept.ctx->cache;
    /* A raw data block in the file's mapping, whose check is remembered
     * (table_v2_checked.c), is searched where it lies: a copy in the cache
     * would hold the bytes the page cache holds, checked as often. */
    if (mapped && in_map != NULL && type == TABLE_V2_RAW && h.nth1 != 0)
        return table_v2_block_leave(t, h, stored, type, raw, mapped, in_map, ref);
    if (once != NULL && raw <= once_cap && !block_cache_admit(c, t->kept.id, h.offset)) {
        if (in_map != NULL)
            return table_v2_block_leave(t, h, stored, type, raw, mapped, in_map, ref);
        why = table_v2_block_fill(stored, h.size, type, once, raw, &ref->b);
        return why == NULL ? KV_OK : table_v2_block_damage(t, h, why);
    }
    block_cache_handle *bh = block_cache_prepare(c, raw);
    uint8_t *dst = bh != NULL ? block_cache_data(bh) : (ref->owned = malloc(raw ? raw : 1));
    int rc = KV_OK;
    if (dst == NULL)
        rc = kv_error(KV_ERR_NOMEM, "%s: cannot allocate %" PRIu32 " bytes for a block",
                      t->path, raw);
    else if ((why = table_v2_block_fill(stored, h.size, type, dst, raw, &ref->b)) != NULL)
        rc = table_v2_block_damage(t, h, why);
    if (rc != KV_OK) {
        block_cache_release(c, bh); /* never inserted: freed */
        free(ref->owned);
        ref->owned = NULL;
        return rc;
    }
    if (bh != NULL) {
        block_cache_insert(c, bh, t->kept.id, h.offset);
        ref->cached = bh;
    }
    return KV_OK;
}

int table_v2_block_cached(table *t, table_v2_handle h, table_v2_blockref *ref, int *hit)
{
    *ref = (table_v2_blockref){.cached = NULL};
    block_cache *c = t->kept.ctx->cache;
    block_cache_handle *bh = block_cache_lookup(c, t->kept.id, h.offset);
    *hit = bh != NULL;
    if (bh == NULL)
        return KV_OK;
    /* Checked before it went in (C2): its restart array is found again,
     * which block_init cannot fail on. */
    const char *why = block_init(&ref->b, block_cache_data(bh), block_cache_size(bh));
    if (why != NULL) {
        block_cache_release(c, bh);
        return table_v2_block_damage(t, h, why);
    }
    ref->cached = bh;
    return KV_OK;
}

int table_v2_block_get(table *t, file_cache_handle **pin, table_v2_handle h, uint8_t *once,
                       size_t once_cap, uint8_t *read_buf, table_v2_blockref *ref,
                       int *from_cache, unsigned *reads)
{
    int rc = KV_OK;
    *from_cache = 0;
    *ref = (table_v2_blockref){.cached = NULL};
    /* Its bits read once: a block checked in place stays so. */
    int in_place = table_v2_checked_in_place(t, h);
    table_v2_checked_prefetch(t, h, in_place);
    const char *why = NULL;
    if (pin == NULL && in_place && table_v2_checked_pinned(t, h, ref, reads, &why)) {
        if (!atomic_load_explicit(&t->ahead_asked, memory_order_relaxed))
            table_v2_check_ahead_ask(t); /* as table_v2_block_keep asks */
        return why == NULL ? KV_OK : table_v2_block_damage(t, h, why);
    }
    /* A raw block a lookup found in the mapping before never went into
     * the cache: straight to the mapping (table_v2_checked.c). */
    if (pin != NULL || !in_place) {
        rc = table_v2_block_cached(t, h, ref, from_cache);
        if (rc != KV_OK || *from_cache)
            return rc;
    }
    size_t n = (size_t)h.size + TABLE_V2_TRAILER;
    uint8_t stack[TABLE_V2_STACK_READ];
    uint8_t *own = read_buf != NULL ? read_buf : stack;
    uint8_t *buf = n <= TABLE_V2_STACK_READ ? own : malloc(n);
    if (buf == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate %zu bytes for a block", t->path, n);
    /* The file is held until the block is copied out of its mapping. */
    file_cache_handle *held = NULL, **hold = pin != NULL ? pin : &held;
    const uint8_t *stored = buf;
    rc = table_v2_read_view(t, hold, h.offset, buf, n, &stored, reads);
    /* A lookup's block may stay where it was read: in the mapping (held by
     * ref), or in the caller's read_buf (nothing to hold). */
    file_cache_handle *none = NULL, **stays = NULL;
    if (pin == NULL && stored != buf)
        stays = &held;
    else if (pin == NULL && buf == read_buf)
        stays = &none;
    if (rc == KV_OK)
        rc = table_v2_block_keep(t, h, stored, stored != buf, stays, once, once_cap, ref);
    file_cache_release(t->kept.ctx->files, held);
    if (buf != own)
        free(buf);
    return rc;
}

void table_v2_block_release(table *t, table_v2_blockref *ref)
{
    if (ref->cached != NULL || ref->owned != NULL || ref->held != NULL) {
        /* (a block read in place through the pin holds none of them) */
        block_cache_release(t->kept.ctx->cache, ref->cached);
        free(ref->owned);
        file_cache_release(t->kept.ctx->files, ref->held);
    }
    *ref = (table_v2_blockref){.cached = NULL};
}
