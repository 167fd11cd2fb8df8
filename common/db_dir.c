/*
 * db_dir.c: opening and locking a database directory (see db_dir.h).
 */
#include "db_dir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_identity.h"
#include "error.h"

/* The new directory's name lives in its parent: sync the parent, or a power
 * loss can take the whole database away with it. */
static int db_dir_sync_parent(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    while (len > 0 && path[len - 1] != '/')
        len--;
    if (len == 0)
        return io_sync_dir(".");
    while (len > 1 && path[len - 1] == '/')
        len--;
    char *parent = strndup(path, len);
    if (parent == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", path);
    int rc = io_sync_dir(parent);
    free(parent);
    return rc;
}

/* The directory made if it may be and is not there (d->created). */
static int db_dir_make(const char *path, const kv_options *opt, db_dir *d)
{
    int exists = 0;
    int rc = io_exists(path, &exists);
    if (rc != KV_OK || exists)
        return rc;
    if (!opt->create_if_missing || opt->read_only)
        return kv_error(KV_ERR_INVALID, "kv_open: %s does not exist (%s)", path,
                        opt->read_only ? "read_only is set" : "create_if_missing is 0");
    if ((rc = io_mkdir(path)) != KV_OK || (rc = db_dir_sync_parent(path)) != KV_OK)
        return rc;
    d->created = 1;
    return KV_OK;
}

int db_dir_open(const char *path, const kv_options *opt, const char *stage,
                uint32_t format, db_dir *d)
{
    memset(d, 0, sizeof *d);
    if (path == NULL || path[0] == '\0')
        return kv_error(KV_ERR_INVALID, "kv_open: directory name is %s",
                        path == NULL ? "NULL" : "empty");
    /* The backend is chosen first: a choice that cannot be made touches
     * nothing. */
    int rc = io_mount_new(path, opt->io, getenv("KV_IO"), &d->io);
    if (rc == KV_OK)
        rc = db_dir_make(path, opt, d);
    if (rc == KV_OK && (d->path = strdup(path)) == NULL)
        rc = kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", path);
    if (rc != KV_OK) {
        db_dir_close(d);
        return rc;
    }
    char *lock_path = db_dir_file(d, DB_LOCK_FILE);
    if (lock_path == NULL) {
        db_dir_close(d);
        return KV_ERR_NOMEM;
    }
    int had_lock = 1;
    if ((rc = io_exists(lock_path, &had_lock)) == KV_OK)
        rc = io_lock_acquire(lock_path, !opt->read_only, &d->lock);
    if (rc != KV_OK) {
        d->lock = NULL;
    } else {
        /* The database is this opener's now: its files get its backend. */
        io_mount_attach(d->io);
        rc = db_identity_open(path, stage, format, opt);
    }
    /* A directory refused (not a database, another stage's) is left as it
     * was found: the LOCK this call made goes again, removed while still
     * held so that no other opener can be holding it. */
    if (rc != KV_OK && d->lock != NULL && !had_lock)
        io_unlink(lock_path);
    free(lock_path);
    if (rc != KV_OK)
        db_dir_close(d);
    return rc;
}

void db_dir_close(db_dir *d)
{
    io_mount_free(d->io);
    d->io = NULL;
    io_lock_release(d->lock);
    d->lock = NULL;
    free(d->path);
    d->path = NULL;
}

void db_dir_stats(const db_dir *d, stats_text *s)
{
    char line[300];
    if (d->io != NULL)
        io_mount_describe(d->io, line, sizeof line);
    else
        snprintf(line, sizeof line, "(not open)");
    stats_text_add(s, "io.backend: %s", line);
}

char *db_dir_file(const db_dir *d, const char *name) { return io_join(d->path, name); }
