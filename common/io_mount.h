/*
 * io_mount.h: which I/O backend serves the files of each open database.
 *
 * A database chooses its backend when it opens: kv_options.io, or the
 * environment variable KV_IO (auto, posix or uring), which replaces it
 * when set, so that a test run or a deployment can force one without
 * rebuilding anything:
 *   KV_IO_AUTO   io_uring if it works in this process (io_ring_usable),
 *                else the POSIX calls, and the database says why;
 *   KV_IO_POSIX  the POSIX calls;
 *   KV_IO_URING  io_uring, or kv_open fails with the kernel's refusal.
 * The engine opens its files by path (io_open) and knows nothing of this,
 * so the I/O layer keeps a table, as a system keeps one of its mounted file
 * systems: each open database's directory with its backend.  The table in
 * place at start, io_default_ops (io.h), opens a file with the backend of
 * the database whose directory holds its path (the longest such directory),
 * and a file in none (the offline tools, tests of the I/O layer) with the
 * process's choice: KV_IO's if set, else auto.  Calls that name a path, not
 * an open file (rename, unlink, mkdir, exists, list, lock, a directory's
 * sync), are POSIX's whatever the choice.
 *
 * db_dir.c makes the choice at the start of kv_open (so a bad KV_IO, or
 * io_uring asked for and refused, fails before the directory is touched),
 * puts it in force once the directory's lock is held, and takes it out in
 * kv_close; a stage only prints it, in kv_stats (db_dir_stats, db_dir.h).
 *
 * Invariants:
 *   M1. A mount's backend is chosen once and never changes.  What it says
 *       (io_mount_describe) can: a database that opened with io_uring says
 *       "posix (fallback: ...)" once the kernel has refused io_uring to the
 *       process (io_ring.h, R3), since its batches are read with pread
 *       from then on.
 *   M2. A file keeps the backend it was opened with: a mount that goes
 *       away changes no open file.
 *   M3. One mutex guards the table, held for a lookup or a link only.
 */
#ifndef KV_COMMON_IO_MOUNT_H
#define KV_COMMON_IO_MOUNT_H

#include <stddef.h>

#include "io.h"

typedef struct io_mount io_mount;

/* The backend for the database at dir.  asked is kv_options.io (KV_IO_*);
 * env is the value of KV_IO, or NULL when it is unset (db_dir.c passes
 * getenv("KV_IO"); tests pass their own).  KV_OK with *m, not yet in
 * force; KV_ERR_INVALID if asked or env is no known value; KV_ERR_IO if
 * io_uring was asked for and the kernel refuses it (kv_errmsg() says what
 * it said); KV_ERR_NOMEM. */
int  io_mount_new(const char *dir, int asked, const char *env, io_mount **m);
/* Puts m in force: files opened under its directory from now on use its
 * backend. */
void io_mount_attach(io_mount *m);
/* Takes m out of force if it was, and frees it.  NULL is a no-op. */
void io_mount_free(io_mount *m);

/* What the database opened with, as kv_stats prints it after
 * "io.backend: ": "uring", or "posix (REASON)", REASON being "asked:
 * kv_options.io", "asked: KV_IO=posix" or "fallback: " and the refusal
 * ("fallback: io_uring_setup: Operation not permitted"). */
void io_mount_describe(const io_mount *m, char *buf, size_t n);
/* The same for the database in force at dir (as it was given to kv_open):
 * 1, or 0 (buf untouched) if no open database is there. */
int  io_mount_describe_dir(const char *dir, char *buf, size_t n);

/* io_default_ops' open: with the backend of the mount that holds path. */
int  io_mount_open(const char *path, int flags, io_file **f);

#endif
