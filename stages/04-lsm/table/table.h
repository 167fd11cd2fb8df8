/*
 * table.h: an immutable file of internal-key entries in sorted order (an
 * SSTable): how the LSM tree keeps what no longer fits in the memtable.
 *
 * This is an interface.  Stage 04 implements it with table format v1
 * (table_v1_*.c: every record back to back, then an on-disk array of their
 * offsets); a later format can implement it again behind the same
 * functions, and nothing above this header changes.  So it says what a
 * table does, never how its bytes are laid out:
 *   - it is built once, from entries given in strictly ascending internal
 *     key order (the memtable's iterator, or a merge of tables);
 *   - it is opened, and answers point lookups (table_get) and ordered
 *     scans in both directions (table_iter_new) until it is closed;
 *   - kv check and kv dump can verify and print one (table_check,
 *     table_dump), and kv repair can read what is left of a damaged one
 *     (table_salvage).
 *
 * Who does what with the file: the builder writes exactly the path it is
 * given and syncs it before table_builder_finish returns.  Naming is the
 * caller's protocol: write under a temporary name, rename it to the
 * table's real name, sync the directory (io.h), and only then delete what
 * the table replaces.  A builder never renames and never syncs a
 * directory, because the right order of those steps belongs to the
 * database (a directory listing in stage 04, a manifest later).
 *
 * Every table of one database shares a table_ctx: the options and the
 * counters all its tables report (positioned reads, bytes read), which
 * kv_stats prints through table_ctx_describe.  A format that caches blocks
 * would keep its cache there.
 *
 * Threads: a table_ctx, and an open table, may be used by any number of
 * threads at once (table_get, table_iter_new, table_ref/unref).  An
 * iterator or a builder belongs to one thread at a time.
 *
 * Invariants every implementation keeps:
 *   T1. Entries come back exactly as added: same internal keys, same
 *       values, same order; a tombstone comes back with an empty value.
 *   T2. Every byte read from the file is checked before it is believed:
 *       a damaged or foreign file gives KV_ERR_CORRUPT with the file, the
 *       offset and what was wrong, never a wrong answer or a crash.
 *   T3. An open table holds in memory only a constant amount per table
 *       (its smallest and largest keys, a few numbers), nothing per entry;
 *       a format may keep its index and filter in memory.
 */
#ifndef KV_LSM_TABLE_H
#define KV_LSM_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "internal_key.h"
#include "iterator.h"
#include "kv.h"

typedef struct table_ctx table_ctx;
typedef struct table table;
typedef struct table_builder table_builder;

/* ---- shared by the tables of one database ------------------------------- */

/* KV_OK or KV_ERR_NOMEM; KV_ERR_INVALID if an option the format uses is
 * out of range.  opt may be NULL (defaults). */
int table_ctx_new(const kv_options *opt, table_ctx **out);
/* REQUIRES: every table opened with it is closed.  NULL is a no-op. */
void table_ctx_free(table_ctx *ctx);
/* kv_stats's lines (inspect 0: the counters, as "name: value") or
 * kv_inspect's (inspect 1: docs/lab.md, "kv_inspect lines") about what
 * the tables share, each through line(line_ctx, text).  Format v1 has
 * kv_stats lines only: what it shares is its counters. */
void table_ctx_describe(table_ctx *ctx, int inspect, kv_line_fn line, void *line_ctx);

/* ---- building ------------------------------------------------------------ */

/* What a finished table holds. */
typedef struct table_meta {
    uint64_t file_bytes;   /* the file's size */
    uint64_t entries;      /* entries, tombstones included */
    uint64_t deletes;      /* tombstones */
} table_meta;

/* Creates (or empties) the file at path and starts a table in it.
 * KV_OK, KV_ERR_IO (the file is removed), KV_ERR_NOMEM. */
int table_builder_new(table_ctx *ctx, const char *path, table_builder **out);

