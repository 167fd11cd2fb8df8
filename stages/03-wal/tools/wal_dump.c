/*
 * wal_dump.c: kv dump of one write-ahead log segment (the record_dump_file
 * half of stage 02's record_io.h): each record at the offset of its first
 * fragment, with its ops; each sync marker and damaged region.
 *
 * With KV_DUMP_FRAMES (kv_dump_with, kv.h), under each of them the bytes
 * as wal_format.h lays them out: one line per fragment (offset, block,
 * length, type, the crc as stored and whether it matches), each trailer,
 * and a line where each block begins.  So a record of 40,000 bytes shows
 * as a FIRST fragment that fills its block and a LAST one in the next.
 * The walk (wal_tools.c) has already checked every fragment of a record;
 * the frames are read again here, only to be shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "escape.h"
#include "log_report.h"
#include "record_io.h"
#include "wal_batch.h"
#include "wal_format.h"
#include "wal_tools.h"

typedef struct dump_ctx {
    kv_line_fn line;
    void *ctx;
    unsigned flags;
    uint64_t pos;           /* frames: where the bytes shown so far end */
    uint64_t block;         /* frames: the block of the last line, + 1 (0: none yet) */
    uint8_t *buf;           /* frames: one fragment's bytes */
} dump_ctx;

static int dump_op(void *ctx, size_t i, const batch_op *op)
{
    dump_ctx *c = ctx;
    char key[4 * RECORD_DUMP_BYTES + 8], val[4 * RECORD_DUMP_BYTES + 8];
    escape_bytes(key, sizeof key, op->key, op->klen, RECORD_DUMP_BYTES);
    if (op->is_delete) {
        log_report_line(c->line, c->ctx, "            op %zu: del key_len=%zu key=\"%s\"", i,
                        op->klen, key);
        return 0;
    }
    escape_bytes(val, sizeof val, op->val, op->vlen, RECORD_DUMP_BYTES);
    log_report_line(c->line, c->ctx, "            op %zu: put key_len=%zu value_len=%zu "
                    "key=\"%s\" value=\"%s\"", i, op->klen, op->vlen, key, val);
    return 0;
}

/* ---- frames ------------------------------------------------------------- */

static const char *dump_type_name(int type)
{
    static const char *const names[] = {"type 0?", "FULL", "FIRST", "MIDDLE", "LAST"};
    return type >= 0 && type <= WAL_LAST ? names[type] : "type ?";
}

/* A line where block b begins, before the first line about its bytes. */
static void dump_block(dump_ctx *c, uint64_t at)
{
    uint64_t b = at / WAL_BLOCK_SIZE;
    if (c->block == b + 1)
        return;
    c->block = b + 1;
    log_report_line(c->line, c->ctx, "%10llu  ---- block %llu ----",
                    (unsigned long long)(b * WAL_BLOCK_SIZE), (unsigned long long)b);
}

/* The fragment header at `at` (and its data, if the file has it), as
 * stored.  Returns the bytes it spans, or 0 if there is no plausible
 * header there (no known type, or a length past its block or the file). */
static uint64_t dump_fragment(dump_ctx *c, io_file *f, uint64_t at)
{
    size_t got = 0;
    uint32_t left = wal_block_left(at);
    if (io_read_at(f, at, c->buf, left, &got) != KV_OK || got < WAL_HEADER_SIZE)
        return 0;
    uint32_t stored = coding_get_u32(c->buf), len = coding_get_u16(c->buf + 4);
    int type = c->buf[6];
    dump_block(c, at);
    if (type < WAL_FULL || type > WAL_LAST || WAL_HEADER_SIZE + len > got) {
        log_report_line(c->line, c->ctx, "            frame  offset %llu  block %llu  length "
                        "%u  %s  crc 0x%08x: not a fragment (%s)", (unsigned long long)at,
                        (unsigned long long)(at / WAL_BLOCK_SIZE), len, dump_type_name(type),
                        stored, type < WAL_FULL || type > WAL_LAST ? "no such type"
                                : got < left ? "runs past the end of the file"
                                             : "runs past the end of its block");
        return 0;
    }
    uint32_t crc = crc32c_extend(crc32c_value(c->buf + 4, 3), c->buf + WAL_HEADER_SIZE, len);
    log_report_line(c->line, c->ctx, "            frame  offset %llu  block %llu  length %u  "
                    "%s  crc 0x%08x %s", (unsigned long long)at,
                    (unsigned long long)(at / WAL_BLOCK_SIZE), len, dump_type_name(type),
                    stored, crc == stored ? "ok" : "BAD");
    return WAL_HEADER_SIZE + len;
}

