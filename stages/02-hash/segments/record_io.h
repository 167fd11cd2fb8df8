/*
 * record_io.h: the record format of a segment.  This is an interface.
 *
 * Everything in stage 02 that reads or writes the bytes of a segment goes
 * through these functions: a new segment gets its format's file header
 * (common/file_header.h: stage 02 writes "KVS02SEG", stage 03 "KVS03WAL";
 * records follow from SEGMENT_START), recovery and merge replay a segment's
 * records,
 * kv_get and the iterator read one value back, merge encodes a record into
 * its output, and kv check / kv dump report on a segment.  Stage 02
 * implements them with common/log_record.h (record_io_log.c); stage 03
 * implements them with its write-ahead log (stages/03-wal/wal_records/record_io_wal.c)
 * and reuses the rest of stage 02 unchanged.
 *
 * A record holds one or more ops (stage 02: always one).  Each op replayed
 * carries the place of its record: `offset` is where the writer stood
 * before writing it, and `size` is the op's share of the bytes from there
 * to the record's end, so that the shares of a segment's records add up to
 * its size (what live-byte accounting and hint files rely on).  A merge
 * output holds one op per record.
 *
 * Invariant: every decoder looks only at bytes it has read from the file,
 * inside the limit it was given.
 */
#ifndef KV_RECORD_IO_H
#define KV_RECORD_IO_H

#include <stddef.h>
#include <stdint.h>

#include "hash_index.h"
#include "io.h"
#include "kv.h"
#include "log_report.h"
#include "segment.h"

/* The magic and version in the file header of a segment of this format
 * (segment.h writes and checks it). */
extern const char record_file_magic[];
#define RECORD_FILE_VERSION 1u

/* One op of a record, as replayed.  Pointers are valid during the callback. */
typedef struct record_op {
    const uint8_t *key;
    const uint8_t *value;   /* NULL for a delete */
    uint32_t klen, vlen;
    int is_delete;
    uint64_t offset;        /* of its record (see the top of this file) */
    uint32_t size;          /* its share of the record's bytes */
} record_op;

/* Where a replay stopped.  The header counts: a segment whose header is
 * not right is damaged at offset 0 (common/file_start.h says when that is
 * torn).  REQUIRES: not copied (why may point into why_text). */
typedef struct record_damage {
    uint64_t offset;        /* the first byte that is not a valid record */
    const char *why;
    int torn;               /* 1 if a crash can leave this in the segment the
                               next write goes to: a record cut short by the
                               end of the file with nothing valid after it
                               (common/log_damage.h), a header cut short, or
                               (stage 03) damage in writes never synced */
    int has_next;           /* a valid record starts after it, at `next` */
    uint64_t next;
    uint64_t records_after; /* valid records after it (stage 03 counts them) */
    int unsynced;           /* 1 if the damage may lie in writes that were
                               never synced, which a power loss can lose out
                               of order (stage 03 knows; stage 02: never) */
    int sealed;             /* set on KV_OK too: the records end with a seal
                               (record_seal), so the file was not cut short */
    uint32_t seal_bytes;    /* the bytes of that seal when it is a record of
                               its own (0 if the format has none) */
    char why_text[400];
} record_damage;

enum { RECORD_DAMAGED = 1 };

/* Calls fn for every op of every valid record of [0, size) of f, in order
 * (a segment of 0 bytes has none, and is no damage),
 * stopping at the first damage.  Returns KV_OK (all of it is records),
 * RECORD_DAMAGED (*d says where and whether valid records follow), a
 * negative KV_ERR_*, or the first non-zero value fn returned. */
typedef int (*record_op_fn)(void *ctx, const record_op *op);
int record_replay(io_file *f, uint64_t size, record_op_fn fn, void *ctx, record_damage *d);

/* Reads the value of key from the record at loc, in a file of `limit`
 * valid bytes, into *buf (grown as needed; *cap its size); *val points into
 * it.  KV_ERR_CORRUPT, naming file and offset, if no put of key is there. */
int record_read_value(io_file *f, uint64_t limit, const hash_loc *loc, const void *key,
                      size_t klen, uint8_t **buf, size_t *cap, const uint8_t **val,
                      size_t *vlen);

/* The most bytes record_encode can write for op, wherever it lands. */
uint64_t record_encoded_max(const record_op *op);
/* Writes op as a record of its own, for a file whose next byte is at `at`;
 * returns the bytes written (its size, in the sense above). */
size_t record_encode(uint8_t *dst, uint64_t at, const record_op *op);

/* The bytes that close a segment for good, for a file whose next byte is
 * at `at` (stage 03: a final sync marker naming `at`, so that a closed
 * segment cut short is detected; stage 02: none).  Returns their number,
 * at most RECORD_SEAL_MAX. */
#define RECORD_SEAL_MAX 32u
size_t record_seal(uint8_t *dst, uint64_t at);

/* kv check and kv dump of one segment file (see common/log_report.h).
 * `flags` are kv_dump_with's (kv.h): KV_DUMP_FRAMES shows the framing
 * below the records, for a format that has one (stage 02's has none). */
int record_check_file(const char *path, const char *label, kv_line_fn line, void *ctx,
                      log_report_totals *totals);
int record_dump_file(const char *path, const char *label, unsigned flags, kv_line_fn line,
                     void *ctx);

#endif
