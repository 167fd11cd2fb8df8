/*
 * file_header.h: the 16 bytes every data file of every stage starts with,
 * so that a single file says what it is.
 *
 * Byte table (see docs/formats.md):
 *
 *   offset  size  field
 *   0       8     magic: eight ASCII bytes naming the format ("KVS02SEG")
 *   8       4     format version, little-endian (1 for every format so far)
 *   12      4     crc32c of bytes 0..11, little-endian
 *
 * Every magic the project has ever written is in one table
 * (file_header.c), with the words a message uses for it, so that opening a
 * stage-02 segment as a stage-03 log says exactly that instead of "bad
 * record at offset 0".  The records of a file start right after its header;
 * offsets in the formats' own byte tables count from the start of the file.
 *
 * Invariant: file_header_check looks only inside [p, p + n) and names the
 * file and offset 0 in every message.
 */
#ifndef KV_COMMON_FILE_HEADER_H
#define KV_COMMON_FILE_HEADER_H

#include <stddef.h>
#include <stdint.h>

#define FILE_HEADER_SIZE 16u
#define FILE_MAGIC_SIZE 8u

/* The magics, one per format.  A new format adds a line here and in the
 * table of file_header.c. */
#define FILE_MAGIC_LOG01 "KVS01LOG"  /* stage 01: data.log */
#define FILE_MAGIC_SEG02 "KVS02SEG"  /* stage 02: a segment of log records */
#define FILE_MAGIC_WAL03 "KVS03WAL"  /* stage 03: a segment in WAL blocks */
#define FILE_MAGIC_TBL04 "KVS04TBL"  /* stage 04: a sorted table, format v1 */
#define FILE_MAGIC_EXPORT "KVEXPORT" /* any stage: `kv DIR export` (tools/kv_export.h) */
#define FILE_MAGIC_LOG04 "KVS04LOG"  /* stage 04: a write-ahead log of a memtable */
#define FILE_MAGIC_TBL05 "KVS05TBL"  /* stage 05: a sorted table in blocks, format v2 */
#define FILE_MAGIC_MAN06 "KVS06MAN"  /* stage 06: a manifest of version edits */
#define FILE_MAGIC_STA04 "KVS04STA"  /* stages 04-08: STATS, counters kept across sessions */
#define FILE_MAGIC_VLC08 "KVS08VLC"  /* stage 08: VLOGCOUNTS, the value log's counts */

/* Writes the header of a file of this format into out. */
void file_header_encode(uint8_t out[FILE_HEADER_SIZE], const char *magic, uint32_t version);

/* Checks that p[0..n) starts with the header of `magic`, version `version`.
 * KV_OK, or KV_ERR_CORRUPT with kv_errmsg naming `path`, offset 0, and what
 * is there instead: fewer than 16 bytes, another known format ("a stage-02
 * segment, not a stage-03 log segment"), another version, an unknown magic,
 * or a bad checksum. */
int file_header_check(const char *path, const uint8_t *p, size_t n, const char *magic,
                      uint32_t version);

/* Words for a known magic ("a stage-02 segment"), or NULL if unknown. */
const char *file_header_describe(const uint8_t *magic);

#endif
