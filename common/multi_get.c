/*
 * multi_get.c: kv_multi_get (kv.h) as a loop of kv_get, for every stage.
 *
 * This is the lookup of many keys for a stage that has nothing better: one
 * kv_get after another, each its own read of the database, which is all
 * kv.h promises (no one moment for all the keys).  A stage whose tables
 * are read in blocks gains by finding the blocks all the keys need first
 * and reading the missing ones in one submission (io_read_batch, io.h);
 * this loop is the baseline it is measured against (bench/multiget.c,
 * docs/io.md).
 *
 * Like common/txn*.c, it is written over kv.h's calls, which each stage
 * provides, so it is linked into every libkv.a and not into common_test.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "error.h"
#include "kv.h"

/* The checks made before any lookup (kv.h); KV_OK or KV_ERR_INVALID. */
static int multi_get_check(kv_db *db, size_t n, const void *const keys[], const size_t klens[],
                           void *vals[], size_t vlens[], int rcs[])
{
    int rc;
    if ((rc = args_check_ptr("kv_multi_get", db, "db")) != KV_OK || n == 0)
        return rc;
    if ((rc = args_check_ptr("kv_multi_get", keys, "keys")) != KV_OK ||
        (rc = args_check_ptr("kv_multi_get", klens, "klens")) != KV_OK ||
        (rc = args_check_ptr("kv_multi_get", vals, "vals")) != KV_OK ||
        (rc = args_check_ptr("kv_multi_get", vlens, "vlens")) != KV_OK ||
        (rc = args_check_ptr("kv_multi_get", rcs, "rcs")) != KV_OK)
        return rc;
    if (n > KV_MAX_BATCH_OPS)
        return kv_error(KV_ERR_INVALID, "kv_multi_get: %zu keys (the limit is %u)", n,
                        KV_MAX_BATCH_OPS);
    for (size_t i = 0; i < n; i++) {
        char call[48];
        snprintf(call, sizeof call, "kv_multi_get: keys[%zu]", i);
        if ((rc = args_check_key(call, keys[i], klens[i])) != KV_OK)
            return rc;
    }
    return KV_OK;
}

int kv_multi_get(kv_db *db, size_t n, const void *const keys[], const size_t klens[],
                 void *vals[], size_t vlens[], int rcs[])
{
    int rc = multi_get_check(db, n, keys, klens, vals, vlens, rcs);
    if (rc != KV_OK)
        return rc;
    int first = KV_OK;
    char first_msg[1024] = "";
    for (size_t i = 0; i < n; i++) {
        rcs[i] = kv_get(db, keys[i], klens[i], &vals[i], &vlens[i]);
        if (rcs[i] == KV_OK)
            continue;
        vals[i] = NULL;
        vlens[i] = 0;
        if (rcs[i] != KV_NOT_FOUND && first == KV_OK) {
            first = rcs[i];
            snprintf(first_msg, sizeof first_msg, "%s", kv_errmsg());
        }
    }
    /* A later failure replaced the first one's message: put it back. */
    return first == KV_OK ? KV_OK : kv_error(first, "%s", first_msg);
}
