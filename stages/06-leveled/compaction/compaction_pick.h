/*
 * compaction_pick.h: which tables to compact next, and the rules a
 * compaction follows while it writes (leveled compaction, LevelDB's
 * db/version_set.cc in spirit).
 *
 * Pure logic over a version: no I/O, no locks, no clock.  The engine calls
 * it under its lock and runs the compaction it returns; the compaction
 * simulator (compaction_sim.c) calls the very same functions with vfiles
 * that have no tables behind them.
 *
 * SCORES.  Each level has a score; >= 1 means it needs compaction.
 *   L0:      files / l0_trigger (4): L0 files overlap, so every read pays
 *            for each; the count is what matters, not the bytes.
 *   L1..L5:  bytes / target, target(L1) = l1_bytes (10 MiB),
 *            target(Ln+1) = target(Ln) * level_ratio (10).
 *   L6:      no score: there is no level below to compact into.
 *
 * PICK (compaction_pick).  The level with the highest score >= 1:
 *   1. Inputs at L (inputs[0]):
 *      L0: the oldest L0 file, then every L0 file overlapping it,
 *          transitively (version_overlapping), so no older version of a key
 *          stays above a newer one;
 *      Ln: the first file whose largest key is past the level's compact
 *          pointer (the largest key the previous compaction of Ln took),
 *          wrapping to the first file: round robin over the key space.
 *   2. Inputs at L+1 (inputs[1]): every file overlapping inputs[0]'s
 *      user-key range.
 *   3. Expansion: if more files of L fit in the range of all inputs, take
 *      them too, provided that does not add a file at L+1 and the total
 *      stays under 25 target files (more work per compaction, no more
 *      rewriting of L+1).
 *   4. Grandparents: the files of L+2 overlapping the range of all inputs;
 *      an output table stops early where it would overlap more than 10
 *      target files of them, so that its own later compaction stays small.
 * A level whose chosen inputs include a file already being compacted is
 * passed over for the next best one.
 *
 * TRIVIAL MOVE: one input file, nothing overlapping at L+1, and at most 10
 * target files of grandparent overlap: the file changes level in the
 * manifest and no byte is rewritten.
 *
 * GARBAGE (compaction_pick_garbage), when no level's score is >= 1.  A
 * snapshot held for long keeps every version written meanwhile (drop_rule.h,
 * C1 counts only versions a newer one at or below the oldest snapshot
 * hides), and they sink with their keys: often into the deepest level, far
 * under its target, where no score ever brings a compaction.  So each table
 * records, as it is written, how many of its entries a newer version of
 * their key in the same table hides, and the oldest snapshot from which
 * on all of them may go (vfile dead, dead_from; the manifest keeps them).
 * Once the oldest live snapshot is at or past a table's dead_from, and at
 * least 1/COMPACTION_GARBAGE_SHARE of its entries are dead, it is rewritten
 * in place, alone (a compaction of level L-1 with no input there, and the
 * table as the only input at L): the rule drops exactly what was counted.
 * The table with the most dead entries goes first; for a level-0 table,
 * level 0's own compaction runs instead (its oldest table's closed set,
 * merged into L1: a table moved down whole is rewritten from there).  RocksDB marks such files for compaction
 * the same way (its table properties collectors, and its compactions of
 * the bottommost files once the snapshots that pinned them are released);
 * LevelDB compacts a file that reads keep seeking past.
 *
 * FLUSH PLACEMENT (compaction_flush_level).  A table flushed from the
 * memtable goes to L0, unless no L0 table overlaps its key range: then it
 * goes down a level at a time, to L1 and at most to L2
 * (COMPACTION_MAX_FLUSH_LEVEL), while the level it would enter holds no
 * table overlapping it and the level below that one no more than 10 target
 * files of overlap (as for a trivial move).  Correct because the flushed
 * table holds the newest writes, and a read that asks the levels top down
 * meets no other table holding one of its keys before it; and V3 holds
 * since its level has no table it overlaps.  It saves the compactions
 * that would only move the table down (and keeps it out of L0's count,
 * which brakes writers): a sequential fill writes every table once.  Not
 * deeper than L2, as LevelDB (db/dbformat.h, kMaxMemCompactLevel): a key
 * range overwritten again and again would otherwise pile its old versions
 * deep down, where they wait long for a compaction to drop them.
 */
