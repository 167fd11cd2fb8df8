/*
 * file_cache.c: the open-file cache of file_cache.h, an lru_cache whose
 * entries hold an open file and its mapping (file_cache_slot) as their
 * payload, charged 1 each, and unmap and close it when they are freed.
 */
#include "file_cache.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"

#define FILE_CACHE_SHARDS 16
#define FILE_CACHE_MIN_PER_SHARD 8

struct file_cache {
    lru_cache *lru;
    int map;        /* map the files it opens (F4); set before any get */
    atomic_uint_least64_t mapped_bytes; /* the mappings of its open files */
    uint64_t map_limit;     /* at most this many of them (FC6); 0: no bound */
    atomic_uint_least64_t opened_unmapped; /* files FC6 left unmapped */
    atomic_size_t pinned;   /* files held by file_cache_pin now */
    size_t pin_limit;       /* at most this many (a share of the bound) */
};

/* An entry's payload. */
typedef struct file_cache_slot {
    io_file *f;
    const uint8_t *map;     /* the file's bytes [0, map_len), or NULL */
    uint64_t map_len;
    atomic_uint_least64_t *mapped_bytes; /* the cache's, where map_len is counted */
} file_cache_slot;

static file_cache_slot *file_cache_slot_of(file_cache_handle *h)
{
    return lru_entry_payload(h);
}

/* The lru_cache's on_free: the entry is going, so its file is unmapped
 * and closed.  A read-only file loses nothing if its close fails; nothing
 * to report. */
static void file_cache_close(void *payload, size_t payload_bytes)
{
    (void)payload_bytes;
    file_cache_slot *slot = payload;
    if (slot->f == NULL)
        return;
    if (slot->map != NULL)
        atomic_fetch_sub_explicit(slot->mapped_bytes, slot->map_len, memory_order_relaxed);
    io_unmap(slot->f, slot->map, slot->map_len);
    io_close(slot->f);
}

int file_cache_new_sharded(int max_open_files, unsigned shards, file_cache **out)
{
    file_cache *fc = malloc(sizeof *fc);
    if (fc == NULL)
        return kv_error(KV_ERR_NOMEM, "table cache: cannot allocate");
    size_t capacity = max_open_files > 0 ? (size_t)max_open_files : FILE_CACHE_DEFAULT_FILES;
    fc->map = 1;
    atomic_init(&fc->mapped_bytes, 0);
    fc->map_limit = 0;
    atomic_init(&fc->opened_unmapped, 0);
    atomic_init(&fc->pinned, 0);
    fc->pin_limit = capacity - capacity / 4;
    int rc = lru_cache_new(capacity, shards, file_cache_close, &fc->lru);
    if (rc != KV_OK) {
        free(fc);
        return rc;
    }
    *out = fc;
    return KV_OK;
}

int file_cache_new(int max_open_files, file_cache **out)
{
    size_t capacity = max_open_files > 0 ? (size_t)max_open_files : FILE_CACHE_DEFAULT_FILES;
    unsigned shards = FILE_CACHE_SHARDS;
    while (shards > 1 && capacity / shards < FILE_CACHE_MIN_PER_SHARD)
        shards /= 2;
    return file_cache_new_sharded(max_open_files, shards, out);
}

void file_cache_free(file_cache *fc)
{
    if (fc == NULL)
        return;
    lru_cache_free(fc->lru);
    free(fc);
}

file_cache_handle *file_cache_find(file_cache *fc, uint64_t id)
{
    return lru_cache_lookup(fc->lru, id, 0);
}

/* Reserves the whole length of the file f in the mapping budget (FC6):
 * *reserved is that length, to be mapped; or 0, leaving f unmapped (it
 * does not fit, or is empty: nothing to map).  KV_OK, or io_size's
 * error. */
static int file_cache_reserve(file_cache *fc, io_file *f, uint64_t *reserved)
{
    *reserved = 0;
    uint64_t size = 0;
    int rc = io_size(f, &size);
    if (rc != KV_OK || size == 0)
        return rc;
    uint64_t now = atomic_load_explicit(&fc->mapped_bytes, memory_order_relaxed);
    do {
        if (size > fc->map_limit || now > fc->map_limit - size) {
            atomic_fetch_add_explicit(&fc->opened_unmapped, 1, memory_order_relaxed);
            return KV_OK;
        }
    } while (!atomic_compare_exchange_weak_explicit(&fc->mapped_bytes, &now, now + size,
                                                    memory_order_relaxed, memory_order_relaxed));
    *reserved = size;
    return KV_OK;
}

