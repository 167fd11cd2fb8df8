/*
 * log_verdict.c: what kv_open does with data.log (log_db.h, "What kv_open
 * does with data.log"), shared by kv_open (log_db.c) and kv_check
 * (log_tools.c).  The rules are common/file_start.h (the header) and
 * common/log_damage.h (torn tail or damage); this file applies them to the
 * one file of stage 01, which is always the file the next write goes to.
 */
#include <stdio.h>

#include "file_header.h"
#include "log_db.h"

int log_verdict_judge(io_file *f, uint64_t size, int strict, log_verdict *v)
{
    int rc = log_replay_file(f, size, FILE_MAGIC_LOG01, LOG_DB_FORMAT, NULL, NULL, &v->r);
    if (rc != KV_OK)
        return rc;
    v->keep = v->r.end;
    v->cut = 0;
    if (!v->r.damaged) {
        v->action = LOG_VERDICT_KEEP;
    } else if (v->r.d.torn) {
        v->action = strict ? LOG_VERDICT_REFUSE : LOG_VERDICT_CUT;
        v->cut = size - v->keep;
    } else {
        v->action = LOG_VERDICT_REFUSE;
    }
    return KV_OK;
}

void log_verdict_text(const log_verdict *v, int strict, char *out, size_t n)
{
    unsigned long long at = (unsigned long long)v->r.d.offset;
    unsigned long long bytes = (unsigned long long)v->cut;
    const char *what = v->keep < LOG_DB_START ? "torn header" : "torn tail";
    if (v->action == LOG_VERDICT_KEEP)
        snprintf(out, n, "intact: kv_open keeps it as it is");
    else if (v->r.d.torn && strict)
        snprintf(out, n, "offset %llu: %s of %llu bytes (%s), and strict_recovery is set",
                 at, what, bytes, v->r.d.why);
    else if (v->r.d.torn)
        snprintf(out, n, "offset %llu: %s: the next kv_open that may write cuts it off (%llu "
                 "bytes: the last write, cut short; intact records after the tear: 0); a "
                 "read-only open leaves it, strict_recovery refuses it (%s)", at, what, bytes,
                 v->r.d.why);
    else if (at < LOG_DB_START)
        snprintf(out, n, "%s; stage 01 cannot rewrite a damaged header (kv check lists the "
                 "records after it)", v->r.d.why);
    else
        snprintf(out, n, "offset %llu: %s: damage, not a torn write; stage 01 cannot repair: "
                 "keep a copy of the file, then cut it to %llu bytes (truncate -s %llu) to "
                 "keep the records before the damage and lose the rest (kv check lists it)",
                 at, v->r.d.why, at, at);
}
