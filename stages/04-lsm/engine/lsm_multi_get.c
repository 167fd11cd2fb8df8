/*
 * lsm_multi_get.c: kv_multi_get (kv.h): many keys looked up together, so
 * that the reads their lookups wait for are made at once, in one
 * io_read_batch (io.h), which the io_uring backend hands the kernel as one
 * submission (docs/io.md).  A first reading skips this file: each key's
 * lookup is kv_get's (lsm_read.c), newest source first, and only the
 * order in which the work is done differs.
 *
 * The keys go in groups of MG_GROUP.  For each group:
 *   1. The value store is pinned, then one view taken, with its sequence
 *      number, for every key of the group, as kv_get takes them for one
 *      (kv.h asks less: each key's answer of some moment of the call).
 *   2. The memtables answer the keys they hold.
 *   3. Rounds.  Each key not yet answered walks the tables a lookup meets,
 *      in the order the table set gives (table_set_get, with a look
 *      function in place of table_get), starting each table's lookup
 *      (table_batch.h): a table that needs no read (the key outside its
 *      range, ruled out by its filter, its block in the cache) answers
 *      or passes the key on at once; the first one that needs a read
 *      ends the key's walk for this round.  Then the reads of every
 *      waiting key are made in one io_read_batch, sorted by file and
 *      offset, a block two keys need read once (TB3), and the next
 *      round's walk finishes each lookup from its bytes, and goes on
 *      from the table after it if the key was not there (a bloom
 *      filter's false positive, or an older level).  A round with
 *      nothing to read is the last.  Most keys take one round, and when
 *      every block is in memory there is no read at all.
 *   4. A value kept elsewhere (value_store.h) is loaded, key by key.
 * A single key is kv_get's lookup: there is nothing to put together.
 *
 * Errors are each key's own (rcs[i]); the call returns the first one, of
 * the lowest i, with the message its failure set (kept when it happened,
 * since the keys do not fail in their order).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "error.h"
#include "lsm_db.h"
#include "lsm_elsewhere.h"
#include "table_batch.h"

/* Keys looked up together: the state of each, and the reads of a round,
 * are at most this many. */
#define MG_GROUP 256

/* One key of a group. */
typedef struct mg_key {
    size_t i;                   /* its index in the caller's arrays */
    ikey_lookup lk;
    unsigned passed;            /* look calls that passed it on (this
                                   walk's first ones, skipped when it
                                   walks again) */
    unsigned seen;              /* look calls of the walk under way */
    int waiting;                /* p holds a lookup waiting for its read */
    size_t read_ix;             /* the read it takes its bytes from */
    const io_read_req *done;    /* that read, made: the next walk finishes p */
    table_pending p;
    table_get_cost cost;
    int elsewhere;              /* its value is kept elsewhere: to load */
} mg_key;

/* A call's answers, and the first failure. */
typedef struct mg_call {
    kv_db *db;
    void **vals;
    size_t *vlens;
    int *rcs;
    size_t first;               /* the lowest index that failed, or SIZE_MAX */
    char first_msg[1024];
} mg_call;

/* Key i's answer: rc, and with KV_OK its value.  A failure's message is
 * kept if it is the lowest index yet. */
static void mg_answer(mg_call *c, size_t i, int rc, void *val, size_t vlen)
{
    c->rcs[i] = rc;
    c->vals[i] = rc == KV_OK ? val : NULL;
    c->vlens[i] = rc == KV_OK ? vlen : 0;
    if (rc != KV_OK && rc != KV_NOT_FOUND && i < c->first) {
        c->first = i;
        snprintf(c->first_msg, sizeof c->first_msg, "%s", kv_errmsg());
    }
}

/* table_set_get's look function for key k (ctx): the tables passed in
 * earlier walks are passed again without a look; the one whose read was
 * made is finished; the others are started, and one that must read stops
 * the walk (it answers "found" with no value, and k->waiting says why). */
