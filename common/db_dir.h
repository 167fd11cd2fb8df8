/*
 * db_dir.h: the directory that holds a database, and its lock.
 *
 * db_dir_open checks the options, creates the directory when allowed,
 * takes the lock file DIR/LOCK (exclusively for a writer, shared for a
 * read-only open), then checks, or for a new database writes, the
 * directory's IDENTITY (db_identity.h), so that a stage only ever opens
 * its own databases.  While the lock is held, any other kv_open of the
 * directory (in this process or another) fails with KV_ERR_BUSY.  The lock
 * is released by db_dir_close, or by the operating system when the process
 * dies, so a crashed process never leaves a database locked.
 *
 * It also chooses the I/O backend the database's files use (kv_options.io,
 * or KV_IO: io_mount.h), before it touches the directory, and puts it in
 * force once the lock is held; db_dir_stats prints the choice.
 */
#ifndef KV_COMMON_DB_DIR_H
#define KV_COMMON_DB_DIR_H

#include <stdint.h>

#include "io.h"
#include "io_mount.h"
#include "kv.h"
#include "stats_text.h"

#define DB_LOCK_FILE "LOCK"

typedef struct db_dir {
    char *path;     /* the directory, as given */
    io_lock *lock;
    int created;    /* 1 if this open created the directory */
    io_mount *io;   /* the I/O backend of its files */
} db_dir;

/* `stage` and `format` are what the calling stage writes (kv_stage() and
 * its format version).  REQUIRES: opt is not NULL (the caller applies
 * defaults). */
int  db_dir_open(const char *path, const kv_options *opt, const char *stage,
                 uint32_t format, db_dir *d);
void db_dir_close(db_dir *d);

/* kv_stats' line for the I/O backend the database opened with:
 * "io.backend: uring", or "io.backend: posix (REASON)" (io_mount.h), for
 * every stage to print. */
void db_dir_stats(const db_dir *d, stats_text *s);

/* "DIR/name", or NULL with kv_errmsg set. */
char *db_dir_file(const db_dir *d, const char *name);

#endif
