/*
 * table_v2_iter.c: walking a v2 table in order, both ways (table.h,
 * iterator.h).
 *
 * Two levels: an iterator over the index (in memory) picks a data block,
 * and an iterator over that block's entries walks it; stepping off either
 * end of a block moves the index one entry and loads the next (or the
 * previous) block.  A block comes from the block cache if it is there;
 * otherwise it is taken straight from the table's mapping when the file
 * is mapped (file_cache.h, F4: no copy and no system call), or else read
 * through a window of the file of the iterator's own; either way it is not
 * put in the cache, so that a scan (or a kv_compact reading every table)
 * does not push out the blocks lookups use.  The block a
 * seek lands in is the exception: it is read as a lookup reads one (from
 * the cache, or one read, then cached), because seeks to random keys are
 * lookups too, and find their blocks cached as lookups do.
 *
 * An iterator keeps its table's file open from its creation to its end
 * (a handle of the open-file cache), so that it goes on reading a table
 * whose file the engine deleted meanwhile (table.h), however many other
 * files the cache has closed since.
 *
 * The window streams: each read in the course of next or prev reads
 * ahead, 16 KiB, then twice as much each time up to 64 KiB (forward:
 * starting at the block wanted; backward: ending with it).  So a point
 * seek costs one block's read or none, a long scan few system calls, and
 * an iterator holds at most a 64 KiB window and one decompressed block
 * (more only for a larger block).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "block_value.h"
#include "error.h"
#include "table_v2_format.h"

#define TABLE_V2_READAHEAD_MIN (16u * 1024u)
#define TABLE_V2_READAHEAD_MAX (64u * 1024u)

typedef struct table_v2_iter {
    iter base;
    table *t;
    block_iter index;        /* over index_ref.b */
    table_v2_blockref index_ref;   /* the index it was made over, held */
    block_iter entries;      /* over the block shown */
    int loaded;              /* entries is on a block */
    table_v2_handle h;       /* that block's handle */
    block_cache_handle *cached;   /* the block, if it came from the cache */
    table_v2_blockref ref;   /* the block a seek landed in (as a lookup reads it) */
    uint8_t *win;            /* file bytes [win_at, win_at + win_len) */
    uint64_t win_at;
    size_t win_len, win_cap;
    size_t readahead;        /* 0 after a seek */
    uint8_t *raw;            /* a decompressed block */
    size_t raw_cap;
    uint8_t *value;          /* the value shown, unpacked from its cell
                                (block_value.h) */
    size_t value_cap;
    file_cache_handle *pin;  /* the table's file, kept open */
} table_v2_iter;

static void table_v2_iter_drop_block(table_v2_iter *it)
{
    block_cache_release(it->t->kept.ctx->cache, it->cached);
    it->cached = NULL;
    table_v2_block_release(it->t, &it->ref);
    it->loaded = 0;
}

/* Makes the window hold the stored block h, reading ahead in the
 * direction of travel. */
static int table_v2_iter_window(table_v2_iter *it, table_v2_handle h, int backward)
{
    uint64_t need = (uint64_t)h.size + TABLE_V2_TRAILER, end = h.offset + need;
    if (it->win_len > 0 && h.offset >= it->win_at && end <= it->win_at + it->win_len)
        return KV_OK;
    size_t want = (size_t)need;
    if (it->readahead > want)
        want = it->readahead;
    uint64_t start = h.offset;
    if (backward)
        start = end - TABLE_V2_DATA_AT > want ? end - want : TABLE_V2_DATA_AT;
    else if (it->t->kept.data_end - start < want)
        want = (size_t)(it->t->kept.data_end - start);
    if (backward)
        want = (size_t)(end - start);
    if (want > it->win_cap) {
        uint8_t *grown = realloc(it->win, want);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "%s: cannot allocate %zu bytes to read blocks",
                            it->t->path, want);
        it->win = grown;
        it->win_cap = want;
    }
    it->win_len = 0;
    int rc = table_v2_read(it->t, &it->pin, start, it->win, want, NULL);
    if (rc != KV_OK)
        return rc;
    it->win_at = start;
    it->win_len = want;
    /* The next read, if the walk goes on, reads ahead further. */
    it->readahead = it->readahead == 0 ? TABLE_V2_READAHEAD_MIN : 2 * it->readahead;
    if (it->readahead > TABLE_V2_READAHEAD_MAX)
        it->readahead = TABLE_V2_READAHEAD_MAX;
    return KV_OK;
}

