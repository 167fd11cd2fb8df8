/*
 * merge.c: kv_compact for stage 02, Bitcask's merge.  It copies the live
 * records of every segment into new segments (with a hint file beside each,
 * when that pays), and removes the old ones, so disk use falls back to the
 * live data.
 *
 * The protocol (docs/02-hash.md, "Merge", gives the crash-safety argument
 * for each step; the step names below are the ones used there):
 *
 *   M1 begin    under write_lock: if no byte is dead, return.  Take every
 *               segment as an input (the active one too), reserve a block
 *               of ids above them for the outputs, and start a new active
 *               segment above that block.  Writes go on meanwhile.
 *   M2 copy     read each input in id order; copy each put record the index
 *               still points at into <id>.log.tmp, noting it in a hint.
 *   M3 seal     fsync each output; write and fsync its <id>.hint.tmp.
 *   M4 publish  rename each hint, then each segment, to its final name;
 *               fsync the directory.
 *   M5 commit   under index_lock: point every key still at its input place
 *               to its output place; swap inputs for outputs in the table.
 *               This is the commit point in memory; on disk the merge was
 *               complete at M4.
 *   M6 remove   unlink the inputs in id order (and their hints); fsync the
 *               directory.
 *
 * A failure before M5 undoes what it can (the database goes on with the
 * inputs); an output that cannot be removed joins `doomed` (hash_db.h,
 * invariant 5).  A failure in M6 leaves the rest of the inputs in `doomed`.
 * Readers and iterators keep the input segments they hold references to,
 * open, until they let go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error.h"
#include "hash_db.h"
#include "hint.h"
#include "record_io.h"

#define MERGE_WRITE_BUFFER (256u * 1024u)
/* A hint is written only if it is at most 1/MERGE_HINT_SHARE of its
 * segment.  With small values, kv_open's time goes to inserting keys, not to
 * reading bytes, so a hint would save little and add much to disk use
 * (docs/02-hash-reference.md, "Hint files", has the measurements). */
#define MERGE_HINT_SHARE 10u

/* One output segment. */
typedef struct merge_output {
    uint32_t id;
    io_file *file;          /* <id>.log.tmp while it is written (M2, M3) */
    uint64_t size;
    hint_builder hint;      /* always built: M5 finds the keys in it */
    int has_hint;           /* the hint is worth a file (MERGE_HINT_SHARE) */
    int published;          /* 1 = hint renamed (if any), 2 = segment too (M4) */
    segment *seg;           /* <id>.log reopened for reading (M4) */
} merge_output;

/* One record copied: where it was, where it is now. */
typedef struct merge_move {
    size_t key_pos;         /* the key's copy, in its output's hint buffer */
    uint32_t klen;
    uint32_t out;           /* which output */
    hash_loc from, to;
} merge_move;

typedef struct merge {
    kv_db *db;
    segment **inputs;       /* every segment at M1, ids ascending, one ref each */
    size_t ninputs;
    uint64_t first_id, end_id;  /* ids reserved for outputs: [first_id, end_id) */
    merge_output *outs;
    size_t nouts, outs_cap;
    merge_move *moves;
    size_t nmoves, moves_cap;
    uint8_t *wbuf;          /* buffered bytes of the current output */
    size_t wlen;
    uint64_t bytes_read, bytes_written;
} merge;

/* DIR/<id><suffix>, or NULL with kv_errmsg set. */
static char *merge_path(const merge *m, uint32_t id, const char *suffix)
{
    char name[SEGMENT_NAME_MAX];
    segment_name(name, id, suffix);
    return db_dir_file(&m->db->dir, name);
}

static int merge_unlink(const merge *m, uint32_t id, const char *suffix)
{
    char *path = merge_path(m, id, suffix);
    if (path == NULL)
        return KV_ERR_NOMEM;
    int rc = io_unlink(path);
    free(path);
    return rc;
}

/* Makes room in `doomed` for `more` ids, so that merge_doom cannot fail
 * when it is needed, in the middle of an undo. */
