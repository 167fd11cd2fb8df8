/*
 * table_writer.c: a table file written through a buffer (table_writer.h).
 */
#include "table_writer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "file_header.h"
#include "kv.h"

int table_writer_open(table_writer *w, const char *path, const char *magic, uint32_t version)
{
    memset(w, 0, sizeof *w);
    w->buf = malloc(TABLE_WRITER_FIRST);
    w->buf_cap = TABLE_WRITER_FIRST;
    w->path = strdup(path);
    if (w->buf == NULL || w->path == NULL) {
        free(w->buf);
        free(w->path);
        memset(w, 0, sizeof *w);
        return kv_error(KV_ERR_NOMEM, "%s: cannot allocate a table builder", path);
    }
    int rc = io_open(path, IO_WRITE | IO_CREATE | IO_TRUNC, &w->file);
    if (rc != KV_OK) {
        w->file = NULL; /* the open may have created the file: remove it */
        table_writer_abandon(w);
        return rc;
    }
    file_header_encode(w->buf, magic, version);
    w->buf_len = FILE_HEADER_SIZE;
    return KV_OK;
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

int table_writer_check_entry(table_writer *w, const uint8_t *ikey, size_t len,
                             size_t value_len, ikey_parsed *k)
{
    int rc = table_writer_check(w);
    if (rc != KV_OK)
        return rc;
    if (len > KV_MAX_KEY + IKEY_TRAILER_SIZE || !ikey_decode(ikey, ikey + len, k))
        return kv_error(KV_ERR_INVALID, "%s: entry %" PRIu64 ": not an internal key with a "
                        "user key of 1..%u bytes", w->path, w->entries, KV_MAX_KEY);
    if (value_len > KV_MAX_VALUE)
        return kv_error(KV_ERR_INVALID, "%s: entry %" PRIu64 ": a value of %zu bytes",
                        w->path, w->entries, value_len);
    if (w->entries > 0 && ikey_compare(w->last, w->last_len, ikey, len) >= 0)
        return kv_error(KV_ERR_INVALID, "%s: entry %" PRIu64 ": keys out of order (not above "
                        "the previous one)", w->path, w->entries);
    return KV_OK;
}

/* A copy of key in *dst, grown to *cap bytes if needed. */
static int table_writer_keep(table_writer *w, uint8_t **dst, size_t *cap, const uint8_t *key,
                             size_t len)
{
    if (len > *cap) {
        uint8_t *grown = realloc(*dst, len);
        if (grown == NULL)
            return table_writer_fail(w, kv_error(KV_ERR_NOMEM, "%s: cannot allocate %zu bytes "
                                                 "for a key", w->path, len));
        *dst = grown;
        *cap = len;
    }
    memcpy(*dst, key, len);
    return KV_OK;
}

int table_writer_added(table_writer *w, const uint8_t *ikey, size_t len, ikey_type type)
{
    size_t first_cap = w->first_len;
    if (table_writer_keep(w, &w->last, &w->last_cap, ikey, len) != KV_OK ||
        (w->entries == 0 && table_writer_keep(w, &w->first, &first_cap, ikey, len) != KV_OK))
        return KV_ERR_NOMEM;
    w->last_len = len;
    if (w->entries == 0)
        w->first_len = len;
    w->entries++;
    w->deletes += type == IKEY_DELETE;
    return KV_OK;
}

/* Room for n more bytes in the buffer, if the buffer may grow to hold
 * them (doubled until it does, up to TABLE_WRITER_BUFFER); a failed
 * realloc leaves it as it was, for a flush to make the room. */
static void table_writer_grow(table_writer *w, size_t n)
{
    if (n <= w->buf_cap - w->buf_len || n > TABLE_WRITER_BUFFER - w->buf_len)
        return;
    size_t cap = w->buf_cap;
    while (cap - w->buf_len < n)
        cap *= 2; /* TABLE_WRITER_FIRST times a power of two: never past the limit */
    uint8_t *grown = realloc(w->buf, cap);
    if (grown != NULL) {
        w->buf = grown;
        w->buf_cap = cap;
    }
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
    table_writer_grow(w, n);
    if (n > w->buf_cap - w->buf_len) {
        int rc = table_writer_flush(w);
        if (rc != KV_OK)
            return rc;
        table_writer_grow(w, n);
        if (n >= w->buf_cap) {
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
    table_writer_grow(w, n);
    if (n > w->buf_cap - w->buf_len && table_writer_flush(w) != KV_OK)
        return NULL;
    table_writer_grow(w, n);
    if (!w->failed && n > w->buf_cap - w->buf_len)
        table_writer_fail(w, kv_error(KV_ERR_NOMEM, "%s: cannot allocate %zu bytes of a table "
                                      "builder's buffer", w->path, n));
    return w->failed ? NULL : w->buf + w->buf_len;
}

static void table_writer_free(table_writer *w)
{
    free(w->buf);
    free(w->path);
    free(w->first);
    free(w->last);
    w->buf = w->first = w->last = NULL;
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