/* Points *stored at the stored block h: into the table's mapping if the
 * file is mapped and the mapping covers it, else into the window. */
static int table_v2_iter_stored(table_v2_iter *it, table_v2_handle h, int backward,
                                const uint8_t **stored)
{
    if (it->pin == NULL) {
        int rc = file_cache_get(it->t->kept.ctx->files, it->t->kept.id, it->t->path, &it->pin);
        if (rc != KV_OK)
            return rc;
    }
    uint64_t len, need = (uint64_t)h.size + TABLE_V2_TRAILER;
    if (file_cache_map(it->pin, &len) != NULL && h.offset <= len && need <= len - h.offset)
        return table_v2_read_view(it->t, &it->pin, h.offset, NULL, (size_t)need, stored, NULL);
    int rc = table_v2_iter_window(it, h, backward);
    if (rc == KV_OK)
        *stored = it->win + (h.offset - it->win_at);
    return rc;
}

/* Loads the block the index iterator shows into the entries iterator:
 * as a lookup does for a seek's block, else through the window. */
static int table_v2_iter_load(table_v2_iter *it, int backward, int seek)
{
    table_v2_iter_drop_block(it);
    table *t = it->t;
    int rc = table_v2_index_handle(t, &it->index, &it->h);
    if (rc != KV_OK)
        return rc;
    block b;
    int from_cache;
    if (seek) {
        if ((rc = table_v2_block_get(t, &it->pin, it->h, NULL, 0, NULL, &it->ref, &from_cache,
                                      NULL)) != KV_OK)
            return rc;
        b = it->ref.b;
    } else if ((it->cached = block_cache_lookup(t->kept.ctx->cache, t->kept.id, it->h.offset)) != NULL) {
        const char *why = block_init(&b, block_cache_data(it->cached),
                                     block_cache_size(it->cached));
        if (why != NULL)
            return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the block there: %s",
                            t->path, it->h.offset, why);
    } else {
        const uint8_t *stored;
        rc = table_v2_iter_stored(it, it->h, backward, &stored);
        if (rc == KV_OK)
            rc = table_v2_block_decode(t, it->h, stored, &it->raw, &it->raw_cap, &b);
        if (rc != KV_OK)
            return rc;
    }
    block_iter_init(&it->entries, &b, TABLE_V2_IKEY_MIN);
    it->loaded = 1;
    return KV_OK;
}

/* The value of the entry shown, a cell (block_value.h), unpacked into
 * the iterator's buffer.  KV_OK, KV_ERR_CORRUPT or KV_ERR_NOMEM. */
static int table_v2_iter_unpack(table_v2_iter *it)
{
    const block_iter *e = &it->entries;
    size_t len;
    const char *why = block_value_size(e->value, e->value_len, &len);
    if (why == NULL && len > it->value_cap) {
        uint8_t *grown = realloc(it->value, len);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "%s: cannot allocate %zu bytes for a value",
                            it->t->path, len);
        it->value = grown;
        it->value_cap = len;
    }
    if (why == NULL)
        why = block_value_unpack(e->value, e->value_len, it->value, len);
    if (why != NULL)
        return table_v2_value_error(it->t, it->h.offset, e->at, why);
    it->base.value = len > 0 ? it->value : e->value; /* never NULL */
    it->base.value_len = len;
    return KV_OK;
}

/* Shows the entries iterator's entry, or fails or ends the iterator. */
static void table_v2_iter_show(table_v2_iter *it)
{
    if (it->entries.valid) {
        it->base.valid = 1;
        it->base.key = it->entries.key;
        it->base.key_len = it->entries.key_len;
        it->base.value = it->entries.value;
        it->base.value_len = it->entries.value_len;
        int rc = it->entries.b.cells ? table_v2_iter_unpack(it) : KV_OK;
        if (rc != KV_OK)
            iter_fail(&it->base, rc);
    } else if (it->entries.status != KV_OK) {
        iter_fail(&it->base, table_v2_block_iter_error(it->t, &it->entries, "data",
                                                       it->h.offset));
    } else {
        it->base.valid = 0;
    }
}

/* The index iterator has moved (or failed): load its block and position
 * in it at its first entry (or last, backward). */