/* Appends an entry.  For a tombstone (the key's type is IKEY_DELETE) the
 * value is not stored.  KV_ERR_INVALID if the key is not a well-formed
 * internal key (user key 1..KV_MAX_KEY bytes), the value is longer than
 * KV_MAX_VALUE, or the key is not above the previous one (nothing is
 * written, the builder can go on); KV_ERR_IO or KV_ERR_NOMEM, after which
 * every call fails the same way and the builder can only be abandoned. */
int table_builder_add(table_builder *b, const uint8_t *ikey, size_t ikey_len,
                      const uint8_t *value, size_t value_len);

/* Entries added so far, and the bytes the file will have if it is
 * finished now (a caller splitting its output by size uses this): exact,
 * or for a format that compresses, a bound from above. */
uint64_t table_builder_entries(const table_builder *b);
uint64_t table_builder_file_bytes(const table_builder *b);
/* The bytes already in the file (the rest waits in the builder's memory):
 * a caller that paces its writes asks for them as they grow, and, once
 * table_builder_finish has said the file's size, for the rest. */
uint64_t table_builder_written(const table_builder *b);

/* Writes the rest of the table, syncs the file and closes it; fills *meta
 * (may be NULL).  Frees the builder whatever happens.  On failure the file
 * is removed.  A table needs at least one entry: KV_ERR_INVALID without. */
int table_builder_finish(table_builder *b, table_meta *meta);

/* Closes and removes the file; frees the builder.  NULL is a no-op. */
void table_builder_abandon(table_builder *b);

/* ---- reading --------------------------------------------------------------- */

/* Opens the table at path, checking what an open can check cheaply (the
 * header and the footer).  One reference, the caller's.
 * KV_OK, KV_ERR_IO, KV_ERR_CORRUPT (T2), KV_ERR_NOMEM. */
int table_open(table_ctx *ctx, const char *path, table **out);

/* References: an iterator holds one, so a table closed (or its file
 * deleted) while an iterator still reads it stays readable.  The last
 * unref closes the file.  table_unref(NULL) is a no-op. */
void table_ref(table *t);
void table_unref(table *t);
/* Another file is about to take this table's name (kv_compact's output,
 * when it merged one table into itself): from now until its last
 * reference goes, the table reads the file it has, not what the name
 * holds then, so that a reader still holding it reads what it read
 * before.  KV_OK, or the error of opening the file (nothing changed). */
int  table_retire(table *t);

/* Its smallest and largest internal keys (T3: the table keeps them). */
const uint8_t *table_smallest(const table *t, size_t *len);
const uint8_t *table_largest(const table *t, size_t *len);
uint64_t table_entries(const table *t);
uint64_t table_file_bytes(const table *t);
const char *table_path(const table *t);

/* The answer of a point lookup. */
typedef struct table_get_result {
    ikey_lookup_state state;  /* IKEY_ABSENT, IKEY_FOUND, IKEY_DELETED */
    void *value;              /* IKEY_FOUND: a malloc'd copy of the value
                                 (never NULL, even when empty), the caller's
                                 to free; NULL otherwise */
    size_t value_len;
    unsigned reads;           /* positioned reads this lookup made */
    int elsewhere;            /* IKEY_FOUND: the entry is an IKEY_PUT_ELSEWHERE,
                                 its value where the value store keeps it
                                 (value_store.h); 0 in a format that has none */
    uint64_t seq;             /* IKEY_FOUND, IKEY_DELETED: the sequence number
                                 of the version found; 0 for IKEY_ABSENT */
    /* What else it cost (kv.h's kv_cost); 0 where the format has no such part: */
    uint64_t bytes_read;      /* bytes those reads returned */
    unsigned char in_range;   /* the key was in the table's range: it was asked */
    unsigned char filter_asked, filter_said_no;  /* a filter in memory, and its
                                 answer "absent": then nothing was read */
    unsigned char searched;   /* the table's entries were searched for the key
                                 (its offsets, its index): in range, and
                                 not ruled out before */
    unsigned blocks_read, blocks_cached;  /* blocks read, and found in a cache */
    unsigned block_hash_probes;  /* blocks searched through their hash index */
} table_get_result;

