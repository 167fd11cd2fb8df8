/*
 * level_rebuild.c: a version made from the tables in the directory alone
 * (level_repair.h), for kv repair when no manifest can say which tables
 * make up the database and at which levels.
 *
 * LevelDB's RepairDB (db/repair.cc) puts every table it finds at level 0.
 * Here that would not do: a lookup takes the first version of a key it
 * finds, level 0 newest first by file number, and a table's number does
 * not say whether its writes are newer than another's (a compaction's
 * output takes a new number for old writes).  So the levels are made
 * again so that no key can have versions in two tables:
 *   1. every table is read whole (table_check); a damaged one is rewritten
 *      with every entry that can be read (repair_table), or dropped if
 *      none can; its metadata (keys, entries, newest write) is read;
 *   2. tables are grouped by overlapping user-key ranges; a table that
 *      overlaps no other is kept as it is; the tables of a group are
 *      merged into new tables (stage 04's merging iterator, identical
 *      entries once: a compaction's inputs not yet deleted hold the same
 *      entries as its output), every version of every key kept, each new
 *      table cut at the target size only between two user keys;
 *   3. every table goes to the last level, where their ranges are now
 *      disjoint, so a lookup finds each key in one table, and its newest
 *      version there.
 * The newest write in any table is every counter's start: log_seq (log
 * records at or below it are in tables and not replayed; those above are
 * newer than anything in a table, so replaying them is right even if a
 * lost table held some of them) and last_seq.  A table that a crash left
 * as garbage (a compaction's input whose deletion was cut short) comes back
 * in the merge; its entries are older versions than the ones that replaced
 * them, so reads are unchanged, except where a later compaction dropped a
 * key's versions with its tombstone: that key comes back.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compaction_pick.h"
#include "error.h"
#include "level_files.h"
#include "level_set.h"
#include "level_repair.h"
#include "log_report.h"
#include "merge_iter.h"

long rversion_add(rversion *v, uint64_t number, int level, uint64_t file_bytes,
                  uint64_t entries, const uint8_t *smallest, size_t slen, const uint8_t *largest,
                  size_t llen)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 16;
        rtable *grown = realloc(v->t, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        v->t = grown;
        v->cap = cap;
    }
    rtable *t = &v->t[v->n];
    memset(t, 0, sizeof *t);
    t->number = number;
    t->level = level;
    t->file_bytes = file_bytes;
    t->entries = entries;
    t->smallest = malloc(slen);
    t->largest = malloc(llen);
    if (t->smallest == NULL || t->largest == NULL) {
        free(t->smallest);
        free(t->largest);
        return -1;
    }
    memcpy(t->smallest, smallest, slen);
    memcpy(t->largest, largest, llen);
    t->smallest_len = slen;
    t->largest_len = llen;
    return (long)v->n++;
}

void rversion_free(rversion *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->t[i].smallest);
        free(v->t[i].largest);
    }
    for (int i = 0; i < VERSION_LEVELS; i++)
        free(v->pointer[i]);
    free(v->t);
    free(v->merged);
    memset(v, 0, sizeof *v);
}

/* ---- step 1: every table, read ------------------------------------------------- */

/* The table's keys, entries and newest write, read through its iterator. */
static int rebuild_meta(repair_run *r, uint64_t number, rversion *v)
{
    char name[LEVEL_NAME_MAX];
    level_table_name(name, number);
    char *path = io_join(r->dir, name);
    table *t = NULL;
    iter *it = NULL;
    int rc = path ? table_open(r->tables, path, &t) : KV_ERR_NOMEM;
    if (rc == KV_OK)
        rc = table_iter_new(t, &it);
    uint64_t max_seq = 0;
    if (rc == KV_OK) /* (no iterator if the table did not open) */
        iter_seek_first(it);
    for (; rc == KV_OK && iter_valid(it); iter_next(it)) {
        size_t n;
        const uint8_t *k = iter_key(it, &n);
        if (ikey_seq(k, n) > max_seq)
            max_seq = ikey_seq(k, n);
    }
    if (rc == KV_OK)
        rc = iter_status(it);
    if (rc == KV_OK) {
        size_t slen, llen;
        const uint8_t *s = table_smallest(t, &slen), *l = table_largest(t, &llen);
        long i = rversion_add(v, number, VERSION_LEVELS - 1, table_file_bytes(t),
                              table_entries(t), s, slen, l, llen);
        if (i < 0)
            rc = kv_error(KV_ERR_NOMEM, "kv_repair %s: out of memory", r->dir);
        else
            v->t[i].max_seq = max_seq;
    }
    iter_free(it);
    table_unref(t);
    free(path);
    return rc;
}

/* Every table file: checked, mended if damaged (dropped if nothing in it
 * can be read), then its metadata. */