static void table_v2_iter_enter(table_v2_iter *it, int backward)
{
    if (!it->index.valid) {
        table_v2_iter_drop_block(it);
        if (it->index.status != KV_OK)
            iter_fail(&it->base, table_v2_block_iter_error(it->t, &it->index, "index",
                                                           it->t->kept.index_h.offset));
        else
            it->base.valid = 0;
        return;
    }
    int rc = table_v2_iter_load(it, backward, 0);
    if (rc != KV_OK) {
        iter_fail(&it->base, rc);
        return;
    }
    if (backward)
        block_iter_seek_last(&it->entries);
    else
        block_iter_seek_first(&it->entries);
    table_v2_iter_show(it);
}

static void table_v2_iter_seek_first(iter *base)
{
    table_v2_iter *it = (table_v2_iter *)base;
    it->readahead = 0;
    block_iter_seek_first(&it->index);
    table_v2_iter_enter(it, 0);
}

static void table_v2_iter_seek_last(iter *base)
{
    table_v2_iter *it = (table_v2_iter *)base;
    it->readahead = 0;
    block_iter_seek_last(&it->index);
    table_v2_iter_enter(it, 1);
}

static void table_v2_iter_seek(iter *base, const uint8_t *target, size_t len)
{
    table_v2_iter *it = (table_v2_iter *)base;
    it->readahead = 0;
    block_iter_seek(&it->index, target, len);
    if (!it->index.valid) {
        table_v2_iter_enter(it, 0); /* past the end, or damage */
        return;
    }
    int rc = table_v2_iter_load(it, 0, 1);
    if (rc != KV_OK) {
        iter_fail(base, rc);
        return;
    }
    block_iter_seek(&it->entries, target, len);
    if (!it->entries.valid && it->entries.status == KV_OK) {
        /* Every key of the block is below target (its separator is not):
         * the next block's first key is the answer. */
        block_iter_next(&it->index);
        table_v2_iter_enter(it, 0);
        return;
    }
    table_v2_iter_show(it);
}

static void table_v2_iter_next(iter *base)
{
    table_v2_iter *it = (table_v2_iter *)base;
    block_iter_next(&it->entries);
    if (!it->entries.valid && it->entries.status == KV_OK) {
        block_iter_next(&it->index);
        table_v2_iter_enter(it, 0);
        return;
    }
    table_v2_iter_show(it);
}

static void table_v2_iter_prev(iter *base)
{
    table_v2_iter *it = (table_v2_iter *)base;
    block_iter_prev(&it->entries);
    if (!it->entries.valid && it->entries.status == KV_OK) {
        block_iter_prev(&it->index);
        table_v2_iter_enter(it, 1);
        return;
    }
    table_v2_iter_show(it);
}

static void table_v2_iter_free(iter *base)
{
    table_v2_iter *it = (table_v2_iter *)base;
    table_v2_iter_drop_block(it);
    block_iter_free(&it->index);
    block_iter_free(&it->entries);
    file_cache_release(it->t->kept.ctx->files, it->pin);
    table_v2_block_release(it->t, &it->index_ref);
    table_unref(it->t);
    free(it->win);
    free(it->raw);
    free(it->value);
    free(it);
}

static const iter_ops table_v2_iter_ops = {
    .seek_first = table_v2_iter_seek_first,
    .seek_last = table_v2_iter_seek_last,
    .seek = table_v2_iter_seek,
    .next = table_v2_iter_next,
    .prev = table_v2_iter_prev,
    .free = table_v2_iter_free,
};

/* An iterator whose index is ref->b; ref is released with it. */
int table_v2_iter_over(table *t, table_v2_blockref *ref, iter **out)
{
    *out = NULL;
    table_v2_iter *it = calloc(1, sizeof *it);
    if (it == NULL) {
        table_v2_block_release(t, ref);
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate an iterator", t->path);
    }
    iter_init(&it->base, &table_v2_iter_ops);
    table_ref(t);
    it->t = t;
    it->index_ref = *ref;
    block_iter_init(&it->index, &it->index_ref.b, TABLE_V2_IKEY_MIN);
    /* Opened now if it can be (if not, the first read tries again, and
     * reports what fails). */
    if (file_cache_get(t->kept.ctx->files, t->kept.id, t->path, &it->pin) != KV_OK)
        it->pin = NULL;
    *out = &it->base;
    return KV_OK;
}

/* Version 1's index is the kept one, whole: nothing to release. */
int table_v2_iter_new(table *t, iter **out)
{
    table_v2_blockref index = {.b = t->kept.index};
    return table_v2_iter_over(t, &index, out);
}
