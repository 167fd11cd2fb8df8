/*
 * ex_replica.h: what stage 10's exercise tests read back from a replica's
 * engine, and the replicas and snapshots they set up (ex_replica.c).
 * Touches no exercise function: replica_open, replica_db, replica_close
 * and kv.h only; snapshots are encoded here, byte by byte, from the
 * format's table (snapshot_format.h).
 */
#ifndef KV_EX_REPLICA_H
#define KV_EX_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#include "replica.h"

/* The value of key in r's live engine, or "-" if it is absent, in a
 * static buffer (up to 255 bytes). */
const char *ex_replica_value(replica *r, const char *key);
/* Fails the test, saying `rule`, unless key holds want ("-": absent). */
void ex_replica_expect(replica *r, const char *key, const char *want, const char *rule);

/* replica_open(dir, NULL) (ex_replica_open_opt: opt) and replica_close,
 * failing the test if either fails. */
replica *ex_replica_open(const char *dir);
replica *ex_replica_open_opt(const char *dir, const kv_options *opt);
void ex_replica_close(replica *r);
/* A replica in dir at `index` holding "k=v ..." (written through kv.h,
 * the applied key with them), reopened so that it reads its index. */
replica *ex_replica_at(const char *dir, uint64_t index, const char *pairs);

/* A snapshot at index of the records "k=v ..." as they are given (the
 * format wants them in key order); malloc'd, *len its length. */
uint8_t *ex_snapshot(uint64_t index, const char *pairs, size_t *len);
/* A snapshot at index of n records "k00000".."k<n-1>", each of an 8-byte
 * value of 'v'; malloc'd, *len its length. */
uint8_t *ex_snapshot_keys(uint64_t index, int n, size_t *len);
/* Finishes a snapshot whose records are p[SNAPSHOT_HEADER, end): header
 * (index, count) and checksum; returns its length, end + 4. */
size_t ex_snapshot_seal(uint8_t *p, size_t end, uint64_t index, uint64_t count);

/* The client keys of r's live engine (not the replica's own). */
size_t ex_client_keys(replica *r);
/* The files in dir (0 if there is no such directory). */
size_t ex_files_in(const char *dir);
/* The live engine's directory name as DIR/REPLICA names it ("data-a"),
 * in a static buffer; "" if there is no REPLICA. */
const char *ex_replica_live(const char *dir);

#endif
