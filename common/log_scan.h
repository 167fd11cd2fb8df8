/*
 * log_scan.h: reading a log of records (log_record.h) from start to end.
 *
 * A scanner walks [start, limit) of a file, handing out one verified record
 * at a time.  It reads through a buffer, so a scan costs one read per
 * LOG_SCAN_CHUNK bytes, not one per record.  Records are returned with their
 * offset; the key and value point into the scanner's buffer and stay valid
 * until the next call.
 *
 * When the bytes at the current offset are not a valid record, the scan
 * stops with LOG_SCAN_BAD and says why, and whether the record there runs
 * past the limit (short_record).  Whether that is a torn tail (a last
 * write cut short by a crash) or damage is decided by log_damage.h.
 */
#ifndef KV_COMMON_LOG_SCAN_H
#define KV_COMMON_LOG_SCAN_H

#include <stdint.h>

#include "io.h"
#include "log_record.h"

#define LOG_SCAN_CHUNK (256u * 1024u)

typedef struct log_scan {
    io_file *file;
    uint64_t pos;        /* offset of the next record to read */
    uint64_t limit;      /* the scan ends here */
    uint8_t *buf;        /* holds file bytes [buf_off, buf_off + buf_len) */
    size_t buf_cap;
    size_t buf_len;
    uint64_t buf_off;
    /* After LOG_SCAN_RECORD: the record, its offset and size. */
    log_record rec;
    uint64_t rec_offset;
    uint64_t rec_size;
    /* After LOG_SCAN_BAD: what is wrong at `pos`. */
    const char *why;
    int short_record;    /* 1 if the bad record runs past limit */
    /* 1 (the default) = verify every record's checksum.  0 = lengths only,
     * for rescanning bytes already verified that cannot have changed (a
     * log below its end while the database is open); the one record a
     * caller then uses must be verified again (log_read_record_at). */
    int verify_checksums;
} log_scan;

enum { LOG_SCAN_END = 0, LOG_SCAN_RECORD = 1, LOG_SCAN_BAD = 2 };

void log_scan_init(log_scan *s, io_file *file, uint64_t start, uint64_t limit);
/* Returns LOG_SCAN_RECORD, LOG_SCAN_END (pos == limit), LOG_SCAN_BAD (the
 * scan stays at the bad offset), or a negative KV_ERR_* with kv_errmsg set. */
int  log_scan_next(log_scan *s);
void log_scan_free(log_scan *s);

/* Reads and verifies the one record of `size` bytes at `offset` into *buf
 * (grown as needed; *cap is its size).  On KV_OK *rec points into *buf.
 * KV_ERR_CORRUPT (naming file and offset) if the bytes there are not that
 * record. */
int  log_read_record_at(io_file *file, uint64_t offset, uint64_t size,
                        uint8_t **buf, size_t *cap, log_record *rec);

#endif
