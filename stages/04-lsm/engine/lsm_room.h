/*
 * lsm_room.h: writes refused before the disk is full, so that a database
 * can free space from inside.  A first reading skips it.
 *
 * An LSM tree frees space by writing: a delete is a record in the log, a
 * flush writes a table before the log goes, a compaction writes its
 * outputs before its inputs go, and stage 08's collection writes a file's
 * live values again before the file goes.  On a disk filled to the last
 * byte none of them can run, and nothing but space freed from outside
 * brings the database back.  So the engine keeps a reserve: once less
 * than it is free on the file system that holds the database, a write
 * that puts a value is refused (KV_ERR_IO, saying so, nothing written),
 * while deletes, flushes, compactions and the collection's moves go on
 * into the reserve.  Deleting keys and kv_compact then give space back,
 * and puts resume once the reserve is free again.  RocksDB's
 * SstFileManager keeps room for its compactions the same way
 * (reserved_disk_buffer), and CockroachDB a ballast file.
 *
 * The reserve is a sixteenth of the file system, between 1 MiB and
 * 256 MiB.  A memtable's log is also frozen early once it holds a quarter
 * of the space free beyond the reserve, so that on a small disk no
 * single flush or file is too large for the reserve to clean up after.
 *
 * Cost: the space is looked at (statvfs) when the writes checked since
 * the last look have taken a mebibyte, or the room it found: one system
 * call a mebibyte; between looks a check is one atomic subtraction.
 * Other writers (a compaction, another program) are seen at the next look.
 *
 * Invariant: R1. A write that puts a value is let through only if, at the
 * last look, the file system had more than the reserve free and the
 * writes let through since fit in what was above it.
 */
#ifndef KV_LSM_ROOM_H
#define KV_LSM_ROOM_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "stats_text.h"

typedef struct lsm_room lsm_room;

/* The room of the file system holding dir: KV_OK with *out, or an error
 * (NOMEM, or the file system cannot be asked). */
int  lsm_room_new(const char *dir, lsm_room **out);
void lsm_room_free(lsm_room *r);
/* A write of ops[0..n), bytes long in the log, for `call`: KV_OK, or
 * KV_ERR_IO if it puts a value and the disk is down to its reserve (R1).
 * Any thread, no lock held. */
int  lsm_room_check(lsm_room *r, const batch_op *ops, size_t n, uint64_t bytes,
                    const char *call);
/* The size past which the memtable's log is frozen early (UINT64_MAX:
 * there is room). */
uint64_t lsm_room_log_cap(const lsm_room *r);
/* kv_stats's lines: room.* and the writes refused. */
void lsm_room_stats(lsm_room *r, stats_text *s);

#endif
