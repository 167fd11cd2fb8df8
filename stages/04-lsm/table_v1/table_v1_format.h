/*
 * table_v1_format.h: table format v1, byte by byte (docs/04-lsm.md has a
 * worked example).  Private to table_v1_*.c; the rest of the stage sees
 * only table.h.
 *
 * All integers are little-endian.  A is where the offset array starts, N
 * the number of records, S and L the lengths of the smallest and largest
 * internal keys.
 *
 *   offset      size   field
 *   0           16     file header: "KVS04TBL", version 1, crc32c
 *                      (common/file_header.h)
 *   16          ...    N records, in ascending internal key order, back
 *                      to back (the first at 16, the last ending at A)
 *   A           8 N    offset array: the file offset of each record, u64
 *   A + 8N      S      smallest internal key (the first record's)
 *   A + 8N + S  L      largest internal key (the last record's)
 *   size - 52   52     tail:
 *                 +0   8  magic "KVS04TBL"
 *                 +8   4  format version, 1
 *                 +12  4  crc32c of the offset array (its 8N bytes)
 *                 +16  8  N, records (>= 1)
 *                 +24  8  D, records that are tombstones
 *                 +32  8  A
 *                 +40  4  S (9 .. 65543)
 *                 +44  4  L (9 .. 65543)
 *                 +48  4  crc32c of the two keys and tail bytes 0..47
 *
 *   record (at least 19 bytes):
 *     +0   4      crc32c of the head: bytes 4 .. the end of the internal key
 *     +4   4      crc32c of the value
 *     +8   1..5   K, internal key length, varint32 (9 .. 65543)
 *     .    1..5   V, value length, varint32 (0 .. 64 MiB; 0 for a tombstone)
 *     .    K      internal key (internal_key.h: user key, then trailer)
 *     .    V      value
 *
 *   size = A + 8N + S + L + 52, which an open checks first.
 *
 * Why two checksums per record: a lookup compares its key with about
 * log2(N) records and needs only their heads; it checks each head it
 * reads, and reads and checks the value of the one record it returns.
 * Why a probe reads two offsets: record i must fill [offset i, offset
 * i + 1) exactly, so a damaged offset that happens to land on another
 * intact record is caught too (it would otherwise misdirect the search).
 * The offset array's own checksum is checked by kv check, which reads it
 * whole; a lookup reads only the entries it probes.  Why the offset array stays on disk: a lookup reads
 * only the log2(N) entries its binary search probes, so an open table
 * holds nothing per record in memory (table.h, T3); the price is about
 * two positioned reads per probe.  A format with blocks and an index
 * pays one read per lookup instead.
 */
#ifndef KV_LSM_TABLE_V1_FORMAT_H
#define KV_LSM_TABLE_V1_FORMAT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "coding.h"
#include "file_header.h"
#include "io.h"
#include "table.h"

#define TABLE_V1_VERSION 1u
#define TABLE_V1_RECORDS_AT FILE_HEADER_SIZE      /* the first record */
#define TABLE_V1_TAIL 52u
#define TABLE_V1_RECORD_MIN 19u                   /* 8 + 1 + 1 + 9 */
#define TABLE_V1_IKEY_MIN (IKEY_TRAILER_SIZE + 1)
#define TABLE_V1_IKEY_MAX (KV_MAX_KEY + IKEY_TRAILER_SIZE)
#define TABLE_V1_HEAD_MAX (8 + 2 * CODING_MAX_VARINT32 + TABLE_V1_IKEY_MAX)
/* The smallest file: header, one record, one offset, two keys, tail. */
#define TABLE_V1_FILE_MIN                                                    \
    (FILE_HEADER_SIZE + TABLE_V1_RECORD_MIN + 8 + 2 * TABLE_V1_IKEY_MIN + TABLE_V1_TAIL)

/* What the tables of one database share (table.h). */
struct table_ctx {
    atomic_uint_least64_t reads;       /* positioned reads, every table */
    atomic_uint_least64_t read_bytes;
    atomic_uint_least64_t gets;        /* lookups that searched a table */
    atomic_uint_least64_t get_reads;   /* positioned reads those made */
};

