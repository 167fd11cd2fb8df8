/*
 * hash_recover.c: what kv_open does to rebuild the index: list the
 * directory, remove what an interrupted merge left (unless read-only), and
 * replay every segment in id order, from its hint file when it has a valid
 * one, otherwise by reading every record.  A later record of a key replaces
 * the earlier one; a delete removes the key.
 *
 * What happens to a damaged segment is the verdict of recover_judge
 * (hash_recover.h; kv_check reports the same verdict): a torn tail in the
 * segment the next write goes to is cut off (or KV_ERR_CORRUPT with
 * strict_recovery, or left in place read-only); any other damage is
 * KV_ERR_CORRUPT naming the file and offset: only the active segment is
 * ever appended to, so only it can end in a write cut short.  The records
 * are read through record_io.h.
 *
 * Cost, the price of an index in memory: open reads every byte of every
 * segment without a hint, so it takes time proportional to the log
 * (kv_stats reports open.ms_per_gb; docs/02-hash.md the measured figure).
 * Damage costs time linear in the damaged bytes (common/log_damage.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash_db.h"
#include "hash_recover.h"
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

size_t recover_last(const uint64_t *sizes, size_t n)
{
    size_t last = 0;
    for (size_t i = 0; i < n; i++)
        if (recover_has_records(sizes[i]))
            last = i;
    return last;
}

void recover_judge(uint64_t size, int replay_rc, const record_damage *d, int last, int strict,
                   recover_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->keep = size;
    v->sealed = d->sealed;
    unsigned long long at = (unsigned long long)d->offset;
    v->action = RECOVER_REFUSE;
    if (replay_rc == KV_OK && (last || d->sealed))
        v->action = RECOVER_KEEP;
    else if (replay_rc == KV_OK)
        snprintf(v->text, sizeof v->text, "%llu bytes: a closed segment that does not end "
                 "with its seal: it was cut short (or emptied) after it was closed",
                 (unsigned long long)size);
    else if (!d->torn && d->has_next)
        snprintf(v->text, sizeof v->text, "offset %llu: %s, and valid records follow at "
                 "offset %llu: the segment is damaged in the middle", at, d->why,
                 (unsigned long long)d->next);
    else if (!d->torn)
        snprintf(v->text, sizeof v->text, "offset %llu: %s: damage, not a torn write", at,
                 d->why);
    else if (!last)
        snprintf(v->text, sizeof v->text, "offset %llu: %s, in a segment that is not the last "
                 "one: only the active segment can end in a torn write, so this is damage",
                 at, d->why);
    else if (strict)
        snprintf(v->text, sizeof v->text, "offset %llu: torn tail of %llu bytes (%s), and "
                 "strict_recovery is set", at, (unsigned long long)(size - d->offset), d->why);
    else {
        v->action = RECOVER_CUT;
        v->keep = d->offset;
        v->cut = size - d->offset;
        v->records_lost = d->records_after;
        snprintf(v->text, sizeof v->text, "offset %llu: torn %s: the next kv_open that may "
                 "write cuts it off (%llu bytes: the last write, cut short; intact records "
                 "after the tear: %llu); a read-only open leaves it, strict_recovery refuses "
                 "it (%s)", at,
                 d->offset < SEGMENT_START ? "header" : "tail", (unsigned long long)v->cut,
                 (unsigned long long)v->records_lost, d->why);
    }
}

/* Indexing from a hint: the callback's failure (the index's) is kept apart
 * from the hint's own, which only costs a scan. */
typedef struct recover_hint_ctx {
    kv_db *db;
    const segment *seg;
    int failed;     /* the index refused an entry */
} recover_hint_ctx;

static int recover_hint_entry(void *ctx, const uint8_t *key, size_t klen, uint64_t offset,
                              uint32_t size)
{
    recover_hint_ctx *c = ctx;
    hash_loc loc = {.offset = offset, .seg = c->seg->id, .size = size};
    c->db->open_records++;
    int rc = hash_db_index_put(c->db, key, klen, &loc);
    c->failed = rc != KV_OK;
    return rc;
}

/* Indexes seg from its hint file.  Returns KV_OK, RECORD_DAMAGED if the
 * hint cannot be used, whatever the reason (it fails a check, cannot be
 * read, or does not fit in memory: nothing was indexed from it, and the
 * segment is read instead), or an error of the index itself.  *no_memory
 * says the reason was memory: the hint may be good, and is kept. */