static int rebuild_read(repair_run *r, const rlisting *ls, rversion *v)
{
    char **names = calloc(ls->ntables + 1, sizeof *names);
    char **others = calloc(ls->ntables + 1, sizeof *others);
    int *dropped = calloc(ls->ntables + 1, sizeof *dropped);
    int rc = names && others && dropped ? KV_OK
                                        : kv_error(KV_ERR_NOMEM, "kv_repair %s: out of memory",
                                                   r->dir);
    for (size_t i = 0; rc == KV_OK && i < ls->ntables; i++) {
        if ((names[i] = malloc(LEVEL_NAME_MAX)) == NULL)
            rc = kv_error(KV_ERR_NOMEM, "kv_repair %s: out of memory", r->dir);
        else
            level_table_name(names[i], ls->tables[i]);
    }
    for (size_t i = 0; rc == KV_OK && i < ls->ntables; i++) {
        char *path = io_join(r->dir, names[i]);
        int st = path ? table_check(path, names[i], NULL, NULL) : KV_ERR_NOMEM;
        free(path);
        repair_table_result res = {0};
        if (st == KV_ERR_CORRUPT) {
            rc = repair_table(r, names[i], NULL, 1, &res);
            dropped[i] = rc == KV_OK && res.entries == 0;
            /* The others, but this one and those dropped (no longer in
             * the directory): which are older is unknown. */
            size_t n = 0;
            for (size_t j = 0; j < ls->ntables; j++)
                if (j != i && !dropped[j])
                    others[n++] = names[j];
            if (rc == KV_OK)
                rc = repair_older(r, names[i], res.lost, res.nlost, others, n, 1);
        } else {
            rc = st;
        }
        if (rc == KV_OK && (st == KV_OK || res.entries > 0))
            rc = rebuild_meta(r, ls->tables[i], v);
        repair_table_result_free(&res);
    }
    for (size_t i = 0; names != NULL && i < ls->ntables; i++)
        free(names[i]);
    free(names);
    free(others);
    free(dropped);
    return rc;
}

/* ---- step 2: overlapping tables, merged ------------------------------------------------ */

static int rebuild_by_smallest(const void *a, const void *b)
{
    const rtable *x = a, *y = b;
    return ikey_compare(x->smallest, x->smallest_len, y->smallest, y->smallest_len);
}

/* A new table of the merge. */
typedef struct rebuild_out {
    repair_run *r;
    rversion *v;
    compaction_options co;
    table_builder *b;
    uint64_t number, max_seq;
    uint8_t *first, *last;           /* keys: the output's smallest, the last added */
    size_t first_len, last_len, last_cap;
    char *names;                     /* the outputs, for the line */
    size_t names_len;
} rebuild_out;

static int rebuild_out_finish(rebuild_out *o)
{
    if (o->b == NULL)
        return KV_OK;
    table_meta meta;
    int rc = table_builder_finish(o->b, &meta);
    o->b = NULL;
    long i = rc == KV_OK ? rversion_add(o->v, o->number, VERSION_LEVELS - 1, meta.file_bytes,
                                        meta.entries, o->first, o->first_len, o->last,
                                        o->last_len)
                         : 0;
    if (i < 0)
        rc = kv_error(KV_ERR_NOMEM, "kv_repair %s: out of memory", o->r->dir);
    else if (rc == KV_OK)
        o->v->t[i].max_seq = o->max_seq;
    free(o->first);
    o->first = NULL;
    char name[LEVEL_NAME_MAX];
    level_table_name(name, o->number);
    char *grown = rc == KV_OK ? realloc(o->names, o->names_len + strlen(name) + 3) : NULL;
    if (grown != NULL) {
        o->names = grown;
        o->names_len += (size_t)sprintf(o->names + o->names_len, "%s%s",
                                        o->names_len ? ", " : "", name);
    }
    return rc;
}

/* Adds one entry to the output, starting a new table past the target size
 * when the user key changes. */
static int rebuild_out_add(rebuild_out *o, const uint8_t *k, size_t n, const uint8_t *val,
                           size_t vn)
{
    int rc = KV_OK;
    if (o->b != NULL && table_builder_file_bytes(o->b) >= o->co.table_bytes &&
        ikey_user_compare(o->last, o->last_len - IKEY_TRAILER_SIZE, k,
                          n - IKEY_TRAILER_SIZE) != 0)
        rc = rebuild_out_finish(o);
    if (rc == KV_OK && o->b == NULL) {
        char name[LEVEL_NAME_MAX];
        o->number = o->v->next_file++;
        o->max_seq = 0;
        level_table_name(name, o->number);
        char *path = io_join(o->r->dir, name);
        rc = path ? table_builder_new(o->r->tables, path, &o->b) : KV_ERR_NOMEM;
        free(path);
        if (rc == KV_OK && (o->first = malloc(n)) == NULL)
            rc = kv_error(KV_ERR_NOMEM, "kv_repair %s: out of memory", o->r->dir);
        if (rc == KV_OK) {
            memcpy(o->first, k, n);
            o->first_len = n;
        }
    }
    if (rc == KV_OK)
        rc = table_builder_add(o->b, k, n, val, vn);
    if (rc == KV_OK && n > o->last_cap) {
        uint8_t *grown = realloc(o->last, n);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "kv_repair %s: out of memory", o->r->dir);
        o->last = grown;
        o->last_cap = n;
    }
    if (rc == KV_OK) {
        memcpy(o->last, k, n);
        o->last_len = n;
        if (ikey_seq(k, n) > o->max_seq)
            o->max_seq = ikey_seq(k, n);
    }
    return rc;
}

