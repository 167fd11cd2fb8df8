/*
 * log_replay.h: one log file of records (log_record.h) behind its 16-byte
 * file header (file_header.h), read from start to end the way kv_open
 * reads it: what its header says (file_start.h), every valid record in
 * order, and what the first damage after them is (log_damage.h).
 *
 * Stage 01 judges data.log with it, stage 02 each segment (through
 * record_io_log.c); both kv_open and kv_check of those stages call it, so
 * they see the same thing.  The records of a file start at
 * LOG_REPLAY_START, right after the header; offsets count from the start
 * of the file.
 */
#ifndef KV_COMMON_LOG_REPLAY_H
#define KV_COMMON_LOG_REPLAY_H

#include <stdint.h>

#include "file_start.h"
#include "io.h"
#include "log_damage.h"
#include "log_scan.h"

#define LOG_REPLAY_START FILE_HEADER_SIZE

typedef struct log_replay {
    file_start start;   /* the header's verdict */
    uint64_t end;       /* the valid records end here: the damage, or the
                           size (0 unless the header is OK) */
    uint64_t records;   /* valid records, seals included */
    int sealed;         /* the last record is a seal naming its own offset */
    int damaged;        /* 1: d describes the damage at `end` (a TORN or BAD
                           header is damage at offset 0) */
    log_damage d;       /* REQUIRES: not copied out of this struct (d.why
                           may point into start.why) */
} log_replay;

/* Calls fn (unless NULL) for each valid record of f, a file of `size`
 * bytes whose header must be `magic`, `version`.  Returns KV_OK (with *r
 * filled in), an I/O error, KV_ERR_NOMEM, or fn's first non-zero value. */
typedef int (*log_replay_fn)(void *ctx, const log_scan *s);
int log_replay_file(io_file *f, uint64_t size, const char *magic, uint32_t version,
                    log_replay_fn fn, void *ctx, log_replay *r);

#endif
