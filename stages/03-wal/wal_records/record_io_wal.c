/*
 * record_io_wal.c: stage 02's record interface (stages/02-hash/segments/record_io.h)
 * over the write-ahead log: a segment is a log of 32 KiB blocks
 * (wal_format.h) whose records are batches (wal_batch.h).  With this file
 * and the write path (hash_write_wal.c), stage 02's index, recovery, merge,
 * iterator and tools run unchanged on the new format.
 *
 * A segment starts with the file header "KVS03WAL" (common/file_header.h);
 * the log's blocks stay at file offsets that are multiples of 32 KiB, so
 * the first block holds the header and 16 bytes less of records.
 *
 * A record may hold many ops; the index points each key at its record, and
 * a read decodes the record and takes the key's last op in it.  So that a
 * merge never copies an op that a later op of the same batch overrides,
 * replay hands out only the last op of each key in a record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "escape.h"
#include "file_start.h"
#include "hash_index.h"
#include "record_io.h"
#include "wal_batch.h"
#include "wal_format.h"
#include "wal_reader.h"
#include "wal_writer.h"

#define RECORD_SHOW_BYTES 48

/* ---- replay ----------------------------------------------------------- */

typedef struct replay_ctx {
    record_op_fn fn;
    void *ctx;
    uint64_t offset, size;  /* of the record */
    size_t count;
    hash_index last;        /* key -> index of its last op (batches of 2+) */
} replay_ctx;

static int replay_note(void *ctx, size_t i, const batch_op *op)
{
    replay_ctx *c = ctx;
    hash_loc at = {.offset = i}, old;
    int replaced;
    return hash_index_put(&c->last, op->key, op->klen, &at, &old, &replaced);
}

static int replay_op(void *ctx, size_t i, const batch_op *op)
{
    replay_ctx *c = ctx;
    if (c->count > 1 && hash_index_find(&c->last, op->key, op->klen)->offset != i)
        return 0; /* a later op of this batch overrides it */
    record_op r = {.key = op->key, .value = op->val, .klen = (uint32_t)op->klen,
                   .vlen = (uint32_t)op->vlen, .is_delete = op->is_delete,
                   .offset = c->offset, .size = wal_batch_share(c->size, c->count, i)};
    return c->fn(c->ctx, &r);
}

/* Applies one record's ops (the record's bytes counted from `start`);
 * RECORD_DAMAGED (with *why) if its payload is not a batch. */
static int replay_record(replay_ctx *c, const wal_reader *r, uint64_t start, const char **why)
{
    const uint8_t *p = r->rec, *end = r->rec + r->rec_len;
    if (wal_batch_decode(p, end, NULL, NULL, &c->count, why) != 0)
        return RECORD_DAMAGED;
    c->offset = start;
    c->size = r->rec_end - start;
    int rc = KV_OK;
    if (c->count > 1) {
        hash_index_free(&c->last);
        hash_index_init(&c->last);
        rc = wal_batch_decode(p, end, replay_note, c, NULL, why);
    }
    return rc == KV_OK ? wal_batch_decode(p, end, replay_op, c, NULL, why) : rc;
}

/* After damage: is there a valid record further on (and how many), and
 * does a sync marker after it say the damaged bytes had been synced? */
static int replay_find_next(wal_reader *r, record_damage *d)
{
    int rc;
    d->unsynced = 1;
    while ((rc = wal_reader_next(r)) == WAL_READ_RECORD || rc == WAL_READ_DAMAGE) {
        const char *why;
        uint64_t synced_to = 0;
        if (rc != WAL_READ_RECORD)
            continue; /* (r->rec may be NULL: no record read yet) */
        const uint8_t *end = r->rec + r->rec_len;
        if (wal_marker_decode(r->rec, end, &synced_to)) {
            if (synced_to > d->offset)
                d->unsynced = 0; /* synced bytes are never damaged by a crash */
        } else if (wal_batch_decode(r->rec, end, NULL, NULL, NULL, &why) != 0) {
            continue;
        }
        if (!d->has_next) {
            d->has_next = 1;
            d->next = r->rec_start;
        }
        d->records_after++;
    }
    return rc;
}

const char record_file_magic[] = FILE_MAGIC_WAL03;

/* The header (common/file_start.h): 0 bytes is no damage; a header a crash
 * cut short is torn; any other wrong header is damage.  Returns 1 if the
 * records after it are to be read. */
static int replay_header(io_file *f, uint64_t size, record_damage *d, int *rc)
{
    file_start fs;
    *rc = file_start_read(f, size, record_file_magic, RECORD_FILE_VERSION, &fs);
    if (*rc != KV_OK || fs.state == FILE_START_OK)
        return *rc == KV_OK;
    if (fs.state != FILE_START_EMPTY) {
        snprintf(d->why_text, sizeof d->why_text, "%s", fs.why);
        d->why = d->why_text;
        d->torn = fs.state == FILE_START_TORN;
        *rc = RECORD_DAMAGED;
    }
    return 0;
}

