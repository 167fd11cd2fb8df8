/*
 * hash_recover.c: what kv_open does to rebuild the index: list the
 * directory, remove what an interrupted merge left (unless read-only), and
 * replay every segment in id order, from its hint file when it has a valid
 * one, otherwise by reading every record.  A later record of a key replaces
 * the earlier one; a delete removes the key.
 *
 * The recovery rule (common/log_scan.h, docs/02-hash.md): damage in the
 * last non-empty segment with no valid record after it is a torn tail, cut
 * off (or KV_ERR_CORRUPT with strict_recovery, or left in place read-only).
 * (When the record format can tell that the damage lies in writes that were
 * never synced, record_damage.unsynced, damage in the last segment is cut
 * even when valid records follow: a power loss may drop unsynced writes out
 * of order, and a prefix is what must survive; docs/03-wal.md.)  The records are read through
 * record_io.h.
 * Any other damage, and any damage at all in an earlier segment, is
 * KV_ERR_CORRUPT naming the file and offset: only the active segment is
 * ever appended to, so only it can end in a write cut short.  (Empty
 * segments after it are what a roll-over that failed half-way leaves.)
 *
 * Cost, the price of an index in memory: open reads every byte of every
 * segment without a hint, so it takes time proportional to the log
 * (kv_stats reports open.ms_per_gb; docs/02-hash.md the measured figure).
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash_db.h"
#include "hint.h"
#include "record_io.h"

/* The directory's files of this stage, ids ascending. */
typedef struct recover_listing {
    uint32_t *logs, *hints;
    size_t nlogs, nhints;
} recover_listing;

static int recover_has(const uint32_t *ids, size_t n, uint32_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] == id)
            return 1;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Removes DIR/name, a file no longer wanted (a leftover of a merge). */
static int recover_remove(kv_db *db, const char *name)
{
    char *path = db_dir_file(&db->dir, name);
    if (path == NULL)
        return KV_ERR_NOMEM;
    int rc = io_unlink(path);
    free(path);
    if (rc == KV_OK)
        db->open_leftovers_removed++;
    return rc;
}

/* Lists the directory; removes temporary files and hints without a segment
 * (both left by a merge that did not finish) unless read-only. */
static int recover_list(kv_db *db, recover_listing *l)
{
    char **names = NULL;
    size_t n = 0;
    int rc = io_list(db->dir.path, &names, &n);
    if (rc != KV_OK)
        return rc;
    l->logs = malloc((n + 1) * sizeof *l->logs);
    l->hints = malloc((n + 1) * sizeof *l->hints);
    if (l->logs == NULL || l->hints == NULL) {
        io_list_free(names, n);
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory listing %zu files",
                        db->dir.path, n);
    }
    /* Names are sorted and ids have a fixed width, so ids come out sorted. */
    for (size_t i = 0; i < n; i++) {
        uint32_t id = 0;
        int kind = segment_parse_name(names[i], &id);
        if (kind == SEGMENT_FILE_LOG)
            l->logs[l->nlogs++] = id;
        else if (kind == SEGMENT_FILE_HINT)
            l->hints[l->nhints++] = id;
        else if (kind == SEGMENT_FILE_TMP && !db->opt.read_only &&
                 (rc = recover_remove(db, names[i])) != KV_OK)
            break;
    }
    io_list_free(names, n);
    for (size_t i = 0; rc == KV_OK && i < l->nhints; i++) {
        if (recover_has(l->logs, l->nlogs, l->hints[i]) || db->opt.read_only)
            continue;
        char name[SEGMENT_NAME_MAX];
        segment_name(name, l->hints[i], SEGMENT_HINT_SUFFIX);
        rc = recover_remove(db, name);
    }
    return rc;
}

static int recover_hint_entry(void *ctx, const uint8_t *key, size_t klen, uint64_t offset,
                              uint32_t size)
{
    void **args = ctx;
    kv_db *db = args[0];
    const segment *seg = args[1];
    hash_loc loc = {.offset = offset, .seg = seg->id, .size = size};
    db->open_records++;
    return hash_db_index_put(db, key, klen, &loc);
}

/* Indexes seg from its hint file.  KV_ERR_CORRUPT means the hint is not
 * usable (and nothing was indexed from it). */
static int recover_from_hint(kv_db *db, segment *seg)
{
    char name[SEGMENT_NAME_MAX];
    segment_name(name, seg->id, SEGMENT_HINT_SUFFIX);
    char *path = db_dir_file(&db->dir, name);
    if (path == NULL)
        return KV_ERR_NOMEM;
    void *args[2] = {db, seg};
    uint64_t bytes = 0;
    int rc = hint_load(path, seg->id, seg->size, recover_hint_entry, args, &bytes);
    free(path);
    if (rc == KV_OK) {
        db->open_bytes_read += bytes;
        db->open_segments_from_hint++;
        seg->has_hint = 1;
    }
    return rc;
}

static int recover_op(void *ctx, const record_op *op)
{
    void **args = ctx;
    kv_db *db = args[0];
    const segment *seg = args[1];
    db->open_records++;
    if (op->is_delete) {
        hash_db_index_remove(db, op->key, op->klen);
        return KV_OK;
    }
    hash_loc loc = {.offset = op->offset, .seg = seg->id, .size = op->size};
    return hash_db_index_put(db, op->key, op->klen, &loc);
}

/* Replays every record of seg and applies the recovery rule to its first
 * damaged byte, if any. */