int file_cache_get(file_cache *fc, uint64_t id, const char *path, file_cache_handle **out)
{
    *out = lru_cache_lookup(fc->lru, id, 0);
    if (*out != NULL)
        return KV_OK;
    file_cache_handle *h = lru_cache_entry_new(fc->lru, sizeof(file_cache_slot));
    if (h == NULL)
        return kv_error(KV_ERR_NOMEM, "table cache: cannot allocate an entry to open %s", path);
    file_cache_slot *slot = file_cache_slot_of(h);
    *slot = (file_cache_slot){0};
    int rc = io_open(path, IO_READ, &slot->f);
    if (rc != KV_OK) {
        slot->f = NULL;
        lru_cache_release(fc->lru, h); /* FC3: nothing cached */
        return rc;
    }
    const void *map = NULL;
    uint64_t reserved = 0;
    if (fc->map && fc->map_limit == 0)
        rc = io_map(slot->f, &map, &slot->map_len);
    else if (fc->map && slot->f->ops->map != NULL &&
             (rc = file_cache_reserve(fc, slot->f, &reserved)) == KV_OK && reserved > 0)
        rc = io_map(slot->f, &map, &slot->map_len);
    if (rc != KV_OK) {
        atomic_fetch_sub_explicit(&fc->mapped_bytes, reserved, memory_order_relaxed);
        io_close(slot->f);
        slot->f = NULL;
        lru_cache_release(fc->lru, h);
        return rc;
    }
    slot->map = map;
    slot->mapped_bytes = &fc->mapped_bytes;
    /* What the mapping holds replaces what was reserved for it (the same,
     * unless the file changed length in between). */
    uint64_t holds = map != NULL ? slot->map_len : 0;
    if (holds > reserved)
        atomic_fetch_add_explicit(&fc->mapped_bytes, holds - reserved, memory_order_relaxed);
    else if (holds < reserved)
        atomic_fetch_sub_explicit(&fc->mapped_bytes, reserved - holds, memory_order_relaxed);
    lru_cache_insert(fc->lru, h, id, 0, 1);
    *out = h;
    return KV_OK;
}

io_file *file_cache_file(file_cache_handle *h)
{
    return file_cache_slot_of(h)->f;
}

const uint8_t *file_cache_map(file_cache_handle *h, uint64_t *len)
{
    file_cache_slot *slot = file_cache_slot_of(h);
    *len = slot->map_len;
    return slot->map;
}

void file_cache_set_map(file_cache *fc, int map)
{
    fc->map = map;
}

void file_cache_set_map_bytes(file_cache *fc, uint64_t bytes)
{
    fc->map_limit = bytes;
}

file_cache_handle *file_cache_pin(file_cache *fc, uint64_t id)
{
    if (atomic_fetch_add_explicit(&fc->pinned, 1, memory_order_relaxed) >= fc->pin_limit) {
        atomic_fetch_sub_explicit(&fc->pinned, 1, memory_order_relaxed);
        return NULL;
    }
    file_cache_handle *h = lru_cache_lookup(fc->lru, id, 0);
    if (h == NULL || file_cache_slot_of(h)->map == NULL) {
        lru_cache_release(fc->lru, h);
        atomic_fetch_sub_explicit(&fc->pinned, 1, memory_order_relaxed);
        return NULL;
    }
    return h;
}

void file_cache_unpin(file_cache *fc, file_cache_handle *h)
{
    if (h == NULL)
        return;
    lru_cache_release(fc->lru, h);
    atomic_fetch_sub_explicit(&fc->pinned, 1, memory_order_relaxed);
}

int file_cache_maps(const file_cache *fc)
{
    return fc->map && io_get_ops()->map != NULL;
}

void file_cache_release(file_cache *fc, file_cache_handle *h)
{
    lru_cache_release(fc->lru, h);
}

void file_cache_evict(file_cache *fc, uint64_t id)
{
    lru_cache_erase(fc->lru, id, 0);
}

void file_cache_stats(file_cache *fc, lru_cache_stats *s)
{
    lru_cache_stats_get(fc->lru, s);
}

void file_cache_report(file_cache *fc, kv_line_fn line, void *line_ctx)
{
    lru_cache_report(fc->lru, "table_cache", line, line_ctx);
    char text[64];
    snprintf(text, sizeof text, "table_cache.mapped_bytes: %llu",
             (unsigned long long)file_cache_mapped_bytes(fc));
    line(line_ctx, text);
    if (fc->map_limit == 0)
        return;
    snprintf(text, sizeof text, "table_cache.map_bytes_limit: %llu",
             (unsigned long long)fc->map_limit);
    line(line_ctx, text);
    snprintf(text, sizeof text, "session.table_cache.opened_unmapped: %llu",
             (unsigned long long)atomic_load_explicit(&fc->opened_unmapped,
                                                      memory_order_relaxed));
    line(line_ctx, text);
}

uint64_t file_cache_mapped_bytes(file_cache *fc)
{
    return atomic_load_explicit(&fc->mapped_bytes, memory_order_relaxed);
}
