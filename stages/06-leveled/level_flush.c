/*
 * level_flush.c: the flush of a frozen memtable (imm) to a table, in level
 * 0 or deeper (table_set_flush, which stage 04's engine calls on its
 * background thread, lsm_bg.c).  Stage 04's flush protocol with the
 * manifest as the commit point:
 *   1. a writer freezes mem into imm, holding the writes up to imm_hi, and
 *      a new log takes the writes after it (stage 04's lsm_write.c);
 *   2. imm is written, in key order, to table N (a fresh file number),
 *      synced, and the directory synced (VS1 of version_set.h);
 *   3. the edit "add N to level L, log_seq = imm_hi" is appended to the
 *      manifest and synced (VS2): from here on the writes up to imm_hi are
 *      in the database's tables, and no log record up to it is replayed.
 *      L is 0, or 1 or 2 when no table of levels 0 to L overlaps N
 *      (compaction_flush_level, as LevelDB places its flushes): the
 *      compactions that would only move N down are saved.  A flush made
 *      while a compaction runs (level_compact.c) goes to level 0: the
 *      compaction's outputs, in no version yet, may cover N's range;
 *   4. under write_lock, the new version is installed and imm dropped from
 *      the view: readers find the writes in the table;
 *   5. the engine deletes the logs whose writes are all at or below
 *      imm_hi (lsm_bg.c).
 * A crash before 3 leaves table N as garbage (no manifest names it) and the
 * logs replay the writes; after 3, the table holds them and the logs are
 * removed unread at the next open.  A failure keeps imm and its logs, as
 * stage 04's does: the next write reports it, and the flush is retried
 * when a writer waits for room.
 */
#include <stdlib.h>

#include "error.h"
#include "level_out.h"
#include "version_set.h"

/* Step 2. */
static int level_flush_write(table_set *ts, memtable *m, level_out *o)
{
    iter *src = NULL;
    int rc = memtable_iter_new(m, &src);
    if (rc == KV_OK)
        rc = level_out_begin(ts, o->number, o);
    if (rc == KV_OK) /* (src is NULL when memtable_iter_new failed) */
        for (iter_seek_first(src); rc == KV_OK && iter_valid(src); iter_next(src))
            rc = level_out_add(o, src->key, src->key_len, src->value, src->value_len);
    if (rc == KV_OK)
        rc = iter_status(src);
    iter_free(src);
    if (rc == KV_OK)
        rc = level_out_finish(o);
    if (rc == KV_OK)
        rc = lsm_sync_dir(ts->db, "flush");
    return rc;
}

/* Step 3's level for the finished table o.  current changes only on this
 * thread (version_set_apply), so it is read without write_lock. */
static int level_flush_level(table_set *ts, const level_out *o)
{
    if (ts->compacting)
        return 0;
    if (o->smallest_len <= IKEY_TRAILER_SIZE || o->largest_len <= IKEY_TRAILER_SIZE)
        return 0; /* (no entry: version_apply refuses the edit anyway) */
    return compaction_flush_level(ts->current, &ts->copt, o->smallest,
                                  o->smallest_len - IKEY_TRAILER_SIZE, o->largest,
                                  o->largest_len - IKEY_TRAILER_SIZE);
}

int table_set_flush(table_set *ts, memtable *imm, uint64_t lo, uint64_t hi, table_meta *meta)
{
    (void)lo; /* the manifest, not the name, says what the table holds */
    level_out o = {.number = ts->next_file++};
    version_edit e;
    version_edit_init(&e);
    int rc = level_flush_write(ts, imm, &o);
    int level = rc == KV_OK ? level_flush_level(ts, &o) : 0;
    if (rc == KV_OK && (rc = level_out_edit(&o, &e, level)) == KV_OK) {
        version_edit_set_log_seq(&e, hi);
        version_edit_set_last_seq(&e, hi);
        rc = version_set_apply(ts, &e, 1);
    }
    version_edit_free(&e);
    *meta = o.meta;
    level_out_free(ts, &o, rc != KV_OK && !__atomic_load_n(&ts->manifest_broken,
                                                           __ATOMIC_ACQUIRE));
    /* (Level 0's count is the bytes flushed, whatever level took the
     * table: kv_stats's write amplification divides by it.) */
    if (rc == KV_OK) {
        __atomic_add_fetch(&ts->levels[0].bytes_written, meta->file_bytes, __ATOMIC_RELAXED);
        ts->compact_retry_us = 0; /* a compaction that failed is tried again */
    }
    version_set_delete_obsolete(ts); /* a failed edit's table, if any */
    return rc;
}