static int merge_doom_reserve(kv_db *db, size_t more)
{
    if (db->ndoomed + more <= db->doomed_cap)
        return KV_OK;
    size_t cap = db->doomed_cap ? db->doomed_cap : 16;
    while (cap < db->ndoomed + more)
        cap *= 2;
    uint32_t *grown = realloc(db->doomed, cap * sizeof *grown);
    if (grown == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_compact: out of memory");
    db->doomed = grown;
    db->doomed_cap = cap;
    return KV_OK;
}

/* REQUIRES: room reserved. */
static void merge_doom(kv_db *db, uint32_t id) { db->doomed[db->ndoomed++] = id; }

/* Removes the files a failed merge left behind, in order, before this merge
 * may remove anything (invariant 5). */
static int merge_remove_doomed(merge *m)
{
    kv_db *db = m->db;
    if (db->ndoomed == 0)
        return KV_OK;
    size_t done = 0;
    int rc = KV_OK;
    while (done < db->ndoomed && (rc = merge_unlink(m, db->doomed[done], SEGMENT_SUFFIX)) == KV_OK)
        done++;
    memmove(db->doomed, db->doomed + done, (db->ndoomed - done) * sizeof *db->doomed);
    db->ndoomed -= done;
    if (rc == KV_OK)
        rc = io_sync_dir(db->dir.path);
    if (rc != KV_OK)
        kv_error_append(" (removing a segment an earlier merge left; kv_compact retries)");
    return rc;
}

/* M1.  Sets m->ninputs to 0 if there is nothing to reclaim. */
static int merge_begin(merge *m)
{
    kv_db *db = m->db;
    pthread_mutex_lock(&db->write_lock);
    uint64_t total = 0, live = 0;
    for (size_t i = 0; i < db->segs.n; i++) {
        total += db->segs.v[i]->size;
        live += db->segs.v[i]->live_bytes;
    }
    int rc = hash_db_refuse_if_failed(db, "kv_compact");
    if (rc == KV_OK && total > live) {
        m->inputs = malloc(db->segs.n * sizeof *m->inputs);
        if (m->inputs == NULL) {
            rc = kv_error(KV_ERR_NOMEM, "kv_compact: out of memory");
        } else {
            /* Two consecutive outputs hold more than the limit together (a
             * record that does not fit starts the next), and each holds at
             * least one record: that bounds how many ids the outputs need. */
            uint64_t by_size = 2 * ((total + db->segment_limit - 1) / db->segment_limit) + 2;
            uint64_t by_keys = (uint64_t)db->index.count + 1;
            m->first_id = db->next_id;
            m->end_id = m->first_id + (by_size < by_keys ? by_size : by_keys);
            rc = hash_db_roll(db, m->end_id);
        }
        if (rc == KV_OK)
            rc = merge_doom_reserve(db, db->segs.n);
        if (rc == KV_OK) {
            /* The table now ends with the new active segment: not an input. */
            m->ninputs = db->segs.n - 1;
            for (size_t i = 0; i < m->ninputs; i++) {
                m->inputs[i] = db->segs.v[i];
                segment_ref(m->inputs[i]);
            }
        }
    }
    pthread_mutex_unlock(&db->write_lock);
    return rc;
}

static int merge_flush(merge *m)
{
    if (m->wlen == 0)
        return KV_OK;
    int rc = io_append_bytes(m->outs[m->nouts - 1].file, m->wbuf, m->wlen);
    m->wlen = 0;
    return rc;
}

/* M3 for the current output: sync it, and write its hint. */
static int merge_seal(merge *m)
{
    merge_output *o = &m->outs[m->nouts - 1];
    int rc = KV_OK;
    if (m->wlen + RECORD_SEAL_MAX > MERGE_WRITE_BUFFER)
        rc = merge_flush(m);
    /* The seal (record_io.h) counts as part of the last record, so the
     * hint still covers the whole segment. */
    size_t n = rc == KV_OK ? record_seal(m->wbuf + m->wlen, o->size) : 0;
    if (n > 0) {
        merge_move *last = &m->moves[m->nmoves - 1];
        m->wlen += n;
        o->size += n;
        last->to.size += (uint32_t)n;
        rc = hint_extend_last(&o->hint, (uint32_t)n, &last->key_pos);
    }
    if (rc == KV_OK)
        rc = merge_flush(m);
    if (rc == KV_OK)
        rc = io_sync(o->file);
    int crc = io_close(o->file);
    o->file = NULL;
    if (rc == KV_OK)
        rc = crc;
    if (rc != KV_OK)
        return rc;
    m->bytes_written += o->size;
    uint64_t hint_bytes = o->hint.len + HINT_TRAILER; /* len counts the header */
    if (hint_bytes * MERGE_HINT_SHARE > o->size)
        return KV_OK;
    char *path = merge_path(m, o->id, SEGMENT_HINT_SUFFIX SEGMENT_TMP_SUFFIX);
    if (path == NULL)
        return KV_ERR_NOMEM;
    rc = hint_write(path, o->id, o->size, &o->hint);
    free(path);
    o->has_hint = 1; /* set even on failure: the undo removes the file */
    m->bytes_written += hint_bytes;
    return rc;
}

/* Starts the next output, <id>.log.tmp. */
static int merge_start_output(merge *m)
{
    uint64_t id = m->first_id + m->nouts;
    if (id >= m->end_id)
        return kv_error(KV_ERR_INVALID, "kv_compact: more output segments than the %llu ids "
                        "reserved (a bug)", (unsigned long long)(m->end_id - m->first_id));
    if (m->nouts == m->outs_cap) {
        size_t cap = m->outs_cap ? 2 * m->outs_cap : 8;
        merge_output *outs = realloc(m->outs, cap * sizeof *outs);
        if (outs == NULL)
            return kv_error(KV_ERR_NOMEM, "kv_compact: out of memory");
        m->outs = outs;
        m->outs_cap = cap;
    }
    merge_output *o = &m->outs[m->nouts];
    memset(o, 0, sizeof *o);
    o->id = (uint32_t)id;
    int rc = merge_doom_reserve(m->db, m->nouts + 1);
    if (rc == KV_OK)
        rc = hint_builder_init(&o->hint);
    if (rc != KV_OK)
        return rc;
    m->nouts++; /* counted now, so the undo sees it */
    char *path = merge_path(m, o->id, SEGMENT_SUFFIX SEGMENT_TMP_SUFFIX);
    if (path == NULL)
        return KV_ERR_NOMEM;
    rc = io_open(path, IO_WRITE | IO_CREATE | IO_TRUNC, &o->file);
    free(path);
    /* Its header first, as every segment (record_io.h); it is synced with
     * the rest at M3. */
    if (rc == KV_OK && (rc = segment_write_header(o->file)) == KV_OK)
        o->size = SEGMENT_START;
    return rc;
}

/* Copies one live op into the current output, as a record of its own. */
static int merge_copy(merge *m, const record_op *op, const segment *in)
{
    int rc = KV_OK;
    uint64_t max = record_encoded_max(op);
    if (m->nouts == 0 ||
        (m->outs[m->nouts - 1].size > SEGMENT_START &&
         m->outs[m->nouts - 1].size + max > m->db->segment_limit)) {
        if (m->nouts > 0 && (rc = merge_seal(m)) != KV_OK)
            return rc;
        if ((rc = merge_start_output(m)) != KV_OK)
            return rc;
    }
    merge_output *o = &m->outs[m->nouts - 1];
    if (m->wlen + max > MERGE_WRITE_BUFFER && (rc = merge_flush(m)) != KV_OK)
        return rc;
    size_t size;
    if (max > MERGE_WRITE_BUFFER) {
        uint8_t *big = malloc((size_t)max);
        if (big == NULL)
            return kv_error(KV_ERR_NOMEM, "kv_compact: out of memory for a record of %llu "
                            "bytes", (unsigned long long)max);
        size = record_encode(big, o->size, op);
        rc = io_append_bytes(o->file, big, size);
        free(big);
    } else {
        size = record_encode(m->wbuf + m->wlen, o->size, op);
        m->wlen += size;
    }
    if (rc != KV_OK)
        return rc;

    if (m->nmoves == m->moves_cap) {
        size_t cap = m->moves_cap ? 2 * m->moves_cap : 1024;
        merge_move *moves = realloc(m->moves, cap * sizeof *moves);
        if (moves == NULL)
            return kv_error(KV_ERR_NOMEM, "kv_compact: out of memory for %zu records", cap);
        m->moves = moves;
        m->moves_cap = cap;
    }
    merge_move *mv = &m->moves[m->nmoves];
    mv->klen = op->klen;
    mv->out = (uint32_t)(m->nouts - 1);
    mv->from = (hash_loc){.offset = op->offset, .seg = in->id, .size = op->size};
    mv->to = (hash_loc){.offset = o->size, .seg = o->id, .size = (uint32_t)size};
    rc = hint_add(&o->hint, op->key, op->klen, (uint32_t)size, &mv->key_pos);
    if (rc != KV_OK)
        return rc;
    m->nmoves++;
    o->size += size;
    return KV_OK;
}

static int merge_copy_op(void *ctx, const record_op *op)
{
    void **args = ctx;
    merge *m = args[0];
    const segment *in = args[1];
    kv_db *db = m->db;
    m->bytes_read += op->size;
    if (op->is_delete)
        return KV_OK; /* every older record is in an input too: drop it */
    pthread_rwlock_rdlock(&db->index_lock);
    const hash_loc *loc = hash_index_find(&db->index, op->key, op->klen);
    int live = loc && loc->seg == in->id && loc->offset == op->offset;
    pthread_rwlock_unlock(&db->index_lock);
    return live ? merge_copy(m, op, in) : KV_OK;
}

/* M2 for one input. */
static int merge_copy_segment(merge *m, const segment *in)
{
    void *args[2] = {m, (void *)in};
    record_damage d;
    int rc = record_replay(in->file, in->size, merge_copy_op, args, &d);
    if (rc == RECORD_DAMAGED)
        rc = kv_error(KV_ERR_CORRUPT, "%s: offset %llu: %s (the file changed since it was "
                      "opened)", io_path(in->file), (unsigned long long)d.offset, d.why);
    return rc;
}

/* M4: hints first, so a segment under its final name never lacks the hint
 * it was written with (a hint without its segment is removed at open). */
static int merge_publish(merge *m)
{
    int rc = KV_OK;
    for (size_t i = 0; rc == KV_OK && i < m->nouts; i++) {
        merge_output *o = &m->outs[i];
        char *from_hint = merge_path(m, o->id, SEGMENT_HINT_SUFFIX SEGMENT_TMP_SUFFIX);
        char *to_hint = merge_path(m, o->id, SEGMENT_HINT_SUFFIX);
        char *from_log = merge_path(m, o->id, SEGMENT_SUFFIX SEGMENT_TMP_SUFFIX);
        char *to_log = merge_path(m, o->id, SEGMENT_SUFFIX);
        if (!from_hint || !to_hint || !from_log || !to_log)
            rc = KV_ERR_NOMEM;
        if (rc == KV_OK && (!o->has_hint || (rc = io_rename(from_hint, to_hint)) == KV_OK))
            o->published = 1;
        if (rc == KV_OK && (rc = io_rename(from_log, to_log)) == KV_OK)
            o->published = 2;
        free(from_hint);
        free(to_hint);
        free(from_log);
        free(to_log);
    }
    if (rc == KV_OK)
        rc = io_sync_dir(m->db->dir.path);
    for (size_t i = 0; rc == KV_OK && i < m->nouts; i++) {
        merge_output *o = &m->outs[i];
        if ((rc = segment_open(m->db->dir.path, o->id, IO_READ, &o->seg)) == KV_OK) {
            o->seg->has_hint = o->has_hint;
            o->seg->live_bytes = SEGMENT_START; /* its header; M5 adds the records */
        }
    }
    return rc;
}

/* M5.  It fails only before it changes anything, for want of room in the
 * segment table: the room is made under the same hold of index_lock as the
 * insertions, since a roll-over (under write_lock, which a merge does not
 * hold here) inserts into the table too, and would use up room reserved
 * in an earlier hold. */
static int merge_commit(merge *m)
{
    kv_db *db = m->db;
    pthread_rwlock_wrlock(&db->index_lock);
    int rc = segment_table_reserve(&db->segs, m->nouts);
    if (rc != KV_OK) {
        pthread_rwlock_unlock(&db->index_lock);
        return rc;
    }
    for (size_t i = 0; i < m->nmoves; i++) {
        const merge_move *mv = &m->moves[i];
        merge_output *o = &m->outs[mv->out];
        const uint8_t *key = o->hint.buf + mv->key_pos;
        hash_loc *loc = hash_index_find(&db->index, key, mv->klen);
        /* A key written again during the merge keeps its newer place; its
         * copy in the output is dead from the start. */
        if (loc && loc->seg == mv->from.seg && loc->offset == mv->from.offset) {
            *loc = mv->to;
            o->seg->live_bytes += mv->to.size;
        }
    }
    for (size_t i = 0; i < m->nouts; i++) {
        segment_settle(m->outs[i].seg); /* a merge's output is never written again */
        segment_table_insert(&db->segs, m->outs[i].seg);
        m->outs[i].seg = NULL; /* the table holds its reference now */
    }
    for (size_t i = 0; i < m->ninputs; i++)
        segment_unref(segment_table_remove(&db->segs, m->inputs[i]->id));
    pthread_rwlock_unlock(&db->index_lock);
    return KV_OK;
}

/* M6.  Inputs go in id order: if it stops half-way, the inputs left are the
 * newest ones, and replaying them before the outputs gives the same result
 * (docs/02-hash.md explains why the order matters). */
static int merge_remove_inputs(merge *m)
{
    kv_db *db = m->db;
    int rc = KV_OK;
    size_t i = 0;
    for (; i < m->ninputs; i++) {
        uint32_t id = m->inputs[i]->id;
        if ((rc = merge_unlink(m, id, SEGMENT_SUFFIX)) != KV_OK)
            break;
        /* A hint left without its segment is harmless (removed at open),
         * but a failure is still a failure. */
        if (m->inputs[i]->has_hint && (rc = merge_unlink(m, id, SEGMENT_HINT_SUFFIX)) != KV_OK) {
            i++;
            break;
        }
    }
    if (rc != KV_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", kv_errmsg());
        for (; i < m->ninputs; i++)
            merge_doom(db, m->inputs[i]->id);
        return kv_error(rc, "kv_compact: the merge is complete, but removing the old "
                        "segments failed (%s); the next kv_compact retries", msg);
    }
    return io_sync_dir(db->dir.path);
}

/* Undoes M2..M4 after a failure; keeps the failure's message. */
static void merge_undo(merge *m)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", kv_errmsg());
    for (size_t i = 0; i < m->nouts; i++) {
        merge_output *o = &m->outs[i];
        io_close(o->file);
        o->file = NULL;
        segment_unref(o->seg);
        o->seg = NULL;
        merge_unlink(m, o->id, SEGMENT_SUFFIX SEGMENT_TMP_SUFFIX);
        if (o->has_hint)
            merge_unlink(m, o->id, SEGMENT_HINT_SUFFIX SEGMENT_TMP_SUFFIX);
        if (o->has_hint && o->published >= 1)
            merge_unlink(m, o->id, SEGMENT_HINT_SUFFIX);
        if (o->published == 2 && merge_unlink(m, o->id, SEGMENT_SUFFIX) != KV_OK)
            merge_doom(m->db, o->id);
    }
    kv_error(KV_ERR_IO, "%s", msg);
}

