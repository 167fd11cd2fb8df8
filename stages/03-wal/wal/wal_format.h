/*
 * wal_format.h: the write-ahead log's framing, shared by wal_writer.c and
 * wal_reader.c (and by stage 04, which keeps its memtable's log in it).
 * docs/03-wal.md has the same tables, a worked example and the reasoning;
 * LevelDB's doc/log_format.md is the design this follows.
 *
 * A log file is a sequence of 32 KiB blocks (the last one may be short).
 * A record (any bytes: here, a batch, wal_batch.h) is cut into fragments so
 * that no fragment crosses a block boundary.  Each fragment:
 *
 *   offset  size  field
 *   0       4     crc32c of bytes 4..6 and of the data (little-endian)
 *   4       2     length of the data, 0 .. 32761 (little-endian)
 *   6       1     type: 1 FULL, 2 FIRST, 3 MIDDLE, 4 LAST
 *   7       len   data
 *
 * Unlike LevelDB, the length and type are under the checksum: a damaged
 * length is caught by the crc instead of sending the reader to a wrong
 * place.  A record that fits in what is left of the block is one FULL
 * fragment; otherwise FIRST, then as many MIDDLE as needed, then LAST.
 * When fewer than 7 bytes are left in a block, they are written as zeros
 * (the trailer) and the next fragment starts the next block.  An empty
 * record is one FULL fragment of length 0.
 *
 * Seven zero bytes are never a valid header (the crc of a zero length and
 * type 0 is not 0, and type 0 is not a type), so a zero-filled region, what
 * a file system leaves where a write was lost, is never taken for data.
 *
 * Invariants:
 *   1. A fragment never crosses a block boundary: 7 + len <= what is left
 *      of its block.
 *   2. The fragments of one record are consecutive in the file (only the
 *      trailer may sit between two of them).
 */
#ifndef KV_WAL_FORMAT_H
#define KV_WAL_FORMAT_H

#include <stdint.h>

#define WAL_BLOCK_SIZE 32768u
#define WAL_HEADER_SIZE 7u
#define WAL_MAX_FRAGMENT (WAL_BLOCK_SIZE - WAL_HEADER_SIZE)

enum {
    WAL_FULL = 1,
    WAL_FIRST = 2,
    WAL_MIDDLE = 3,
    WAL_LAST = 4
};

/* Bytes left in the block at file offset `at`. */
static inline uint32_t wal_block_left(uint64_t at)
{
    return WAL_BLOCK_SIZE - (uint32_t)(at % WAL_BLOCK_SIZE);
}

#endif
