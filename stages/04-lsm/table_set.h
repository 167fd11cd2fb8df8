/*
 * table_set.h: the tables of an LSM tree, an interface: which tables a
 * read sees, and how a flush and a compaction change them.
 *
 * The engine (lsm_db.h: the memtables, the logs, the write path, the
 * background thread, reads, snapshots) knows the tables only through these
 * calls, so that a later stage can keep them in another shape without
 * touching it.  Two implementations:
 *   stage 04   one flat list of tables, newest first, named by the
 *              sequence numbers they hold, found from the directory
 *              listing alone (lsm_tables.c; kv_compact merges them all:
 *              lsm_compact.c);
 *   stage 06   levels of tables kept in a manifest, with leveled compaction
 *              on the background thread (stages/06-leveled/level_set.h).
 * A stage links exactly one (its stage.mk says which), as it links one
 * table format behind table.h.  LevelDB's names for the same parts: a
 * Version (the tables a read sees), the VersionSet (how they change, and
 * the manifest), MakeRoomForWrite (admission) (db/version_set.h,
 * db/db_impl.cc).
 *
 * A version is immutable and reference-counted: a reader takes the
 * current one with the memtables in a view (lsm_db.h) and reads it
 * without any lock, however the set changes meanwhile; the tables a
 * version holds stay open, and their files stay on disk, until the last
 * version holding them is released.
 *
 * Threads and locks (the engine's, lsm_db.h): the set changes only on the
 * background thread (flush, background work) and in table_set_compact,
 * and only under the engine's write_lock does it make a new version
 * current, always together with a new view (lsm_view_install).
 */
#ifndef KV_TABLE_SET_H
#define KV_TABLE_SET_H

#include <stddef.h>
#include <stdint.h>

#include "internal_key.h"
#include "iterator.h"
#include "kv.h"
#include "lsm_files.h"
#include "memtable.h"
#include "stats_file.h"
#include "stats_text.h"
#include "table.h"

typedef struct table_set table_set;
typedef struct table_set_version table_set_version;

/* ---- open and close ------------------------------------------------------ */

/* The version of the stage's formats that IDENTITY records (db_identity.h). */
unsigned table_set_format(void);

/* kv_open's part for the tables, after IDENTITY and before the logs are
 * replayed: finds the tables of db's directory (l is its listing,
 * lsm_files.h), opens them, removes what is not part of the database
 * (unless read-only), sets *flushed (every write numbered up to it is in
 * the tables) and marks l->wals[i].covered for the logs that hold nothing
 * else.  On failure *out may hold a partly made set: table_set_free it.
 * REQUIRES: the database not yet shared. */
int  table_set_open(kv_db *db, lsm_listing *l, table_set **out, uint64_t *flushed);
/* kv_close's part, after the background thread has ended and the log is
 * closed; `clean`: nothing failed, so the set may write what a closed
 * database keeps (stage 06: a manifest of one snapshot).  KV_OK or the
 * failure of that write.  The set stays to be freed. */
int  table_set_close(table_set *ts, int clean);
/* Releases the set, its current version and everything no version holds.
 * NULL is a no-op. */
void table_set_free(table_set *ts);

/* ---- versions: what a reader reads --------------------------------------- */

/* The current version, with a reference for the caller.
 * REQUIRES: write_lock held (the current version changes only under it). */
table_set_version *table_set_current(table_set *ts);
void table_set_version_unref(table_set_version *v);

/* The tables' part of a lookup at lk (the engine asks mem and imm first):
 * KV_OK with *val (malloc'd), KV_NOT_FOUND (absent, or deleted), or an
 * error.  Counts the table reads in the engine's kv_stats. */
int  table_set_get(table_set *ts, const table_set_version *v, const ikey_lookup *lk,
                   void **val, size_t *vlen);
/* At most this many iterators come from table_set_iters(v). */
size_t table_set_iters_max(const table_set_version *v);
/* Iterators over v's tables, newest source first, stored at out[0..*n)
 * for a merging iterator.  Each holds what it reads (the version stays
 * alive until the last is freed).  KV_OK, or an error with none left. */
int  table_set_iters(table_set_version *v, iter **out, size_t *n);
/* kv_stats's lines about the tables, as v holds them, and the set's own
 * counters. */
void table_set_stats(table_set *ts, const table_set_version *v, stats_text *s);
/* Binds the set's own counters that DIR/STATS keeps across sessions
 * (stats_file.h): none in stage 04, each level's in stage 06. */
void table_set_totals(table_set *ts, stats_counters *s);
/* kv_inspect's lines about the tables of v (docs/lab.md: "table", and what
 * groups them, such as levels), with KV_INSPECT_DETAIL each table's parts
 * (lsm_inspect.h has the helpers both sets use).  KV_OK or an error. */
int  table_set_inspect(table_set *ts, const table_set_version *v, unsigned flags,
                       kv_line_fn line, void *ctx);
/* The tables' part of kv_inspect_get: a "look" line for each table (or
 * level) the lookup at lk meets, in the order table_set_get looks, up to
 * the one that answers.  *state: IKEY_FOUND (*vlen its value's length),
 * IKEY_DELETED or IKEY_ABSENT.  KV_OK or an error. */
int  table_set_inspect_get(table_set *ts, const table_set_version *v, const ikey_lookup *lk,
                           kv_line_fn line, void *ctx, ikey_lookup_state *state, size_t *vlen);

/* ---- writes ---------------------------------------------------------------- */

/* Called before every write joins the log's queue: KV_OK to let it in
 * (stage 06 slows writers down, or stops them, while level 0 is too
 * full), or why it is refused.  REQUIRES: no lock held. */
int  table_set_admit(table_set *ts, const char *call);

/* ---- the background ------------------------------------------------------ */

/* The flush: writes the frozen memtable imm, holding the writes lo..hi,
 * to tables, makes them durable, and installs them, dropping imm from the
 * readers' view (lsm_view_install(db, ..., 1), under write_lock).  From
 * then on the set holds every write up to hi.  KV_OK, or an error with
 * nothing installed (imm stays, and its logs).
 * REQUIRES: write_lock not held; the background thread. */
int  table_set_flush(table_set *ts, memtable *imm, uint64_t lo, uint64_t hi,
                     table_meta *meta);
/* One job of background work, if the set has one (stage 06: a
 * compaction): *worked = 1 if it did some.  Failures are the set's to
 * keep and report (lsm_set_bg_error, lsm_set_failed).  *wake_us, if not
 * 0: the set will have work to try again at this time (lsm_now_us), even
 * if no writer wakes the thread (a job that failed for a full disk, say).
 * *wake_seq, if not 0: the set will have work once the oldest live
 * snapshot (lsm_oldest_snapshot) is at or past this sequence number
 * (stage 06: a table full of versions no reader needs then).
 * REQUIRES: write_lock held (released while working); the background
 * thread. */
void table_set_work(table_set *ts, int *worked, uint64_t *wake_us, uint64_t *wake_seq);
/* kv_compact's part once the memtables are flushed: merge the tables so
 * that no version a reader cannot see is kept.  KV_OK or an error.
 * REQUIRES: the engine's compact_lock held, write_lock not held. */
int  table_set_compact(table_set *ts);

#endif
