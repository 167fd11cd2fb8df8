/*
 * record_io_log.c: record_io.h for stage 02: one op per record, in the
 * framing of common/log_record.h (stage 01's format), behind the file
 * header "KVS02SEG".  What damage is torn is common/log_damage.h's rule, as
 * in stage 01 (docs/02-hash-reference.md, "Recovery").
 */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "file_header.h"
#include "log_record.h"
#include "log_replay.h"
#include "record_io.h"

typedef struct record_log_replay {
    record_op_fn fn;
    void *ctx;
} record_log_replay;

static int record_log_op(void *ctx, const log_scan *s)
{
    const record_log_replay *c = ctx;
    if (s->rec.is_seal)
        return 0;
    record_op op = {.key = s->rec.key, .value = s->rec.value, .klen = s->rec.klen,
                    .vlen = s->rec.vlen, .is_delete = s->rec.is_delete,
                    .offset = s->rec_offset, .size = (uint32_t)s->rec_size};
    return c->fn(c->ctx, &op);
}

const char record_file_magic[] = FILE_MAGIC_SEG02;

int record_replay(io_file *f, uint64_t size, record_op_fn fn, void *ctx, record_damage *d)
{
    record_log_replay c = {.fn = fn, .ctx = ctx};
    log_replay r;
    int rc = log_replay_file(f, size, record_file_magic, RECORD_FILE_VERSION, record_log_op,
                             &c, &r);
    memset(d, 0, sizeof *d);
    /* Sealed if the last record is a seal that names its own offset (a
     * seal followed by records: the segment was reopened after a crash
     * between sealing it and starting the next one). */
    d->sealed = r.sealed;
    d->seal_bytes = r.sealed ? LOG_RECORD_SEAL_SIZE : 0;
    if (rc != KV_OK || !r.damaged)
        return rc;
    d->offset = r.d.offset;
    snprintf(d->why_text, sizeof d->why_text, "%s", r.d.why);
    d->why = d->why_text;
    d->torn = r.d.torn;
    d->has_next = r.d.has_next;
    d->next = r.d.next;
    return RECORD_DAMAGED;
}

int record_read_value(io_file *f, uint64_t limit, const hash_loc *loc, const void *key,
                      size_t klen, uint8_t **buf, size_t *cap, const uint8_t **val,
                      size_t *vlen)
{
    log_record rec;
    /* A merge counts the seal of its output as part of the last record (so
     * a hint covers the whole file): peel it off first.  Only the record
     * that ends where the segment ends can carry it, so every other read
     * is one positioned read. */
    uint64_t size = loc->size;
    uint8_t tail[LOG_RECORD_SEAL_SIZE];
    size_t got = 0;
    log_record seal;
    uint64_t seal_size = 0;
    const char *why = NULL;
    int rc;
    if (loc->offset + size == limit && size > LOG_RECORD_SEAL_SIZE + LOG_RECORD_HEADER) {
        uint64_t at = loc->offset + size - LOG_RECORD_SEAL_SIZE;
        if ((rc = io_read_at(f, at, tail, sizeof tail, &got)) != KV_OK)
            return rc;
        if (got == sizeof tail &&
            log_record_decode(tail, tail + got, &seal, &seal_size, &why) == LOG_DECODE_OK &&
            seal.is_seal && seal.seal_at == at)
            size -= LOG_RECORD_SEAL_SIZE;
    }
    rc = log_read_record_at(f, loc->offset, size, buf, cap, &rec);
    if (rc != KV_OK)
        return rc;
    if (rec.klen != klen || memcmp(rec.key, key, klen) != 0 || rec.is_delete)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %llu: the record there is not a put of "
                        "the key the index expects (the file changed since it was opened)",
                        io_path(f), (unsigned long long)loc->offset);
    *val = rec.value;
    *vlen = rec.vlen;
    return KV_OK;
}

size_t record_seal(uint8_t *dst, uint64_t at)
{
    log_record_seal(dst, at);
    return LOG_RECORD_SEAL_SIZE;
}

uint64_t record_encoded_max(const record_op *op)
{
    return log_record_size(op->klen, op->vlen, op->is_delete);
}

size_t record_encode(uint8_t *dst, uint64_t at, const record_op *op)
{
    (void)at;
    log_record_header(dst, op->key, op->klen, op->value, op->vlen, op->is_delete);
    memcpy(dst + LOG_RECORD_HEADER, op->key, op->klen);
    if (!op->is_delete)
        memcpy(dst + LOG_RECORD_HEADER + op->klen, op->value, op->vlen);
    return (size_t)log_record_size(op->klen, op->vlen, op->is_delete);
}

int record_check_file(const char *path, const char *label, kv_line_fn line, void *ctx,
                      log_report_totals *totals)
{
    return log_report_check(path, label, record_file_magic, RECORD_FILE_VERSION, line, ctx,
                            totals);
}

int record_dump_file(const char *path, const char *label, unsigned flags, kv_line_fn line,
                     void *ctx)
{
    (void)flags; /* a record is its own frame */
    return log_report_dump(path, label, record_file_magic, RECORD_FILE_VERSION, line, ctx);
}
