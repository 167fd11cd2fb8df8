/*
 * table_v1_iter.c: walking a v1 table in order, both ways (table.h,
 * iterator.h).
 *
 * The iterator's position is a record number i.  Record i lies between
 * offsets i and i + 1 of the offset array (the last one ends where the
 * array starts), and must fill that span exactly: so a walk over the
 * whole table checks every record's boundaries as well as its checksums.
 * It reads through two windows, so a scan makes few system calls and
 * holds a bounded amount of memory whatever the table's size:
 *   - 512 entries of the offset array (4 KiB), and
 *   - 64 KiB of records (more only for a single larger record).
 * Going forward a window starts at the record wanted; going backward it
 * ends there.  A seek is the same binary search a lookup makes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "table_v1_format.h"

#define TABLE_V1_ITER_OFFSETS 512u
#define TABLE_V1_ITER_WINDOW (64u * 1024u)

typedef struct table_v1_iter {
    iter base;
    table *t;
    uint64_t i;              /* the record shown, when valid */
    uint8_t *offs;           /* offset array entries [o0, o0 + on) */
    uint64_t o0, on;
    uint8_t *data;           /* file bytes [d0, d0 + dn) */
    uint64_t d0;
    size_t dn, dcap;
} table_v1_iter;

/* Offsets i and i + 1 (or the records' end), from the window, refilled
 * around i in the direction of travel. */
static int table_v1_iter_span(table_v1_iter *it, uint64_t i, int backward, uint64_t *off,
                              uint64_t *end)
{
    table *t = it->t;
    uint64_t need_end = i + 1 < t->n ? i + 2 : i + 1;
    if (i < it->o0 || need_end > it->o0 + it->on) {
        uint64_t start = i;
        if (backward)
            start = need_end > TABLE_V1_ITER_OFFSETS ? need_end - TABLE_V1_ITER_OFFSETS : 0;
        uint64_t count = t->n - start < TABLE_V1_ITER_OFFSETS ? t->n - start
                                                               : TABLE_V1_ITER_OFFSETS;
        it->on = 0;
        int rc = table_v1_read(t, t->array_at + 8 * start, it->offs, (size_t)(8 * count), NULL);
        if (rc != KV_OK)
            return rc;
        it->o0 = start;
        it->on = count;
    }
    *off = coding_get_u64(it->offs + 8 * (i - it->o0));
    *end = i + 1 < t->n ? coding_get_u64(it->offs + 8 * (i + 1 - it->o0)) : t->array_at;
    return table_v1_span_check(t, i, *off, *end);
}

/* Makes the data window hold [off, end). */
static int table_v1_iter_fill(table_v1_iter *it, uint64_t off, uint64_t end, int backward)
{
    if (off >= it->d0 && end <= it->d0 + it->dn)
        return KV_OK;
    size_t len = (size_t)(end - off);
    if (len > it->dcap) {
        uint8_t *grown = realloc(it->data, len);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "%s: cannot allocate %zu bytes for a record",
                            io_path(it->t->file), len);
        it->data = grown;
        it->dcap = len;
    }
    uint64_t start = off, n;
    if (backward) {
        start = end - TABLE_V1_RECORDS_AT > it->dcap ? end - it->dcap : TABLE_V1_RECORDS_AT;
        n = end - start;
    } else {
        n = it->t->array_at - start < it->dcap ? it->t->array_at - start : it->dcap;
    }
    it->dn = 0;
    int rc = table_v1_read(it->t, start, it->data, (size_t)n, NULL);
    if (rc != KV_OK)
        return rc;
    it->d0 = start;
    it->dn = (size_t)n;
    return KV_OK;
}

