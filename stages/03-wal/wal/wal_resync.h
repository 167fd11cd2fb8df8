/*
 * wal_resync.h: after damage, where the next valid fragment of a
 * write-ahead log starts (wal_format.h), found in time linear in the bytes
 * searched.  wal_reader.c calls it one block at a time while it
 * resynchronises (wal_reader.h); docs/03-wal.md, "Recovery", has the
 * reasoning and the measured times.
 *
 * A fragment never crosses a block boundary (wal_format.h, invariant 1),
 * so the search never needs bytes of more than one block at a time: each
 * block is read once, searched, and left behind.
 *
 * Invariant: the answer is the one a byte-by-byte search would give: the
 * first offset where wal_fragment_decode says WAL_FRAGMENT_OK (with the
 * bytes up to the end of what is given as its limit).
 */
#ifndef KV_WAL_RESYNC_H
#define KV_WAL_RESYNC_H

#include <stddef.h>
#include <stdint.h>

/* The index, in [0, n), of the first byte of p[0, n) where a valid
 * fragment starts, whole within p[0, n); n if there is none.
 * REQUIRES: p[0] is at offset `at` of its block, and p + n is not past
 * the block's end (at + n <= WAL_BLOCK_SIZE). */
size_t wal_resync_block(const uint8_t *p, size_t n, uint32_t at);

#endif
