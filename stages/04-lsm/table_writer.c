/*
 * table_writer.c: a table file written through a buffer (table_writer.h).
 */
#include "table_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kv.h"

int table_writer_open(table_writer *w, const char *path)
{
    memset(w, 0, sizeof *w);
    w->buf = malloc(TABLE_WRITER_BUFFER);
    w->path = strdup(path);
    if (w->buf == NULL || w->path == NULL) {
        free(w->buf);
        free(w->path);
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a table builder", path);
    }
    int rc = io_open(path, IO_WRITE | IO_CREATE | IO_TRUNC, &w->file);
    if (rc != KV_OK) {
        w->file = NULL; /* the open may have created the file: remove it */
        table_writer_abandon(w);
    }
    return rc;
}

int table_writer_fail(table_writer *w, int rc)
{
    w->failed = rc;
    snprintf(w->failure, sizeof w->failure, "%s", kv_errmsg());
    return rc;
}

int table_writer_check(const table_writer *w)
{
    if (w->failed == KV_OK)
        return KV_OK;
    return kv_error(w->failed, "table builder failed earlier: %s", w->failure);
}

/* Appends the buffer to the file. */
static int table_writer_flush(table_writer *w)
{
    if (w->failed)
        return w->failed;
    if (w->buf_len == 0)
        return KV_OK;
    int rc = io_append_bytes(w->file, w->buf, w->buf_len);
    if (rc != KV_OK)
        return table_writer_fail(w, rc);
    w->written += w->buf_len;
    w->buf_len = 0;
    return KV_OK;
}

int table_writer_write(table_writer *w, const void *p, size_t n)
{
    if (w->failed)
        return w->failed;
    if (n > TABLE_WRITER_BUFFER - w->buf_len) {
        int rc = table_writer_flush(w);
        if (rc != KV_OK)
            return rc;
        if (n >= TABLE_WRITER_BUFFER) {
            if ((rc = io_append_bytes(w->file, p, n)) != KV_OK)
                return table_writer_fail(w, rc);
            w->written += n;
            return KV_OK;
        }
    }
    if (n > 0)
        memcpy(w->buf + w->buf_len, p, n);
    w->buf_len += n;
    return KV_OK;
}

uint8_t *table_writer_reserve(table_writer *w, size_t n)
{
    if (n > TABLE_WRITER_BUFFER - w->buf_len && table_writer_flush(w) != KV_OK)
        return NULL;
    return w->failed ? NULL : w->buf + w->buf_len;
}

static void table_writer_free(table_writer *w)
{
    free(w->buf);
    free(w->path);
    w->buf = NULL;
    w->path = NULL;
}

int table_writer_finish(table_writer *w)
{
    int rc = table_writer_flush(w);
    if (rc == KV_OK)
        rc = io_sync(w->file);
    if (rc == KV_OK) {
        rc = io_close(w->file);
        w->file = NULL;
    }
    if (rc != KV_OK)
        return table_writer_fail(w, rc);
    table_writer_free(w);
    return KV_OK;
}

void table_writer_abandon(table_writer *w)
{
    /* Abandoning follows a failure whose message the caller will report:
     * a failure of the clean-up itself must not replace it. */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", kv_errmsg());
    io_close(w->file);
    w->file = NULL;
    if (w->path != NULL)
        io_unlink(w->path);
    kv_error(KV_OK, "%s", saved);
    table_writer_free(w);
}