#ifndef KV_LEVELED_COMPACTION_PICK_H
#define KV_LEVELED_COMPACTION_PICK_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"
#include "version.h"
#include "version_edit.h"

#define L0_COMPACTION_TRIGGER 4
#define COMPACTION_DEFAULT_LEVEL_RATIO 10
#define COMPACTION_DEFAULT_L1_BYTES (10u << 20)
#define COMPACTION_DEFAULT_TABLE_BYTES (2u << 20)
/* The deepest level a flushed table may be placed in. */
#define COMPACTION_MAX_FLUSH_LEVEL 2
/* An expansion (rule 3) stays under this many target files of input. */
#define COMPACTION_EXPAND_LIMIT_FILES 25
/* Grandparent overlap allowed per output table, in target files (rule 4). */
#define COMPACTION_GRANDPARENT_FILES 10
/* A table with at least 1/this of its entries dead is rewritten (GARBAGE). */
#define COMPACTION_GARBAGE_SHARE 2

typedef struct compaction_options {
    int level_ratio;        /* >= 2 */
    uint64_t l1_bytes;      /* >= 1 */
    uint64_t table_bytes;   /* >= 1: target size of an output table */
    int l0_trigger;         /* >= 1: L0 files for a score of 1 */
} compaction_options;

/* The options kv_options gives (0 = default; opt may be NULL), with the
 * trigger L0_COMPACTION_TRIGGER. */
void compaction_options_from(const kv_options *opt, compaction_options *out);

/* The target size of level >= 1 (saturating at UINT64_MAX). */
uint64_t compaction_level_target(const compaction_options *o, int level);

/* The score of one level (0 for the last level), and the best score of
 * the version with its level in *level. */
double compaction_level_score(const version *v, const compaction_options *o, int level);
double compaction_score(const version *v, const compaction_options *o, int *level);

/* Per level, the largest internal key the last compaction of that level
 * took (NULL = none yet: start at the first file). */
typedef struct compaction_pointers {
    const uint8_t *key[VERSION_LEVELS];
    size_t len[VERSION_LEVELS];
} compaction_pointers;

typedef struct compaction {
    int level;                /* inputs from level and level + 1 */
    double score;             /* the level's score when picked (0: a range) */
    int manual;               /* made by compaction_pick_range */
    version *v;               /* the version picked from (one reference) */
    vfile_list inputs[2];     /* [0]: at level; [1]: at level + 1 */
    vfile_list grandparents;  /* at level + 2 */
    uint64_t max_output_bytes;
    uint64_t max_grandparent_overlap;
    /* compaction_should_stop_before's state */
    size_t gp_index;
    uint64_t gp_overlap;
    int seen_key;
    uint8_t *last_user;       /* KV_MAX_KEY bytes */
    size_t last_user_len;
} compaction;

/* Picks a compaction from v (rules above).  *out = NULL if no level has a
 * score >= 1 (or every such level is busy).  The compaction holds a
 * reference to v.  pointers may be NULL.  KV_OK or KV_ERR_NOMEM. */
int compaction_pick(version *v, const compaction_options *o, const compaction_pointers *pointers,
                    compaction **out);

/* What compaction_pick would take from `level` (< VERSION_LEVELS - 1)
 * now, whatever its score: rules 1-4 from the level's round-robin seed on
 * (kv_inspect shows it as the next compaction, even before it is due).
 * *out = NULL if the level is empty or every seed is busy.  KV_OK,
 * KV_ERR_NOMEM, or KV_ERR_INVALID for a level out of range. */
