/*
 * command.h: what a replica's Raft log carries: one command per entry, the
 * writes of a client's request (a put, a delete, a batch, a transaction's
 * commit), the conditions they are applied under, and a transaction's
 * reads, answered where the command applies.  The leader encodes
 * a command; every member decodes it and applies it to its engine in log
 * order (replica.h), so the bytes are the whole of what the members agree
 * on.  docs/10-raft.md, "The command", has the byte table.
 *
 * All integers little-endian:
 *
 *   offset  size  field
 *   0       1     version, 5 (a version 1 command, written before commands
 *                 carried their origin, has no origin: its ops start at 10;
 *                 a version 3 one, written before the origin carried its
 *                 term, has no term: its ops start at 26; a version 4 one,
 *                 written before commands carried reads, has no R: its
 *                 ops start at 34; no version is 2, the first byte of the
 *                 log's other kind of entry, a member note: member_note.h)
 *   1       1     0 (reserved)
 *   2       4     C, the number of conditions
 *   6       4     W, the number of writes
 *   10      8     the origin's member: the id of the member that proposed
 *                 it (0: none)
 *   18      8     the origin's serial: that member's number for the
 *                 request in the life (the run of the process) that
 *                 proposed it
 *   26      8     the origin's term: the term that member led when it
 *                 proposed it (the entry's own term).  Member, term and
 *                 serial together tell the member applying it whose
 *                 waiting write it answers (member_wait.h, S1)
 *   34      4     R, the number of reads
 *   38      ...   C conditions, then W writes and R reads in the order
 *                 they take effect, each:
 *                   1     kind: 0 the key holds this value, 1 the key is
 *                         absent (conditions); 2 put, 3 delete, 4 put if
 *                         the key is absent, 5 put if it is present
 *                         (writes; 4 and 5 judged on the key as the
 *                         writes before them left it); 6 read: what the
 *                         key holds here, after the writes before it
 *                         (reads: a GET inside EXEC)
 *                   4     key length K, 1..KV_MAX_KEY
 *                   4     value length V, at most KV_MAX_VALUE (kinds 0,
 *                         2, 4 and 5 only)
 *                   K     key
 *                   V     value
 *   ...     0-7   zeros, to a multiple of 8 bytes: libraft's log keeps an
 *                 entry's bytes in multiples of 8 (version 0.16 refuses
 *                 any other length; 0.15, Debian 12's, writes a segment it
 *                 cannot read back)
 *
 * A command applies as a whole or not at all: its writes go in one
 * kv_write, and only if every condition holds when it is applied (a
 * transaction's WATCH: the values it read); within it, a put of kind 4
 * or 5 whose own condition does not hold is left out (SET NX, SET XX).
 * A read writes nothing and decides nothing: only the member that waits
 * for the answer evaluates it (replica_reads_of), the others pass over
 * it, so every member's engine ends the same either way.
 *
 * Invariants (command_parse refuses a command that breaks one, naming the
 * offset):
 *   C1. The conditions come first, then the writes and reads; the kinds
 *       say which, and there are as many of each as the header says.
 *   C2. The ops tile the bytes after the header, but for fewer than 8
 *       zero bytes that make the length a multiple of 8.
 *   C3. No key starts with COMMAND_RESERVED: those keys are the
 *       replica's own (its applied index).
 *   C4. The writes fit one kv_write beside the replica's own key: at most
 *       KV_MAX_BATCH_OPS - 1 of them, and their keys and values at most
 *       COMMAND_MAX_WRITE_BYTES bytes.  The reads are at most
 *       COMMAND_MAX_READS.
 *   C5. A version 1 command has no origin and no write of kind 4 or 5;
 *       a version 3 command has no term (its origin's term reads as 0,
 *       which no leader's is); only a version 5 command has reads.
 */
#ifndef KV_RAFT_COMMAND_H
#define KV_RAFT_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

#define COMMAND_VERSION 5u
#define COMMAND_HEADER 38u      /* version 5's; version 4's was 34 bytes, 3's 26, 1's 10 */
#define COMMAND_HEADER_V4 34u
#define COMMAND_HEADER_V3 26u
#define COMMAND_HEADER_V1 10u
/* Keys a client may not write: the replica keeps its own under them (its
 * applied index; the members' client addresses, member_note.h). */
#define COMMAND_RESERVED "\xff\xffkv.replica:"
#define COMMAND_RESERVED_LEN 13u
/* A member's client address: this prefix, then its Raft id (8 bytes, big
 * endian, so the keys sort by id).  The one kind of the replica's own
 * keys a snapshot carries as records (snapshot_format.h). */
#define COMMAND_MEMBER_KEY COMMAND_RESERVED "member:"
#define COMMAND_MEMBER_KEY_LEN (COMMAND_RESERVED_LEN + 7u)
/* The writes' bytes, keys and values, that one command may hold (C4): a
 * batch's bound less what the replica's applied index takes. */