/* Merges the tables t[from, to) of v (the overlapping group) into new ones. */
static int rebuild_merge(repair_run *r, rversion *v, size_t from, size_t to)
{
    size_t n = to - from;
    iter **children = calloc(n, sizeof *children);
    table **tables = calloc(n, sizeof *tables);
    iter *m = NULL;
    rebuild_out o = {.r = r, .v = v};
    compaction_options_from(NULL, &o.co);
    int rc = children && tables ? KV_OK : kv_error(KV_ERR_NOMEM, "kv_repair: out of memory");
    char inputs[400] = "";
    size_t used = 0;
    for (size_t i = 0; rc == KV_OK && i < n; i++) {
        char name[LEVEL_NAME_MAX];
        level_table_name(name, v->t[from + i].number);
        if (used < sizeof inputs)
            used += (size_t)snprintf(inputs + used, sizeof inputs - used, "%s%s",
                                     i ? ", " : "", name);
        char *path = io_join(r->dir, name);
        rc = path ? table_open(r->tables, path, &tables[i]) : KV_ERR_NOMEM;
        free(path);
        if (rc == KV_OK)
            rc = table_iter_new(tables[i], &children[i]);
        v->t[from + i].drop = 1;
    }
    if (rc == KV_OK) {
        rc = merge_iter_new(children, n, &m);
        memset(children, 0, n * sizeof *children); /* the merge has them */
    }
    int first = 1;
    if (rc == KV_OK) /* (no iterator if a table did not open) */
        iter_seek_first(m);
    for (; rc == KV_OK && iter_valid(m); iter_next(m)) {
        size_t kn, vn;
        const uint8_t *k = iter_key(m, &kn), *val = iter_value(m, &vn);
        if (!first && ikey_compare(o.last, o.last_len, k, kn) == 0)
            continue; /* the same entry in two tables */
        first = 0;
        rc = rebuild_out_add(&o, k, kn, val, vn);
    }
    if (rc == KV_OK && m != NULL)
        rc = iter_status(m);
    if (rc == KV_OK)
        rc = rebuild_out_finish(&o);
    table_builder_abandon(o.b);
    if (rc == KV_OK) {
        char line[700];
        snprintf(line, sizeof line, "%s%s%s: their key ranges overlap: merged into %s",
                 v->merged ? v->merged : "", v->merged ? "; " : "", inputs,
                 o.names ? o.names : "nothing");
        free(v->merged);
        v->merged = strdup(line);
    }
    iter_free(m);
    for (size_t i = 0; children != NULL && i < n; i++)
        iter_free(children[i]);
    for (size_t i = 0; tables != NULL && i < n; i++)
        table_unref(tables[i]);
    free(children);
    free(tables);
    free(o.first);
    free(o.last);
    free(o.names);
    return rc;
}

int level_rebuild_merge(repair_run *r, rversion *v, size_t from, size_t to)
{
    return rebuild_merge(r, v, from, to);
}

/* Groups by overlapping user-key ranges; merges each group of two or more. */
static int rebuild_groups(repair_run *r, rversion *v)
{
    size_t n = v->n;  /* merges append their outputs after these */
    if (n > 1) /* no table: v->t is NULL, which qsort may not be handed */
        qsort(v->t, n, sizeof *v->t, rebuild_by_smallest);
    int rc = KV_OK;
    for (size_t i = 0; rc == KV_OK && i < n;) {
        size_t j = i + 1;
        const uint8_t *hi = v->t[i].largest;
        size_t hi_len = v->t[i].largest_len;
        while (j < n && ikey_user_compare(v->t[j].smallest, v->t[j].smallest_len -
                                          IKEY_TRAILER_SIZE, hi,
                                          hi_len - IKEY_TRAILER_SIZE) <= 0) {
            if (ikey_user_compare(v->t[j].largest, v->t[j].largest_len - IKEY_TRAILER_SIZE,
                                  hi, hi_len - IKEY_TRAILER_SIZE) > 0) {
                hi = v->t[j].largest;
                hi_len = v->t[j].largest_len;
            }
            j++;
        }
        if (j - i > 1)
            rc = rebuild_merge(r, v, i, j); /* (may move v->t: take no pointer past it) */
        i = j;
    }
    return rc;
}

int level_rebuild(repair_run *r, const rlisting *ls, rversion *v)
{
    v->next_file = ls->max_number + 1;
    int rc = rebuild_read(r, ls, v);
    if (rc == KV_OK)
        rc = rebuild_groups(r, v);
    for (size_t i = 0; rc == KV_OK && i < v->n; i++)
        if (!v->t[i].drop && v->t[i].max_seq > v->log_seq)
            v->log_seq = v->t[i].max_seq;
    v->last_seq = v->log_seq;
    return rc;
}
