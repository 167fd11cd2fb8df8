/*
 * manifest.c: writing a manifest (manifest.h: manifest_create,
 * manifest_append), the protocol of its header comment step by step.
 */
#include "manifest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "current_file.h"
#include "error.h"
#include "file_start.h"
#include "io.h"
#include "wal_writer.h"

struct manifest_writer {
    io_file *file;
    uint64_t number;
    uint64_t size;       /* where the next record goes */
    int failed;          /* an append or sync failed: no more records */
    int in_doubt;        /* it was the sync: the record may be on disk */
    char failure[300];   /* what failed, for the calls that follow */
};

/* Encodes e and appends it as one record at w->size (no sync). */
static int manifest_write_record(manifest_writer *w, const version_edit *e)
{
    uint8_t *rec;
    size_t len;
    int rc = version_edit_encode(e, &rec, &len);
    if (rc != KV_OK)
        return rc;
    const uint8_t *recs[1] = {rec};
    uint64_t end = 0;
    rc = wal_append(w->file, w->size, recs, &len, 1, &end);
    free(rec);
    if (rc == KV_OK)
        w->size = end;
    return rc;
}

int manifest_append(manifest_writer *w, const version_edit *e)
{
    if (w->failed)
        return kv_error(KV_ERR_IO, "%s: an earlier append failed (%s); no record may follow "
                        "it until the database is reopened", io_path(w->file), w->failure);
    int rc = manifest_write_record(w, e);
    if (rc == KV_ERR_NOMEM)
        return rc; /* nothing was written: the writer is still good */
    if (rc == KV_OK && (rc = io_sync(w->file)) != KV_OK)
        w->in_doubt = 1;
    if (rc != KV_OK) {
        w->failed = 1;
        snprintf(w->failure, sizeof w->failure, "%s", kv_errmsg());
    }
    return rc;
}

int manifest_writer_in_doubt(const manifest_writer *w) { return w->in_doubt; }

uint64_t manifest_writer_bytes(const manifest_writer *w)
{
    return w->size;
}

uint64_t manifest_writer_number(const manifest_writer *w)
{
    return w->number;
}

void manifest_writer_free(manifest_writer *w)
{
    if (w == NULL)
        return;
    io_close(w->file);
    free(w);
}

/* The new file, its header and the snapshot, synced; its name synced. */
static int manifest_create_file(const char *dir, const char *path, manifest_writer *w,
                                const version_edit *snapshot)
{
    int rc = io_open(path, IO_WRITE | IO_CREATE | IO_TRUNC, &w->file);
    if (rc == KV_OK)
        rc = file_start_write(w->file, FILE_MAGIC_MAN06, MANIFEST_VERSION);
    w->size = MANIFEST_START;
    if (rc == KV_OK)
        rc = manifest_write_record(w, snapshot);
    if (rc == KV_OK)
        rc = io_sync(w->file);
    if (rc == KV_OK)
        rc = io_sync_dir(dir);
    return rc;
}

int manifest_create(const char *dir, uint64_t number, const version_edit *snapshot,
                    manifest_writer **out, int *in_doubt)
{
    *out = NULL;
    if (in_doubt != NULL)
        *in_doubt = 0;
    char name[MANIFEST_NAME_MAX];
    manifest_file_name(name, number);
    manifest_writer *w = calloc(1, sizeof *w);
    char *path = io_join(dir, name);
    if (w == NULL || path == NULL) {
        free(w);
        free(path);
        return kv_error(KV_ERR_NOMEM, "creating %s in %s: out of memory", name, dir);
    }
    w->number = number;
    int renamed = 0;
    int rc = manifest_create_file(dir, path, w, snapshot);
    if (rc == KV_OK)
        rc = current_file_write(dir, number, &renamed);
    if (rc != KV_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", kv_errmsg());
        io_close(w->file);
        if (!renamed)
            io_unlink(path); /* best effort: a leftover is garbage at the next open */
        free(w);
        free(path);
        kv_error(rc, "%s", msg);
        kv_error_append(" (creating %s in %s)", name, dir);
        if (in_doubt != NULL)
            *in_doubt = renamed;
        return rc;
    }
    free(path);
    *out = w;
    return KV_OK;
}
