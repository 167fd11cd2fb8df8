/*
 * level_apply.h: how stage 06's tables change (the part LevelDB calls its
 * VersionSet, db/version_set.h): the one way is a version edit
 * (version_edit.h), made from a job the engine did (table_set_apply: a
 * flush's table, a merge's inputs and outputs, a move), made durable in
 * the manifest, then installed as the current version.  And the life of a
 * table file, from the output the engine builds to its deletion.
 *
 * Invariants (docs/06-leveled-reference.md, "The manifest protocol", has the
 * crash-safety argument):
 *   VS1. an edit's new tables are whole and synced (the engine finished
 *       them), and the directory synced, before the edit is appended to
 *       the manifest;
 *   VS2. the edit is in the manifest (fsync'd) before its version is
 *       installed, and before any file it removes is deleted;
 *   VS3. a table file is deleted only when no version holds it any more
 *       (the current one, or one a reader or iterator still reads), and
 *       never after a manifest append whose fsync failed (whether the edit
 *       is on disk is then unknown: the next open decides, from the
 *       manifest).
 * Failures: an append whose write failed left at most a torn record,
 * which the next open drops: the edit is simply not made, the manifest is
 * stale (no record may follow the torn one), and the next edit first
 * makes a new manifest take over (a snapshot of the current version).  So
 * a full disk or no file descriptor is tried again, not final.  What
 * leaves the manifest's state unknown (a failed fsync; CURRENT switched
 * but not synced) is final: table_set_apply says so (*final), and the
 * engine stops writing (lsm_db.h, D4).
 */
#ifndef KV_LEVEL_APPLY_H
#define KV_LEVEL_APPLY_H

#include "level_set.h"
#include "version_edit.h"

/* A new manifest holding a snapshot of the current version and counters,
 * made live (CURRENT); the old one is deleted.  REQUIRES: the thread that
 * changes the set.  kv_close makes one too if the live manifest holds
 * edits after its snapshot: a closed manifest is then one record, which a
 * cut anywhere leaves incomplete and the next open refuses, where a cut
 * between two edits would read as a shorter, valid manifest and lose the
 * tables of the edits cut off.  On failure *in_doubt (may be NULL) says
 * whether CURRENT may name the new manifest (manifest_create). */
int  level_apply_manifest_new(table_set *ts, int *in_doubt);

/* ---- table files --------------------------------------------------------- */

/* The vfile of an added table, its table opened (vfile_open_fn of
 * version.h; ctx is the table_set). */
int  level_apply_vfile_open(void *ctx, const edit_file *f, vfile **out);
/* The release callback of every version (version.h): the last version
 * holding f is gone: its table is closed, its number listed for deletion. */
void level_apply_vfile_gone(void *ctx, vfile *f);

#endif
