/*
 * version_set.h: how stage 06's tables change (the part LevelDB calls its
 * VersionSet, db/version_set.h): the one way is a version edit
 * (version_edit.h), made durable in the manifest, then installed as the
 * current version, with a new view for readers.  And the life of a table
 * file, from the edit that adds it to its deletion.
 *
 * Invariants (docs/06-leveled.md, "The manifest protocol", has the
 * crash-safety argument):
 *   VS1. an edit's new tables are whole and synced, and the directory
 *       synced, before the edit is appended to the manifest (the flush and
 *       the compaction see to it before they call version_set_apply);
 *   VS2. the edit is in the manifest (fsync'd) before its version is
 *       installed for readers, and before any file it removes is deleted;
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
 * but not synced) is final (lsm_db.h, D4).
 */
#ifndef KV_VERSION_SET_H
#define KV_VERSION_SET_H

#include "level_set.h"
#include "version_edit.h"

/* One edit made durable and installed (VS1, VS2): the next version is made
 * from the current one and e, e is written to the manifest (rolled over
 * first if it is too big), then the version is installed with a view
 * (without imm if `flushed`).  A failure after which the manifest's state
 * is unknown is final (lsm_db.h, D4).
 * REQUIRES: write_lock not held (it is taken to install); the calling
 * thread is the only one changing versions (the background thread, or
 * kv_open before it starts). */
int  version_set_apply(table_set *ts, version_edit *e, int flushed);
/* A new manifest holding a snapshot of the current version and counters,
 * made live (CURRENT); the old one is deleted.  REQUIRES: as
 * version_set_apply.  kv_close makes one too if the live manifest holds
 * edits after its snapshot: a closed manifest is then one record, which a
 * cut anywhere leaves incomplete and the next open refuses, where a cut
 * between two edits would read as a shorter, valid manifest and lose the
 * tables of the edits cut off.  On failure *in_doubt (may be NULL) says
 * whether CURRENT may name the new manifest (manifest_create). */
int  version_set_manifest_new(table_set *ts, int *in_doubt);
/* Whether the background thread may change the database: no final
 * failure, the manifest not broken.  REQUIRES: write_lock held. */
int  version_set_usable(table_set *ts);

/* ---- table files --------------------------------------------------------- */

/* The vfile of an added table, its table opened (vfile_open_fn of
 * version.h; ctx is the table_set). */
int  version_set_vfile_open(void *ctx, const edit_file *f, vfile **out);
/* The release callback of every version (version.h): the last version
 * holding f is gone: its table is closed, its number listed for deletion. */
void version_set_vfile_gone(void *ctx, vfile *f);
/* Deletes the table files listed as obsolete (VS3).  Any thread, no lock. */
void version_set_delete_obsolete(table_set *ts);

#endif
