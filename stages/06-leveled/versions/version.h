/*
 * version.h: which tables make up the database, level by level, at one
 * moment: a version.
 *
 * Stage 05 kept one flat list of tables and a read might visit all of
 * them.  Stage 06 sorts them into levels L0..L6 (VERSION_LEVELS):
 *   - L0 holds the tables flushed from the memtable, newest first (by file
 *     number).  Their key ranges may overlap, so a read asks each of them.
 *   - Every level L >= 1 is one sorted run: its tables are sorted by
 *     smallest key and their user-key ranges are disjoint, so at most one
 *     table of the level can hold a given key (version_level_find).
 * The compaction picker (compaction_pick.h) keeps each level near its
 * target size by merging tables down.
 *
 * A version never changes once made.  A change (a flush adds a table,
 * usually to L0; a compaction removes its inputs and adds its outputs) is
 * a version edit (version_edit.h, the record the manifest logs), and
 * version_apply makes the next version from the current one and the edit.
 * Readers and iterators hold a reference to the version they started
 * with, so the tables they read stay alive whatever compactions do
 * meanwhile.
 *
 * A table is a vfile, shared by every version that holds it (a compaction
 * that leaves a table alone copies the pointer, not the table).  When the
 * last version holding a vfile goes, the release callback given to
 * version_new_empty hears of it: the engine closes the table there and
 * learns that its file number is no longer referenced (the file may be
 * deleted once the edit that dropped it is durable in the manifest).
 *
 * Invariants of every version (version_apply refuses an edit that would
 * break one, with KV_ERR_CORRUPT):
 *   V1. A file number appears at most once in the whole version.
 *   V2. L0 is sorted by file number, newest (largest) first.
 *   V3. In every level >= 1, files are sorted by smallest key and the
 *       user-key ranges are disjoint: file i's largest user key is below
 *       file i+1's smallest user key.  (So a compaction must not split the
 *       versions of one user key between two output tables.)
 *   V4. Each file's smallest internal key is <= its largest.
 *   V5. level_bytes[l] is the sum of file_bytes of level l.
 *
 * Threads: a version is immutable, so any number of threads may read one.
 * version_ref/unref are atomic; the release callback runs on whichever
 * thread drops the last reference (it must take whatever lock it needs).
 * vfile.being_compacted is the picker's mark, read and written under the
 * engine's lock only.
 */
#ifndef KV_LEVELED_VERSION_H
#define KV_LEVELED_VERSION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "table.h"
#include "version_edit.h"

/* One table, shared by every version that holds it. */
typedef struct vfile {
    atomic_int refs;
    uint64_t number, file_bytes, entries;
    uint8_t *smallest, *largest;      /* internal keys, owned */
    size_t smallest_len, largest_len;
    uint64_t dead, dead_from;         /* entries a newer version of their
                                         key in the table hides, and the
                                         oldest snapshot from which all may
                                         go (version_edit.h, tag 7) */
    table *t;                         /* the open table (stage 05's v2);
                                         NULL in the simulator */
    int being_compacted;              /* the picker's mark */
} vfile;

/* Called once for each vfile when its last reference goes, before it is
 * freed (the engine closes f->t and notes f->number as unreferenced). */
typedef void (*vfile_release_fn)(void *ctx, vfile *f);

/* Called by version_apply for each table an edit adds: make the vfile
 * (vfile_new, then open the table if the caller reads tables) and store
 * it in *out with one reference, the version's.  KV_OK or an error, which
 * version_apply returns. */
typedef int (*vfile_open_fn)(void *ctx, const edit_file *f, vfile **out);

/* The struct's name is the one stage 04's engine knows it by (table_set.h:
 * a table_set_version is what a reader reads of the tables), so that a
 * version is handed to the engine as it is. */
typedef struct table_set_version version;
struct table_set_version {
    atomic_int refs;
    vfile **files[VERSION_LEVELS];    /* V2, V3 */
    size_t nfiles[VERSION_LEVELS];
    uint64_t level_bytes[VERSION_LEVELS];   /* V5 */
    uint64_t *fences[VERSION_LEVELS]; /* levels >= 1: a number per table, of
                                         its largest user key, or NULL
                                         (version_fences.c) */
    size_t fence_skip[VERSION_LEVELS];  /* the bytes every one shares */
    vfile_release_fn release;         /* inherited by every version applied */
    void *release_ctx;
};

