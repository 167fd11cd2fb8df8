/*
 * level_pick.c: the jobs stage 06's table set gives the engine
 * (table_set_pick, table_job.h), and the two questions a merge asks of
 * its job.  Whatever the engine asks:
 *   FLUSH       a job for the frozen memtable; where its table goes is
 *               decided when it is applied, once its keys are known
 *               (level_apply.c, "Where a flush goes");
 *   MANUAL      kv_compact: level by level from the top, each level's
 *               tables merged into the next, down to the deepest level
 *               that holds a table (at least level 1), or to the one
 *               below it where that one would be left over its target
 *               (so that no background compaction follows): step s is level s,
 *               or the next one below it that has a table; then every
 *               table that still holds a version no reader can read (a
 *               table that was already deepest, say) rewritten in place
 *               (compaction_pick_dead), so that kv_compact leaves none;
 *   BACKGROUND  the compaction the picker chooses (compaction_pick.h)
 *               while some level's score is >= 1, a move if it is a
 *               trivial one; else a garbage compaction, a table full of
 *               versions that no reader can read since the oldest snapshot
 *               moved on, rewritten in place (compaction_pick_garbage); if
 *               one waits for the oldest snapshot to move on, the engine
 *               hears when (*wake_seq).
 * A job's own part (job->set) is its compaction, which holds a reference
 * on the version it was picked from, so its inputs stay open.
 */
#include "level_set.h"

#include <stdlib.h>

#include "error.h"

/* A job for compaction c (taken over: freed with the job), or none for a
 * flush (c NULL).  KV_OK or NOMEM (c freed). */
static int level_job_new(table_job_kind kind, compaction *c, table_job **out)
{
    table_job *job = calloc(1, sizeof *job);
    size_t n = c != NULL ? c->inputs[0].n + c->inputs[1].n : 0;
    table **inputs = n > 0 ? malloc(n * sizeof *inputs) : NULL;
    if (job == NULL || (n > 0 && inputs == NULL)) {
        free(job);
        free(inputs);
        compaction_free(c);
        return kv_error(KV_ERR_NOMEM, "compaction: out of memory");
    }
    job->kind = kind;
    job->level = c != NULL ? c->level + 1 : 0;
    job->set = c;
    /* Newest first: level L's tables (L0's newest first), then L+1's. */
    for (int which = 0; c != NULL && which < 2; which++)
        for (size_t i = 0; i < c->inputs[which].n; i++)
            inputs[job->ninputs++] = c->inputs[which].files[i]->t;
    job->inputs = inputs;
    if (c != NULL)
        job->bytes_read = compaction_input_bytes(c, 0) + compaction_input_bytes(c, 1);
    *out = job;
    return KV_OK;
}

void level_job_free(table_job *job)
{
    if (job == NULL)
        return;
    for (size_t i = 0; i < job->noutputs; i++) {
        free(job->outputs[i].path);
        free(job->outputs[i].smallest);
        free(job->outputs[i].largest);
    }
    free(job->outputs);
    free(job->inputs);
    compaction_free(job->set);
    free(job);
}

/* kv_compact's step: the first level at or after `step`, above the deepest
 * one that holds a table (at least level 1), with a table to merge down;
 * past those, a table with versions no reader at `oldest` can read. */
static int level_pick_manual(table_set *ts, int step, uint64_t oldest, table_job **out)
{
    int deepest = 0;
    for (int level = 0; level < VERSION_LEVELS; level++)
        if (ts->current->nfiles[level] > 0)
            deepest = level;
    if (deepest == 0)
        deepest = 1;
    /* Merged into, the deepest level may end over its target: the
     * background's next compaction would then move some of its tables a
     * level down, and the lookups of a database kv_compact just settled
     * would search two levels.  So such a level is merged into the one
     * below it too (asked again at each step, as the levels above fill it). */
    if (deepest + 1 < VERSION_LEVELS && step <= deepest &&
        compaction_level_score(ts->current, &ts->copt, deepest) >= 1.0)
        deepest++;
    for (int level = step; level < deepest; level++) {
        compaction *c = NULL;
        int rc = compaction_pick_range(ts->current, &ts->copt, level, NULL, 0, NULL, 0, &c);
        if (rc != KV_OK)
            return rc;
        if (c == NULL)
            continue;
        if ((rc = level_job_new(TABLE_JOB_MERGE, c, out)) == KV_OK) {
            (*out)->manual = 1;
            (*out)->next_step = level + 1;
        }
        return rc;
    }
    compaction *c = NULL;
    int rc = compaction_pick_dead(ts->current, &ts->copt, oldest, &c);
    if (rc == KV_OK && c != NULL && (rc = level_job_new(TABLE_JOB_MERGE, c, out)) == KV_OK) {
        (*out)->manual = 1;
        (*out)->garbage = 1;
        (*out)->next_step = VERSION_LEVELS; /* rewritten, it holds none that may go now */
    }
    return rc;
}

/* The compaction the scores call for, else a garbage compaction. */
static int level_pick_background(table_set *ts, uint64_t oldest, table_job **out,
                                 uint64_t *wake_seq)
{
    compaction_pointers p;
    for (int i = 0; i < VERSION_LEVELS; i++) {
        p.key[i] = ts->pointer[i];
        p.len[i] = ts->pointer_len[i];
    }
    compaction *c = NULL;
    int garbage = 0;
    int rc = compaction_pick(ts->current, &ts->copt, &p, &c);
    if (rc == KV_OK && c == NULL) {
        uint64_t wait_for = 0;
        rc = compaction_pick_garbage(ts->current, &ts->copt, oldest, &c, &wait_for);
        garbage = c != NULL;
        if (wake_seq != NULL)
            *wake_seq = wait_for;
    }
    if (rc != KV_OK || c == NULL)
        return rc;
    rc = level_job_new(compaction_is_trivial_move(c) ? TABLE_JOB_MOVE : TABLE_JOB_MERGE, c, out);
    if (rc == KV_OK)
        (*out)->garbage = garbage;
    return rc;
}

int table_set_pick(table_set *ts, const table_ask *ask, table_job **out, uint64_t *wake_seq)
{
    *out = NULL;
    if (wake_seq != NULL)
        *wake_seq = 0;
    if (__atomic_load_n(&ts->manifest_broken, __ATOMIC_ACQUIRE))
        return KV_OK; /* nothing may change any more */
    switch (ask->kind) {
    case TABLE_ASK_FLUSH: {
        int rc = level_job_new(TABLE_JOB_FLUSH, NULL, out);
        if (rc == KV_OK) {
            (*out)->lo = ask->lo;
            (*out)->hi = ask->hi;
            (*out)->during_merge = ask->during_merge;
        }
        return rc;
    }
    case TABLE_ASK_MANUAL:
        return level_pick_manual(ts, ask->step, ask->oldest, out);
    case TABLE_ASK_BACKGROUND:
        return level_pick_background(ts, ask->oldest, out, wake_seq);
    }
    return KV_OK;
}

int table_job_split_before(table_job *job, const uint8_t *ikey, size_t len, uint64_t bytes)
{
    return job->set != NULL && compaction_should_stop_before(job->set, ikey, len, bytes);
}

int table_job_base_for_key(table_job *job, const uint8_t *ukey, size_t len)
{
    return job->set == NULL || compaction_is_base_level_for_key(job->set, ukey, len);
}
