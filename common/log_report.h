/*
 * log_report.h: kv check and kv dump for one file of log records.
 *
 * log_report_check walks a log file and reports, line by line, what it holds
 * and every place where it is damaged: its header (file_start.h), every
 * damaged region, with where valid records resume after it (so all damage
 * is listed), and a torn tail (log_damage.h).  What kv_open will do about
 * it is the stage's verdict, reported by the stage (its kv_check).
 * log_report_dump prints the header and every record, decoded, with its
 * offset.
 *
 * Both read the file directly, without opening the database, so they work on
 * files kv_open refuses.  `label` is the name used in the lines (the file's
 * name within the database directory); `magic` and `version` are what its
 * header must say.
 */
#ifndef KV_COMMON_LOG_REPORT_H
#define KV_COMMON_LOG_REPORT_H

#include <stdint.h>

#include "kv.h"

typedef struct log_report_totals {
    uint64_t bytes, records, puts, deletes, seals;
    int ends_with_seal;   /* the last record is a seal naming its own offset */
    uint64_t corrupt_regions, corrupt_bytes;
    uint64_t torn_bytes;
    int header;           /* FILE_START_* */
} log_report_totals;

/* Returns KV_OK if the file is intact or has only a torn tail (or a torn
 * header), KV_ERR_CORRUPT if it has other damage, or an I/O error. */
int log_report_check(const char *path, const char *label, const char *magic, uint32_t version,
                     kv_line_fn line, void *ctx, log_report_totals *totals);
int log_report_dump(const char *path, const char *label, const char *magic, uint32_t version,
                    kv_line_fn line, void *ctx);

/* Formats one line (printf-style) and hands it to `line`; with no `line`
 * (NULL: a caller that wants only the verdict) formats nothing. */
void log_report_line(kv_line_fn line, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
