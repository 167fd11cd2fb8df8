/*
 * vlog_flush.c: what a flush writes into its table (value_store.h), for
 * the value log: where each large value already is.
 *
 * The memtable holds each value, and so does the log that took it; the
 * flush keeps the log and writes only where the value is in it.  To know
 * where, it reads the logs of the flush once, before the table is written
 * (flush_begin): each record's ops, the place of each put's value that is
 * at least the threshold (vlog_payload_offset, from where its record
 * starts) and its crc32c, by sequence number.  Then each memtable entry
 * (flush_entry) is looked up by its sequence number.  A value the logs do
 * not hold where the flush expects (its crc differs, or it is not found:
 * a log that does not read back whole) is written into the table as in
 * every stage before: the value log is never the only copy of a value it
 * might not hold.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "internal_key.h"
#include "lsm_wal.h"
#include "value_log.h"
#include "wal_batch.h"
#include "wal_format.h"

typedef struct flush_place {
    uint64_t seq;
    size_t log;             /* index in the flush's logs */
    vlog_where w;
} flush_place;

typedef struct flush_log {
    uint64_t start, size;
    uint64_t places;        /* large values the scan found in it */
    uint64_t place_bytes;   /* their bytes: the file's value bytes (V2) */
    int listed_here;        /* this flush put it in the store's list */
    uint64_t values, bytes; /* what table entries point at in it */
} flush_log;

struct value_flush {
    value_store *vs;
    uint64_t lo, hi;
    flush_place *places;    /* by seq, ascending */
    size_t n, cap;
    flush_log *logs;
    size_t nlogs;
    uint8_t where[VLOG_WHERE_MAX];
    uint64_t inline_values, mismatches;
};

/* ---- reading the logs ------------------------------------------------------ */

typedef struct flush_scan {
    value_flush *vf;
    size_t log;
    uint64_t start;         /* where the record's first fragment starts */
    const lsm_wal_record *rec;
    int rc;
} flush_scan;

static int flush_place_add(value_flush *vf, const flush_place *p)
{
    if (vf->n == vf->cap) {
        size_t cap = vf->cap ? vf->cap * 2 : 256;
        flush_place *grown = realloc(vf->places, cap * sizeof *grown);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "flush: out of memory for %zu values' places", cap);
        vf->places = grown;
        vf->cap = cap;
    }
    vf->places[vf->n++] = *p;
    return KV_OK;
}

/* wal_batch_decode's function: op i of the record. */
static int flush_scan_op(void *ctx, size_t i, const batch_op *op)
{
    flush_scan *c = ctx;
    value_flush *vf = c->vf;
    uint64_t seq = c->rec->seq + i;
    if (op->is_delete || op->vlen < vf->vs->threshold || seq < vf->lo || seq > vf->hi)
        return 0;
    const uint8_t *val = op->val;
    flush_place p = {.seq = seq, .log = c->log};
    p.w.file = vf->logs[c->log].start;
    p.w.offset = vlog_payload_offset(c->start, (uint64_t)(val - c->rec->batch));
    p.w.len = (uint32_t)op->vlen;
    p.w.crc = crc32c_value(val, op->vlen);
    c->rc = flush_place_add(vf, &p);
    vf->logs[c->log].places++;
    vf->logs[c->log].place_bytes += op->vlen;
    return c->rc != KV_OK;
}

/* lsm_wal_scan_file's function: one record of the log. */
static int flush_scan_record(void *ctx, const lsm_wal_record *r, uint64_t offset, uint64_t end)
{
    (void)end;
    flush_scan *c = ctx;
    /* offset is where the search for the record began: its first fragment
     * is there, or, if the block had no room for a header, at the next
     * block (wal_format.h, the trailer). */
    c->start = wal_block_left(offset) < WAL_HEADER_SIZE ? offset + wal_block_left(offset)
                                                        : offset;
    c->rec = r;
    const char *why = NULL;
    wal_batch_decode(r->batch, r->batch_end, flush_scan_op, c, NULL, &why);
    return c->rc;
}

