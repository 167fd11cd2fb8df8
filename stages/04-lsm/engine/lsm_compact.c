/*
 * lsm_compact.c: the engine's merge, the one every LSM stage runs: stage
 * 04's kv_compact (one merge of every table), stage 06's leveled
 * compactions, and whatever a later table set picks.  The table set says
 * which tables go in and where the output goes (table_job.h); this file
 * does the rest.
 *
 * A merge walks every version of every key of its inputs, newest first
 * within a key (internal_key.h), through stage 04's merging iterator, and
 * drops what no reader can read any more: the rule is drop_rule.h's, the
 * one place that says it (C1, a newer version at or below the oldest
 * snapshot; C2, a tombstone at or below it with nothing older below the
 * output, which the job answers: table_job_base_for_key).  It writes the
 * rest to tables the set names (table_set_output), starting a new one
 * where the job says (table_job_split_before: stage 06 at its table size,
 * and never between two versions of one user key).  A move (MOVE) reads
 * and writes nothing: the set's edit moves its table down.
 *
 * A memtable frozen while a merge runs is flushed between two of its
 * entries (merge_flush_meanwhile), not after it: a writer that filled the
 * next memtable meanwhile would otherwise wait for the rest of the merge,
 * which may take longer than a memtable takes to fill (LevelDB's
 * DoCompactionWork does the same).  The set puts it where the merge's
 * outputs cannot cover it (stage 06: level 0).
 *
 * Then the set makes the change durable and installs it (table_set_apply;
 * a crash before that leaves the outputs as garbage and the inputs live,
 * after it the inputs as garbage: kv_open removes either), and the engine
 * publishes a view of it.  The inputs' files go once no version holds
 * them (a reader may still be at an older one: lsm_collect).
 *
 * Cost: a merge reads its inputs once and writes the live data once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drop_rule.h"
#include "error.h"
#include "lsm_db.h"
#include "lsm_elsewhere.h"
#include "lsm_out.h"
#include "merge_iter.h"

/* A merge looks for a frozen memtable once per this many entries: often
 * enough to find it within a millisecond or so, rarely enough to cost
 * nothing. */
#define MERGE_FLUSH_CHECK_ENTRIES 1024

typedef struct merge_state {
    kv_db *db;
    table_job *job;
    uint64_t oldest;            /* the oldest live snapshot (drop_rule.h's s) */
    drop_rule rule;
    lsm_out out;                /* the output being written (out.b NULL: none) */
    uint64_t written;           /* the bytes of the outputs finished */
    uint64_t dropped;
    uint8_t *last_tomb;         /* job->keep_one: the newest tombstone dropped */
    size_t last_tomb_len, tomb_cap;
    uint64_t switches;          /* the memtable switches already seen */
} merge_state;

/* C2's condition, the job's to answer. */
static int merge_nothing_below(void *ctx, const uint8_t *k, size_t len)
{
    return table_job_base_for_key(ctx, k, len);
}

/* *drop = 1 if the entry goes (drop_rule.h).  KV_OK or NOMEM. */
static int merge_drop(merge_state *m, const uint8_t *ikey, size_t len, int *drop)
{
    uint64_t from = DROP_NEVER;
    int rc = drop_rule_next(&m->rule, ikey, len, merge_nothing_below, m->job, &from);
    *drop = rc == KV_OK && from <= m->oldest;
    if (*drop && m->job->keep_one && ikey_type_of(ikey, len) == IKEY_DELETE &&
        (m->last_tomb_len == 0 || ikey_seq(m->last_tomb, m->last_tomb_len) < ikey_seq(ikey, len))) {
        if (len > m->tomb_cap) {
            uint8_t *grown = realloc(m->last_tomb, len);
            if (grown == NULL)
                return kv_error(KV_ERR_NOMEM, "compaction: out of memory for a key");
            m->last_tomb = grown;
            m->tomb_cap = len;
        }
        memcpy(m->last_tomb, ikey, len);
        m->last_tomb_len = len;
    }
    m->dropped += (uint64_t)*drop;
    return rc;
}

/* The output the entry goes to: the open one, or a new one where the job
 * says a table ends.  REQUIRES: no lock held. */
static int merge_output(merge_state *m, const uint8_t *ikey, size_t len)
{
    int rc = KV_OK;
    if (table_job_split_before(m->job, ikey, len, lsm_out_bytes(&m->out)) && m->out.b != NULL) {
        rc = lsm_out_finish(&m->out);
        if (rc == KV_OK)
            m->written += m->job->outputs[m->out.at].meta.file_bytes;
    }
    if (rc == KV_OK && m->out.b == NULL)
        rc = lsm_out_begin(m->db->tables.set, m->db->tables.ctx, m->db->tables.rate, m->job,
                           &m->out);
    return rc;
}

/* An iterator over every input, newest first. */
static int merge_inputs(const table_job *job, iter **out)
{
    iter **children = malloc((job->ninputs + 1) * sizeof *children);
    if (children == NULL)
        return kv_error(KV_ERR_NOMEM, "compaction: out of memory");
    size_t k = 0;
    int rc = KV_OK;
    for (; rc == KV_OK && k < job->ninputs; k++)
        if ((rc = table_iter_new(job->inputs[k], &children[k])) != KV_OK)
            break;
    if (rc == KV_OK)
        rc = merge_iter_new(children, k, out);
    else
        while (k > 0)
            iter_free(children[--k]);
    free(children);
    return rc;
}

/* If a writer froze a memtable since the last look, flushes it now.  A
 * failed flush is kept for the next write, as the background thread
 * keeps its own; the merge goes on.  REQUIRES: no lock held. */
