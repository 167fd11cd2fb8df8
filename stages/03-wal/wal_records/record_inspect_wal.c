/*
 * record_inspect_wal.c: record_inspect.h for stage 03, whose segments are
 * write-ahead logs (wal_format.h): 32 KiB blocks, each record cut into
 * fragments that never cross a block, a record being a batch of ops
 * (wal_batch.h) or a sync marker (wal_marker.h).  For each record, in
 * file order:
 *
 *   block file=F seg=N n=B off=O bytes=S          (the first time a fragment
 *                                                   of block B is shown)
 *   frag file=F seg=N off=O len=L type=full|first|middle|last block=B
 *   record file=F seg=N off=O size=S ops=K        (O: its first fragment)
 *   op file=F seg=N rec=O i=I op=put key="k" vlen=V live=1
 *   marker file=F seg=N off=O size=S synced_to=T seal=0|1
 *
 * The fragments are read again here (their headers only), to be shown:
 * the reader has already checked each of them.  live=1: the index points
 * the key at this op (the last op of its key in the batch).
 */
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "error.h"
#include "record_inspect.h"
#include "segment.h"
#include "wal_batch.h"
#include "wal_format.h"
#include "wal_marker.h"
#include "wal_reader.h"

typedef struct wal_inspect {
    record_inspect *ri;
    uint64_t size;          /* of the file */
    uint64_t block;         /* the block of the last "block" line, + 1 */
    const wal_reader *r;
    batch_op *ops;          /* the record's ops, for liveness */
    size_t nops, ops_cap;
} wal_inspect;

static int wal_inspect_take(wal_inspect *w)
{
    return inspect_cap_take(&w->ri->cap, "segment", w->ri->file, w->ri->line, w->ri->ctx);
}

static void wal_inspect_begin(wal_inspect *w, inspect_line *l, const char *kind)
{
    inspect_begin(l, kind);
    inspect_word(l, "file", w->ri->file);
    inspect_u64(l, "seg", w->ri->seg);
}

/* The "frag" lines of [from, to) (and "block" lines where blocks begin).
 * Returns 0 once the part's lines are used up. */
static int wal_inspect_frames(wal_inspect *w, io_file *f, uint64_t from, uint64_t to)
{
    static const char *const types[] = {"?", "full", "first", "middle", "last"};
    uint64_t at = from;
    while (at < to) {
        if (wal_block_left(at) < WAL_HEADER_SIZE) {
            at += wal_block_left(at); /* the trailer */
            continue;
        }
        uint8_t h[WAL_HEADER_SIZE];
        size_t got = 0;
        int rc = io_read_at(f, at, h, sizeof h, &got);
        if (rc != KV_OK)
            return rc;
        if (got < WAL_HEADER_SIZE || h[6] < WAL_FULL || h[6] > WAL_LAST)
            return kv_error(KV_ERR_CORRUPT, "kv_inspect: %s: offset %llu: not a fragment "
                            "(the file changed since it was read)", io_path(f),
                            (unsigned long long)at);
        uint32_t len = coding_get_u16(h + 4);
        uint64_t b = at / WAL_BLOCK_SIZE;
        inspect_line l;
        if (w->block != b + 1) {
            if (!wal_inspect_take(w))
                return 0;
            w->block = b + 1;
            uint64_t off = b * WAL_BLOCK_SIZE;
            wal_inspect_begin(w, &l, "block");
            inspect_u64(&l, "n", b);
            inspect_u64(&l, "off", off);
            inspect_u64(&l, "bytes", w->size - off < WAL_BLOCK_SIZE ? w->size - off
                                                                     : WAL_BLOCK_SIZE);
            inspect_emit(&l, w->ri->line, w->ri->ctx);
        }
        if (!wal_inspect_take(w))
            return 0;
        wal_inspect_begin(w, &l, "frag");
        inspect_u64(&l, "off", at);
        inspect_u64(&l, "len", len);
        inspect_word(&l, "type", types[h[6]]);
        inspect_u64(&l, "block", b);
        inspect_emit(&l, w->ri->line, w->ri->ctx);
        at += WAL_HEADER_SIZE + len;
    }
    return 1;
}

