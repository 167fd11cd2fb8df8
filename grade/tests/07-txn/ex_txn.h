/*
 * ex_txn.h: what the tests of stage 07's exercises share: a database with
 * small memtables (so that a few hundred writes flush), transactions begun
 * and committed with the outcome a rule asks for, a scan inside a
 * transaction, and the tables a directory holds.
 */
#ifndef KV_GRADE_EX_TXN_H
#define KV_GRADE_EX_TXN_H

#include <stdint.h>

#include "kv.h"

/* A fresh database in the test's directory, memtables of 4 KiB. */
kv_db *ex_txn_open(void);
kv_txn *ex_begin(kv_db *db, int isolation);
void ex_txn_put(kv_txn *t, const char *k, const char *v);
/* Commits t and checks that it returned want (KV_OK or KV_ERR_CONFLICT),
 * for the reason `rule` gives. */
void ex_commit(kv_txn *t, int want, const char *rule);
/* n writes of keys "zz-other%05d" (after every key the tests use), values
 * long enough that they fill memtables. */
void ex_fill_others(kv_db *db, int n);
void ex_delete(kv_db *db, const char *k);
/* Reads with the transaction's iterator from `from` (NULL: the first key)
 * up to and including the first key >= `to` (NULL: to the end). */
void ex_txn_scan(kv_txn *t, const char *from, const char *to);
/* The number of .tbl files in dir: the tables a compaction left. */
int ex_table_files(const char *dir);
/* kv_compact, then the .tbl files of dir counted, and db's tables
 * (tables.count) in *tables; again, at most 3 times, while they differ.
 * kv_compact returns once the background thread has done its request,
 * after the job it was doing, and removed the files no version holds any
 * more: a table a background job was writing as they were counted is in
 * both the next time, while one a reader still holds (an iterator never
 * freed) stays a file for ever.  Bounded by compactions, not by time.
 * Returns the files counted last. */
int ex_table_files_settled(kv_db *db, const char *dir, uint64_t *tables);

#endif
