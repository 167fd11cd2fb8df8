/*
 * multi_get_loop.c: kv_multi_get (kv.h) as a loop of kv_get, for the
 * stages that have nothing better (01 to 03).
 *
 * This is the lookup of many keys for a stage whose reads cannot be put
 * together: one kv_get after another, each its own read of the database,
 * which is all kv.h promises (no one moment for all the keys).  From
 * stage 04 on the engine looks the keys up together (stage 04's
 * lsm_multi_get.c), and from stage 05 on it reads the blocks they need in
 * one submission (docs/io.md).  Written over kv.h's calls alone.
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "error.h"
#include "kv.h"

int kv_multi_get(kv_db *db, size_t n, const void *const keys[], const size_t klens[],
                 void *vals[], size_t vlens[], int rcs[])
{
    int rc = args_check_multi_get(db, n, keys, klens, vals, vlens, rcs);
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
