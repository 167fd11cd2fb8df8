/*
 * manifest_state.h: what replaying a manifest gives: the version it
 * describes (its tables not opened), the counters and the compact
 * pointers, as of the last edit the manifest holds whole.
 *
 * Replay (manifest_recover, manifest.h) starts from an empty state and
 * applies each edit in order with manifest_state_apply, then calls
 * manifest_state_finish.  The tables go through the version builder
 * (version_builder.h), the same one the engine makes its live versions
 * with, so a manifest is checked by the rules a running database keeps.
 * The checks (each failure is KV_ERR_CORRUPT naming the manifest and the
 * offset of the record that broke the rule):
 *   1. the first record is a snapshot: it sets log_seq, next_file and
 *      last_seq;
 *   2. each edit passes the builder's checks VB1 to VB3 (a removed table is
 *      there, at that level; an added one is not; its keys are in order);
 *   3. after the last edit, the version keeps version.h's invariants (VB4:
 *      the tables of each level >= 1 are disjoint);
 *   4. after the last edit, next_file is above every table's number (the
 *      next table must not take a live table's name) and below 2^64 - 2
 *      (the numbers after it must not wrap to 0).
 * A state that passes is what the engine builds its first version from
 * (version_apply of manifest_state_snapshot on an empty version, with its
 * tables opened).
 */
#ifndef KV_MANIFEST_STATE_H
#define KV_MANIFEST_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "version.h"
#include "version_builder.h"
#include "version_edit.h"

typedef struct manifest_state {
    uint64_t number;            /* the manifest (MANIFEST-number) replayed */
    uint64_t log_seq, next_file, last_seq;
    /* After manifest_state_finish: the tables of each level (vfiles with
     * no open table, t NULL; no release callback): L0 newest first, L >= 1
     * by smallest key, disjoint. */
    version *v;
    /* Each level's compact pointer (NULL: none), owned. */
    uint8_t *pointer[VERSION_LEVELS];
    size_t pointer_len[VERSION_LEVELS];
    /* What was read. */
    uint64_t records;           /* edits applied */
    uint64_t size;              /* the manifest's size in bytes */
    uint64_t end;               /* its valid bytes: where the next record
                                   would go (the torn tail's start, if any) */
    int torn;                   /* its last record was torn and dropped */
    uint64_t torn_bytes;        /* size - end */
    char torn_why[300];         /* what was at `end` */
    /* While replaying. */
    version_builder *builder;
} manifest_state;

/* An empty state. */
void manifest_state_init(manifest_state *s);
/* Releases everything and leaves it empty. */
void manifest_state_free(manifest_state *s);

/* Applies edit e, the record at `offset` of the manifest `path`, with
 * checks 1 and 2.  KV_OK, KV_ERR_CORRUPT, KV_ERR_NOMEM; after a failure the
 * state is only fit to be freed. */
int manifest_state_apply(manifest_state *s, const version_edit *e, uint64_t offset,
                         const char *path);
/* Makes the version, with checks 3 and 4.  KV_OK, KV_ERR_CORRUPT,
 * KV_ERR_NOMEM.  REQUIRES: at least one edit applied. */
int manifest_state_finish(manifest_state *s, const char *path);

/* The state as one snapshot edit (counters, pointers, every table), into
 * e (empty).  This is the first record of the next manifest, and what the
 * engine builds its version from.  KV_OK or KV_ERR_NOMEM (e left empty).
 * REQUIRES: finished. */
int manifest_state_snapshot(const manifest_state *s, version_edit *e);

#endif
