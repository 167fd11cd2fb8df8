/*
 * lsm_put.c: the write calls of kv.h for stage 04: kv_put, kv_delete and
 * kv_write check their arguments, then each becomes one record of the
 * write-ahead log through lsm_write (lsm_write.c).
 */
#include <stdlib.h>

#include "args.h"
#include "error.h"
#include "lsm_db.h"

int kv_put(kv_db *db, const void *key, size_t klen, const void *val, size_t vlen)
{
    int rc;
    if ((rc = args_check_ptr("kv_put", db, "db")) != KV_OK ||
        (rc = args_check_key("kv_put", key, klen)) != KV_OK ||
        (rc = args_check_value("kv_put", val, vlen)) != KV_OK)
        return rc;
    if (db->opt.read_only)
        return kv_error(KV_ERR_INVALID, "kv_put: the database was opened read-only");
    batch_op op = {.key = key, .klen = klen, .val = val ? val : "", .vlen = vlen};
    return lsm_write(db, "kv_put", &op, 1);
}

int kv_delete(kv_db *db, const void *key, size_t klen)
{
    int rc;
    if ((rc = args_check_ptr("kv_delete", db, "db")) != KV_OK ||
        (rc = args_check_key("kv_delete", key, klen)) != KV_OK)
        return rc;
    if (db->opt.read_only)
        return kv_error(KV_ERR_INVALID, "kv_delete: the database was opened read-only");
    batch_op op = {.is_delete = 1, .key = key, .klen = klen};
    return lsm_write(db, "kv_delete", &op, 1);
}

/* A batch is one record: one append, consecutive sequence numbers, made
 * visible by one store of last_seq. */
int kv_write(kv_db *db, const kv_batch *b)
{
    batch_op *ops = NULL;
    size_t n = 0;
    int rc = batch_ops_for_write(db, b, &ops, &n);
    if (rc != KV_OK)
        return rc;
    if (db->opt.read_only)
        rc = kv_error(KV_ERR_INVALID, "kv_write: the database was opened read-only");
    else if (n > 0)
        rc = lsm_write(db, "kv_write", ops, n);
    free(ops);
    return rc;
}
