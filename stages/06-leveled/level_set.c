/*
 * level_set.c: the rest of stage 06's table set (level_set.h): making one
 * from the options, handing out its current version, closing and freeing
 * it.  Opening it is level_recover.c's work.
 */
#include "level_set.h"

#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "version_set.h"

unsigned table_set_format(void) { return LEVEL_DB_FORMAT; }

int level_set_new(kv_db *db, table_set **out)
{
    table_set *ts = calloc(1, sizeof *ts);
    *out = ts;
    if (ts == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", db->dir.path);
    ts->db = db;
    const kv_options *opt = &db->opt;
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

table_set_version *table_set_current(table_set *ts)
{
    version_ref(ts->current);
    return ts->current;
}

void table_set_version_unref(table_set_version *v) { version_unref(v); }

int table_set_close(table_set *ts, int clean)
{
    /* The files this session made obsolete go now: table_set_free
     * deletes nothing (its release of the version would list them all). */
    version_set_delete_obsolete(ts);
    /* The closed manifest is one snapshot (version_set.h,
     * version_set_manifest_new). */
    if (!clean || ts->manifest == NULL ||
        __atomic_load_n(&ts->manifest_broken, __ATOMIC_ACQUIRE) ||
        (!ts->manifest_stale &&
         __atomic_load_n(&ts->manifest_edits, __ATOMIC_RELAXED) == ts->manifest_edits_at_new))
        return KV_OK;
    int rc = version_set_manifest_new(ts, NULL);
    if (rc != KV_OK)
        kv_error_append(" (kv_close %s: the database is closed, and its manifest holds "
                        "every change; the next open starts a new one)", ts->db->dir.path);
    return rc;
}

void table_set_free(table_set *ts)
{
    if (ts == NULL)
        return;
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
}