static void merge_free(merge *m)
{
    for (size_t i = 0; i < m->ninputs; i++)
        segment_unref(m->inputs[i]);
    for (size_t i = 0; i < m->nouts; i++)
        hint_builder_free(&m->outs[i].hint);
    free(m->inputs);
    free(m->outs);
    free(m->moves);
    free(m->wbuf);
}

static int merge_run(kv_db *db)
{
    uint64_t started = hash_db_now_us(), t0 = latency_start();
    merge m = {.db = db};
    int rc = merge_begin(&m);
    if (rc != KV_OK || m.ninputs == 0) {
        merge_free(&m);
        return rc;
    }
    if ((m.wbuf = malloc(MERGE_WRITE_BUFFER)) == NULL)
        rc = kv_error(KV_ERR_NOMEM, "kv_compact: out of memory");
    for (size_t i = 0; rc == KV_OK && i < m.ninputs; i++)
        rc = merge_copy_segment(&m, m.inputs[i]);
    if (rc == KV_OK && m.nouts > 0)
        rc = merge_seal(&m);
    if (rc == KV_OK)
        rc = merge_publish(&m);
    if (rc == KV_OK)
        rc = merge_commit(&m);
    if (rc != KV_OK) {
        merge_undo(&m);
        merge_free(&m);
        return rc;
    }
    rc = merge_remove_inputs(&m);
    __atomic_add_fetch(&db->merges, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->merge_bytes_read, m.bytes_read, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->merge_bytes_written, m.bytes_written, __ATOMIC_RELAXED);
    __atomic_add_fetch(&db->merge_us, hash_db_now_us() - started, __ATOMIC_RELAXED);
    latency_record(&db->lat, LATENCY_COMPACT, t0);
    merge_free(&m);
    return rc;
}

