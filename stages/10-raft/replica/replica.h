/*
 * replica.h: one member's engine as the state machine of a Raft group.
 * The log (libraft's) is what the members agree on; each member applies
 * its committed commands (command.h), in log order, to an engine of its
 * own, stage 09's, through kv.h alone.  What changes in the engine when a
 * log feeds it instead of a client is what this file is about:
 *
 *   - Applied at most once.  The index of the last command applied is
 *     kept in the engine under a key of the replica's own
 *     (REPLICA_APPLIED_KEY), written in the same kv_write as the
 *     command's writes, so the two are durable together or not at all.
 *     After a restart the library applies its log again from its last
 *     snapshot; replica_apply skips every index at or below the one kept,
 *     so no command applies twice (a conditional one, applied twice,
 *     could answer differently the second time).
 *   - Deterministic.  A command's conditions are read from the engine at
 *     the moment it applies, so every member finds the same answer; a
 *     command that cannot be decoded applies as nothing, on every member.
 *   - No fsync of its own.  A write the engine lost in a power cut is
 *     still in the Raft log (durable on a majority before it was
 *     committed), or behind a snapshot the library kept: the next start
 *     applies it again, or restores the snapshot (replica_restore keeps
 *     the engine's state when it is as new as the snapshot's).
 *   - Snapshots are the engine's contents at an applied index
 *     (replica_snapshot), and a restore builds a second engine from one
 *     and switches to it in one rename (replica_dir.c), so a crash during
 *     a restore leaves the old engine, whole.
 *
 * The directory: DIR/REPLICA names the live engine, DIR/data-a or
 * DIR/data-b; the other is empty or a restore's leftovers.
 *
 * Invariants:
 *   R1. replica_applied(r) is the index the live engine holds under
 *       REPLICA_APPLIED_KEY (0 if none), and the engine holds exactly the
 *       effects of the commands at or below it.
 *   R2. Indexes passed to replica_apply that are above replica_applied
 *       come in increasing order (the library's log order); a gap is
 *       allowed (barriers and membership changes carry no command).
 * Threads: one thread applies, snapshots and restores (the library's);
 * any thread may read through replica_db between those calls.
 */
#ifndef KV_RAFT_REPLICA_H
#define KV_RAFT_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#include "command.h"
#include "kv.h"

#define REPLICA_APPLIED_KEY COMMAND_RESERVED "applied"
#define REPLICA_APPLIED_KEY_LEN (COMMAND_RESERVED_LEN + 7u)

/* What became of a command (replica_apply's *outcome). */
enum {
    REPLICA_APPLIED = 0,  /* its writes are in the engine */
    REPLICA_REFUSED = 1,  /* a condition did not hold: nothing written */
    REPLICA_INVALID = 2,  /* it could not be decoded: nothing written */
    REPLICA_SKIPPED = 3,  /* applied before (its index is at or below R1's) */
};

typedef struct replica replica;

/* Opens (creating it if needed) the replica in dir; opt is the engine's
 * (NULL: defaults).  KV_OK, or kv_open's error, or KV_ERR_CORRUPT naming
 * DIR/REPLICA or the applied key when they hold what no replica wrote. */
int replica_open(const char *dir, const kv_options *opt, replica **out);
int replica_close(replica *r);  /* NULL is a no-op */

/* The live engine, for reads.  A restore replaces it. */
kv_db *replica_db(replica *r);
uint64_t replica_applied(const replica *r);

/* Applies the command cmd[0..len) at log index `index` (R2), *outcome
 * saying what became of it (a put of kind 4 or 5 whose own condition
 * does not hold is left out of it).  existed (NULL: not wanted) gets one
 * byte per write of the command, for a command that applied: for a
 * delete or a put of kind 4 or 5, 1 if its key held a value just before
 * that write (the command's own earlier writes counted: what a DEL
 * answers, and a SET NX or XX); for a plain put, 0, as nothing asks what
 * a plain put found.  A key is read from the engine only for a put of
 * kind 4 or 5, which every member must judge, or a delete when existed
 * is wanted, and only if no earlier write of the command on that key
 * says what it holds: a command of plain puts reads nothing.  KV_OK, or
 * the engine's error (then nothing of it is applied: the caller must not
 * go on to later indexes). */
int replica_apply(replica *r, uint64_t index, const void *cmd, size_t len, int *outcome,
                  uint8_t *existed);

/* ---- what a command's reads find (replica_reads.c) ---- */

/* One read's answer: found, and the value (val[0..vlen), pointing into
 * the command's bytes when a put before it in the command wrote it, else
 * into a value the engine returned, which replica_reads_clear frees). */