/* Shows record i (or fails the iterator). */
static void table_v1_iter_load(table_v1_iter *it, uint64_t i, int backward)
{
    uint64_t off, end;
    int rc = table_v1_iter_span(it, i, backward, &off, &end);
    if (rc == KV_OK)
        rc = table_v1_iter_fill(it, off, end, backward);
    if (rc != KV_OK) {
        iter_fail(&it->base, rc);
        return;
    }
    const uint8_t *p = it->data + (off - it->d0);
    size_t len = (size_t)(end - off);
    table_v1_record rec;
    const char *why = "its head is cut short";
    rc = table_v1_record_decode(p, len, len, 1, &rec, &why);
    if (rc == TABLE_V1_REC_OK && crc32c_value(p + rec.head_len, rec.value_len) != rec.value_crc) {
        why = "the value's checksum does not match";
        rc = TABLE_V1_REC_BAD;
    }
    if (rc != TABLE_V1_REC_OK) {
        iter_fail(&it->base, kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": bad record %"
                                      PRIu64 ": %s", io_path(it->t->file), off, i, why));
        return;
    }
    it->i = i;
    it->base.valid = 1;
    it->base.key = rec.ikey;
    it->base.key_len = rec.ikey_len;
    it->base.value = p + rec.head_len;
    it->base.value_len = rec.value_len;
}

static void table_v1_iter_seek_first(iter *base)
{
    table_v1_iter_load((table_v1_iter *)base, 0, 0);
}

static void table_v1_iter_seek_last(iter *base)
{
    table_v1_iter *it = (table_v1_iter *)base;
    table_v1_iter_load(it, it->t->n - 1, 1);
}

static void table_v1_iter_seek(iter *base, const uint8_t *target, size_t len)
{
    table_v1_iter *it = (table_v1_iter *)base;
    table_v1_probe pr;
    int rc = table_v1_search(it->t, target, len, &pr, NULL);
    table_v1_probe_free(&pr);
    if (rc != KV_OK)
        iter_fail(base, rc);
    else if (pr.index >= it->t->n)
        base->valid = 0;
    else
        table_v1_iter_load(it, pr.index, 0);
}

static void table_v1_iter_next(iter *base)
{
    table_v1_iter *it = (table_v1_iter *)base;
    if (it->i + 1 >= it->t->n)
        base->valid = 0;
    else
        table_v1_iter_load(it, it->i + 1, 0);
}

static void table_v1_iter_prev(iter *base)
{
    table_v1_iter *it = (table_v1_iter *)base;
    if (it->i == 0)
        base->valid = 0;
    else
        table_v1_iter_load(it, it->i - 1, 1);
}

static void table_v1_iter_free(iter *base)
{
    table_v1_iter *it = (table_v1_iter *)base;
    table_unref(it->t);
    free(it->offs);
    free(it->data);
    free(it);
}

static const iter_ops table_v1_iter_ops = {
    .seek_first = table_v1_iter_seek_first,
    .seek_last = table_v1_iter_seek_last,
    .seek = table_v1_iter_seek,
    .next = table_v1_iter_next,
    .prev = table_v1_iter_prev,
    .free = table_v1_iter_free,
};

uint64_t table_v1_iter_offset(const iter *base)
{
    const table_v1_iter *it = (const table_v1_iter *)base;
    return coding_get_u64(it->offs + 8 * (it->i - it->o0));
}

int table_iter_new(table *t, iter **out)
{
    *out = NULL;
    table_v1_iter *it = calloc(1, sizeof *it);
    uint8_t *offs = it != NULL ? malloc(8 * TABLE_V1_ITER_OFFSETS) : NULL;
    uint8_t *data = offs != NULL ? malloc(TABLE_V1_ITER_WINDOW) : NULL;
    if (data == NULL) {
        free(offs);
        free(it);
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate an iterator", io_path(t->file));
    }
    iter_init(&it->base, &table_v1_iter_ops);
    table_ref(t);
    it->t = t;
    it->offs = offs;
    it->data = data;
    it->dcap = TABLE_V1_ITER_WINDOW;
    *out = &it->base;
    return KV_OK;
}
