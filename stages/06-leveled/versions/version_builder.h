/*
 * version_builder.h: how the next version is made: a base version, then
 * one or more edits, then the new version (LevelDB's VersionSet::Builder,
 * db/version_set.cc, does the same for the same two callers).
 *
 * The one builder serves both ways a version changes:
 *   - live, on the background thread: the current version plus one edit
 *     (version_apply, below);
 *   - at recovery and in the tools: the empty version plus every edit of a
 *     manifest, in order (manifest_state.c), however many there are: each
 *     edit costs time in proportion to its own size, since the tables
 *     added so far are kept in a hash table by number, and only the last
 *     step sorts the levels.
 *
 * The checks (each failure is KV_ERR_CORRUPT, its message naming the
 * tables and keys involved, and the tags the caller gave the edits: a
 * manifest record's offset, say):
 *   VB1. a removed table is in the version so far, at the level the edit
 *       says, and is removed once;
 *   VB2. an added table is not (within one edit, removals apply first, so an
 *       edit may move a table to another level by removing and adding it,
 *       as a trivial move does: the moved table keeps its vfile);
 *   VB3. an added table has a level in range and its smallest internal key
 *       at or below its largest (version.h, V4);
 *   VB4. the finished version keeps version.h's invariants V1 to V5 (V3:
 *       the tables of each level >= 1 are disjoint).
 */
#ifndef KV_VERSION_BUILDER_H
#define KV_VERSION_BUILDER_H

#include <stdint.h>

#include "version.h"
#include "version_edit.h"

typedef struct version_builder version_builder;

/* A builder starting from base (a reference is taken on it).  KV_OK or
 * KV_ERR_NOMEM. */
int  version_builder_new(const version *base, version_builder **out);
/* Applies e, with checks VB1 to VB3; `tag` names it in messages: the offset
 * of the manifest record it came from (0: none).
 * KV_OK, KV_ERR_CORRUPT or KV_ERR_NOMEM; after a failure the builder is
 * only fit to be freed. */
int  version_builder_apply(version_builder *b, const version_edit *e, uint64_t tag);
/* The version made (one reference, base's release callback): each table
 * added and not removed again is made by open(ctx); each level sorted,
 * then check VB4.  KV_OK, KV_ERR_CORRUPT, KV_ERR_NOMEM, or open's error
 * (nothing made). */
int  version_builder_finish(version_builder *b, vfile_open_fn open, void *ctx, version **out);
/* NULL is a no-op. */
void version_builder_free(version_builder *b);

/* *out = base + e, one reference, with base's release callback: a builder
 * of one edit.  base is not changed.  KV_OK, or an error of the builder
 * (nothing made). */
int version_apply(const version *base, const version_edit *e, vfile_open_fn open, void *ctx,
                  version **out);

#endif