static int recover_scan(kv_db *db, segment *seg, int last)
{
    uint64_t size = seg->size;
    void *args[2] = {db, seg};
    record_damage d;
    int rc = record_replay(seg->file, size, recover_op, args, &d);
    db->open_bytes_read += size;
    db->open_segments_scanned++;
    if (rc == KV_OK && d.sealed) {
        seg->sealed = 1;
        seg->live_bytes += d.seal_bytes; /* as at roll-over: not garbage */
    }
    if (rc == KV_OK && !last && !d.sealed)
        return kv_error(KV_ERR_CORRUPT,
                        "%s: %llu bytes: a closed segment that does not end with its seal: "
                        "it was cut short (or emptied) after it was closed",
                        io_path(seg->file), (unsigned long long)size);
    if (rc != RECORD_DAMAGED)
        return rc;

    uint64_t bad = d.offset;
    if (d.has_next && !(last && d.unsynced))
        return kv_error(KV_ERR_CORRUPT,
                        "%s: offset %llu: %s, and valid records follow at offset %llu: "
                        "the segment is damaged in the middle (kv check lists the damage)",
                        io_path(seg->file), (unsigned long long)bad, d.why,
                        (unsigned long long)d.next);
    if (!last)
        return kv_error(KV_ERR_CORRUPT,
                        "%s: offset %llu: %s, in a segment that is not the last one: only "
                        "the active segment can end in a torn write, so this is damage",
                        io_path(seg->file), (unsigned long long)bad, d.why);
    if (db->opt.strict_recovery)
        return kv_error(KV_ERR_CORRUPT,
                        "%s: offset %llu: torn tail of %llu bytes (%s) and strict_recovery "
                        "is set", io_path(seg->file), (unsigned long long)bad,
                        (unsigned long long)(size - bad), d.why);
    db->open_torn_bytes = size - bad;
    db->open_tail_records_dropped = d.has_next;
    if (!db->opt.read_only && (rc = io_truncate(seg->file, bad)) != KV_OK)
        return rc;
    seg->size = bad;
    return KV_OK;
}

/* Opens and indexes every segment, oldest first.  Segments are opened for
 * writing unless read-only, because the last one with any bytes may need its
 * torn tail cut; appends only ever go to the active (highest) one.  The
 * torn-tail rule applies to the last non-empty segment: empty ones after it
 * (a roll-over that created its file and then failed) hold no records. */
static int recover_segments(kv_db *db, const recover_listing *l)
{
    int rc = segment_table_reserve(&db->segs, l->nlogs + 1);
    int flags = db->opt.read_only ? IO_READ : IO_WRITE;
    for (size_t i = 0; rc == KV_OK && i < l->nlogs; i++) {
        segment *seg = NULL;
        if ((rc = segment_open(db->dir.path, l->logs[i], flags, &seg)) == KV_OK)
            segment_table_insert(&db->segs, seg);
    }
    size_t last = 0;
    for (size_t i = 0; i < db->segs.n; i++)
        if (db->segs.v[i]->size > 0)
            last = i;
    for (size_t i = 0; rc == KV_OK && i < db->segs.n; i++) {
        segment *seg = db->segs.v[i];
        /* The active (highest) segment is always read: appends go there, so
         * its bytes must be known good, which only reading them proves.  (A
         * merge never leaves a hint on it; only a damaged directory can.) */
        if (i + 1 < db->segs.n && recover_has(l->hints, l->nhints, seg->id)) {
            rc = recover_from_hint(db, seg);
            seg->sealed = rc == KV_OK; /* the hint matched its exact size */
            if (rc != KV_ERR_CORRUPT)
                continue;
            /* A bad hint costs time, not data: read the segment instead. */
            db->open_hints_rejected++;
            char name[SEGMENT_NAME_MAX];
            segment_name(name, seg->id, SEGMENT_HINT_SUFFIX);
            if (!db->opt.read_only && (rc = recover_remove(db, name)) != KV_OK)
                break;
        }
        rc = recover_scan(db, seg, i >= last);
    }
    return rc;
}

int hash_recover(kv_db *db)
{
    uint64_t started = hash_db_now_us();
    recover_listing l = {0};
    int rc = recover_list(db, &l);
    if (rc == KV_OK)
        rc = recover_segments(db, &l);
    if (rc == KV_OK) {
        /* Never reuse an id a file still has, hint or segment. */
        uint32_t max = l.nlogs ? l.logs[l.nlogs - 1] : 0;
        if (l.nhints && l.hints[l.nhints - 1] > max)
            max = l.hints[l.nhints - 1];
        db->next_id = (uint64_t)max + 1;
        /* An empty segment after one that is not sealed is what a failed
         * roll-over leaves.  Appending to it would turn the segment before
         * it into a closed segment without its seal; remove it, so that the
         * last segment with records is the active one again. */
        while (rc == KV_OK && !db->opt.read_only && db->segs.n > 1 &&
               db->segs.v[db->segs.n - 1]->size == 0 &&
               !db->segs.v[db->segs.n - 2]->sealed) {
            segment *empty = db->segs.v[db->segs.n - 1];
            char name[SEGMENT_NAME_MAX];
            segment_name(name, empty->id, SEGMENT_SUFFIX);
            if ((rc = recover_remove(db, name)) == KV_OK)
                segment_unref(segment_table_remove(&db->segs, empty->id));
        }
        if (rc == KV_OK && l.nlogs > 0)
            db->active = db->segs.v[db->segs.n - 1];
        else if (!db->opt.read_only)
            rc = hash_db_roll(db, db->next_id);
    }
    free(l.logs);
    free(l.hints);
    db->open_us = hash_db_now_us() - started;
    return rc;
}