/* An open table: the footer's numbers and two keys (T3). */
struct table {
    table_ctx *ctx;
    io_file *file;
    atomic_int refs;
    uint64_t file_bytes;
    uint64_t n;              /* N */
    uint64_t deletes;        /* D */
    uint64_t array_at;       /* A */
    uint32_t array_crc;
    uint8_t *smallest, *largest;
    size_t smallest_len, largest_len;
};

/* A record's head, decoded. */
typedef struct table_v1_record {
    uint32_t head_crc, value_crc;
    size_t head_len;         /* from the record's start to its key's end */
    const uint8_t *ikey;
    size_t ikey_len;
    size_t value_len;        /* the value starts at head_len */
} table_v1_record;

enum { TABLE_V1_REC_OK = 0, TABLE_V1_REC_SHORT = 1, TABLE_V1_REC_BAD = -1 };

/*
 * Decodes the record whose first `got` bytes are at p.  `room` is how many
 * bytes the record may take in the file (up to the end of the records, or
 * to the next record's offset if `exact`, in which case it must end
 * exactly there).  Returns TABLE_V1_REC_OK with the head's checksum
 * verified, TABLE_V1_REC_SHORT if the head is longer than got (r->head_len
 * says how long; REQUIRES got >= min(room, 18) so the lengths are in), or
 * TABLE_V1_REC_BAD with *why set.
 */
int table_v1_record_decode(const uint8_t *p, size_t got, uint64_t room, int exact,
                           table_v1_record *r, const char **why);

/* What a lookup's reads came to (table_get_result's reads, bytes_read). */
typedef struct table_v1_count {
    unsigned reads;
    uint64_t bytes;
} table_v1_count;

/* A positioned read of exactly n bytes at off of t's file, counted in the
 * context (and in *count if not NULL); a short read is KV_ERR_CORRUPT. */
int table_v1_read(table *t, uint64_t off, void *buf, size_t n, table_v1_count *count);

/* Checks that record i can span [off, end): off where record i can start,
 * end where record i + 1 can start (or the records' end, for the last),
 * and room for a record between them (T2). */
int table_v1_span_check(const table *t, uint64_t i, uint64_t off, uint64_t end);

/* The span of record i, from offsets i and i + 1 of the offset array (one
 * positioned read of 16 bytes, 8 for the last record), checked. */
int table_v1_span(table *t, uint64_t i, uint64_t *off, uint64_t *end, table_v1_count *count);

/* A binary search's result: the first record whose internal key is >=
 * the target, with the bytes read from its start.  The search keeps two
 * such buffers (the probe and the best candidate so far), in the struct
 * for short records, malloc'd for longer ones. */
#define TABLE_V1_PROBE_BYTES 256u
typedef struct table_v1_slot {
    uint8_t *p;              /* space, or a malloc'd buffer of cap bytes */
    size_t cap, got;         /* got: bytes of the record read into p */
    uint64_t at;             /* the record's offset */
    table_v1_record rec;     /* its head (rec.ikey points into p) */
    uint8_t space[TABLE_V1_PROBE_BYTES];
} table_v1_slot;

typedef struct table_v1_probe {
    uint64_t index;          /* the record found; N if every key is smaller */
    table_v1_slot slot[2];
    table_v1_slot *found;    /* which slot holds it (index < N) */
} table_v1_probe;

/* Binary search for target over the on-disk offset array: about log2(N)
 * probes, each one positioned read of two neighbouring offsets and one of
 * the record head between them, which must fill that span exactly (so a
 * damaged offset cannot send the search to another, intact record).
 * Release the probe with table_v1_probe_free, whatever it returned. */
int table_v1_search(table *t, const uint8_t *target, size_t target_len, table_v1_probe *pr,
                    table_v1_count *count);
void table_v1_probe_free(table_v1_probe *pr);

/* The offset of the record a table iterator shows (kv dump prints it).
 * REQUIRES: it comes from table_iter_new and is valid. */
uint64_t table_v1_iter_offset(const iter *it);

#endif