static void merge_flush_meanwhile(merge_state *m)
{
    kv_db *db = m->db;
    uint64_t switches = lsm_counted(&db->count.stats, LSM_SWITCHES);
    if (switches == m->switches)
        return;
    m->switches = switches;
    pthread_mutex_lock(&db->write_lock);
    if (db->memtables.imm != NULL && !db->fail.flush_failed && !db->fail.failed && lsm_flush_imm(db, 1) == KV_OK)
        lsm_count(&db->count.stats, LSM_FLUSHES_IN_MERGE, 1);
    pthread_mutex_unlock(&db->write_lock);
}

/* The merge: every input entry kept or dropped, the kept ones written.
 * REQUIRES: no lock held. */
static int merge_run(merge_state *m)
{
    iter *it = NULL;
    int rc = merge_inputs(m->job, &it);
    if (rc != KV_OK)
        return rc;
    uint64_t seen = 0;
    for (iter_seek_first(it); rc == KV_OK && iter_valid(it); iter_next(it)) {
        if (++seen % MERGE_FLUSH_CHECK_ENTRIES == 0)
            merge_flush_meanwhile(m);
        int drop = 0;
        if ((rc = merge_drop(m, it->key, it->key_len, &drop)) != KV_OK)
            continue;
        if (drop) {
            /* A value kept elsewhere that no version holds any more. */
            if (ikey_type_of(it->key, it->key_len) == IKEY_PUT_ELSEWHERE)
                value_store_dropped(m->db->values.store, it->value, it->value_len);
            continue;
        }
        if ((rc = merge_output(m, it->key, it->key_len)) == KV_OK)
            rc = lsm_out_add(&m->out, it->key, it->key_len, it->value, it->value_len);
    }
    if (rc == KV_OK)
        rc = iter_status(it);
    iter_free(it);
    /* Everything dropped, but the output must hold an entry: the newest
     * tombstone says as much as the inputs did (lsm_files.h, F3). */
    if (rc == KV_OK && m->job->keep_one && m->job->noutputs == 0 && m->last_tomb_len > 0 &&
        (rc = merge_output(m, m->last_tomb, m->last_tomb_len)) == KV_OK)
        rc = lsm_out_add(&m->out, m->last_tomb, m->last_tomb_len, NULL, 0);
    if (rc == KV_OK && m->out.b != NULL && (rc = lsm_out_finish(&m->out)) == KV_OK)
        m->written += m->job->outputs[m->out.at].meta.file_bytes;
    lsm_out_abandon(&m->out);
    return rc;
}

int lsm_compact_run(kv_db *db, table_job *job)
{
    uint64_t t0 = lsm_now_us(), ns0 = latency_start();
    int move = job->kind == TABLE_JOB_MOVE, level = job->level;
    uint64_t read = move ? 0 : job->bytes_read;
    merge_state m = {.db = db, .job = job,
                     .switches = lsm_counted(&db->count.stats, LSM_SWITCHES)};
    lsm_view *spare = NULL;
    int rc = lsm_view_reserve(db, &spare);
    pthread_mutex_unlock(&db->write_lock);
    m.oldest = lsm_oldest_snapshot(db);
    if (rc == KV_OK && !move)
        rc = merge_run(&m);
    drop_rule_free(&m.rule);
    free(m.last_tomb);
    pthread_mutex_lock(&db->write_lock);
    table_set_version *v = NULL;
    int final = 0;
    rc = table_set_apply(db->tables.set, job, rc, &db->write_lock, &v, &final);
    if (rc != KV_OK) {
        free(spare);
        if (final)
            lsm_set_failed(db, kv_errmsg());
        return rc;
    }
    lsm_view_install(db, spare, v, 0);
    uint64_t us = lsm_now_us() - t0;
    lsm_count_level(&db->count.stats, level, move ? TABLE_LEVEL_MOVES : TABLE_LEVEL_COMPACTIONS, 1);
    lsm_count_level(&db->count.stats, level, TABLE_LEVEL_BYTES_READ, read);
    lsm_count_level(&db->count.stats, level, TABLE_LEVEL_BYTES_WRITTEN, m.written);
    lsm_count_level(&db->count.stats, level, TABLE_LEVEL_US, us);
    lsm_count(&db->count.stats, LSM_COMPACT_COUNT, 1);
    lsm_count(&db->count.stats, LSM_COMPACT_BYTES_READ, read);
    lsm_count(&db->count.stats, LSM_COMPACT_BYTES_WRITTEN, m.written);
    lsm_count(&db->count.stats, LSM_COMPACT_DROPPED, m.dropped);
    lsm_count(&db->count.stats, LSM_COMPACT_US, us);
    latency_record(&db->count.stats.lat, LATENCY_COMPACT, ns0);
    return KV_OK;
}

int lsm_compact_manual(kv_db *db)
{
    table_ask ask = {.kind = TABLE_ASK_MANUAL};
    for (;;) {
        table_job *job = NULL;
        ask.oldest = lsm_oldest_snapshot(db);
        int rc = table_set_pick(db->tables.set, &ask, &job, NULL);
        if (rc != KV_OK || job == NULL)
            return rc;
        ask.step = job->next_step;
        if ((rc = lsm_compact_run(db, job)) != KV_OK)
            return rc;
    }
}

void lsm_collect(kv_db *db)
{
    uint64_t removed = 0;
    pthread_mutex_unlock(&db->write_lock);
    int rc = table_set_collect(db->tables.set, &removed);
    pthread_mutex_lock(&db->write_lock);
    lsm_count(&db->count.stats, LSM_FILES_DELETED, removed);
    if (rc != KV_OK)
        lsm_set_bg_error(db, rc); /* harmless (kv_open removes them), but said once */
}
