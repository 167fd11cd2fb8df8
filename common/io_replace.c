/*
 * io_replace.c: a small file replaced whole, so that a crash leaves the
 * old bytes or the new ones, never a mix (io.h's io_replace).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "io.h"
#include "kv.h"

static int replace(const char *dir, const char *name, const void *bytes, size_t len,
                   int *renamed, int private_file)
{
    int moved = 0;
    char *path = io_join(dir, name);
    size_t tlen = path != NULL ? strlen(path) + 5 : 0;
    char *tmp = path != NULL ? malloc(tlen) : NULL;
    int rc = tmp != NULL ? KV_OK : kv_error(KV_ERR_NOMEM, "%s/%s: out of memory", dir, name);
    if (rc == KV_OK)
        snprintf(tmp, tlen, "%s.tmp", path);
    io_file *f = NULL;
    if (rc == KV_OK && private_file) {
        int exists = 0; /* a .tmp left by a crash keeps its mode: gone first */
        if ((rc = io_exists(tmp, &exists)) == KV_OK && exists)
            rc = io_unlink(tmp);
        if (rc == KV_OK)
            rc = io_open(tmp, IO_WRITE | IO_CREATE | IO_EXCL | IO_PRIVATE, &f);
    } else if (rc == KV_OK) {
        rc = io_open(tmp, IO_WRITE | IO_CREATE | IO_TRUNC, &f);
    }
    if (rc == KV_OK && (rc = io_append_bytes(f, bytes, len)) == KV_OK)
        rc = io_sync(f);
    int crc = io_close(f);
    if (rc == KV_OK)
        rc = crc;
    if (rc == KV_OK && (rc = io_rename(tmp, path)) == KV_OK) {
        moved = 1;
        rc = io_sync_dir(dir); /* the commit point */
    }
    if (rc != KV_OK && !moved && tmp != NULL) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", kv_errmsg());
        io_unlink(tmp); /* best effort: a leftover .tmp is garbage */
        kv_error(rc, "%s", msg);
    }
    if (renamed != NULL)
        *renamed = moved;
    free(tmp);
    free(path);
    return rc;
}

int io_replace(const char *dir, const char *name, const void *bytes, size_t len, int *renamed)
{
    return replace(dir, name, bytes, len, renamed, 0);
}

int io_replace_private(const char *dir, const char *name, const void *bytes, size_t len,
                       int *renamed)
{
    return replace(dir, name, bytes, len, renamed, 1);
}
