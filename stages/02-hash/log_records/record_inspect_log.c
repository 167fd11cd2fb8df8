/*
 * record_inspect_log.c: record_inspect.h for stage 02, whose segments hold
 * log records (common/log_record.h), one op each, after the file header:
 *
 *   record file=F seg=N off=O size=S op=put key="k" vlen=V live=1
 *   seal file=F seg=N off=O size=18
 *
 * live=1: the index points the key at this record; live=0: a later record
 * (or a delete) replaced it, so it is garbage a merge will drop.
 */
#include "error.h"
#include "log_record.h"
#include "log_scan.h"
#include "record_inspect.h"
#include "segment.h"

int record_inspect_file(io_file *f, uint64_t size, record_inspect *ri)
{
    if (size <= SEGMENT_START)
        return KV_OK;
    log_scan s;
    log_scan_init(&s, f, SEGMENT_START, size);
    s.verify_checksums = 0; /* below its valid size: checked at open or written here */
    int rc;
    while ((rc = log_scan_next(&s)) == LOG_SCAN_RECORD) {
        if (!inspect_cap_take(&ri->cap, "segment", ri->file, ri->line, ri->ctx))
            break;
        inspect_line l;
        inspect_begin(&l, s.rec.is_seal ? "seal" : "record");
        inspect_word(&l, "file", ri->file);
        inspect_u64(&l, "seg", ri->seg);
        inspect_u64(&l, "off", s.rec_offset);
        inspect_u64(&l, "size", s.rec_size);
        if (!s.rec.is_seal) {
            inspect_word(&l, "op", s.rec.is_delete ? "del" : "put");
            inspect_key(&l, "key", s.rec.key, s.rec.klen);
            inspect_u64(&l, "vlen", s.rec.vlen);
            inspect_u64(&l, "live", !s.rec.is_delete &&
                        ri->live(ri->live_ctx, ri->seg, s.rec.key, s.rec.klen, s.rec_offset));
        }
        inspect_emit(&l, ri->line, ri->ctx);
    }
    if (rc == LOG_SCAN_BAD)
        rc = kv_error(KV_ERR_CORRUPT, "kv_inspect: %s: offset %llu: %s", io_path(f),
                      (unsigned long long)s.pos, s.why);
    log_scan_free(&s);
    return rc < 0 ? rc : KV_OK;
}