int compaction_pick_level(version *v, const compaction_options *o,
                          const compaction_pointers *pointers, int level, compaction **out);

/* A compaction of the files of `level` (< VERSION_LEVELS - 1) overlapping
 * the user-key range [begin, end] (NULL = unbounded) into level + 1, with
 * rules 2-4 (kv_compact pushes the database down level by level this way).
 * It is never a trivial move: it is asked for to rewrite, so as to drop
 * what is overwritten or deleted, which a move would keep.
 * *out = NULL if no file of the level is in the range.  KV_OK, NOMEM, or
 * KV_ERR_INVALID for a level out of range. */
int compaction_pick_range(version *v, const compaction_options *o, int level,
                          const uint8_t *begin, size_t blen, const uint8_t *end, size_t elen,
                          compaction **out);

/* The level for a table flushed from the memtable holding the user keys
 * [smallest, largest], to be added to v (FLUSH PLACEMENT above): 0, 1 or
 * 2.  No allocation, no failure. */
int compaction_flush_level(const version *v, const compaction_options *o,
                           const uint8_t *smallest, size_t slen, const uint8_t *largest,
                           size_t llen);

/* Drops the version reference and frees c.  NULL is a no-op. */
void compaction_free(compaction *c);

/* Sets (1) or clears (0) being_compacted on every input. */
void compaction_mark(compaction *c, int being_compacted);

uint64_t compaction_input_bytes(const compaction *c, int which);

/* One input at level, none at level + 1, little grandparent overlap, and
 * not a range compaction. */
int compaction_is_trivial_move(const compaction *c);

/* 1 if no level below the output level has a file whose range holds
 * user_key: a tombstone for it, visible to no snapshot's older version,
 * can then be dropped, since nothing older of the key remains below. */
int compaction_is_base_level_for_key(const compaction *c, const uint8_t *user_key, size_t len);

/* Called with every entry the compaction writes, in order, before it is
 * added to the current output table (output_bytes: that table's size so
 * far, 0 if none is open).  1 = finish the current table first: the output
 * reached max_output_bytes, or it overlaps more than
 * max_grandparent_overlap bytes of grandparents.  Returns 1 only at the
 * first entry of a user key, so the versions of one user key never span
 * two tables (V3 of version.h). */
int compaction_should_stop_before(compaction *c, const uint8_t *ikey, size_t len,
                                  uint64_t output_bytes);

/* A garbage compaction (GARBAGE above) for the oldest live snapshot
 * `oldest`: *out = the rewrite of the table, not being compacted, with
 * the most dead entries (for level 0: level 0's compaction) among those at
 * least
 * 1/COMPACTION_GARBAGE_SHARE dead whose dead_from is at or below oldest,
 * or NULL.  *wait_for = the smallest dead_from above oldest among the
 * tables that would then qualify (0: none), so that the engine knows when
 * to look again.  KV_OK or KV_ERR_NOMEM. */
int compaction_pick_garbage(version *v, const compaction_options *o, uint64_t oldest,
                            compaction **out, uint64_t *wait_for);

/* As compaction_pick_garbage, for a table with any dead entry that may go
 * at oldest, however few (kv_compact's last steps: it leaves no version no
 * reader can read).  *out = NULL if none.  KV_OK or KV_ERR_NOMEM. */
int compaction_pick_dead(version *v, const compaction_options *o, uint64_t oldest,
                         compaction **out);

/* The largest internal key among inputs[0]: the level's next compact
 * pointer once this compaction is done (NULL for a garbage compaction). */
const uint8_t *compaction_next_pointer(const compaction *c, size_t *len);

/* Adds to e: every input removed, the level's new compact pointer, and
 * for a trivial move the file added again at level + 1.  (The engine adds
 * its output tables at level + 1 itself.)  KV_OK or KV_ERR_NOMEM. */
int compaction_edit(const compaction *c, version_edit *e);

#endif
