/*
 * level_set.c: the rest of stage 06's table set (level_set.h): making one
 * from the options, the versions' references, admission, closing.  Opening
 * it is level_recover.c's work.
 *
 * Admission: every read asks each level-0 table (their ranges overlap),
 * so their number bounds the cost of a read.  When flushes outpace
 * compaction, the set tells the engine to hold writers back
 * (lsm_admit.c does the waiting): with l0_slowdown tables or more
 * (default 8) a write is slowed down once, with l0_stop or more (default
 * 12) it waits until a compaction brought level 0 below it.  (LevelDB's
 * MakeRoomForWrite uses the same two thresholds, 8 and 12.)
 */
#include "level_set.h"

#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "level_apply.h"

unsigned table_set_format(void) { return LEVEL_DB_FORMAT; }

int level_set_new(const table_set_env *env, table_set **out)
{
    table_set *ts = calloc(1, sizeof *ts);
    *out = ts;
    if (ts == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", env->dir->path);
    ts->env = *env;
    const kv_options *opt = env->opt;
    compaction_options_from(opt, &ts->copt);
    ts->l0_slowdown = opt->l0_slowdown > 0 ? opt->l0_slowdown : LEVEL_DEFAULT_L0_SLOWDOWN;
    ts->l0_stop = opt->l0_stop > 0 ? opt->l0_stop : LEVEL_DEFAULT_L0_STOP;
    if (ts->l0_stop <= ts->l0_slowdown)
        ts->l0_stop = ts->l0_slowdown + 1;
    /* Level 0's compaction starts no later than writes stop for it. */
    if (ts->copt.l0_trigger > ts->l0_stop)
        ts->copt.l0_trigger = ts->l0_stop;
    pthread_mutex_init(&ts->obsolete_lock, NULL);
    return KV_OK;
}

void table_set_version_ref(table_set_version *v) { version_ref(v); }

void table_set_version_unref(table_set_version *v) { version_unref(v); }

table_admit table_set_admit(table_set *ts)
{
    int l0 = __atomic_load_n(&ts->l0_files, __ATOMIC_RELAXED);
    if (l0 >= ts->l0_stop)
        return TABLE_ADMIT_STOP;
    return l0 >= ts->l0_slowdown ? TABLE_ADMIT_SLOW : TABLE_ADMIT_OK;
}

int table_set_close(table_set *ts, int clean)
{
    if (ts == NULL)
        return KV_OK;
    int rc = KV_OK;
    /* The closed manifest is one snapshot (level_apply.h,
     * level_apply_manifest_new), if edits followed the last one. */
    if (clean && ts->manifest != NULL && !__atomic_load_n(&ts->manifest_broken, __ATOMIC_ACQUIRE) &&
        (ts->manifest_stale ||
         __atomic_load_n(&ts->manifest_edits, __ATOMIC_RELAXED) != ts->manifest_edits_at_new) &&
        (rc = level_apply_manifest_new(ts, NULL)) != KV_OK)
        kv_error_append(" (kv_close %s: the database is closed, and its manifest holds "
                        "every change; the next open starts a new one)", ts->env.dir->path);
    /* What the current version holds is the database (or, after a failed
     * open, what the manifest names): its release deletes nothing. */
    pthread_mutex_lock(&ts->obsolete_lock);
    ts->closing = 1;
    pthread_mutex_unlock(&ts->obsolete_lock);
    version_unref(ts->current);
    manifest_writer_free(ts->manifest);
    for (int i = 0; i < VERSION_LEVELS; i++)
        free(ts->pointer[i]);
    free(ts->obsolete);
    pthread_mutex_destroy(&ts->obsolete_lock);
    free(ts);
    return rc;
}
