/*
 * wal_marker.h: sync markers and seals, the records a write-ahead log
 * writes about itself (docs/03-wal.md, "The log format").
 *
 * A record's payload that starts with the byte 0 is a marker; every other
 * payload belongs to the log's user and must not start with 0 (a batch,
 * wal_batch.h, starts with its op count, at least 1, whose varint never
 * does).
 *
 *   offset  size  field
 *   0       1     0: a marker, not a user's record
 *   1       8     synced_to, little-endian: every byte of this file before
 *                 this offset was on stable storage before the marker was
 *                 written
 *   9       1     (a seal only) 1: the marker that closes the file for
 *                 good, naming the offset where it was written itself
 *
 * A marker is true whether or not it reaches the disk, because it is
 * written only after the sync it describes.  The group-commit queue
 * (wal_queue.h) writes one ahead of the first group after each sync, and
 * one at close; a file that is closed for good ends with a seal.  With
 * them, recovery can tell damage a power loss may cause (after the last
 * synced_to) from damage it cannot (before it), and a closed file cut
 * short from one that is whole.
 */
#ifndef KV_WAL_MARKER_H
#define KV_WAL_MARKER_H

#include <stddef.h>
#include <stdint.h>

#define WAL_MARKER_SIZE 9u
#define WAL_SEAL_SIZE 10u

/* Writes a sync marker into dst[WAL_MARKER_SIZE], or a seal (final = 1)
 * into dst[WAL_SEAL_SIZE]; returns its size. */
size_t wal_marker_encode(uint8_t *dst, uint64_t synced_to, int final);
/* If [p, limit) is a sync marker: 1 (2 for a seal) and *synced_to; else 0. */
int  wal_marker_decode(const uint8_t *p, const uint8_t *limit, uint64_t *synced_to);

#endif