/* The newest version of lk's user key at or below lk's sequence, in this
 * table.  A key outside [smallest, largest] costs no read.
 * KV_OK (see r->state), or KV_ERR_IO, KV_ERR_CORRUPT, KV_ERR_NOMEM. */
int table_get(table *t, const ikey_lookup *lk, table_get_result *r);

/* table_get, for the last table a lookup can reach: no table older than t
 * in the caller's set can hold a version of lk's user key (whoever walks
 * the set knows: its oldest table).  The answer is table_get's; what may
 * differ is the cost: a part that only turns a lookup away early (a
 * filter: its "absent" saves a search that would end in "absent" just
 * the same) may be skipped where the options say so, since in the last
 * table a key that exists is found anyway (kv_options.filters_for_hits).
 * A format with no such part is table_get. */
int table_get_last(table *t, const ikey_lookup *lk, table_get_result *r);
/* 1 if table_get_last skips something of t's that table_get asks (its
 * filter, where the options say so); 0 if the two are the same.  A set
 * that must spend work to know whether t is a lookup's last spends it
 * only then. */
int table_get_last_skips(const table *t);

/* An iterator over every entry, internal keys in order (iterator.h).  It
 * holds a reference to the table.  KV_OK or KV_ERR_NOMEM. */
int table_iter_new(table *t, iter **out);

/* ---- kv check and kv dump ---------------------------------------------------- */

/* `label` names the file in the lines (its name in the database
 * directory); messages from the decoders name the full path.
 *
 * Verifies the whole file (every checksum, the order of every key, every
 * count) and emits one line per problem, naming the file and the offset.
 * KV_OK if intact, KV_ERR_CORRUPT if not, another error if it could not
 * read. */
int table_check(const char *path, const char *label, kv_line_fn line, void *line_ctx);

/* Emits the file decoded: its header, footer and every entry (offset,
 * user key, sequence, type, value length).  Stops at the first damage,
 * with a line saying what and where, and returns its error (KV_OK if it
 * reached the end). */
int table_dump(const char *path, const char *label, kv_line_fn line, void *line_ctx);

/* ---- kv repair -------------------------------------------------------------- */

/* A region of the file a salvage could not read: bytes [offset, end), why,
 * and which entries it held, as far as the entries read around it tell:
 * those between `after` (the last entry read before it; NULL: the
 * table's start) and `before` (the first one read after it; NULL: the
 * table's end), internal keys, both excluded. */
typedef struct table_loss {
    uint64_t offset, end;
    const char *why;
    const uint8_t *after, *before;
    size_t after_len, before_len;
} table_loss;

/* What a salvage found. */
typedef struct table_salvage_info {
    uint64_t file_bytes;
    uint64_t entries;       /* entries read (handed to the entry callback) */
    uint64_t expected;      /* entries the table says it holds (its footer or
                               properties); 0 if they cannot be read */
    uint64_t losses;        /* regions reported lost */
    uint64_t min_seq, max_seq;  /* of the entries read */
} table_salvage_info;

typedef int (*table_entry_fn)(void *ctx, const uint8_t *ikey, size_t ikey_len,
                              const uint8_t *value, size_t value_len);
typedef void (*table_loss_fn)(void *ctx, const table_loss *loss);

/* Reads every entry of the table file at path that can be read and
 * checked, even where table_open refuses the file (a damaged header,
 * footer or index, a file cut short), and hands them to `entry` in order
 * (internal keys strictly ascending; a tombstone with an empty value), and
 * each region it cannot read to `loss`.  A table built from what `entry`
 * got is whole.  Nothing in memory per entry.  KV_OK (whatever was lost:
 * see *info), an I/O error, KV_ERR_NOMEM, or `entry`'s first non-zero
 * value. */
int table_salvage(const char *path, table_entry_fn entry, table_loss_fn loss, void *ctx,
                  table_salvage_info *info);

#endif