/* The bytes [c->pos, to) that belong to no record: trailers, or a file's
 * own header before the first fragment. */
static void dump_gap(dump_ctx *c, io_file *f, uint64_t to)
{
    while (c->pos < to) {
        uint32_t left = wal_block_left(c->pos);
        uint64_t n = left < to - c->pos ? left : to - c->pos;
        uint8_t bytes[WAL_HEADER_SIZE];
        size_t got = 0;
        int zeros = left < WAL_HEADER_SIZE && n == left &&
                    io_read_at(f, c->pos, bytes, (size_t)n, &got) == KV_OK && got == n;
        for (size_t i = 0; zeros && i < got; i++)
            zeros = bytes[i] == 0;
        dump_block(c, c->pos);
        if (zeros)
            log_report_line(c->line, c->ctx, "            trailer  offset %llu  block %llu  "
                            "%llu zero bytes (too few for a header)",
                            (unsigned long long)c->pos,
                            (unsigned long long)(c->pos / WAL_BLOCK_SIZE),
                            (unsigned long long)n);
        else
            log_report_line(c->line, c->ctx, "            %llu bytes at offset %llu before "
                            "the next fragment", (unsigned long long)n,
                            (unsigned long long)c->pos);
        c->pos += n;
    }
}

/* Every fragment of the item [it->offset, it->end); for damage, the
 * headers as they stand, up to the first that is not one.
 * REQUIRES: dump_gap up to it->offset. */
static void dump_frames(dump_ctx *c, const wal_walk_item *it, io_file *f)
{
    uint64_t at = it->offset;
    while (at < it->end) {
        if (wal_block_left(at) < WAL_HEADER_SIZE) {
            c->pos = at;
            dump_gap(c, f, at + wal_block_left(at));
            at = c->pos;
            continue;
        }
        uint64_t n = dump_fragment(c, f, at);
        if (n == 0)
            break; /* damage: nothing after it can be framed with confidence */
        at += n;
    }
    c->pos = it->end;
}

/* ---- records -------------------------------------------------------------- */

static int dump_item(void *ctx, const wal_walk_item *it, const wal_reader *r)
{
    dump_ctx *c = ctx;
    int rc = KV_OK;
    const char *why;
    if (c->flags & KV_DUMP_FRAMES) {
        dump_gap(c, r->file, it->offset);
        if (it->offset < r->file->end)
            dump_block(c, it->offset);
    }
    if (it->kind == WAL_WALK_MARKER)
        log_report_line(c->line, c->ctx, "%10llu  sync marker: every byte before offset %llu "
                        "was on stable storage", (unsigned long long)it->offset,
                        (unsigned long long)it->synced_to);
    else if (it->kind == WAL_WALK_DAMAGE)
        log_report_line(c->line, c->ctx, "%10llu  DAMAGED: %llu bytes: %s",
                        (unsigned long long)it->offset,
                        (unsigned long long)(it->end - it->offset), it->why);
    else
        log_report_line(c->line, c->ctx, "%10llu  record: %llu bytes framed, payload %zu "
                        "bytes, %zu ops", (unsigned long long)it->offset,
                        (unsigned long long)(it->end - it->offset), r->rec_len, it->count);
    if (it->kind == WAL_WALK_RECORD)
        rc = wal_batch_decode(r->rec, r->rec + r->rec_len, dump_op, c, NULL, &why);
    if (c->flags & KV_DUMP_FRAMES)
        dump_frames(c, it, r->file);
    return rc;
}

int record_dump_file(const char *path, const char *label, unsigned flags, kv_line_fn line,
                     void *ctx)
{
    log_report_line(line, ctx, "# %s: write-ahead log in %u-byte blocks: offset of each "
                    "record's first fragment, then its ops%s (see docs/03-wal.md)", label,
                    WAL_BLOCK_SIZE,
                    flags & KV_DUMP_FRAMES ? ", then its fragments: offset, block, length, "
                                             "type, crc as stored and whether it matches" : "");
    dump_ctx c = {.line = line, .ctx = ctx, .flags = flags};
    if ((flags & KV_DUMP_FRAMES) && (c.buf = malloc(WAL_BLOCK_SIZE)) == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory for a block", path);
    uint64_t size = 0;
    int rc = wal_walk(path, dump_item, &c, &size);
    if (rc != KV_OK && rc != KV_ERR_NOMEM)
        log_report_line(line, ctx, "# %s: cannot dump: %s", label, kv_errmsg());
    free(c.buf);
    return rc;
}
