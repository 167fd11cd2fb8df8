/*
 * offline.c: what every stage's kv_check, kv_dump and kv_repair share
 * (offline.h).
 */
#include "offline.h"

#include <string.h>

#include "args.h"
#include "error.h"
#include "io.h"

int offline_dir_check(const char *call, const char *dir)
{
    int rc = args_check_ptr(call, dir, "directory");
    int exists = 0;
    if (rc == KV_OK && (rc = io_exists(dir, &exists)) == KV_OK && !exists)
        rc = kv_error(KV_ERR_INVALID, "%s: %s does not exist", call, dir);
    return rc;
}

int offline_worse(int a, int b)
{
    if (a < 0 && a != KV_ERR_CORRUPT)
        return a;
    if (b < 0 && b != KV_ERR_CORRUPT)
        return b;
    if (a == KV_ERR_CORRUPT || b == KV_ERR_CORRUPT)
        return KV_ERR_CORRUPT;
    return a != KV_OK ? a : b;
}

const char *offline_verdict(int status)
{
    return status == KV_OK                ? "ok"
           : status == KV_CHECK_WILL_CUT ? "kv_open will cut a torn tail"
                                          : "DAMAGED";
}

int offline_finish(const char *dir, int status)
{
    if (status == KV_ERR_CORRUPT)
        kv_error(KV_ERR_CORRUPT, "%s: damage found (kv check lists it)", dir);
    return status;
}

int offline_is_lost_dir(const char *name)
{
    return strcmp(name, OFFLINE_LOST_DIR) == 0;
}