#define COMMAND_MAX_WRITE_BYTES (KV_MAX_BATCH_BYTES - 64u)
/* The reads one command may hold (C4): as many as a batch's writes. */
#define COMMAND_MAX_READS (KV_MAX_BATCH_OPS - 1u)

enum {
    COMMAND_IF_VALUE = 0,   /* condition: the key holds exactly this value */
    COMMAND_IF_ABSENT = 1,  /* condition: the key is absent */
    COMMAND_PUT = 2,
    COMMAND_DELETE = 3,
    COMMAND_PUT_IF_ABSENT = 4,  /* applied only if the key is absent then */
    COMMAND_PUT_IF_PRESENT = 5, /* ... only if it holds a value then */
    COMMAND_READ = 6,           /* what the key holds then: answered, not written */
};

/* Who proposed a command: a member's id, its serial for the request and
 * the term it led then (all 0: no one said; term 0: a version 3 command,
 * which said no term). */
typedef struct command_origin {
    uint64_t member, serial, term;
} command_origin;

/* 1 if the key starts with COMMAND_RESERVED (C3). */
int command_key_reserved(const void *key, size_t klen);
/* 1 if the key is a member's address: COMMAND_MEMBER_KEY and 8 bytes. */
int command_key_member(const void *key, size_t klen);

/* ---- building (the leader) ---- */

typedef struct command command;
int  command_new(command **out);  /* KV_OK or KV_ERR_NOMEM; its origin all 0 */
void command_set_origin(command *c, command_origin origin);
void command_free(command *c);    /* NULL is a no-op */
/* Each adds one op: KV_OK, KV_ERR_INVALID (a bad length, a reserved key,
 * a condition after a write, past C4's bounds) or KV_ERR_NOMEM; on an
 * error the command is as it was. */
int  command_if_value(command *c, const void *key, size_t klen, const void *val, size_t vlen);
int  command_if_absent(command *c, const void *key, size_t klen);
int  command_put(command *c, const void *key, size_t klen, const void *val, size_t vlen);
/* A put of kind COMMAND_PUT, _PUT_IF_ABSENT or _PUT_IF_PRESENT. */
int  command_put_when(command *c, int kind, const void *key, size_t klen, const void *val,
                      size_t vlen);
int  command_delete(command *c, const void *key, size_t klen);
/* A read: what the key holds after the ops before it (a GET inside EXEC). */
int  command_read(command *c, const void *key, size_t klen);
/* The encoded command, its length a multiple of 8 (the padding C2
 * allows), valid until c changes or is freed. */
const uint8_t *command_bytes(const command *c, size_t *len);

/* ---- reading (every member) ---- */

typedef struct command_op {
    int kind;                    /* COMMAND_* */
    const uint8_t *key;
    size_t klen;
    const uint8_t *val;          /* kinds COMMAND_IF_VALUE and COMMAND_PUT */
    size_t vlen;
} command_op;

typedef struct command_reader {
    const uint8_t *p, *end;
    uint32_t conditions, writes; /* the header's C and W */
    uint32_t reads;              /* ... and R (0 before version 5) */
    uint32_t conditional_writes; /* writes of kind 4 or 5 */
    command_origin origin;       /* all 0 in a version 1 command, term 0 in a 3 */
} command_reader;
/* 1 if op kind k is a write (a put of any kind, or a delete). */
static inline int command_kind_writes(int k)
{
    return k == COMMAND_PUT || k == COMMAND_DELETE || k == COMMAND_PUT_IF_ABSENT ||
           k == COMMAND_PUT_IF_PRESENT;
}

/* 1 if a write of kind k applies to a key that held a value just before
 * it (existed) or not: a put of kind 4 or 5 only under its own condition
 * (SET NX, SET XX), any other write whatever it finds. */
static inline int command_write_applies(int k, int existed)
{
    return k == COMMAND_PUT_IF_ABSENT ? !existed : k == COMMAND_PUT_IF_PRESENT ? existed : 1;
}

/* The header of the command in buf[0, len) alone, its ops unread (the
 * state machine's look at who proposed it, and how many writes and reads
 * it has, before replica_apply parses it whole): KV_OK, or KV_ERR_CORRUPT
 * for a header that no command_parse would take. */
typedef struct command_head {
    uint32_t conditions, writes, reads;
    command_origin origin;
} command_head;
int command_head_read(const void *buf, size_t len, command_head *h);
/* Checks the whole command (C1-C5) and sets r to its first op.  KV_OK, or KV_ERR_CORRUPT
 * with kv_errmsg() naming the offset (a bad tail's: the last op's end) and what is wrong. */
int command_parse(const void *buf, size_t len, command_reader *r);
/* The next op of a parsed command: 1 and *op, or 0 after the last. */
int command_next(command_reader *r, command_op *op);

#endif