/* A vfile for f: its numbers and a copy of its keys, t = NULL, one
 * reference.  KV_OK or KV_ERR_NOMEM.  A vfile_open_fn that needs nothing
 * more (the simulator's) is exactly this. */
int vfile_new(const edit_file *f, vfile **out);

/* Makes v's fences of each level >= 1 (version_fences.c), where its keys
 * allow; none is not an error.  KV_OK or KV_ERR_NOMEM. */
int version_fences_make(version *v);
/* REQUIRES: v->fences[level].  The tables of the level among which is
 * the first whose largest user key is >= ukey: lo..hi (hi may be the
 * level's count: none of lo..hi-1 is). */
void version_fences_range(const version *v, int level, const uint8_t *ukey, size_t len,
                          size_t *lo, size_t *hi);
int vfile_open_plain(void *ctx, const edit_file *f, vfile **out);
void vfile_ref(vfile *f);
/* Drops a reference; the last one calls release (may be NULL) and frees f. */
void vfile_unref(vfile *f, vfile_release_fn release, void *ctx);

/* The empty version (no tables), one reference.  release may be NULL.
 * KV_OK or KV_ERR_NOMEM. */
int version_new_empty(vfile_release_fn release, void *release_ctx, version **out);

/* *out = base + e, one reference, with base's release callback: e's
 * removed files leave their levels, e's added files (made by open(ctx))
 * join theirs.  base is not changed.
 * KV_ERR_CORRUPT (nothing made) if a removed file is not in its level,
 * an added number is already in the version or added twice, a level is out
 * of range, or the result breaks V3 or V4; KV_ERR_NOMEM; or what open
 * returned.  The message names the file numbers and keys involved. */
int version_apply(const version *base, const version_edit *e, vfile_open_fn open, void *ctx,
                  version **out);

/* Reference counting.  The last unref releases every vfile no other
 * version holds.  version_unref(NULL) is a no-op. */
void version_ref(version *v);
void version_unref(version *v);

/* How many versions this process has made and freed so far (every
 * database's): once none is left, the two are equal.  A version freed
 * twice, or never, shows here (the reference-count tests read them). */
void version_counts(uint64_t *made, uint64_t *freed);

/* Tables in the whole version, and the sum of their sizes. */
size_t version_total_files(const version *v);
uint64_t version_total_bytes(const version *v);

/* ---- lookups ------------------------------------------------------------ */

/* In level >= 1: the index of the first file whose largest internal key is
 * >= ikey (binary search); nfiles[level] if none. */
size_t version_level_seek(const version *v, int level, const uint8_t *ikey, size_t len);

/* In level >= 1: the one file whose user-key range holds user_key, or NULL
 * (binary search). */
vfile *version_level_find(const version *v, int level, const uint8_t *user_key, size_t len);

/* A list of files (the caller frees .files with free()). */
typedef struct vfile_list {
    vfile **files;
    size_t n;
} vfile_list;

/* The files of `level` whose user-key range meets [begin, end] (user
 * keys; begin NULL = from the first key, end NULL = to the last), in the
 * level's order.  For L0 the range grows with each file found until no
 * other file meets it, so the set is closed: no L0 file outside it
 * overlaps one inside (a compaction of L0 must take the whole set, or an
 * older version of a key could move below a newer one).
 * KV_OK or KV_ERR_NOMEM.  The files are not referenced. */
int version_overlapping(const version *v, int level, const uint8_t *begin, size_t blen,
                        const uint8_t *end, size_t elen, vfile_list *out);

/* 1 if some file of `level` meets the user-key range [begin, end]. */
int version_level_overlaps(const version *v, int level, const uint8_t *begin, size_t blen,
                           const uint8_t *end, size_t elen);

/* The bytes of the files of `level` >= 1 whose user-key range meets
 * [begin, end] (as version_overlapping finds them, without a list). */
uint64_t version_overlapping_bytes(const version *v, int level, const uint8_t *begin,
                                   size_t blen, const uint8_t *end, size_t elen);

#endif
