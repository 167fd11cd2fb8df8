/*
 * lsm_repair.h: kv_repair's work on one file (include/kv.h), which the
 * table set's kv_repair runs over the directory (stage 04's
 * flat_set_repair.c, stage 06's level_repair.c):
 *   - a damaged log is rewritten with every intact record whose sequence
 *     numbers follow the ones before it (lsm_repair_log.c);
 *   - a damaged table is rewritten, under its own name, with every entry
 *     that can still be read (table_salvage, table.h), and what it lost
 *     is measured against the older tables: where a lost entry was a key's
 *     newest version, an older version shows again (lsm_repair_table.c).
 * The damaged file is first copied to the directory's lost/ folder
 * (OFFLINE_LOST_DIR, offline.h), then the new one written under a .tmp
 * name, synced, renamed over it, and the directory synced: a crash leaves
 * the old file or the new one (and a .tmp that kv_open removes).  Each
 * step says in lines what it changed and what was lost, and adds it up in
 * the repair_run.
 */
#ifndef KV_LSM_REPAIR_H
#define KV_LSM_REPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "kv.h"
#include "lsm_files.h"
#include "table.h"

typedef struct repair_run {
    const char *dir;
    kv_line_fn line;
    void *ctx;
    table_ctx *tables;          /* the default options: rewritten tables use them */
    io_lock *lock;
    /* What was done, for the last line. */
    size_t logs_rewritten, tables_rewritten, tables_dropped;
    size_t set_aside;           /* files copied to lost/ */
    uint64_t log_bytes_lost, entries_lost;
    int entries_lost_unknown;   /* some table's count of entries is unknown */
} repair_run;

/* Starts a repair of dir: the arguments, the directory's IDENTITY (this
 * stage's, `format`: another stage's files are never touched), the lock
 * (KV_ERR_BUSY while the database is open).  KV_OK, or an error (nothing
 * is held). */
int  repair_start(repair_run *r, const char *dir, uint32_t format, kv_line_fn line, void *ctx);
/* Releases what repair_start took. */
void repair_end(repair_run *r);
/* The last line: what was rewritten and lost, or "nothing to repair";
 * `more` (NULL: none) is what else the stage did (its manifest). */
void repair_say_done(const repair_run *r, const char *more);

/* Rewrites dir's log `start` if a strict kv_open would not keep it as it
 * is (*rewritten = 1): damage anywhere, or, before the last log, no seal
 * at its end; `next_log` is the next log's start (0: it is the last), which
 * bounds the sequence numbers a damaged end took.  KV_OK or an error. */
int  repair_log(repair_run *r, uint64_t start, uint64_t next_log, int *rewritten);

/* F4 (lsm_files.h): if the log the tables owe (they hold every write up to
 * `flushed`) is missing, or has no whole header, an empty log takes its
 * place (a damaged one set aside first), and a line says that the writes
 * after `flushed` it held are lost.  wals[0..n): the directory's logs,
 * oldest first.  KV_OK or an error. */
int  repair_owed_log(repair_run *r, const lsm_listed_wal *wals, size_t n, uint64_t flushed);

/* A range of user keys some entries were lost from: [lo, hi], both
 * included; NULL: open on that side. */
typedef struct repair_range {
    uint8_t *lo, *hi;
    size_t lo_len, hi_len;
} repair_range;

/* What the table is after repair_table. */
typedef struct repair_table_result {
    uint64_t entries;           /* kept (0: nothing could be read; the file
                                   was set aside, and removed if asked) */
    uint64_t expected;          /* what the table said it held; 0: unknown */
    uint64_t file_bytes;
    uint8_t *smallest, *largest; /* of what was kept: internal keys */
    size_t smallest_len, largest_len;
    repair_range *lost;         /* the key ranges entries were lost from */
    size_t nlost;
} repair_table_result;

/* Rewrites the damaged table `name` of dir with what table_salvage reads
 * of it, under the same name.  `seqs`: the sequence numbers its writes
 * had, for the lines ("1..100"; NULL if unknown).  If nothing can be read
 * the file is set aside, and removed only if `remove_if_empty` (a caller
 * whose manifest still names it removes it itself, after).  KV_OK or an
 * error; free *out with repair_table_result_free either way. */
int  repair_table(repair_run *r, const char *name, const char *seqs, int remove_if_empty,
                  repair_table_result *out);
void repair_table_result_free(repair_table_result *res);

/* The whole key range of a table that is gone, for repair_older: from its
 * smallest to its largest internal key (NULL: unknown, every key). */
int  repair_range_of(const uint8_t *smallest, size_t slen, const uint8_t *largest, size_t llen,
                     repair_range **out, size_t *n);

/* Reports what older versions the loss of `lost` (entries of table
 * `name`) lets show: the entries of the tables `older` (names in dir, the
 * ones that hold older writes than `name`; or, `unordered`, every other
 * table, when which are older is not known) whose keys fall in the ranges.
 * KV_OK or an error reading them. */
int  repair_older(repair_run *r, const char *name, const repair_range *lost, size_t nlost,
                  char *const *older, size_t nolder, int unordered);

/* offline_set_aside (offline.h), counted. */
int  repair_set_aside(repair_run *r, const char *name, char *kept_as, size_t cap);

#endif