static int wal_inspect_collect(void *ctx, size_t i, const batch_op *op)
{
    (void)i;
    wal_inspect *w = ctx;
    if (w->nops == w->ops_cap) {
        size_t cap = w->ops_cap ? 2 * w->ops_cap : 16;
        batch_op *ops = realloc(w->ops, cap * sizeof *ops);
        if (ops == NULL)
            return kv_error(KV_ERR_NOMEM, "kv_inspect: out of memory");
        w->ops = ops;
        w->ops_cap = cap;
    }
    w->ops[w->nops++] = *op;
    return 0;
}

/* 1 if no op after i in the record has op i's key. */
static int wal_inspect_last_of_key(const wal_inspect *w, size_t i)
{
    for (size_t j = i + 1; j < w->nops; j++)
        if (w->ops[j].klen == w->ops[i].klen &&
            memcmp(w->ops[j].key, w->ops[i].key, w->ops[i].klen) == 0)
            return 0;
    return 1;
}

/* The lines of the record the reader holds.  Returns 1 to go on, 0 once
 * the part's lines are used up, or an error. */
static int wal_inspect_record(wal_inspect *w, io_file *f)
{
    const wal_reader *r = w->r;
    int rc = wal_inspect_frames(w, f, r->rec_start, r->rec_end);
    if (rc != 1)
        return rc;
    inspect_line l;
    uint64_t synced_to = 0;
    int marker = wal_marker_decode(r->rec, r->rec + r->rec_len, &synced_to);
    if (!wal_inspect_take(w))
        return 0;
    wal_inspect_begin(w, &l, marker ? "marker" : "record");
    inspect_u64(&l, "off", r->rec_start);
    inspect_u64(&l, "size", r->rec_end - r->rec_start);
    if (marker) {
        inspect_u64(&l, "synced_to", synced_to);
        inspect_u64(&l, "seal", marker == 2);
        inspect_emit(&l, w->ri->line, w->ri->ctx);
        return 1;
    }
    const char *why = NULL;
    w->nops = 0;
    rc = wal_batch_decode(r->rec, r->rec + r->rec_len, wal_inspect_collect, w, NULL, &why);
    if (rc < 0 && why != NULL)
        return kv_error(KV_ERR_CORRUPT, "kv_inspect: %s: offset %llu: %s", io_path(f),
                        (unsigned long long)r->rec_start, why);
    if (rc != 0)
        return rc;
    inspect_u64(&l, "ops", w->nops);
    inspect_emit(&l, w->ri->line, w->ri->ctx);
    for (size_t i = 0; i < w->nops; i++) {
        const batch_op *op = &w->ops[i];
        if (!wal_inspect_take(w))
            return 0;
        wal_inspect_begin(w, &l, "op");
        inspect_u64(&l, "rec", r->rec_start);
        inspect_u64(&l, "i", i);
        inspect_word(&l, "op", op->is_delete ? "del" : "put");
        inspect_key(&l, "key", op->key, op->klen);
        inspect_u64(&l, "vlen", op->is_delete ? 0 : op->vlen);
        /* The index holds each op's place as where its record's search
         * began (record_io.h: the end of the record before). */
        inspect_u64(&l, "live", !op->is_delete && wal_inspect_last_of_key(w, i) &&
                    w->ri->live(w->ri->live_ctx, w->ri->seg, op->key, op->klen,
                                r->rec_offset));
        inspect_emit(&l, w->ri->line, w->ri->ctx);
    }
    return 1;
}

int record_inspect_file(io_file *f, uint64_t size, record_inspect *ri)
{
    if (size <= SEGMENT_START)
        return KV_OK;
    wal_reader r;
    wal_reader_init_file(&r, f, SEGMENT_START, size);
    wal_inspect w = {.ri = ri, .size = size, .r = &r};
    int rc;
    while ((rc = wal_reader_next(&r)) == WAL_READ_RECORD) {
        int more = wal_inspect_record(&w, f);
        if (more <= 0) {
            rc = more;
            break;
        }
    }
    if (rc == WAL_READ_DAMAGE)
        rc = kv_error(KV_ERR_CORRUPT, "kv_inspect: %s: offset %llu: %s", io_path(f),
                      (unsigned long long)r.bad_offset, r.why);
    free(w.ops);
    wal_reader_free(&r);
    return rc < 0 ? rc : KV_OK;
}
