/*
 * lsm_files.h: which files make up a stage-04 database, read from the
 * directory listing alone (stage 06 brings a manifest; this stage has none).
 *
 * Every write has a sequence number (internal_key.h), and the files are
 * named by the sequence numbers of the writes they hold:
 *
 *   000000000101.log                 a write-ahead log whose first write
 *                                    has sequence 101 (or will have: a
 *                                    new log holds none yet)
 *   000000000001-000000000100.tbl    a table holding what the writes
 *                                    numbered 1 to 100 left (a flushed
 *                                    memtable, or kv_compact's merge of
 *                                    several tables: the union of theirs)
 *   ...tbl.tmp, ...log.tmp           a table being written, a log being
 *                                    repaired: never part of the database
 *                                    (kv_open removes them)
 *
 * Numbers are decimal, at least 12 digits (zero-padded), at most
 * IKEY_MAX_SEQ.  So `ls` says what the database is, and kv_open knows,
 * from names alone:
 *   F1. A table whose range lies inside another table's range is obsolete:
 *       kv_compact wrote the larger one (which holds everything the smaller
 *       held, minus what no reader can see) and crashed before it removed
 *       its inputs.  Reading it would resurrect what the merge dropped, so
 *       it is removed, never read.
 *   F2. The live tables' ranges are disjoint, and their order by range is
 *       their age: a newer table holds newer writes.
 *   F3. Every write with a sequence number up to the largest table's upper
 *       bound (max_hi) is in the tables (flushes happen in sequence order,
 *       and a table is renamed into place only when whole and synced).
 *       So a log record numbered <= max_hi must not be replayed: it may
 *       have been overwritten, or deleted and then dropped by kv_compact,
 *       since it was flushed.  A log that is not the last one, whose
 *       successor starts at or below max_hi + 1, holds nothing else and is
 *       removed unread.
 *   F4. While the tables hold anything (max_hi > 0), a log named above
 *       max_hi exists, and the first one has a whole header: the writes
 *       after max_hi went to it, and it was made, its header synced,
 *       when the memtable holding max_hi was frozen, so before any table
 *       took that write.  (It is named max_hi + 1, or higher when a
 *       failed write used numbers up.)  A directory without it lost those
 *       writes (a stage with a manifest knows max_hi from there, and
 *       keeps the same rule).
 * docs/04-lsm-reference.md, "Crash safety without a manifest", walks through every
 * crash point of a flush and a compaction with these rules.
 */
#ifndef KV_LSM_FILES_H
#define KV_LSM_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "db_dir.h"

#define LSM_NAME_MAX 64
#define LSM_SEQ_DIGITS 12
#define LSM_WAL_SUFFIX ".log"
#define LSM_TABLE_SUFFIX ".tbl"
#define LSM_TMP_SUFFIX ".tmp"

enum { LSM_FILE_OTHER = 0, LSM_FILE_WAL, LSM_FILE_TABLE, LSM_FILE_TMP };

/* "000000000101.log". */
void lsm_wal_name(char out[LSM_NAME_MAX], uint64_t start);
/* "000000000001-000000000100.tbl", with ".tmp" after it if tmp. */
void lsm_table_name(char out[LSM_NAME_MAX], uint64_t lo, uint64_t hi, int tmp);

/* What a name is: LSM_FILE_WAL (*a = its start), LSM_FILE_TABLE (*a, *b =
 * its range, a <= b), LSM_FILE_TMP (either name with ".tmp"), or
 * LSM_FILE_OTHER (not a file of this stage). */
int lsm_file_parse(const char *name, uint64_t *a, uint64_t *b);

typedef struct lsm_listed_table {
    uint64_t lo, hi;
    int obsolete;           /* F1 */
} lsm_listed_table;

typedef struct lsm_listed_wal {
    uint64_t start;
    int covered;            /* F3: every record in it is in the tables */
} lsm_listed_wal;

typedef struct lsm_listing {
    lsm_listed_table *tables;   /* newest (highest range) first */
    size_t ntables;
    lsm_listed_wal *wals;       /* oldest (lowest start) first */
    size_t nwals;
    char **tmps;                /* names of temporary files */
    size_t ntmps;
    char **others;              /* names that are not this stage's (but
                                   LOCK and IDENTITY) */
    size_t nothers;
    uint64_t max_hi;            /* F3 (0 if no table) */
    int overlap;                /* two live tables overlap: F2 is broken,
                                   which only damage can do */
    uint64_t overlap_a[2], overlap_b[2];
} lsm_listing;

/* Removes the file `name` of dir and counts it in *counter (kv_open's
 * removals, which kv_stats reports). */
int lsm_file_remove(const db_dir *dir, const char *name, uint64_t *counter);

/* Lists dir and applies F1 to F3.  KV_OK, or an I/O error or NOMEM. */
int lsm_listing_read(const char *dir, lsm_listing *l);
void lsm_listing_free(lsm_listing *l);

/* F4: the log owed by tables that hold every write up to `flushed` (the
 * first named above it, in wals[0..n), oldest first).  0 if none is owed
 * (flushed is 0), 1 with *at its index if it is there, -1 if it is
 * missing. */
int lsm_listing_owed_log(const lsm_listed_wal *wals, size_t n, uint64_t flushed, size_t *at);

#endif
