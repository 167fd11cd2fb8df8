/*
 * kv_export.h: the export stream, a copy of every key and value of a
 * database in a format no stage owns, so that `kv DIR export FILE` with one
 * stage's build and `kv NEWDIR import FILE` with another's carry a database
 * across stages.  The encoders and a decoder bounded by [p, limit); the
 * kv command does the reading and writing (kv_cmd_export.c).
 *
 * Byte table (docs/formats.md, "The export stream"); integers are
 * little-endian, offsets are from the start of each part:
 *
 *   stream := header chunk* end
 *
 *   header, 16 bytes (common/file_header.h):
 *     0   8  magic "KVEXPORT"
 *     8   4  version, u32 = 1
 *     12  4  crc32c of bytes 0..11
 *
 *   chunk, and end, start with a 17-byte chunk header:
 *     0   1  type: 1 = records, 2 = end
 *     1   8  count, u64: records in this chunk (records: at least 1), or in
 *            the whole stream (end)
 *     9   4  body length, u32: records: 9..EXPORT_BODY_MAX; end: 0
 *     13  4  crc32c of bytes 0..12
 *   a records chunk goes on with
 *     17  L  body: `count` records, back to back, filling it exactly
 *     17+L 4 crc32c of the body
 *   the end chunk is the last thing in the stream: no byte follows it.
 *
 *   record, in a body:
 *     0   4  key length k, u32, 1..KV_MAX_KEY
 *     4   4  value length v, u32, 0..KV_MAX_VALUE
 *     8   k  key
 *     8+k v  value
 *
 * Invariants a decoder checks, so that a stream cut short or damaged
 * anywhere is refused (never imported as something else):
 *   1. every length is checked against its limit and against the bytes
 *      left before anything is allocated or read;
 *   2. every byte after the header is under a checksum: a chunk header's
 *      own, or its body's, which is checked before any record is used;
 *   3. keys are strictly ascending over the whole stream (bytewise, kv.h's
 *      order), so no key appears twice;
 *   4. the end chunk's count is the number of records before it, and
 *      nothing follows it: a stream without its end was cut short.
 * A writer closes a chunk once its body reaches EXPORT_CHUNK_TARGET bytes;
 * `kv import` applies each chunk with one kv_write (an atomic batch).
 */
#ifndef KV_TOOL_EXPORT_H
#define KV_TOOL_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "file_header.h"
#include "kv.h"

#define EXPORT_MAGIC FILE_MAGIC_EXPORT  /* common/file_header.h */
#define EXPORT_VERSION 1u
#define EXPORT_HEADER_SIZE 16u
#define EXPORT_CHUNK_HEADER_SIZE 17u
#define EXPORT_CRC_SIZE 4u
#define EXPORT_RECORD_HEAD 8u
#define EXPORT_CHUNK_TARGET (1u << 20)
/* A body is below the target before its last record is added. */
#define EXPORT_BODY_MAX (EXPORT_CHUNK_TARGET + EXPORT_RECORD_HEAD + KV_MAX_KEY + KV_MAX_VALUE)

enum { EXPORT_CHUNK_RECORDS = 1, EXPORT_CHUNK_END = 2 };

/* Why a decode failed: `at` is the offset, from the p the decoder was
 * given, of the first byte found wrong; `what` says what was wrong. */
typedef struct export_error {
    uint64_t at;
    char what[200];
} export_error;

typedef struct export_chunk {
    int type;           /* EXPORT_CHUNK_RECORDS or EXPORT_CHUNK_END */
    uint64_t count;
    uint32_t body_len;
} export_chunk;

typedef struct export_record {
    const uint8_t *key;
    size_t klen;
    const uint8_t *val;
    size_t vlen;
} export_record;

/* ---- writing ---- */

void export_header_encode(uint8_t out[EXPORT_HEADER_SIZE]);
void export_chunk_encode(uint8_t out[EXPORT_CHUNK_HEADER_SIZE], int type, uint64_t count,
                         uint32_t body_len);
/* Bytes a record takes in a body. */
size_t export_record_size(size_t klen, size_t vlen);
/* Writes the record at out (export_record_size bytes); returns its end. */
uint8_t *export_record_encode(uint8_t *out, const void *key, size_t klen, const void *val,
                              size_t vlen);

/* ---- reading: each looks only inside [p, limit) ---- */

/* The 16-byte header.  0, or -1 with *e (naming what the bytes are
 * instead, when they start another format of this project). */
int export_header_decode(const uint8_t *p, const uint8_t *limit, export_error *e);

/* A 17-byte chunk header.  0 and *c, or -1 with *e. */
int export_chunk_decode(const uint8_t *p, const uint8_t *limit, export_chunk *c,
                        export_error *e);

/* How many bytes follow a chunk header: body and checksum, or 0. */
uint64_t export_chunk_rest(const export_chunk *c);

/* Checks what follows the header of records chunk c, [p, limit) =
 * body + checksum: the checksum, then that exactly c->count records fill
 * the body, each key after the one before it, the first after
 * prev[0..prev_len) (prev_len 0: no key before).  0, or -1 with *e. */
int export_body_check(const uint8_t *p, const uint8_t *limit, const export_chunk *c,
                      const void *prev, size_t prev_len, export_error *e);

/* Decodes the record at *p in [*p, limit) and moves *p past it.  0, or -1
 * with *e if it does not fit or its lengths are out of range. */
int export_record_decode(const uint8_t **p, const uint8_t *limit, export_record *r,
                         export_error *e);

#endif