int value_store_flush_begin(value_store *vs, const value_logs *logs, uint64_t lo, uint64_t hi,
                            value_flush **out)
{
    *out = NULL;
    value_flush *vf = calloc(1, sizeof *vf);
    if (vf == NULL || (vf->logs = calloc(logs->n + 1, sizeof *vf->logs)) == NULL) {
        free(vf);
        return kv_error(KV_ERR_NOMEM, "flush: out of memory");
    }
    vf->vs = vs;
    vf->lo = lo;
    vf->hi = hi;
    vf->nlogs = logs->n;
    int rc = KV_OK;
    for (size_t i = 0; rc == KV_OK && i < logs->n; i++) {
        vf->logs[i].start = logs->starts[i];
        vf->logs[i].size = logs->sizes[i];
        flush_scan c = {.vf = vf, .log = i, .rc = KV_OK};
        lsm_wal_scan s;
        rc = lsm_wal_scan_file(logs->files[i], logs->sizes[i], logs->starts[i],
                               flush_scan_record, &c, &s);
        /* Damage (which a sealed log the engine wrote should not have)
         * only means fewer values are found: they go into the table. */
    }
    /* Each log a table entry may point into is listed now, before the
     * table is written: once the table is in place, the flush's end must
     * not fail, or the engine would remove a log the table points into
     * (value_store_adopt_log keeps only listed files).  Listed but not
     * adopted, a file is not read, counted or collected: if the flush
     * fails it waits for the next one. */
    pthread_mutex_lock(&vs->lock);
    for (size_t i = 0; rc == KV_OK && i < vf->nlogs; i++) {
        flush_log *l = &vf->logs[i];
        vlog_file *f = NULL;
        if (l->places == 0 || vlog_find(vs, l->start) != NULL)
            continue;
        rc = vlog_add(vs, l->start, 1, l->size, &f);
        l->listed_here = rc == KV_OK;
    }
    pthread_mutex_unlock(&vs->lock);
    if (rc != KV_OK) {
        value_store_flush_end(vs, vf, 0);
        return rc;
    }
    *out = vf;
    return KV_OK;
}

/* ---- the table's entries ---------------------------------------------------- */

static const flush_place *flush_find(const value_flush *vf, uint64_t seq)
{
    size_t lo = 0, hi = vf->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (vf->places[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < vf->n && vf->places[lo].seq == seq ? &vf->places[lo] : NULL;
}

int value_store_flush_entry(value_flush *vf, const uint8_t *ikey, size_t klen,
                            const uint8_t *val, size_t vlen, ikey_type *type,
                            const uint8_t **out, size_t *outlen)
{
    *type = IKEY_PUT;
    *out = val;
    *outlen = vlen;
    if (vlen < vf->vs->threshold) {
        vf->inline_values++;
        return KV_OK;
    }
    const flush_place *p = flush_find(vf, ikey_seq(ikey, klen));
    if (p == NULL || p->w.len != vlen || crc32c_value(val, vlen) != p->w.crc) {
        vf->mismatches++; /* kept in the table (see the top) */
        return KV_OK;
    }
    *type = IKEY_PUT_ELSEWHERE;
    *out = vf->where;
    *outlen = vlog_where_encode(vf->where, &p->w);
    vf->logs[p->log].values++;
    vf->logs[p->log].bytes += vlen;
    return KV_OK;
}

void value_store_flush_end(value_store *vs, value_flush *vf, int applied)
{
    if (vf == NULL)
        return;
    if (applied) {
        pthread_mutex_lock(&vs->lock);
        for (size_t i = 0; i < vf->nlogs; i++) {
            const flush_log *l = &vf->logs[i];
            if (l->places == 0)
                continue; /* no value of the threshold: not listed */
            vlog_file *f = vlog_find(vs, l->start); /* listed at the begin */
            if (l->listed_here) /* new: what this table points at is all */
                f->counted = 1;
            /* Every large value of these writes is the file's; those the
             * table does not point at (written over in the memtable, or
             * kept in the table) are garbage already (V2). */
            f->value_bytes += l->place_bytes;
            f->live_bytes += l->bytes;
            if (vf->hi > f->counted_at)
                f->counted_at = vf->hi;
            vs->flush_values += l->values;
            vs->flush_value_bytes += l->bytes;
        }
        vs->flush_inline += vf->inline_values;
        vs->flush_mismatches += vf->mismatches;
        if (vf->hi > vs->flushed)
            vs->flushed = vf->hi;
        vlog_update_behind(vs);
        pthread_mutex_unlock(&vs->lock);
    }
    free(vf->places);
    free(vf->logs);
    free(vf);
}
