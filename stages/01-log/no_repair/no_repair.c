/*
 * no_repair.c: kv_repair for the stages before the write-ahead log (01 and
 * 02, which reuses this file).  Their kv_open already refuses damage in the
 * middle of a log and kv check lists it; salvaging the intact records is
 * stage 03's job (docs/03-wal-reference.md, "Repair").
 */
#include "error.h"
#include "kv.h"

int kv_repair(const char *dir, kv_line_fn line, void *ctx)
{
    (void)line;
    (void)ctx;
    return kv_error(KV_ERR_INVALID, "kv_repair %s: kv repair is available from stage 03 on "
                    "(this is stage %s)", dir ? dir : "(null)", kv_stage());
}