int kv_set_background_rate(kv_db *db, size_t bytes_per_sec)
{
    /* Nothing is written in the background here: 0 is how it writes. */
    int rc = args_check_ptr("kv_set_background_rate", db, "db");
    if (rc == KV_OK && bytes_per_sec != 0)
        rc = kv_error(KV_ERR_INVALID, "kv_set_background_rate %zu: stage %s writes nothing in "
                      "the background; 0 (no limit) is the only rate it takes", bytes_per_sec,
                      kv_stage());
    return rc;
}

int kv_flush(kv_db *db)
{
    /* Every write is in a segment when it returns; the index is rebuilt
     * from them: nothing is only in memory. */
    int rc = args_check_ptr("kv_flush", db, "db");
    if (rc == KV_OK && db->opt.read_only)
        rc = kv_error(KV_ERR_INVALID, "kv_flush: the database was opened read-only");
    return rc;
}

int kv_compact(kv_db *db)
{
    int rc = args_check_ptr("kv_compact", db, "db");
    if (rc != KV_OK)
        return rc;
    if (db->opt.read_only)
        return kv_error(KV_ERR_INVALID, "kv_compact: the database was opened read-only");
    pthread_mutex_lock(&db->merge_lock);
    merge m = {.db = db};
    rc = merge_remove_doomed(&m);
    if (rc == KV_OK)
        rc = merge_run(db);
    pthread_mutex_unlock(&db->merge_lock);
    return rc;
}
