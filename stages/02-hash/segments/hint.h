/*
 * hint.h: hint files, a compact index of one merged segment.
 *
 * A merge writes, beside each segment it produces, a hint file listing every
 * key in that segment with the offset and size of its record.  At open, a
 * segment with a valid hint is indexed by reading the hint (keys only)
 * instead of the whole segment (keys and values).  A hint is only ever a
 * shortcut: if it is missing or fails any check, kv_open scans the segment,
 * so a damaged hint costs time, never data.  (Bitcask does the same.)
 *
 * Byte table (integers little-endian, varints as in common/coding.h;
 * docs/02-hash.md has a worked example):
 *
 *   header, 24 bytes
 *     0   8  magic "KVHINT02"
 *     8   4  version, 1
 *     12  4  id of the segment it describes
 *     16  8  that segment's size in bytes when the hint was written
 *   entry, one per record of the segment, in the segment's order
 *     key_len      varint32 (1 .. 65535)
 *     record_size  varint32 (the whole record, header included)
 *     key          key_len bytes
 *   trailer, 12 bytes
 *     0   8  entry_count
 *     8   4  crc32c of every byte of the file before this field
 *
 * There are no offsets: a merge writes its records end to end, so the first
 * record is at offset 16 (SEGMENT_START, after the segment's file header)
 * and each next one where the previous one ends.  A hint is valid when its
 * size (at most its header and trailer plus the segment's bytes after the
 * segment's header: each entry is shorter than its record), crc, magic,
 * version and segment id check out, and its records, laid end to end from
 * offset 16, cover exactly the segment's current size.  Invariant: the decoder looks only inside the bytes it read and
 * checks every length before using it.
 */
#ifndef KV_HINT_H
#define KV_HINT_H

#include <stddef.h>
#include <stdint.h>

#define HINT_MAGIC "KVHINT02"
#define HINT_VERSION 1u
#define HINT_HEADER 24u
#define HINT_TRAILER 12u

/* A hint being built in memory: header space, then entries. */
typedef struct hint_builder {
    uint8_t *buf;
    size_t len, cap;
    uint64_t count;
    uint64_t covered;   /* bytes of segment the entries describe */
    size_t last;        /* offset in buf of the last entry */
} hint_builder;

int  hint_builder_init(hint_builder *b);
void hint_builder_free(hint_builder *b);
/* Appends the entry of the next record of the segment; *key_pos (if not
 * NULL) gets the offset of the key's copy in b->buf. */
int  hint_add(hint_builder *b, const void *key, size_t klen, uint32_t size, size_t *key_pos);
/* Adds `extra` bytes to the size of the last entry (bytes a segment ends
 * with after its last record: stage 03's seal, record_io.h); *key_pos gets
 * the new offset of that entry's key.  REQUIRES: an entry was added. */
int  hint_extend_last(hint_builder *b, uint32_t extra, size_t *key_pos);
/* Finishes the header and trailer and writes the whole hint to path (created
 * or emptied), then syncs and closes it. */
int  hint_write(const char *path, uint32_t seg_id, uint64_t seg_bytes, hint_builder *b);

/* Reads and validates the hint at path for segment seg_id of seg_bytes bytes,
 * then calls fn once per entry, with the record's offset (only after all of
 * the hint checked out).  Returns
 * KV_OK, KV_ERR_CORRUPT (kv_errmsg says what is wrong and where), an I/O
 * error, or the first non-zero value fn returned.  *file_bytes (if not
 * NULL) gets the hint's size. */
typedef int (*hint_entry_fn)(void *ctx, const uint8_t *key, size_t klen, uint64_t offset,
                             uint32_t size);
int  hint_load(const char *path, uint32_t seg_id, uint64_t seg_bytes, hint_entry_fn fn,
               void *ctx, uint64_t *file_bytes);

#endif
