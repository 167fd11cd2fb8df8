/*
 * wal_writer.h: writing records to a write-ahead log (format: wal_format.h).
 *
 * The writer is a pure encoder plus one append: wal_frame lays a record out
 * as fragments for a file whose next byte is at a given offset, and
 * wal_append frames several records into one buffer and writes it with a
 * single io_append, which is what group commit needs (one write, then one
 * fsync, for every record of the group).  Syncing is the caller's decision.
 */
#ifndef KV_WAL_WRITER_H
#define KV_WAL_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

/* The most bytes wal_frame can write for a record of len bytes. */
uint64_t wal_framed_max(uint64_t len);

/* Writes the record [payload, payload + len) as fragments into dst, for a
 * log whose next byte is at file offset `at` (a trailer first, if fewer
 * than 7 bytes are left in that block).  Returns the bytes written.
 * REQUIRES: dst has room for wal_framed_max(len) bytes. */
size_t wal_frame(uint8_t *dst, uint64_t at, const uint8_t *payload, size_t len);

/* Frames records[0..n) (each lens[i] bytes) one after another for a log
 * ending at `at`, and appends them with one io_append.  ends[i] (if not
 * NULL) gets the file offset where record i ends.  On failure an unknown
 * prefix of the bytes may be in the file (io.h). */
int wal_append(io_file *f, uint64_t at, const uint8_t *const *records, const size_t *lens,
               size_t n, uint64_t *ends);

#endif
