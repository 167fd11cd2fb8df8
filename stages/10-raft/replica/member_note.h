/*
 * member_note.h: the log's second kind of entry, beside the command
 * (command.h): the client (Redis protocol) addresses of members, which
 * every member stores in its engine under a key of the replica's own
 * (replica_note in replica.h), so that a member added while the group
 * runs is known to all for MOVED and CLUSTER SLOTS, after a restart and
 * inside a snapshot too.  docs/10-raft-operating.md, "Membership", has the byte
 * table.  All integers little-endian:
 *
 *   offset  size  field
 *   0       1     kind, 2 (a command's first byte is its version, 4, 3 or 1)
 *   1       1     0 (reserved)
 *   2       2     N, the number of members, 1..MEMBER_NOTE_MAX
 *   4       ...   N members, each:
 *                   8     its Raft id, not 0
 *                   1     A, the address's length, 1..MEMBER_ADDR_MAX
 *                   A     "HOST:PORT", printable ASCII, a ':' before PORT
 *   ...     0-7   zeros, to a multiple of 8 bytes (as a command's)
 *
 * Invariants (member_note_parse refuses a note that breaks one, naming
 * the offset):
 *   M1. The members tile the bytes after the header, but for fewer than 8
 *       zero bytes that make the length a multiple of 8.
 *   M2. Each address is printable, holds a ':' followed by 1..5 digits.
 */
#ifndef KV_RAFT_MEMBER_NOTE_H
#define KV_RAFT_MEMBER_NOTE_H

#include <stddef.h>
#include <stdint.h>

#define MEMBER_NOTE_KIND 2u
#define MEMBER_NOTE_HEADER 4u
#define MEMBER_NOTE_MAX 16u
#define MEMBER_ADDR_MAX 63u

typedef struct member_note {
    unsigned n;
    uint64_t id[MEMBER_NOTE_MAX];
    char addr[MEMBER_NOTE_MAX][MEMBER_ADDR_MAX + 1]; /* NUL-terminated */
} member_note;

/* 1 if addr[0..len) is a client address as M2 asks, else 0. */
int member_addr_valid(const char *addr, size_t len);
/* Encodes note into out[0..cap): the length (a multiple of 8), or 0 if it
 * does not fit or breaks M2 / the bounds (n 1..MEMBER_NOTE_MAX, ids not 0). */
size_t member_note_encode(const member_note *note, uint8_t *out, size_t cap);
/* Checks buf[0..len) whole (M1, M2) and fills *note.  KV_OK, or
 * KV_ERR_CORRUPT with kv_errmsg() naming the offset. */
int member_note_parse(const void *buf, size_t len, member_note *note);

#endif
