/*
 * level_repair.h: what stage 06's kv_repair (level_repair.c) and its
 * rebuild of a version from the tables alone (level_rebuild.c) share: the
 * version being made, as a list of tables with their levels, and the
 * counters of the manifest it will be written to.
 */
#ifndef KV_LEVEL_REPAIR_H
#define KV_LEVEL_REPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "lsm_files.h"
#include "lsm_repair.h"
#include "version_edit.h"

/* One table of the version being made. */
typedef struct rtable {
    uint64_t number;
    int level;
    uint64_t file_bytes, entries;
    uint8_t *smallest, *largest;     /* internal keys, owned */
    size_t smallest_len, largest_len;
    uint64_t max_seq;                /* its newest write (rebuild only) */
    int drop;                        /* not in the new version: its file goes
                                        once the new manifest is live */
    int outside;                     /* it holds keys outside the range its
                                        manifest entry gave it (level_repair.c
                                        places it by the keys it holds) */
} rtable;

typedef struct rversion {
    rtable *t;
    size_t n, cap;
    uint64_t log_seq, last_seq, next_file;
    uint8_t *pointer[VERSION_LEVELS];   /* compact pointers, owned (NULL: none) */
    size_t pointer_len[VERSION_LEVELS];
    char *merged;                    /* a line on what the rebuild merged, or NULL */
} rversion;

/* What is in the directory, by kind. */
typedef struct rlisting {
    lsm_listing l;                   /* the logs, and the other names */
    uint64_t *tables;                /* table files' numbers, ascending */
    size_t ntables;
    uint64_t *manifests;             /* manifests' numbers, descending */
    size_t nmanifests;
    int current;                     /* CURRENT is there */
    uint64_t max_number;             /* the largest file number in use */
} rlisting;

/* Appends a table (copies the keys); its index, or -1 on KV_ERR_NOMEM. */
long rversion_add(rversion *v, uint64_t number, int level, uint64_t file_bytes,
                  uint64_t entries, const uint8_t *smallest, size_t slen, const uint8_t *largest,
                  size_t llen);
void rversion_free(rversion *v);

/* The version of the tables in the directory alone, when no manifest can
 * be used: every table read whole (a damaged one mended as repair_table
 * does), those whose key ranges overlap merged into new tables, keeping
 * every version of every key, and every table put at the last level, where
 * their ranges are disjoint.  log_seq and last_seq are the newest write in
 * any table; next_file is above every number in use.  KV_OK or an error. */
int level_rebuild(repair_run *r, const rlisting *ls, rversion *v);

/* Merges the tables v->t[from, to) into new tables at the last level, as
 * level_rebuild merges a group whose key ranges overlap: every version of
 * every key kept (an entry in two of them once), each new table cut only
 * between two user keys, numbered from v->next_file; the inputs are marked
 * drop, the outputs appended to v (which may move).  KV_OK or an error. */
int level_rebuild_merge(repair_run *r, rversion *v, size_t from, size_t to);

#endif
