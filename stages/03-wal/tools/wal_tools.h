/*
 * wal_tools.h: a walk over every record and every damaged region of one
 * write-ahead log file, for kv check, kv dump and kv repair (wal_tools.c,
 * wal_repair.c).
 */
#ifndef KV_WAL_TOOLS_H
#define KV_WAL_TOOLS_H

#include <stddef.h>
#include <stdint.h>

#include "wal_reader.h"

#define RECORD_DUMP_BYTES 48

enum { WAL_WALK_RECORD = 1, WAL_WALK_DAMAGE = 2, WAL_WALK_MARKER = 3 };

typedef struct wal_walk_item {
    int kind;
    uint64_t offset, end;   /* RECORD: its fragments; DAMAGE: up to the next
                               valid record, or the end of the file */
    size_t count;           /* RECORD: ops in its batch */
    const char *why;        /* DAMAGE: what is wrong at offset */
    uint64_t synced_to;     /* MARKER: the offset it names (wal_batch.h) */
    int synced;             /* DAMAGE, from wal_walk_damage: a later marker
                               says these bytes had been synced, so a crash
                               cannot explain them: corruption */
} wal_walk_item;

/* Called in file order; for a RECORD, r->rec holds its (valid) batch. */
typedef int (*wal_walk_fn)(void *ctx, const wal_walk_item *it, const wal_reader *r);

/* Walks the log at path; *size gets its size.  Returns KV_OK, an error, or
 * fn's first non-zero value. */
int wal_walk(const char *path, wal_walk_fn fn, void *ctx, uint64_t *size);

typedef struct wal_damage_list {
    wal_walk_item *v;
    size_t n, cap;
} wal_damage_list;

/* Every damaged region of the log at path (free dl->v), with `synced` set. */
int wal_walk_damage(const char *path, wal_damage_list *dl, uint64_t *size);

#endif
