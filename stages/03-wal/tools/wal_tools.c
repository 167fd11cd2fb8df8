/*
 * wal_tools.c: kv check of one write-ahead log segment (the
 * record_check_file half of stage 02's record_io.h), and the walk it
 * shares with kv dump (wal_dump.c) and kv repair (wal_repair.c): every
 * record and every damaged region of a log, in order.
 *
 * A damaged region runs from the first byte that is not part of a valid
 * record to the start of the next valid record.  If no valid record
 * follows, it is the torn tail; otherwise it is corruption, which kv check
 * reports even in the last segment (kv_open cuts it there, because unsynced
 * writes can be lost out of order: docs/03-wal.md, "Recovery").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log_report.h"
#include "record_io.h"
#include "wal_batch.h"
#include "wal_tools.h"

int wal_walk(const char *path, wal_walk_fn fn, void *ctx, uint64_t *size)
{
    io_file *f = NULL;
    int rc = io_open(path, IO_READ, &f);
    if (rc != KV_OK)
        return rc;
    *size = f->end;
    wal_reader r;
    /* The records start after the segment's header (record_io.h). */
    wal_reader_init_file(&r, f, f->end < SEGMENT_START ? f->end : SEGMENT_START, f->end);
    int damaged = 0;
    uint64_t bad = 0;
    const char *why = NULL;
    for (;;) {
        int n = wal_reader_next(&r);
        if (n < 0) {
            rc = n;
            break;
        }
        size_t count = 0;
        const char *bwhy = NULL;
        uint64_t synced_to = 0;
        int marker = n == WAL_READ_RECORD &&
                     wal_marker_decode(r.rec, r.rec + r.rec_len, &synced_to);
        if (n == WAL_READ_RECORD && !marker &&
            wal_batch_decode(r.rec, r.rec + r.rec_len, NULL, NULL, &count, &bwhy) != 0) {
            n = WAL_READ_DAMAGE;
            r.bad_offset = r.rec_start;
            r.why = bwhy;
        }
        if (n == WAL_READ_DAMAGE) {
            if (!damaged) {
                damaged = 1;
                bad = r.bad_offset;
                why = r.why;
            }
            continue;
        }
        if (damaged) {
            wal_walk_item it = {.kind = WAL_WALK_DAMAGE, .offset = bad,
                                .end = n == WAL_READ_RECORD ? r.rec_start : f->end, .why = why};
            if ((rc = fn(ctx, &it, &r)) != KV_OK)
                break;
            damaged = 0;
        }
        if (n == WAL_READ_END)
            break;
        wal_walk_item it = {.kind = marker ? WAL_WALK_MARKER : WAL_WALK_RECORD,
                            .offset = r.rec_start, .end = r.rec_end, .count = count,
                            .synced_to = synced_to};
        if ((rc = fn(ctx, &it, &r)) != KV_OK)
            break;
    }
    wal_reader_free(&r);
    io_close(f);
    return rc;
}

/* ---- kv check ----------------------------------------------------------- */

typedef struct check_ctx {
    const char *label;
    kv_line_fn line;
    void *ctx;
    log_report_totals t;
    wal_damage_list dl;
} check_ctx;

static int damage_item(void *ctx, const wal_walk_item *it, const wal_reader *r);

static int check_count(void *ctx, size_t i, const batch_op *op)
{
    (void)i;
    check_ctx *c = ctx;
    c->t.puts += !op->is_delete;
    c->t.deletes += (uint64_t)op->is_delete;
    return 0;
}

static int check_item(void *ctx, const wal_walk_item *it, const wal_reader *r)
{
    check_ctx *c = ctx;
    const char *why;
    int rc = damage_item(&c->dl, it, r); /* damage is listed at the end */
    if (rc != KV_OK || it->kind != WAL_WALK_RECORD)
        return rc;
    c->t.records++;
    return wal_batch_decode(r->rec, r->rec + r->rec_len, check_count, c, NULL, &why);
}

int record_check_file(const char *path, const char *label, kv_line_fn line, void *ctx,
                      log_report_totals *totals)
{
    check_ctx c = {.label = label, .line = line, .ctx = ctx};
    uint64_t size = 0;
    int rc = wal_walk(path, check_item, &c, &size); /* one reading of the file */
    wal_damage_list dl = c.dl;
    c.t.bytes = size;
    for (size_t i = 0; rc == KV_OK && i < dl.n; i++) {
        const wal_walk_item *d = &dl.v[i];
        if (d->synced) {
            c.t.corrupt_regions++;
            c.t.corrupt_bytes += d->end - d->offset;
            log_report_line(line, ctx, "%s: offset %llu: CORRUPT: %s; %llu bytes up to the "
                            "next valid record at offset %llu (kv repair salvages the "
                            "records around it)", label, (unsigned long long)d->offset, d->why,
                            (unsigned long long)(d->end - d->offset),
                            (unsigned long long)d->end);
        } else {
            /* No marker vouches for these bytes: writes a power loss may
             * have lost, out of order.  kv_open keeps the prefix before. */
            c.t.torn_bytes = size - d->offset;
            log_report_line(line, ctx, "%s: offset %llu: torn tail of %llu bytes (%s%s); "
                            "kv_open cuts it off", label, (unsigned long long)d->offset,
                            (unsigned long long)c.t.torn_bytes, d->why,
                            d->end < size ? ", then unsynced records: writes lost out of "
                                            "order in a crash" : "");
            break;
        }
    }
    free(dl.v);
    if (rc == KV_OK)
        log_report_line(line, ctx, "%s: %llu bytes, %llu records (%llu puts, %llu deletes): %s",
                        label, (unsigned long long)c.t.bytes, (unsigned long long)c.t.records,
                        (unsigned long long)c.t.puts, (unsigned long long)c.t.deletes,
                        c.t.corrupt_regions ? "CORRUPT" : "ok");
    if (totals)
        *totals = c.t;
    if (rc == KV_OK && c.t.corrupt_regions)
        rc = kv_error(KV_ERR_CORRUPT, "%s: %llu damaged regions in the middle of the log", path,
                      (unsigned long long)c.t.corrupt_regions);
    return rc;
}

/* ---- the damaged regions of a log ------------------------------------------ */

static int damage_item(void *ctx, const wal_walk_item *it, const wal_reader *r)
{
    (void)r;
    wal_damage_list *dl = ctx;
    if (it->kind == WAL_WALK_MARKER)
        for (size_t i = 0; i < dl->n; i++)
            dl->v[i].synced |= dl->v[i].offset < it->synced_to;
    if (it->kind != WAL_WALK_DAMAGE)
        return KV_OK;
    if (dl->n == dl->cap) {
        size_t cap = dl->cap ? 2 * dl->cap : 8;
        wal_walk_item *v = realloc(dl->v, cap * sizeof *v);
        if (v == NULL)
            return kv_error(KV_ERR_NOMEM, "out of memory listing damage");
        dl->v = v;
        dl->cap = cap;
    }
    dl->v[dl->n++] = *it;
    return KV_OK;
}

int wal_walk_damage(const char *path, wal_damage_list *dl, uint64_t *size)
{
    return wal_walk(path, damage_item, dl, size);
}