static int recover_from_hint(kv_db *db, segment *seg, int *no_memory)
{
    char name[SEGMENT_NAME_MAX];
    segment_name(name, seg->id, SEGMENT_HINT_SUFFIX);
    char *path = db_dir_file(&db->dir, name);
    if (path == NULL)
        return KV_ERR_NOMEM;
    recover_hint_ctx c = {.db = db, .seg = seg};
    uint64_t bytes = 0;
    int rc = hint_load(path, seg->id, seg->size, recover_hint_entry, &c, &bytes);
    free(path);
    *no_memory = rc == KV_ERR_NOMEM && !c.failed;
    if (rc == KV_OK) {
        db->open_bytes_read += bytes;
        db->open_segments_from_hint++;
        seg->has_hint = 1;
        seg->live_bytes += SEGMENT_START; /* its header: never garbage */
    }
    return rc == KV_OK || c.failed ? rc : RECORD_DAMAGED;
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

/* Replays every record of seg and does what the verdict says. */
static int recover_scan(kv_db *db, segment *seg, int last)
{
    uint64_t size = seg->size;
    void *args[2] = {db, seg};
    record_damage d;
    int rc = record_replay(seg->file, size, recover_op, args, &d);
    db->open_bytes_read += size;
    db->open_segments_scanned++;
    if (rc != KV_OK && rc != RECORD_DAMAGED)
        return rc;
    recover_verdict v;
    recover_judge(size, rc, &d, last, db->opt.strict_recovery, &v);
    if (v.action == RECOVER_REFUSE)
        return kv_error(KV_ERR_CORRUPT, "%s: %s (kv check lists all damage; kv repair "
                        "salvages the intact records from stage 03 on, and before it, a copy "
                        "of the file cut at the damage keeps what precedes it)",
                        io_path(seg->file), v.text);
    if (v.sealed) {
        seg->sealed = 1;
        seg->live_bytes += d.seal_bytes; /* as at roll-over: not garbage */
    }
    if (v.keep >= SEGMENT_START)
        seg->live_bytes += SEGMENT_START; /* its header, likewise */
    if (v.action == RECOVER_CUT) {
        db->open_torn_bytes = v.cut;
        db->open_tail_records_dropped = d.has_next;
        if (!db->opt.read_only && (rc = io_truncate(seg->file, v.keep)) != KV_OK)
            return rc;
        seg->size = v.keep;
    }
    return KV_OK;
}

/* Opens and indexes every segment, oldest first.  Segments are opened for
 * writing unless read-only, because the last one with records may need its
 * torn tail cut; appends only ever go to the active (highest) one. */
static int recover_segments(kv_db *db, const recover_listing *l)
{
    int rc = segment_table_reserve(&db->segs, l->nlogs + 1);
    int flags = db->opt.read_only ? IO_READ : IO_WRITE;
    for (size_t i = 0; rc == KV_OK && i < l->nlogs; i++) {
        segment *seg = NULL;
        if ((rc = segment_open(db->dir.path, l->logs[i], flags, &seg)) == KV_OK)
            segment_table_insert(&db->segs, seg);
    }
    uint64_t *sizes = malloc((db->segs.n + 1) * sizeof *sizes);
    if (rc == KV_OK && sizes == NULL)
        rc = kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", db->dir.path);
    for (size_t i = 0; rc == KV_OK && i < db->segs.n; i++)
        sizes[i] = db->segs.v[i]->size;
    size_t last = rc == KV_OK ? recover_last(sizes, db->segs.n) : 0;
    free(sizes);
    for (size_t i = 0; rc == KV_OK && i < db->segs.n; i++) {
        segment *seg = db->segs.v[i];
        /* The active (highest) segment is always read: appends go there, so
         * its bytes must be known good, which only reading them proves.  (A
         * merge never leaves a hint on it; only a damaged directory can.) */
        /* A hint never vouches for the segment's header, which it does
         * not describe: that is checked first (if it is wrong, the scan
         * says so). */
        if (i + 1 < db->segs.n && recover_has(l->hints, l->nhints, seg->id) &&
            segment_check_header(seg->file, seg->size) == KV_OK) {
            int no_memory = 0;
            rc = recover_from_hint(db, seg, &no_memory);
            seg->sealed = rc == KV_OK; /* the hint matched its exact size */
            if (rc != RECORD_DAMAGED)
                continue;
            /* A bad hint costs time, not data: read the segment instead
             * (and one that did not fit in memory this time stays). */
            db->open_hints_rejected++;
            char name[SEGMENT_NAME_MAX];
            segment_name(name, seg->id, SEGMENT_HINT_SUFFIX);
            if (!db->opt.read_only && !no_memory && (rc = recover_remove(db, name)) != KV_OK)
                break;
        }
        rc = recover_scan(db, seg, i >= last);
    }
    return rc;
}

/* Removes the segment at index i of the table, and its file. */
static int recover_drop(kv_db *db, size_t i)
{
    segment *seg = db->segs.v[i];
    char name[SEGMENT_NAME_MAX];
    segment_name(name, seg->id, SEGMENT_SUFFIX);
    int rc = recover_remove(db, name);
    if (rc == KV_OK)
        segment_unref(segment_table_remove(&db->segs, seg->id));
    return rc;
}

/* The empty segments after the last one with records (hash_recover.h):
 * all but the highest go, and that one too if the segment below it is not
 * sealed; one that stays gets a fresh header if it has none. */
static int recover_empty_tail(kv_db *db)
{
    int rc = KV_OK;
    while (rc == KV_OK && db->segs.n > 1 &&
           !recover_has_records(db->segs.v[db->segs.n - 2]->size))
        rc = recover_drop(db, db->segs.n - 2);
    if (rc == KV_OK && db->segs.n > 1 &&
        !recover_has_records(db->segs.v[db->segs.n - 1]->size) &&
        !db->segs.v[db->segs.n - 2]->sealed)
        rc = recover_drop(db, db->segs.n - 1);
    segment *top = db->segs.n > 0 ? db->segs.v[db->segs.n - 1] : NULL;
    if (rc == KV_OK && top != NULL && top->size < SEGMENT_START)
        rc = segment_restart(top);
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
        if (!db->opt.read_only)
            rc = recover_empty_tail(db);
        if (rc == KV_OK && l.nlogs > 0)
            db->active = db->segs.v[db->segs.n - 1];
        else if (rc == KV_OK && !db->opt.read_only)
            rc = hash_db_roll(db, db->next_id);
        /* Every segment but the one writes go to never changes again. */
        for (size_t i = 0; rc == KV_OK && i < db->segs.n; i++) {
            if (db->segs.v[i] != db->active)
                segment_settle(db->segs.v[i]);
        }
    }
    free(l.logs);
    free(l.hints);
    db->open_us = hash_db_now_us() - started;
    return rc;
}
