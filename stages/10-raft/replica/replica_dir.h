/*
 * replica_dir.h: a replica's directory (replica.h) and its struct.  Two
 * engines, DIR/data-a and DIR/data-b; the file DIR/REPLICA names the live
 * one, in one line ("data-a\n" or "data-b\n").  A restore builds the other
 * engine whole, then switches in the same steps as a manifest's CURRENT
 * (stage 06): the line written to REPLICA.tmp and fsynced, renamed to
 * REPLICA, the directory fsynced.  A rename replaces the name in one
 * step, so REPLICA always reads as the old line or the new one, whole.
 */
#ifndef KV_RAFT_REPLICA_DIR_H
#define KV_RAFT_REPLICA_DIR_H

#include <stdint.h>

#include "kv.h"

#define REPLICA_FILE "REPLICA"

struct replica {
    char *dir;
    kv_options opt;        /* the engine's options */
    int gen;               /* the live engine: 0 = data-a, 1 = data-b */
    kv_db *db;             /* ... open */
    uint64_t applied;      /* R1 */
    int planted_reapply;   /* replica_plant_reapply: never set otherwise */
};

/* The applied index engine db holds at snap (NULL: now): *index 0 if
 * none (R1).  KV_OK, the engine's error, or KV_ERR_CORRUPT (replica.c). */
int replica_applied_read(kv_db *db, const kv_snapshot *snap, uint64_t *index);

/* The path of engine gen (0 or 1) of dir, malloc'd; NULL: out of memory. */
char *replica_dir_engine(const char *dir, int gen);
/* Reads DIR/REPLICA: *gen 0 or 1, or -1 if there is none (a new replica).
 * KV_OK, KV_ERR_IO, or KV_ERR_CORRUPT naming the file and what it holds. */
int replica_dir_read(const char *dir, int *gen);
/* Makes engine gen the live one (the protocol above). */
int replica_dir_write(const char *dir, int gen);
/* Makes DIR/REPLICA name engine gen, durably (a switch whose directory
 * sync failed may have left it naming the other): a restore's first step. */
int replica_dir_hold(const char *dir, int gen);
/* Removes the files of an engine's directory (a restore's leftovers, or
 * the engine a restore replaced); KV_OK if there is no such directory. */
int replica_dir_clear(const char *path);

#endif
