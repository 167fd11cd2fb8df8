/*
 * manifest_state.h: what replaying a manifest gives: the tables of each
 * level, the counters and the compact pointers, as of the last edit the
 * manifest holds whole.
 *
 * Replay (manifest_recover, manifest.h) starts from an empty state and
 * applies each edit in order with manifest_state_apply, which checks it
 * against the state so far, then calls manifest_state_finish, which lays
 * the tables out per level and checks the whole.  The checks (each failure
 * is KV_ERR_CORRUPT naming the manifest and the offset of the record that
 * broke the rule):
 *   1. the first record is a snapshot: it sets log_seq, next_file and
 *      last_seq;
 *   2. a removed table is in the state, at the level the edit says;
 *   3. an added table is not (within an edit, removals apply first, so an
 *      edit may move a table to another level by removing and adding it,
 *      as a trivial move does);
 *   4. after the last edit, the tables of each level >= 1 are disjoint:
 *      sorted by smallest key, each one's largest user key is below the
 *      next one's smallest (so one table per level may hold a key, as
 *      version.h requires);
 *   5. after the last edit, next_file is above every table's number (the
 *      next table must not take a live table's name).
 * A state that passes is what the engine builds its first version from
 * (version_apply of manifest_state_snapshot on an empty version).
 *
 * While replaying, the tables are kept in a hash table by number, so that
 * each edit costs time in proportion to its own size, not the version's;
 * finish sorts them once.
 */
#ifndef KV_MANIFEST_STATE_H
#define KV_MANIFEST_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "version_edit.h"

/* A table while replaying: the file, and the offset of the record that
 * added it (for messages). */
typedef struct manifest_slot {
    edit_file file;     /* file.number 0: an empty slot */
    uint64_t added_at;
    int gone;           /* removed: the slot is a tombstone */
} manifest_slot;

typedef struct manifest_state {
    uint64_t number;            /* the manifest (MANIFEST-number) replayed */
    uint64_t log_seq, next_file, last_seq;
    /* After manifest_state_finish: the tables of each level, owning their
     * keys.  L0 newest first (descending number); L >= 1 by smallest key,
     * disjoint (check 4). */
    edit_file *files[VERSION_LEVELS];
    size_t nfiles[VERSION_LEVELS];
    uint64_t level_bytes[VERSION_LEVELS];
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
    /* While replaying: the tables by number. */
    manifest_slot *slots;
    size_t nslots, nlive, nused; /* nused counts tombstones too */
} manifest_state;

/* An empty state. */
void manifest_state_init(manifest_state *s);
/* Releases everything and leaves it empty. */
void manifest_state_free(manifest_state *s);

/* Applies edit e, the record at `offset` of the manifest `path`, with
 * checks 1 to 3.  KV_OK, KV_ERR_CORRUPT, KV_ERR_NOMEM; after a failure the
 * state is only fit to be freed. */
int manifest_state_apply(manifest_state *s, const version_edit *e, uint64_t offset,
                         const char *path);
/* Lays the tables out per level, with checks 4 and 5.  KV_OK,
 * KV_ERR_CORRUPT, KV_ERR_NOMEM.  REQUIRES: at least one edit applied. */
int manifest_state_finish(manifest_state *s, const char *path);

/* The state as one snapshot edit (counters, pointers, every table), into
 * e (empty).  This is the first record of the next manifest, and what the
 * engine builds its version from.  KV_OK or KV_ERR_NOMEM (e left empty).
 * REQUIRES: finished. */
int manifest_state_snapshot(const manifest_state *s, version_edit *e);

#endif