int record_replay(io_file *f, uint64_t size, record_op_fn fn, void *ctx, record_damage *d)
{
    memset(d, 0, sizeof *d);
    int rc, kind;
    if (!replay_header(f, size, d, &rc))
        return rc;
    /* Blocks stay at file offsets that are multiples of 32 KiB: the first
     * one holds the header and 16 bytes less of records. */
    wal_reader r;
    wal_reader_init_file(&r, f, SEGMENT_START, size);
    replay_ctx c = {.fn = fn, .ctx = ctx};
    hash_index_init(&c.last);
    uint64_t synced_to = 0;
    while ((rc = wal_reader_next(&r)) == WAL_READ_RECORD) {
        const char *why = NULL;
        /* Sealed: the last record is a seal naming where it was written. */
        kind = wal_marker_decode(r.rec, r.rec + r.rec_len, &synced_to);
        d->sealed = kind == 2 && synced_to == r.rec_offset;
        if (kind)
            continue;
        /* A batch's bytes count from the end of the record before it (a
         * marker's bytes belong to no op: they are dead bytes). */
        if ((rc = replay_record(&c, &r, r.rec_offset, &why)) == RECORD_DAMAGED) {
            d->offset = r.rec_start;
            d->why = why;
            break;
        }
        if (rc != KV_OK)
            break;
    }
    if (rc == WAL_READ_DAMAGE) {
        d->offset = r.bad_offset;
        d->why = r.why;
        rc = RECORD_DAMAGED;
    }
    if (rc == RECORD_DAMAGED) {
        int found = replay_find_next(&r, d);
        if (found != WAL_READ_END)
            rc = found;
        /* What a crash can leave: nothing valid after the damage, or only
         * writes never synced, which a power loss can lose out of order. */
        d->torn = !d->has_next || d->unsynced;
    }
    hash_index_free(&c.last);
    wal_reader_free(&r);
    return rc == WAL_READ_END ? KV_OK : rc;
}

/* ---- one value back ---------------------------------------------------- */

typedef struct find_ctx {
    const void *key;
    size_t klen;
    int found;          /* 1 put, 2 delete (the last op of the key wins) */
    const uint8_t *val;
    size_t vlen;
} find_ctx;

static int find_op(void *ctx, size_t i, const batch_op *op)
{
    (void)i;
    find_ctx *c = ctx;
    if (op->klen == c->klen && memcmp(op->key, c->key, c->klen) == 0) {
        c->found = op->is_delete ? 2 : 1;
        c->val = op->val;
        c->vlen = op->vlen;
    }
    return 0;
}

int record_read_value(io_file *f, uint64_t limit, const hash_loc *loc, const void *key,
                      size_t klen, uint8_t **buf, size_t *cap, const uint8_t **val,
                      size_t *vlen)
{
    wal_reader r;
    wal_reader_init_file(&r, f, loc->offset, limit);
    r.window = 4096; /* one record, not its whole block */
    /* The reader's record buffer becomes the caller's buffer. */
    r.rec = *buf;
    r.rec_cap = *cap;
    int rc;
    uint64_t synced_to;
    while ((rc = wal_reader_next(&r)) == WAL_READ_RECORD &&
           wal_marker_decode(r.rec, r.rec + r.rec_len, &synced_to))
        ; /* a marker written with the record, ahead of it */
    const char *why = r.why;
    find_ctx c = {.key = key, .klen = klen};
    if (rc == WAL_READ_RECORD &&
        wal_batch_decode(r.rec, r.rec + r.rec_len, find_op, &c, NULL, &why) != 0)
        rc = WAL_READ_DAMAGE;
    *buf = r.rec;
    *cap = r.rec_cap;
    r.rec = NULL;
    wal_reader_free(&r);
    if (rc < 0)
        return rc;
    if (rc != WAL_READ_RECORD)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %llu: %s", io_path(f),
                        (unsigned long long)loc->offset,
                        rc == WAL_READ_END ? "no record there" : why);
    if (c.found != 1)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %llu: the record there is not a put of "
                        "the key the index expects (the file changed since it was opened)",
                        io_path(f), (unsigned long long)loc->offset);
    *val = c.val;
    *vlen = c.vlen;
    return KV_OK;
}

size_t record_seal(uint8_t *dst, uint64_t at)
{
    uint8_t seal[WAL_SEAL_SIZE];
    size_t n = wal_marker_encode(seal, at, 1);
    return wal_frame(dst, at, seal, n);
}

/* ---- encoding one op (merge) ---------------------------------------------- */

static batch_op record_batch_op(const record_op *op)
{
    return (batch_op){.is_delete = op->is_delete, .key = op->key, .klen = op->klen,
                      .val = op->value, .vlen = op->vlen};
}

uint64_t record_encoded_max(const record_op *op)
{
    batch_op b = record_batch_op(op);
    return wal_framed_max(wal_batch_size(&b, 1));
}

size_t record_encode(uint8_t *dst, uint64_t at, const record_op *op)
{
    /* The payload is laid out at the far end of dst's room, then framed
     * into the front: framing only adds bytes, so the write never
     * overtakes the read. */
    batch_op b = record_batch_op(op);
    uint64_t len = wal_batch_size(&b, 1);
    uint8_t *payload = dst + (record_encoded_max(op) - len);
    wal_batch_encode(payload, &b, 1);
    return wal_frame(dst, at, payload, (size_t)len);
}