static int mg_look(void *ctx, table *t, int level, int last, const ikey_lookup *lk,
                   table_get_result *r)
{
    (void)level;
    mg_key *k = ctx;
    *r = (table_get_result){.state = IKEY_ABSENT};
    if (++k->seen <= k->passed)
        return KV_OK;
    int rc = KV_OK;
    if (k->done != NULL) {
        const io_read_req *done = k->done;
        k->done = NULL;
        k->waiting = 0;
        if (k->p.t != t) { /* the version is the same, and so is the walk */
            table_pending_release(&k->p);
            return kv_error(KV_ERR_INVALID, "kv_multi_get: a lookup met another table than "
                            "the one it read from");
        }
        rc = table_get_finish(&k->p, done, lk, r);
    } else if (t != NULL) { /* NULL: a level none of whose tables holds the key */
        int pending = 0;
        rc = table_get_start(t, lk, last, r, &k->p, &pending);
        if (rc == KV_OK && pending) {
            k->waiting = 1;
            r->state = IKEY_FOUND; /* stops the walk; value NULL */
            return KV_OK;
        }
    }
    if (rc == KV_OK && r->state == IKEY_ABSENT)
        k->passed = k->seen;
    return rc;
}

/* Key k walks the tables of v (a round's step 3).  It ends answered, or
 * waiting for a read. */
static void mg_walk(mg_call *c, const lsm_view *v, mg_key *k)
{
    void *val = NULL;
    size_t vlen = 0;
    k->seen = 0;
    k->elsewhere = 0;
    int rc = table_set_get(v->tables, &k->lk, mg_look, k, &val, &vlen, &k->elsewhere,
                           &k->cost);
    if (k->waiting)
        return;
    lsm_count(&c->db->count.stats, LSM_GET_TABLE_READS, k->cost.reads);
    lsm_count(&c->db->count.stats, LSM_GET_TABLES_SEARCHED, k->cost.searched);
    mg_answer(c, k->i, rc, val, vlen);
}

/* The order of the reads: by file, then offset. */
static int mg_read_order(const void *a, const void *b)
{
    const table_pending *x = &(*(mg_key *const *)a)->p, *y = &(*(mg_key *const *)b)->p;
    if (x->read.f != y->read.f)
        return x->read.f < y->read.f ? -1 : 1;
    return x->read.off < y->read.off ? -1 : x->read.off > y->read.off;
}

/* The reads the waiting keys wait for, made in one io_read_batch: *reads
 * and *bytes are the caller's to free once the next walk has finished
 * them.  Each waiting key's read_ix says its read.  If memory runs out,
 * each waiting key fails, and none waits. */
static void mg_read(mg_call *c, mg_key **waiting, size_t n, io_read_req **reads,
                    uint8_t **bytes)
{
    qsort(waiting, n, sizeof *waiting, mg_read_order);
    size_t m = 0, total = 0;
    for (size_t w = 0; w < n; w++) {
        const io_read_req *q = &waiting[w]->p.read;
        if (w == 0 || q->f != waiting[w - 1]->p.read.f || q->off != waiting[w - 1]->p.read.off ||
            q->len != waiting[w - 1]->p.read.len) {
            m++;
            total += q->len;
        }
        waiting[w]->read_ix = m - 1;
    }
    *reads = malloc(m * sizeof **reads);
    *bytes = malloc(total ? total : 1);
    if (*reads == NULL || *bytes == NULL) {
        kv_error(KV_ERR_NOMEM, "kv_multi_get: out of memory for %zu reads of %zu bytes", m,
                 total);
        for (size_t w = 0; w < n; w++) {
            table_pending_release(&waiting[w]->p);
            waiting[w]->waiting = 0;
            mg_answer(c, waiting[w]->i, KV_ERR_NOMEM, NULL, 0);
        }
        return;
    }
    uint8_t *at = *bytes;
    for (size_t w = 0; w < n; w++) {
        io_read_req *q = &(*reads)[waiting[w]->read_ix];
        if (w == 0 || waiting[w]->read_ix != waiting[w - 1]->read_ix) {
            *q = waiting[w]->p.read;
            q->buf = at;
            at += q->len;
        }
        waiting[w]->done = q;
    }
    (void)io_read_batch(*reads, m); /* each range's status is its lookup's */
}

