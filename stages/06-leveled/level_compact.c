/*
 * level_compact.c: one compaction (compaction_pick.h says which tables),
 * run by the background thread.
 *
 * A trivial move (one table, nothing under it in the next level) is an
 * edit only: the table changes level, no byte is rewritten.  Otherwise the
 * inputs (level L and the overlapping tables of L+1) are merged through
 * stage 04's merging iterator, newest version of each key first, and each
 * entry is kept or dropped by stage 04's rule (drop_rule.h): C1, a newer
 * version of its key at or below the oldest live snapshot; C2, a
 * tombstone at or below it when no level below L+1 holds its key
 * (compaction_is_base_level_for_key).  (Stage 04's kv_compact applies the
 * same function, its C2 always true: it merges every table.)  A garbage
 * compaction (compaction_pick_garbage) has no input at L and rewrites one
 * table of L+1 in place, by the same rule.  Entries are written to tables of
 * about table_bytes, a new one started where the picker says
 * (compaction_should_stop_before: the size, or too much overlap with the
 * level below, and only between two user keys, so that a key's versions
 * never span two tables of a level).
 *
 * A memtable frozen while the merge runs is flushed between two of its
 * entries (compact_flush_meanwhile), not after it: a writer that filled
 * the next memtable meanwhile would otherwise wait for the rest of the
 * compaction, which may take longer than a memtable takes to fill
 * (LevelDB's DoCompactionWork does the same).  It goes to level 0, which the compaction's edit leaves
 * alone but for its inputs.
 *
 * Then the edit: inputs removed, outputs added at L+1, L's compact pointer
 * moved on, made durable and installed (version_set.c).  The inputs' files
 * are deleted once no version holds them (version_set.h, VS3).  A crash before
 * the edit is durable leaves the outputs as garbage and the inputs live;
 * after it, the inputs as garbage: the next open removes either.
 */
#include <stdlib.h>
#include <string.h>

#include "drop_rule.h"
#include "error.h"
#include "level_compact.h"
#include "level_out.h"
#include "merge_iter.h"
#include "version_set.h"

typedef struct compact_job {
    table_set *ts;
    compaction *c;
    uint64_t oldest;            /* the oldest live snapshot (drop_rule.h's s) */
    drop_rule rule;
    level_out *outs;            /* the outputs, the last one open */
    size_t nouts, outs_cap;
    uint64_t dropped;
    uint64_t switches;          /* the memtable switches already seen */
} compact_job;

/* The merge looks for a frozen memtable once per this many entries: often
 * enough to find it within a millisecond or so, rarely enough to cost
 * nothing. */
#define COMPACT_FLUSH_CHECK_ENTRIES 1024

/* C2's condition: no level below the output holds the key. */
static int compact_nothing_below(void *ctx, const uint8_t *k, size_t len)
{
    return compaction_is_base_level_for_key(ctx, k, len);
}

/* *drop = 1 if the entry goes (drop_rule.h).  KV_OK or NOMEM. */
static int compact_drop(compact_job *j, const uint8_t *ikey, size_t len, int *drop)
{
    uint64_t from = DROP_NEVER;
    int rc = drop_rule_next(&j->rule, ikey, len, compact_nothing_below, j->c, &from);
    *drop = rc == KV_OK && from <= j->oldest;
    j->dropped += (uint64_t)*drop;
    return rc;
}

/* The output entries go to: the open one, or a new one. */
static int compact_output(compact_job *j, const uint8_t *ikey, size_t len, level_out **out)
{
    level_out *o = j->nouts ? &j->outs[j->nouts - 1] : NULL;
    uint64_t bytes = o != NULL && o->b != NULL ? table_builder_file_bytes(o->b) : 0;
    int rc = KV_OK;
    if (compaction_should_stop_before(j->c, ikey, len, bytes) && o != NULL && o->b != NULL)
        rc = level_out_finish(o);
    if (rc == KV_OK && (o == NULL || o->b == NULL)) {
        if (j->nouts == j->outs_cap) {
            size_t cap = 2 * j->outs_cap + 4;
            level_out *grown = realloc(j->outs, cap * sizeof *grown);
            if (grown == NULL)
                return kv_error(KV_ERR_NOMEM, "compaction: out of memory");
            j->outs = grown;
            j->outs_cap = cap;
        }
        o = &j->outs[j->nouts];
        rc = level_out_begin(j->ts, j->ts->next_file++, o);
        if (rc != KV_OK)
            return rc;
        j->nouts++;
    }
    *out = o;
    return rc;
}

/* An iterator over every input, newest first (L's tables, then L+1's). */
static int compact_inputs(compaction *c, iter **out)
{
    size_t n = c->inputs[0].n + c->inputs[1].n, k = 0;
    iter **children = malloc((n + 1) * sizeof *children);
    if (children == NULL)
        return kv_error(KV_ERR_NOMEM, "compaction: out of memory");
    int rc = KV_OK;
    for (int which = 0; which < 2; which++)
        for (size_t i = 0; rc == KV_OK && i < c->inputs[which].n; i++)
            if ((rc = table_iter_new(c->inputs[which].files[i]->t, &children[k])) == KV_OK)
                k++;
    if (rc == KV_OK)
        rc = merge_iter_new(children, k, out);
    else
        while (k > 0)
            iter_free(children[--k]);
    free(children);
    return rc;
}

