/*
 * args.c: argument checks shared by every stage (see args.h).
 */
#include "args.h"

#include <stdio.h>

#include "error.h"
#include "kv.h"

int args_check_key(const char *call, const void *key, size_t klen)
{
    if (klen == 0)
        return kv_error(KV_ERR_INVALID, "%s: key is empty (keys are 1 to %u bytes)",
                        call, KV_MAX_KEY);
    if (klen > KV_MAX_KEY)
        return kv_error(KV_ERR_INVALID, "%s: key is %zu bytes (the limit is %u)",
                        call, klen, KV_MAX_KEY);
    if (key == NULL)
        return kv_error(KV_ERR_INVALID, "%s: key is NULL", call);
    return KV_OK;
}

int args_check_value(const char *call, const void *val, size_t vlen)
{
    if (vlen > KV_MAX_VALUE)
        return kv_error(KV_ERR_INVALID, "%s: value is %zu bytes (the limit is %u)",
                        call, vlen, KV_MAX_VALUE);
    if (val == NULL && vlen > 0)
        return kv_error(KV_ERR_INVALID, "%s: value is NULL with length %zu", call, vlen);
    return KV_OK;
}

int args_check_ptr(const char *call, const void *p, const char *what)
{
    if (p == NULL)
        return kv_error(KV_ERR_INVALID, "%s: %s is NULL", call, what);
    return KV_OK;
}

static int args_check_read(const char *call, const void *db, const void *key, size_t klen,
                           void **val, size_t *vlen)
{
    int rc;
    if ((rc = args_check_ptr(call, db, "db")) != KV_OK ||
        (rc = args_check_key(call, key, klen)) != KV_OK ||
        (rc = args_check_ptr(call, val, "value pointer")) != KV_OK ||
        (rc = args_check_ptr(call, vlen, "value length pointer")) != KV_OK)
        return rc;
    *val = NULL;
    *vlen = 0;
    return KV_OK;
}

int args_check_get(const void *db, const void *key, size_t klen, void **val, size_t *vlen)
{
    return args_check_read("kv_get", db, key, klen, val, vlen);
}

int args_check_get_at(const void *db, const void *snap, const void *key, size_t klen,
                      void **val, size_t *vlen)
{
    int rc;
    if ((rc = args_check_ptr("kv_get_at", db, "db")) != KV_OK ||
        (rc = args_check_ptr("kv_get_at", snap, "snapshot")) != KV_OK)
        return rc;
    return args_check_read("kv_get_at", db, key, klen, val, vlen);
}

int args_open_options(kv_db **out, const kv_options *opt_in, kv_options *opt)
{
    if (out == NULL)
        return kv_error(KV_ERR_INVALID, "kv_open: db pointer is NULL");
    *out = NULL;
    if (opt_in)
        *opt = *opt_in;
    else
        kv_options_init(opt);
    return KV_OK;
}

int args_check_multi_get(const void *db, size_t n, const void *const keys[],
                         const size_t klens[], void *vals[], size_t vlens[], int rcs[])
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
        if (keys[i] != NULL && klens[i] > 0 && klens[i] <= KV_MAX_KEY)
            continue; /* the message is made only for a bad key */
        char call[48];
        snprintf(call, sizeof call, "kv_multi_get: keys[%zu]", i);
        return args_check_key(call, keys[i], klens[i]);
    }
    return KV_OK;
}
