/*
 * hash_write.h: the write path of the hash stages, how a write reaches the
 * log: a module with its own state (db->writer).
 *
 * This is an interface.  kv_put, kv_delete and kv_write (hash_db.c) check
 * their arguments and call hash_write; stage 02 implements it in
 * hash_write.c (one write() per call under write_lock, no fsync, and
 * counters of what it appended); stage 03 implements it again over its
 * write-ahead log with group commit (stages/03-wal/wal_records/hash_write_wal.c) and
 * reuses the rest of stage 02 unchanged.  docs/02-hash.md says why it is a
 * module of its own.
 */
#ifndef KV_HASH_WRITE_H
#define KV_HASH_WRITE_H

#include <stddef.h>

#include "batch.h"
#include "kv.h"
#include "txn.h"

/* At the end of kv_open (after recovery): sets up db->writer. */
int  hash_write_open(kv_db *db);
/* Writes ops[0..n) as one record, if check (NULL: none) lets it in: check
 * runs where no other write can come between it and the record (a
 * transaction's commit, common/txn.h), and its refusal writes nothing.
 * REQUIRES: n > 0, the database is writable, ops passed the argument checks. */
int  hash_write(kv_db *db, const char *call, const batch_op *ops, size_t n,
                txn_check_fn check, void *ctx);
/* First thing at kv_close (whose status it gives: the database is closed
 * even if it fails); frees db->writer.  NULL writer: a no-op. */
int  hash_write_close(kv_db *db);
/* Lines "name: value\n" that kv_stats adds, as a fresh allocation. */
int  hash_write_stats(kv_db *db, char **text);

#endif
