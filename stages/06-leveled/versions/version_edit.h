/*
 * version_edit.h: a change to the set of tables, as the manifest records
 * it (manifest.h).  A version (version.h) is the tables of each level; an
 * edit says which tables a flush or a compaction added and removed, and
 * moves the counters on.  Replaying a manifest's edits in order, from its
 * first record (a snapshot: every table of the version it was written
 * from), gives the version the database had when it last acknowledged an
 * edit.  LevelDB's db/version_edit.h has the same role.
 *
 * One edit is one record of the manifest (stage 03's WAL framing takes
 * care of its length and checksum).  Its bytes (docs/06-leveled.md, "The
 * manifest format", has the same table and an example):
 *
 *   edit  := field*                     any order; each counter at most once
 *   field := tag: varint32, then
 *     tag 1  LOG_SEQ    seq: varint64      every write <= seq is in tables
 *     tag 2  NEXT_FILE  number: varint64   the next file number to hand out
 *     tag 3  LAST_SEQ   seq: varint64      the largest sequence in any table
 *     tag 4  POINTER    level: varint32, len: varint32, key: len bytes
 *                                          the level's compact pointer
 *                                          (an internal key)
 *     tag 5  REMOVED    level: varint32, number: varint64
 *     tag 6  ADDED      level: varint32, number: varint64,
 *                       file_bytes: varint64, entries: varint64,
 *                       smallest_len: varint32, smallest: bytes,
 *                       largest_len: varint32, largest: bytes
 *     tag 7  DEAD       number: varint64, dead: varint64, from: varint64
 *                                          of the file ADDED before it in
 *                                          this edit: `dead` of its entries
 *                                          are hidden by a newer version of
 *                                          their key in the file, and all
 *                                          may be dropped once the oldest
 *                                          snapshot is at or past `from`
 *                                          (drop_rule.h); absent: none
 *
 * version_edit_encode writes the counters, then pointers, then removed,
 * then added files, each in the order they were given, each with its DEAD
 * right after it when it has dead entries.  The decoder accepts the fields
 * in any order, but a DEAD after the ADDED it speaks of.  Where this differs from LevelDB's
 * encoding: no comparator name (the order is always internal_key.h's), a
 * log *sequence* instead of a log file number (stage 04's logs are named
 * by the sequence number of their first write), no previous log number,
 * and an added file carries its number of entries (for statistics and
 * kv dump without opening the table).
 *
 * Invariants of an edit that version_edit_decode accepts (it is a checked
 * decoder: KV_ERR_CORRUPT, naming `label` and the offset in the record,
 * for anything else):
 *   1. every level is < VERSION_LEVELS; every file number is >= 1;
 *   2. every key (smallest, largest, pointer) is an internal key
 *      (internal_key.h: a user key of 1 .. KV_MAX_KEY bytes and a valid
 *      trailer), and an added file's smallest <= largest in THE ORDER;
 *   3. sequence numbers are <= IKEY_MAX_SEQ; LOG_SEQ, NEXT_FILE and
 *      LAST_SEQ appear at most once, and at most one POINTER per level;
 *   4. a DEAD names a file ADDED before it in the edit, at most once, with
 *      1 <= dead <= its entries and 1 <= from <= IKEY_MAX_SEQ.
 * Whether the files removed exist and the files added are new is the
 * manifest's check (manifest_state.h), which sees every edit in order.
 *
 * An edit owns its keys: add_file and set_pointer copy them, and
 * version_edit_free releases them.
 */
#ifndef KV_VERSION_EDIT_H
#define KV_VERSION_EDIT_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

#define VERSION_LEVELS 7 /* L0 .. L6 */

/* The tags of the fields (above). */
enum {
    EDIT_TAG_LOG_SEQ = 1,
    EDIT_TAG_NEXT_FILE = 2,
    EDIT_TAG_LAST_SEQ = 3,
    EDIT_TAG_POINTER = 4,
    EDIT_TAG_REMOVED = 5,
    EDIT_TAG_ADDED = 6,
    EDIT_TAG_DEAD = 7
};

/* A table added to a level. */
typedef struct edit_file {
    int level;
    uint64_t number, file_bytes, entries;
    uint64_t dead, dead_from;    /* tag 7: 0 and 0 when none */
    uint8_t *smallest, *largest; /* internal keys, owned by the edit */
    size_t smallest_len, largest_len;
} edit_file;

