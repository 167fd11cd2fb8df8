/*
 * wal_reader.h: reading the records of a write-ahead log (wal_format.h),
 * from a file or from memory, one 32 KiB block at a time.
 *
 * wal_fragment_decode is the bounded decoder: it looks only inside
 * [p, limit).  The reader reassembles fragments into records and says what
 * it meets:
 *   WAL_READ_RECORD  a whole record whose every fragment checked out;
 *   WAL_READ_DAMAGE  bytes that are not part of any valid record, starting
 *                    at bad_offset (why says what); calling it again
 *                    resynchronises: at the next byte where a fragment
 *                    with a valid crc starts (a zero-filled or damaged
 *                    block is skipped that way), dropping the MIDDLE and
 *                    LAST fragments of a record whose start was lost;
 *   WAL_READ_END     the end of the log.
 * Whether damage is a torn tail or corruption is the caller's call, with
 * the rule of docs/03-wal.md: damage with no valid record after it is a
 * torn tail (a zero-filled tail and a record cut short by the end of the
 * file are the usual ones); damage with a valid record after it is
 * corruption, unless the caller knows the writes there were not synced.
 */
#ifndef KV_WAL_READER_H
#define KV_WAL_READER_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

enum { WAL_FRAGMENT_OK = 0, WAL_FRAGMENT_BAD = 1, WAL_FRAGMENT_SHORT = 2 };

typedef struct wal_fragment {
    const uint8_t *data;
    uint32_t len;
    int type;
} wal_fragment;

/* Decodes the fragment at p.  WAL_FRAGMENT_SHORT: [p, limit) ends before
 * the header or the data it announces; WAL_FRAGMENT_BAD: not a fragment
 * (*why says why: zeros, a bad type, a length past the block, a bad crc).
 * `block_left` is what is left of the block at p (invariant 1). */
int wal_fragment_decode(const uint8_t *p, const uint8_t *limit, uint32_t block_left,
                        wal_fragment *f, const char **why);

enum { WAL_READ_END = 0, WAL_READ_RECORD = 1, WAL_READ_DAMAGE = 2 };

typedef struct wal_reader {
    io_file *file;          /* the source: a file ... */
    const uint8_t *mem;     /* ... or memory */
    uint64_t limit;         /* the log's size */
    uint8_t *block;         /* the current block's bytes [base, loaded) */
    uint64_t block_off;     /* its offset */
    size_t block_len, pos;  /* its length, and where the next fragment is */
    size_t base, loaded;
    size_t window;          /* file reads: 0 = whole blocks; else at most
                               this many bytes at a time unless a fragment
                               needs more (for reading one record) */
    int scanning;           /* after a bad fragment: the next call looks
                               for the next valid one (wal_resync.h) */
    int skip_orphans;       /* after damage: skip MIDDLE/LAST fragments */
    uint64_t next_start;    /* where the next record's search begins */
    /* After WAL_READ_RECORD: */
    uint8_t *rec;
    size_t rec_len, rec_cap;
    uint64_t rec_offset;    /* where the search for it began (the end of
                               the record before, or a resync point) */
    uint64_t rec_start;     /* its first fragment */
    uint64_t rec_end;       /* the byte after its last fragment */
    /* After WAL_READ_DAMAGE: */
    uint64_t bad_offset;
    const char *why;
} wal_reader;

/* Reads [start, limit) of a file, or [start, n) of memory.  start is where
 * a record begins (0, or a place the index recorded). */
void wal_reader_init_file(wal_reader *r, io_file *f, uint64_t start, uint64_t limit);
void wal_reader_init_mem(wal_reader *r, const uint8_t *p, uint64_t start, uint64_t n);
/* WAL_READ_*, or a negative KV_ERR_* (kv_errmsg set) if reading failed. */
int  wal_reader_next(wal_reader *r);
void wal_reader_free(wal_reader *r);

#endif
