/*
 * lsm_failure.c: how stage 04's engine keeps and reports its failures:
 * `failed` (lsm_db.h, D4), final until the database is reopened, and a
 * background failure (a flush, a log's removal) that the next call
 * reports once.
 */
#include "lsm_db.h"

#include <stdio.h>

#include "error.h"

void lsm_set_failed(kv_db *db, const char *why)
{
    if (!db->failed)
        snprintf(db->failure, sizeof db->failure, "%s", why);
    __atomic_store_n(&db->failed, 1, __ATOMIC_RELEASE);
}

int lsm_refuse_if_failed(kv_db *db, const char *call)
{
    if (!__atomic_load_n(&db->failed, __ATOMIC_ACQUIRE))
        return KV_OK;
    return kv_error(KV_ERR_IO, "%s: %s: refused since an earlier failure (%s); reopen the "
                    "database", call, db->dir.path, db->failure);
}

void lsm_set_bg_error(kv_db *db, int rc)
{
    if (db->bg_error != KV_OK)
        return; /* the first one is reported */
    db->bg_error = rc;
    snprintf(db->bg_message, sizeof db->bg_message, "%s", kv_errmsg());
}

int lsm_take_bg_error(kv_db *db, const char *call)
{
    int rc = db->bg_error;
    if (rc == KV_OK)
        return KV_OK;
    db->bg_error = KV_OK;
    return kv_error(rc, "%s: %s: in the background: %s (reported once; nothing of this call "
                    "was written)", call, db->dir.path, db->bg_message);
}