/* A table removed from a level. */
typedef struct edit_removed {
    int level;
    uint64_t number;
} edit_removed;

/* A level's compact pointer: the largest key of its last compaction's
 * input, where the next compaction of that level starts (round robin). */
typedef struct edit_pointer {
    int level;
    uint8_t *key; /* an internal key, owned by the edit */
    size_t len;
} edit_pointer;

typedef struct version_edit {
    int has_log_seq;   uint64_t log_seq;   /* every write <= log_seq is in
                                              tables: log records <= it are
                                              not replayed */
    int has_next_file; uint64_t next_file; /* next file number to hand out */
    int has_last_seq;  uint64_t last_seq;  /* largest sequence in any table */
    edit_file *added;      size_t nadded, added_cap;
    edit_removed *removed; size_t nremoved, removed_cap;
    edit_pointer *pointers; size_t npointers, pointers_cap;
} version_edit;

/* An empty edit (no field).  version_edit_free releases what it holds and
 * leaves it empty again, ready for reuse. */
void version_edit_init(version_edit *e);
void version_edit_free(version_edit *e);

static inline void version_edit_set_log_seq(version_edit *e, uint64_t seq)
{
    e->has_log_seq = 1;
    e->log_seq = seq;
}
static inline void version_edit_set_next_file(version_edit *e, uint64_t number)
{
    e->has_next_file = 1;
    e->next_file = number;
}
static inline void version_edit_set_last_seq(version_edit *e, uint64_t seq)
{
    e->has_last_seq = 1;
    e->last_seq = seq;
}

/* Adds a table; copies the keys.  KV_OK, or KV_ERR_NOMEM (the edit is
 * unchanged).  REQUIRES: 0 <= level < VERSION_LEVELS, number >= 1,
 * smallest and largest are internal keys with smallest <= largest. */
int version_edit_add_file(version_edit *e, int level, uint64_t number, uint64_t file_bytes,
                          uint64_t entries, const uint8_t *smallest, size_t slen,
                          const uint8_t *largest, size_t llen);
/* Says of the table added last that `dead` of its entries may be dropped
 * once the oldest snapshot is at or past `from` (tag 7; dead 0: none).
 * REQUIRES: a table was added; dead <= its entries. */
static inline void version_edit_file_dead(version_edit *e, uint64_t dead, uint64_t from)
{
    e->added[e->nadded - 1].dead = dead;
    e->added[e->nadded - 1].dead_from = dead > 0 ? from : 0;
}
/* Removes a table.  KV_OK or KV_ERR_NOMEM.  REQUIRES: as add_file. */
int version_edit_remove_file(version_edit *e, int level, uint64_t number);
/* Sets the level's compact pointer (replacing one set before in this
 * edit); copies the key.  KV_OK or KV_ERR_NOMEM (the edit is unchanged).
 * REQUIRES: 0 <= level < VERSION_LEVELS, key is an internal key. */
int version_edit_set_pointer(version_edit *e, int level, const uint8_t *key, size_t len);

/* The edit's bytes (above), in a fresh allocation *out of *len bytes (an
 * empty edit: 0 bytes, *out still allocated).  KV_OK or KV_ERR_NOMEM. */
int version_edit_encode(const version_edit *e, uint8_t **out, size_t *len);

/* Decodes the record [p, p + len) into e (which must be empty: init'ed or
 * freed), looking only inside it.  KV_OK; KV_ERR_CORRUPT with a message
 * "<label>: offset N in the edit: what was wrong" (the caller names the
 * file and the record's offset in `label`); KV_ERR_NOMEM.  On failure e is
 * left empty. */
int version_edit_decode(version_edit *e, const uint8_t *p, size_t len, const char *label);

/* The edit in words, one line per field, for kv dump ("  added L1 #12
 * 4096 bytes 100 entries [\"a\"@5 put .. \"k\"@9 put]").  Each line
 * starts with `indent`.  Returns KV_OK (it allocates nothing). */
int version_edit_describe(const version_edit *e, const char *indent, kv_line_fn line,
                          void *ctx);

#endif
