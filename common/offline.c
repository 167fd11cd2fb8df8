/*
 * offline.c: what every stage's kv_check, kv_dump and kv_repair share
 * (offline.h).
 */
#include "offline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error.h"
#include "file_bytes.h"
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

void offline_status_add(offline_status *s, int rc)
{
    int was = s->rc;
    s->rc = offline_worse(s->rc, rc);
    if (s->rc != was && s->rc < 0 && s->rc != KV_ERR_CORRUPT)
        snprintf(s->why, sizeof s->why, "%s", kv_errmsg());
}

int offline_status_end(const char *dir, const offline_status *s)
{
    if (s->rc < 0 && s->rc != KV_ERR_CORRUPT)
        return kv_error(s->rc, "%s", s->why);
    return dir != NULL ? offline_finish(dir, s->rc) : s->rc;
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

/* "lost/NAME", or "lost/NAME.K" for the first K >= 1 not taken. */
static int offline_lost_name(const char *dir, const char *name, char *out, size_t cap)
{
    for (unsigned k = 0; k < 1000; k++) {
        if (k == 0)
            snprintf(out, cap, "%s/%s", OFFLINE_LOST_DIR, name);
        else
            snprintf(out, cap, "%s/%s.%u", OFFLINE_LOST_DIR, name, k);
        char *path = io_join(dir, out);
        int exists = 1;
        int rc = path ? io_exists(path, &exists) : KV_ERR_NOMEM;
        free(path);
        if (rc != KV_OK || !exists)
            return rc;
    }
    return kv_error(KV_ERR_INVALID, "kv_repair %s: %s/ already holds a thousand copies of %s",
                    dir, OFFLINE_LOST_DIR, name);
}

int offline_set_aside(const char *dir, const char *name, char *kept_as, size_t cap)
{
    char *lost_dir = io_join(dir, OFFLINE_LOST_DIR);
    char *from = io_join(dir, name), *to = NULL;
    int rc = lost_dir && from ? io_mkdir(lost_dir) : KV_ERR_NOMEM;
    if (rc == KV_OK && (rc = offline_lost_name(dir, name, kept_as, cap)) == KV_OK)
        rc = (to = io_join(dir, kept_as)) ? KV_OK : KV_ERR_NOMEM;
    file_bytes in;
    io_file *out = NULL;
    int opened = rc == KV_OK;
    if (opened)
        rc = file_bytes_open(from, &in);
    if (rc == KV_OK && (rc = io_open(to, IO_WRITE | IO_CREATE | IO_TRUNC, &out)) == KV_OK &&
        (in.n == 0 || (rc = io_append_bytes(out, in.p, (size_t)in.n)) == KV_OK))
        rc = io_sync(out);
    int crc = io_close(out);
    rc = rc == KV_OK ? crc : rc;
    if (opened)
        file_bytes_close(&in);
    if (rc == KV_OK && (rc = io_sync_dir(lost_dir)) == KV_OK)
        rc = io_sync_dir(dir);
    free(lost_dir);
    free(from);
    free(to);
    return rc;
}
