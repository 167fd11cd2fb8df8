/*
 * lsm_failure.c: what the engine does with a failure (lsm_db.h, D4): a
 * final one (a failed fsync, or a seal or cut that could not be made)
 * refuses every later write until the database is reopened; a failure in
 * the background (a flush, a log's removal, a compaction) is kept and
 * reported once, by the next call that can say it.
 */
#include <stdio.h>

#include "error.h"
#include "lsm_db.h"

void lsm_set_failed(kv_db *db, const char *why)
{
    if (!db->fail.failed)
        snprintf(db->fail.why, sizeof db->fail.why, "%s", why);
    __atomic_store_n(&db->fail.failed, 1, __ATOMIC_RELEASE);
}

int lsm_refuse_if_failed(kv_db *db, const char *call)
{
    if (!__atomic_load_n(&db->fail.failed, __ATOMIC_ACQUIRE))
        return KV_OK;
    return kv_error(KV_ERR_IO, "%s: %s: refused since an earlier failure (%s); reopen the "
                    "database", call, db->dir.path, db->fail.why);
}

void lsm_set_bg_error(kv_db *db, int rc)
{
    if (db->fail.bg_error != KV_OK)
        return; /* the first one is reported */
    db->fail.bg_error = rc;
    snprintf(db->fail.bg_message, sizeof db->fail.bg_message, "%s", kv_errmsg());
}

int lsm_take_bg_error(kv_db *db, const char *call)
{
    int rc = db->fail.bg_error;
    if (rc == KV_OK)
        return KV_OK;
    db->fail.bg_error = KV_OK;
    return kv_error(rc, "%s: %s: in the background: %s (reported once; nothing of this call "
                    "was written)", call, db->dir.path, db->fail.bg_message);
}