/* If a writer froze a memtable since the last look (stage 04 counts the
 * switches), flushes it now, to level 0.  A failed flush is kept for the
 * next write, as the background thread keeps its own (version_set.c); the
 * compaction goes on.  REQUIRES: no lock held; the background thread. */
static void compact_flush_meanwhile(compact_job *j)
{
    kv_db *db = j->ts->db;
    uint64_t switches = __atomic_load_n(&db->switches, __ATOMIC_RELAXED);
    if (switches == j->switches)
        return;
    j->switches = switches;
    pthread_mutex_lock(&db->write_lock);
    /* To level 0 (j->ts->compacting is set); a failure is the engine's
     * to report. */
    if (db->imm != NULL && !db->flush_failed && version_set_usable(j->ts) &&
        lsm_flush_imm(db) == KV_OK)
        __atomic_add_fetch(&j->ts->flushes_in_compaction, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&db->write_lock);
}

/* The merge.  REQUIRES: no lock held. */
static int compact_merge(compact_job *j)
{
    iter *m = NULL;
    int rc = compact_inputs(j->c, &m);
    if (rc != KV_OK)
        return rc;
    uint64_t seen = 0;
    for (iter_seek_first(m); rc == KV_OK && iter_valid(m); iter_next(m)) {
        if (++seen % COMPACT_FLUSH_CHECK_ENTRIES == 0)
            compact_flush_meanwhile(j);
        int drop = 0;
        level_out *o = NULL;
        if ((rc = compact_drop(j, m->key, m->key_len, &drop)) != KV_OK || drop)
            continue;
        if ((rc = compact_output(j, m->key, m->key_len, &o)) == KV_OK)
            rc = level_out_add(o, m->key, m->key_len, m->value, m->value_len);
    }
    if (rc == KV_OK)
        rc = iter_status(m);
    iter_free(m);
    if (rc == KV_OK && j->nouts > 0 && j->outs[j->nouts - 1].b != NULL)
        rc = level_out_finish(&j->outs[j->nouts - 1]);
    if (rc == KV_OK && j->nouts > 0)
        rc = lsm_sync_dir(j->ts->db, "compaction");
    return rc;
}

/* The edit of a merge: its inputs removed, L's compact pointer moved on
 * (compaction_edit would also move a lone input down, which a merge of
 * kv_compact does not). */
static int compact_edit(const compaction *c, version_edit *e)
{
    int rc = KV_OK;
    for (int w = 0; w < 2; w++)
        for (size_t i = 0; rc == KV_OK && i < c->inputs[w].n; i++)
            rc = version_edit_remove_file(e, c->level + w, c->inputs[w].files[i]->number);
    size_t plen = 0;
    const uint8_t *p = compaction_next_pointer(c, &plen);
    if (rc == KV_OK && p != NULL)
        rc = version_edit_set_pointer(e, c->level, p, plen);
    return rc;
}

int level_compact(table_set *ts, compaction *c, int manual)
{
    kv_db *db = ts->db;
    int out_level = c->level + 1;
    uint64_t t0 = lsm_now_us();
    /* (switches read under write_lock: a memtable frozen from here on is
     * flushed inside the merge.) */
    uint64_t switches = __atomic_load_n(&db->switches, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&db->write_lock);
    compact_job j = {.ts = ts, .c = c, .oldest = lsm_oldest_snapshot(db),
                     .switches = switches};
    version_edit e;
    version_edit_init(&e);
    int move = !manual && compaction_is_trivial_move(c);
    ts->compacting = !move;
    int rc = move ? KV_OK : compact_merge(&j);
    ts->compacting = 0;
    if (rc == KV_OK)
        rc = move ? compaction_edit(c, &e) : compact_edit(c, &e);
    uint64_t written = 0;
    for (size_t i = 0; rc == KV_OK && i < j.nouts; i++) {
        rc = level_out_edit(&j.outs[i], &e, out_level);
        written += j.outs[i].meta.file_bytes;
    }
    if (rc == KV_OK)
        rc = version_set_apply(ts, &e, 0);
    version_edit_free(&e);
    int remove = rc != KV_OK && !__atomic_load_n(&ts->manifest_broken, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < j.nouts; i++)
        level_out_free(ts, &j.outs[i], remove);
    free(j.outs);
    drop_rule_free(&j.rule);
    if (rc == KV_OK) {
        level_counters *lc = &ts->levels[out_level];
        uint64_t read = move ? 0 : compaction_input_bytes(c, 0) + compaction_input_bytes(c, 1);
        __atomic_add_fetch(move ? &lc->moves : &lc->compactions, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&lc->bytes_read, read, __ATOMIC_RELAXED);
        __atomic_add_fetch(&lc->bytes_written, written, __ATOMIC_RELAXED);
        __atomic_add_fetch(&lc->us, lsm_now_us() - t0, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->compactions, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->compact_bytes_in, read, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->compact_bytes_out, written, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->compact_dropped, j.dropped, __ATOMIC_RELAXED);
        __atomic_add_fetch(&db->compact_us, lsm_now_us() - t0, __ATOMIC_RELAXED);
    }
    pthread_mutex_lock(&db->write_lock);
    return rc;
}