typedef struct replica_read {
    int found;
    const uint8_t *val;
    size_t vlen;
} replica_read;
/* The answers of one command's reads, in the order of its read ops, and
 * what holds them (reused from command to command). */
/* The value bytes one command's reads may answer with: a transaction
 * whose reads find more (4,096 GETs of large values) applies all the
 * same, and answers none of them (too_large). */
#define REPLICA_READS_MAX_BYTES (2ull * KV_MAX_VALUE)
typedef struct replica_reads {
    replica_read *r;
    size_t n, cap;
    int too_large;                 /* the answers passed REPLICA_READS_MAX_BYTES: n 0 */
    void **owned;                  /* values the engine returned */
    size_t nowned, owned_cap;
    struct replica_key_state *map; /* scratch: what each key holds as the ops go */
    size_t map_cap;
} replica_reads;

/* Evaluates the reads (kind 6) of the command cmd[0..len) as they will
 * apply: each answers what its key holds after the command's ops before
 * it, its puts (a put of kind 4 or 5 only where its own condition holds)
 * and deletes, read from the engine where no op before it says.  Call it
 * just before replica_apply of the same command, on the same thread (the
 * engine as the command finds it), and only where someone waits for the
 * answer (the member that proposed it): reads change nothing, so the
 * members that skip them end the same.  The answers mean something only
 * if replica_apply then says REPLICA_APPLIED.  A command that does not
 * parse has no reads (out->n 0); one whose reads find more than
 * REPLICA_READS_MAX_BYTES of values has none either, and too_large set
 * (what it found is let go at once).  KV_OK, or an engine error or
 * KV_ERR_NOMEM.  REQUIRES: out is zeroed or was used before; the answers
 * live until the next call, replica_reads_clear or _free, and no longer
 * than cmd. */
int  replica_reads_of(replica *r, const void *cmd, size_t len, replica_reads *out);
void replica_reads_clear(replica_reads *out);  /* frees the engine's values; n 0, too_large 0 */
void replica_reads_free(replica_reads *out);   /* everything; zeroed */

/* Applies the member note note[0..len) (member_note.h) at log index
 * `index`, as replica_apply applies a command: skipped at or below the
 * applied index (*outcome REPLICA_SKIPPED), else each member's address
 * stored under COMMAND_MEMBER_KEY + its id and the index, in one
 * kv_write (REPLICA_APPLIED); a note that does not decode stores the
 * index alone (REPLICA_INVALID).  KV_OK, or the engine's error. */
int replica_note(replica *r, uint64_t index, const void *note, size_t len, int *outcome);
/* The client address stored for member id, into out[0..cap) as a C
 * string: 1, 0 if none is stored, or the engine's error (< 0). */
int replica_member_address(replica *r, uint64_t id, char *out, size_t cap);

/* A planted mistake, for the cluster tests to show their checker catches
 * it (never called otherwise): from now on replica_apply applies every
 * index it is given, as a replica would that trusted the library to hand
 * it each command once.  After a restart the library applies its log
 * again from its last snapshot, over an engine that already holds it. */
void replica_plant_reapply(replica *r);

/* The engine's contents at the applied index, encoded (docs/10-raft.md,
 * "The snapshot") in one buffer from alloc (the library frees it; release
 * frees it if the snapshot fails half way): the
 * whole database in memory, which is what the library's snapshot
 * interface asks.  *index is the applied index it holds.  KV_OK, or an
 * error (engine, KV_ERR_NOMEM). */
int replica_snapshot(replica *r, void *(*alloc)(size_t), void (*release)(void *), void **buf,
                     size_t *len, uint64_t *index);
/* The same in three steps, so that the engine's contents are read off
 * the thread that applies commands: begin takes a kv_snapshot of the
 * engine and the applied index it holds (O(1), on the applying thread,
 * between applies); encode reads the contents at it, on any thread, as
 * replica_snapshot does; end lets the kv_snapshot go.  REQUIRES: no
 * restore replaces the engine between begin and end. */
typedef struct replica_snap replica_snap;
int  replica_snapshot_begin(replica *r, replica_snap **out, uint64_t *index);
int  replica_snapshot_encode(replica_snap *s, void *(*alloc)(size_t), void (*release)(void *),
                             void **buf, size_t *len);
void replica_snapshot_end(replica_snap *s);  /* NULL is a no-op */
/* Installs a snapshot: if its index is above replica_applied, a new
 * engine is built from it and made the live one (the old one's files
 * removed); else nothing changes (the engine is already as new).  KV_OK,
 * KV_ERR_CORRUPT (naming the offset) if buf is not a snapshot, or the
 * engine's error (then the old engine is still the live one). */
int replica_restore(replica *r, const void *buf, size_t len);

#endif