/* Step 2 for key k: 1 if the memtables answered it (or it failed), 0 if
 * its walk of the tables is to come. */
static int mg_memtables(mg_call *c, const lsm_view *v, mg_key *k)
{
    const memtable *mems[2] = {v->mem, v->imm};
    for (int m = 0; m < 2; m++) {
        const uint8_t *p = NULL;
        size_t len = 0;
        ikey_lookup_state st = mems[m] ? memtable_get(mems[m], &k->lk, &p, &len) : IKEY_ABSENT;
        if (st == IKEY_DELETED) {
            mg_answer(c, k->i, KV_NOT_FOUND, NULL, 0);
        } else if (st == IKEY_FOUND) {
            uint8_t *copy = malloc(len ? len : 1);
            int rc = copy != NULL ? KV_OK
                                  : kv_error(KV_ERR_NOMEM, "kv_multi_get: out of memory for a "
                                             "value of %zu bytes", len);
            if (copy != NULL && len > 0)
                memcpy(copy, p, len);
            mg_answer(c, k->i, rc, copy, len);
        }
        if (st != IKEY_ABSENT)
            return 1;
    }
    return 0;
}


/* Step 4: the values kept elsewhere, read together
 * (value_store_load_many); one whose read failed is read again alone, so
 * that kv_errmsg() names it. */
static void mg_load_elsewhere(kv_db *db, mg_call *c, const mg_key *k, size_t n)
{
    size_t m = 0;
    for (size_t j = 0; j < n; j++)
        m += k[j].elsewhere && c->rcs[k[j].i] == KV_OK;
    if (m == 0)
        return;
    const uint8_t **where = calloc(m, sizeof *where);
    size_t *wlen = calloc(m, sizeof *wlen), *idx = calloc(m, sizeof *idx);
    size_t *vlens = calloc(m, sizeof *vlens);
    value_buf *bufs = calloc(m, sizeof *bufs);
    const uint8_t **got = calloc(m, sizeof *got);
    int *rcs = calloc(m, sizeof *rcs);
    if (where && wlen && idx && vlens && bufs && got && rcs) {
        m = 0;
        for (size_t j = 0; j < n; j++)
            if (k[j].elsewhere && c->rcs[k[j].i] == KV_OK) {
                idx[m] = k[j].i;
                where[m] = c->vals[idx[m]];
                wlen[m] = c->vlens[idx[m]];
                m++;
            }
        (void)value_store_load_many(db->values.store, m, where, wlen, bufs, got, vlens, rcs);
        for (size_t j = 0; j < m; j++) {
            size_t i = idx[j];
            void *copy = rcs[j] == KV_OK ? malloc(vlens[j] ? vlens[j] : 1) : NULL;
            if (copy == NULL) { /* (read again alone: its own error, or its value) */
                int rc = lsm_value_load(db, &c->vals[i], &c->vlens[i]);
                if (rc != KV_OK)
                    mg_answer(c, i, rc, NULL, 0);
                continue;
            }
            memcpy(copy, got[j], vlens[j]);
            free(c->vals[i]);
            c->vals[i] = copy;
            c->vlens[i] = vlens[j];
        }
        for (size_t j = 0; j < m; j++)
            value_buf_free(&bufs[j]);
    } else { /* no memory for the batch: one at a time */
        for (size_t j = 0; j < n; j++) {
            size_t i = k[j].i;
            if (k[j].elsewhere && c->rcs[i] == KV_OK) {
                int rc = lsm_value_load(db, &c->vals[i], &c->vlens[i]);
                if (rc != KV_OK)
                    mg_answer(c, i, rc, NULL, 0);
            }
        }
    }
    free(where);
    free(wlen);
    free(idx);
    free(vlens);
    free(bufs);
    free(got);
    free(rcs);
}

