/*
 * snapshot_size.h: how often a member takes a snapshot, sized to its
 * engine.  A first reading may skip it: with libraft's fixed threshold
 * the lesson is the same.
 *
 * libraft takes a snapshot each time its threshold of entries has been
 * applied since the last, and a snapshot holds the whole engine
 * (replica_snapshot.c).  At a fixed threshold (libraft's 1,024) a large
 * engine is read, encoded and written whole every thousand entries, so a
 * write costs more the larger the database: at a million 100-byte
 * values, some 120 MB a member each time.  Sized:
 *   Z1. after a snapshot of S bytes, the threshold becomes the number of
 *       entries that hold about min(S, SNAPSHOT_SIZE_LOG_BYTES) bytes, at
 *       the mean size of the entries applied between the snapshot before
 *       and it, and never fewer than the base: a snapshot then costs
 *       about one byte per byte of log written since the last while the
 *       engine is under SNAPSHOT_SIZE_LOG_BYTES, and S over it after;
 *   Z2. so libraft's log, which it keeps in memory back to its last
 *       snapshot, holds about SNAPSHOT_SIZE_LOG_BYTES at most beyond the
 *       base's entries and the trailing ones it keeps.
 * The state machine (replica_fsm.c) counts each entry it applies
 * (snapshot_size_applied), marks where a snapshot begins
 * (snapshot_size_begun) and tells when it is written, which sets the
 * next threshold (snapshot_size_written).  A base of 0 sizes nothing:
 * the threshold stays what libraft was told (--raft-snapshot-every).
 */
#ifndef KV_RAFT_SNAPSHOT_SIZE_H
#define KV_RAFT_SNAPSHOT_SIZE_H

#include <stddef.h>
#include <stdint.h>

#include <raft.h>

/* Z1: the most bytes of log between two sized snapshots, about. */
#define SNAPSHOT_SIZE_LOG_BYTES (64ull << 20)

typedef struct snapshot_size {
    unsigned base;                   /* Z1's floor; 0: not sized */
    uint64_t entries, bytes;         /* applied since the last snapshot began */
    uint64_t taken_entries, taken_bytes;  /* ... before the one being taken began */
    uint64_t last_bytes;             /* the size of the last one written */
} snapshot_size;

void snapshot_size_applied(snapshot_size *s, size_t len);
void snapshot_size_begun(snapshot_size *s);
/* The snapshot begun last was written, in bufs: raft's threshold set
 * to Z1's (unless base is 0). */
void snapshot_size_written(snapshot_size *s, struct raft *raft, const struct raft_buffer *bufs,
                           unsigned n_bufs);
/* Z1's arithmetic: the threshold after a snapshot of `size` bytes, when
 * `entries` entries of `bytes` bytes in all were applied before it. */
unsigned snapshot_size_threshold(uint64_t size, uint64_t entries, uint64_t bytes, unsigned base);

#endif
