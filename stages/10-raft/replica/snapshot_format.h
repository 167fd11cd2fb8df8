/*
 * snapshot_format.h: a replica's snapshot (replica.h), the engine's
 * contents at an applied index.  All integers little-endian:
 *
 *   offset  size  field
 *   0       8     "KVRSNAP1"
 *   8       8     the applied index the contents are at
 *   16      8     N, the number of records
 *   24      ...   N records in key order: klen (4), vlen (4), key, value
 *   end-4   4     CRC-32C of every byte before it
 *
 * The replica's applied index is not among the records: the header
 * carries it.  Its other keys, the members' client addresses
 * (COMMAND_MEMBER_KEY, member_note.h), are records as a client's keys are.
 *
 * Invariants (snapshot_check refuses a snapshot that breaks one, naming
 * the offset):
 *   S1. The checksum holds.
 *   S2. The records tile [24, end - 4) exactly; each key is 1..KV_MAX_KEY
 *       bytes, each value at most KV_MAX_VALUE.
 *   S3. The keys increase strictly, and none is the replica's own
 *       (command.h, C3) but a member's address (command_key_member).
 */
#ifndef KV_RAFT_SNAPSHOT_FORMAT_H
#define KV_RAFT_SNAPSHOT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define SNAPSHOT_MAGIC "KVRSNAP1"
#define SNAPSHOT_HEADER 24u

/* Checks a snapshot whole, before anything is changed: KV_OK with its
 * applied index and record count, or KV_ERR_CORRUPT naming the offset. */
int snapshot_check(const uint8_t *p, size_t len, uint64_t *index, uint64_t *count);

#endif