/* Steps 1 to 4 for keys [from, from + n), in k[0 .. n) (n <= MG_GROUP);
 * live has room for n pointers. */
static void mg_group(mg_call *c, const void *const keys[], const size_t klens[], size_t from,
                     size_t n, mg_key *k, mg_key **live)
{
    kv_db *db = c->db;
    uint64_t seq = 0;
    uint64_t pin = value_store_pin(db->values.store); /* before the view (value_store.h) */
    lsm_view *v = lsm_view_get(db, &seq);
    size_t nlive = 0;
    for (size_t j = 0; j < n; j++) {
        size_t i = from + j;
        k[j] = (mg_key){.i = i};
        int rc = ikey_lookup_init(&k[j].lk, keys[i], klens[i], seq);
        if (rc != KV_OK)
            mg_answer(c, i, rc, NULL, 0);
        if (rc != KV_OK || mg_memtables(c, v, &k[j]))
            ikey_lookup_free(&k[j].lk);
        else
            live[nlive++] = &k[j];
    }
    io_read_req *reads = NULL;
    uint8_t *bytes = NULL;
    while (nlive > 0) {
        size_t nwait = 0;
        for (size_t w = 0; w < nlive; w++) {
            mg_walk(c, v, live[w]);
            if (live[w]->waiting)
                live[nwait++] = live[w];
            else
                ikey_lookup_free(&live[w]->lk);
        }
        free(reads); /* the last round's, finished by these walks */
        free(bytes);
        reads = NULL;
        bytes = NULL;
        if (nwait > 0)
            mg_read(c, live, nwait, &reads, &bytes);
        nlive = 0;
        for (size_t w = 0; w < nwait; w++)
            if (live[w]->waiting)
                live[nlive++] = live[w];
            else
                ikey_lookup_free(&live[w]->lk);
    }
    mg_load_elsewhere(db, c, k, n);
    lsm_view_unref(v);
    value_store_unpin(db->values.store, pin);
}

int kv_multi_get(kv_db *db, size_t n, const void *const keys[], const size_t klens[],
                 void *vals[], size_t vlens[], int rcs[])
{
    int rc = args_check_multi_get(db, n, keys, klens, vals, vlens, rcs);
    if (rc != KV_OK || n == 0)
        return rc;
    if (n == 1) { /* kv_get's lookup, which sets the message of a failure */
        rcs[0] = kv_get(db, keys[0], klens[0], &vals[0], &vlens[0]);
        if (rcs[0] != KV_OK) {
            vals[0] = NULL;
            vlens[0] = 0;
        }
        return rcs[0] == KV_NOT_FOUND ? KV_OK : rcs[0];
    }
    size_t room = n < MG_GROUP ? n : MG_GROUP;
    mg_key *k = malloc(room * sizeof *k);
    mg_key **live = malloc(room * sizeof *live);
    if (k == NULL || live == NULL) {
        free(k);
        free(live);
        return kv_error(KV_ERR_NOMEM, "kv_multi_get: out of memory for %zu keys", n);
    }
    mg_call c = {.db = db, .vals = vals, .vlens = vlens, .rcs = rcs, .first = SIZE_MAX};
    lsm_count(&db->count.stats, LSM_GETS, n);
    for (size_t from = 0; from < n; from += room)
        mg_group(&c, keys, klens, from, n - from < room ? n - from : room, k, live);
    free(k);
    free(live);
    return c.first == SIZE_MAX ? KV_OK : kv_error(rcs[c.first], "%s", c.first_msg);
}
