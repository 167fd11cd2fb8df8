/*
 * kvg_model.c: the ordered map, the history of writes and the crash rules
 * (kvg_model.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvg_model.h"

/* ---- the map ----------------------------------------------------------- */

void kvg_map_free(kvg_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        kvg_buf_free(&m->keys[i]);
        kvg_buf_free(&m->vals[i]);
    }
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

void kvg_map_copy(kvg_map *to, const kvg_map *from)
{
    kvg_map_free(to);
    to->n = to->cap = from->n;
    to->keys = kvg_alloc((from->n + 1) * sizeof *to->keys);
    to->vals = kvg_alloc((from->n + 1) * sizeof *to->vals);
    for (size_t i = 0; i < from->n; i++) {
        to->keys[i] = kvg_buf_dup(from->keys[i]);
        to->vals[i] = kvg_buf_dup(from->vals[i]);
    }
}

long kvg_map_find(const kvg_map *m, kvg_buf key, size_t *at)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = kvg_buf_cmp(m->keys[mid], key);
        if (c == 0) {
            if (at != NULL)
                *at = mid;
            return (long)mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (at != NULL)
        *at = lo;
    return -1;
}

void kvg_map_put(kvg_map *m, kvg_buf key, kvg_buf val)
{
    size_t at;
    long i = kvg_map_find(m, key, &at);
    if (i >= 0) {
        kvg_buf_free(&m->vals[i]);
        m->vals[i] = kvg_buf_dup(val);
        return;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->keys = kvg_realloc(m->keys, m->cap * sizeof *m->keys);
        m->vals = kvg_realloc(m->vals, m->cap * sizeof *m->vals);
    }
    memmove(m->keys + at + 1, m->keys + at, (m->n - at) * sizeof *m->keys);
    memmove(m->vals + at + 1, m->vals + at, (m->n - at) * sizeof *m->vals);
    m->keys[at] = kvg_buf_dup(key);
    m->vals[at] = kvg_buf_dup(val);
    m->n++;
}

int kvg_map_del(kvg_map *m, kvg_buf key)
{
    long i = kvg_map_find(m, key, NULL);
    if (i < 0)
        return 0;
    kvg_buf_free(&m->keys[i]);
    kvg_buf_free(&m->vals[i]);
    memmove(m->keys + i, m->keys + i + 1, (m->n - (size_t)i - 1) * sizeof *m->keys);
    memmove(m->vals + i, m->vals + i + 1, (m->n - (size_t)i - 1) * sizeof *m->vals);
    m->n--;
    return 1;
}

int kvg_map_eq(const kvg_map *a, const kvg_map *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!kvg_buf_eq(a->keys[i], b->keys[i]) || !kvg_buf_eq(a->vals[i], b->vals[i]))
            return 0;
    return 1;
}

kvg_reply kvg_map_range(const kvg_map *m, kvg_buf start, kvg_buf end, size_t limit)
{
    size_t at;
    kvg_map_find(m, start, &at);
    kvg_reply r = {0};
    r.type = KVG_ARRAY;
    size_t cap = 0;
    for (size_t i = at; i < m->n && r.n / 2 < limit; i++) {
        if (end.n > 0 && kvg_buf_cmp(m->keys[i], end) >= 0)
            break;
        if (r.n + 2 > cap) {
            cap = cap ? cap * 2 : 16;
            r.elem = kvg_realloc(r.elem, cap * sizeof *r.elem);
        }
        r.elem[r.n++] = kvg_reply_bulk(m->keys[i]);
        r.elem[r.n++] = kvg_reply_bulk(m->vals[i]);
    }
    return r;
}

/* ---- the history ------------------------------------------------------- */

static uint64_t model_hash(kvg_buf v)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < v.n; i++)
        h = (h ^ v.p[i]) * 1099511628211ull;
    return h;
}

/* Remembers that val was written to key (or, for a delete, the key). */
static void model_note_ever(kvg_model *m, kvg_buf key, const kvg_buf *val)
{
    size_t at;
    long i = kvg_map_find(&m->ever, key, &at);
    if (i < 0) {
        kvg_buf none = {NULL, 0};
        kvg_map_put(&m->ever, key, none);
        i = kvg_map_find(&m->ever, key, NULL);
    }
    if (val == NULL)
        return;
    uint64_t h = model_hash(*val);
    kvg_buf *hs = &m->ever.vals[i];
    for (size_t j = 0; j + 8 <= hs->n; j += 8)
        if (memcmp(hs->p + j, &h, 8) == 0)
            return;
    hs->p = kvg_realloc(hs->p, hs->n + 8 + 1);
    memcpy(hs->p + hs->n, &h, 8);
    hs->n += 8;
}

void kvg_model_init(kvg_model *m, int split_batches)
{
    memset(m, 0, sizeof *m);
    m->split_batches = split_batches;
    m->empty_key = -1;
}

static void write_free(kvg_write *w)
{
    for (size_t i = 0; i < w->n; i++) {
        kvg_buf_free(&w->pairs[i].key);
        kvg_buf_free(&w->pairs[i].val);
    }
    free(w->pairs);
}

static void model_clear_writes(kvg_model *m)
{
    for (size_t i = 0; i < m->n; i++)
        write_free(&m->w[i]);
    m->n = m->acked = m->durable = 0;
}

void kvg_model_free(kvg_model *m)
{
    model_clear_writes(m);
    free(m->w);
    kvg_map_free(&m->base);
    kvg_map_free(&m->cur);
    kvg_map_free(&m->ever);
    memset(m, 0, sizeof *m);
}

static void apply_write(kvg_map *s, const kvg_write *w)
{
    for (size_t i = 0; i < w->n; i++) {
        if (w->pairs[i].del)
            kvg_map_del(s, w->pairs[i].key);
        else
            kvg_map_put(s, w->pairs[i].key, w->pairs[i].val);
    }
}

/* Adds a write of pairs [from, to) of the request's arguments. */
static void model_add(kvg_model *m, const kvg_pair *pairs, size_t npairs, long step)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->w = kvg_realloc(m->w, m->cap * sizeof *m->w);
    }
    kvg_write *w = &m->w[m->n++];
    w->n = npairs;
    w->step = step;
    w->pairs = kvg_alloc(npairs * sizeof *w->pairs);
    for (size_t i = 0; i < npairs; i++) {
        w->pairs[i].key = kvg_buf_dup(pairs[i].key);
        w->pairs[i].val = kvg_buf_dup(pairs[i].val);
        w->pairs[i].del = pairs[i].del;
        model_note_ever(m, pairs[i].key, pairs[i].del ? NULL : &pairs[i].val);
    }
    apply_write(&m->cur, w);
}

/* The request as pairs, if it is a write: SET, DEL (one key), MSET. */
static size_t model_pairs(const kvg_req *r, kvg_pair **out)
{
    size_t n = 0;
    kvg_pair *p = NULL;
    if (kvg_req_is(r, "SET") && r->argc == 3) {
        p = kvg_alloc(sizeof *p);
        p[0] = (kvg_pair){r->argv[1], r->argv[2], 0};
        n = 1;
    } else if (kvg_req_is(r, "DEL") && r->argc == 2) {
        p = kvg_alloc(sizeof *p);
        p[0] = (kvg_pair){r->argv[1], {NULL, 0}, 1};
        n = 1;
    } else if (kvg_req_is(r, "MSET") && r->argc >= 3 && r->argc % 2 == 1) {
        n = (r->argc - 1) / 2;
        p = kvg_alloc(n * sizeof *p);
        for (size_t i = 0; i < n; i++)
            p[i] = (kvg_pair){r->argv[1 + 2 * i], r->argv[2 + 2 * i], 0};
    }
    *out = p;
    return n;
}

static int pairs_have_empty_key(const kvg_pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].key.n == 0)
            return 1;
    return 0;
}

/* Adds the request's pairs as one write, or one per pair (torn batches). */
static void model_apply_request(kvg_model *m, const kvg_pair *p, size_t n, size_t *first,
                                size_t *count, long step)
{
    *first = m->n;
    if (m->split_batches) {
        for (size_t i = 0; i < n; i++)
            model_add(m, p + i, 1, step);
        *count = n;
    } else {
        model_add(m, p, n, step);
        *count = 1;
    }
}

static int parse_limit(kvg_buf b, size_t *out)
{
    if (b.n == 0 || b.n > 9)
        return -1;
    size_t v = 0;
    for (size_t i = 0; i < b.n; i++) {
        if (b.p[i] < '0' || b.p[i] > '9')
            return -1;
        v = v * 10 + (b.p[i] - '0');
    }
    *out = v;
    return 0;
}

int kvg_model_expect(kvg_model *m, const kvg_req *r, kvg_reply *want, size_t *first,
                     size_t *count, long step)
{
    memset(want, 0, sizeof *want);
    *first = *count = 0;
    if (kvg_req_is(r, "GET") && r->argc == 2) {
        long i = kvg_map_find(&m->cur, r->argv[1], NULL);
        *want = i >= 0 ? kvg_reply_bulk(m->cur.vals[i]) : kvg_reply_nil();
        return KVG_Q_READ;
    }
    size_t limit;
    if (kvg_req_is(r, "RANGE") && r->argc == 4 && parse_limit(r->argv[3], &limit) == 0 &&
        limit >= 1) {
        *want = kvg_map_range(&m->cur, r->argv[1], r->argv[2], limit);
        return KVG_Q_READ;
    }
    kvg_pair *p;
    size_t n = model_pairs(r, &p);
    if (n == 0)
        return KVG_Q_ERROR;
    if (pairs_have_empty_key(p, n) && m->empty_key != 1) {
        free(p);
        return m->empty_key == -1 ? KVG_Q_EMPTYKEY : KVG_Q_ERROR;
    }
    if (kvg_req_is(r, "DEL"))
        *want = kvg_reply_int(kvg_map_find(&m->cur, p[0].key, NULL) >= 0);
    else
        *want = kvg_reply_simple("OK");
    model_apply_request(m, p, n, first, count, step);
    free(p);
    return KVG_Q_WRITE;
}

int kvg_model_empty_key(kvg_model *m, const kvg_req *r, const kvg_reply *got, long step)
{
    if (got->type == KVG_ERROR) {
        m->empty_key = 0;
        return 1;
    }
    kvg_pair *p;
    size_t n = model_pairs(r, &p);
    kvg_reply want = kvg_reply_simple("OK");
    if (kvg_req_is(r, "DEL")) {
        kvg_reply_free(&want);
        want = kvg_reply_int(kvg_map_find(&m->cur, p[0].key, NULL) >= 0);
    }
    int ok = kvg_reply_eq(&want, got);
    kvg_reply_free(&want);
    if (ok) {
        size_t first, count;
        m->empty_key = 1;
        model_apply_request(m, p, n, &first, &count, step);
        m->acked = m->n;
    }
    free(p);
    return ok;
}

int kvg_model_empty_read_ok(const kvg_model *m, const kvg_req *r, const kvg_reply *got)
{
    return m->empty_key != 1 && kvg_req_is(r, "GET") && r->argc == 2 && r->argv[1].n == 0 &&
           (got->type == KVG_ERROR || got->type == KVG_NIL);
}

void kvg_model_state_at(const kvg_model *m, size_t p, kvg_map *out)
{
    kvg_map_copy(out, &m->base);
    for (size_t i = 0; i < p && i < m->n; i++)
        apply_write(out, &m->w[i]);
}

/* 1 if key holds the same in a and b (or is in neither). */
static int same_at(const kvg_map *a, const kvg_map *b, kvg_buf key)
{
    long i = kvg_map_find(a, key, NULL), j = kvg_map_find(b, key, NULL);
    if (i < 0 || j < 0)
        return i < 0 && j < 0;
    return kvg_buf_eq(a->vals[i], b->vals[j]);
}

int kvg_model_lost_write(const kvg_model *m, const kvg_map *R, size_t lo, size_t *w, size_t *pair)
{
    kvg_map E = {0}, seen = {0};
    kvg_model_state_at(m, lo, &E);
    long best = -1, best_set = -1;
    size_t best_pair = 0, best_set_pair = 0;
    for (size_t j = lo < m->n ? lo : m->n; j-- > 0;) {
        const kvg_write *wr = &m->w[j];
        for (size_t q = wr->n; q-- > 0;) {
            kvg_buf key = wr->pairs[q].key;
            if (kvg_map_find(&seen, key, NULL) >= 0)
                continue; /* a later write of the key decides it */
            kvg_map_put(&seen, key, (kvg_buf){NULL, 0});
            if (same_at(&E, R, key))
                continue;
            best = (long)j;
            best_pair = q;
            if (!wr->pairs[q].del) {
                best_set = (long)j;
                best_set_pair = q;
            }
        }
    }
    kvg_map_free(&E);
    kvg_map_free(&seen);
    if (best_set >= 0) {
        best = best_set;
        best_pair = best_set_pair;
    }
    if (best < 0)
        return 0;
    *w = (size_t)best;
    *pair = best_pair;
    return 1;
}

static size_t count_differences(const kvg_map *a, const kvg_map *b)
{
    size_t i = 0, j = 0, d = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : kvg_buf_cmp(a->keys[i], b->keys[j]);
        if (c < 0)
            d++, i++;
        else if (c > 0)
            d++, j++;
        else
            d += !kvg_buf_eq(a->vals[i++], b->vals[j++]);
    }
    return d;
}

void kvg_model_describe_value(const kvg_model *m, kvg_buf key, const kvg_buf *val, char *out,
                              size_t cap)
{
    if (val == NULL) {
        snprintf(out, cap, "no value");
        return;
    }
    for (size_t i = m->n; i-- > 0;)
        for (size_t j = m->w[i].n; j-- > 0;) {
            const kvg_pair *p = &m->w[i].pairs[j];
            if (!p->del && kvg_buf_eq(p->key, key) && kvg_buf_eq(p->val, *val)) {
                snprintf(out, cap, "the value of write %zu (step %ld, %s)", i + 1, m->w[i].step + 1,
                         i < m->acked ? "acknowledged" : "not acknowledged");
                return;
            }
        }
    long b = kvg_map_find(&m->base, key, NULL);
    if (b >= 0 && kvg_buf_eq(m->base.vals[b], *val)) {
        snprintf(out, cap, "its value before these writes");
        return;
    }
    long e = kvg_map_find(&m->ever, key, NULL);
    uint64_t h = model_hash(*val);
    if (e >= 0)
        for (size_t j = 0; j + 8 <= m->ever.vals[e].n; j += 8)
            if (memcmp(m->ever.vals[e].p + j, &h, 8) == 0) {
                snprintf(out, cap, "a value it held earlier (overwritten or deleted since)");
                return;
            }
    snprintf(out, cap, "a value never written to this key");
}

/* Appends to a growing message. */
static void msg_add(char **msg, size_t *len, const char *s)
{
    size_t n = strlen(s);
    *msg = kvg_realloc(*msg, *len + n + 1);
    memcpy(*msg + *len, s, n + 1);
    *len += n;
}

/* The differences between the expected state E and R, as text. */
static char *describe_differences(const kvg_model *m, const kvg_map *E, const kvg_map *R,
                                  size_t max)
{
    char *msg = kvg_strdup("");
    size_t len = 0, shown = 0, i = 0, j = 0;
    while ((i < E->n || j < R->n) && shown < max) {
        int c = i == E->n ? 1 : j == R->n ? -1 : kvg_buf_cmp(E->keys[i], R->keys[j]);
        const kvg_buf *key, *want = NULL, *got = NULL;
        if (c < 0) {
            key = &E->keys[i];
            want = &E->vals[i++];
        } else if (c > 0) {
            key = &R->keys[j];
            got = &R->vals[j++];
        } else {
            key = &E->keys[i];
            want = &E->vals[i++];
            got = &R->vals[j++];
            if (kvg_buf_eq(*want, *got))
                continue;
        }
        char *ks = NULL, *ws = NULL, *gs = NULL;
        size_t kn, wn, gn;
        FILE *f = open_memstream(&ks, &kn);
        kvg_print_bytes(f, key->p, key->n, 40);
        fclose(f);
        f = open_memstream(&ws, &wn);
        if (want != NULL)
            kvg_print_bytes(f, want->p, want->n, 40);
        else
            fputs("(nil)", f);
        fclose(f);
        f = open_memstream(&gs, &gn);
        if (got != NULL)
            kvg_print_bytes(f, got->p, got->n, 40);
        else
            fputs("(nil)", f);
        fclose(f);
        char dw[160], dg[160];
        kvg_model_describe_value(m, *key, want, dw, sizeof dw);
        kvg_model_describe_value(m, *key, got, dg, sizeof dg);
        char *line = kvg_printf("\n    key %s: expected %s (%s), the engine has %s (%s)", ks, ws,
                                dw, gs, dg);
        msg_add(&msg, &len, line);
        free(line);
        free(ks);
        free(ws);
        free(gs);
        shown++;
    }
    return msg;
}

int kvg_model_match_prefix(const kvg_model *m, const kvg_map *R, size_t lo, size_t *p, char **why)
{
    if (lo > m->n)
        lo = m->n;
    kvg_map M = {0};
    kvg_model_state_at(m, lo, &M);
    size_t mismatch = count_differences(&M, R);
    size_t best = mismatch, best_p = lo;
    long found = -1;
    for (size_t q = lo;; q++) {
        if (mismatch == 0)
            found = (long)q;
        if (mismatch < best || (mismatch == best && q > best_p && mismatch > 0)) {
            best = mismatch;
            best_p = q;
        }
        if (q == m->n)
            break;
        const kvg_write *w = &m->w[q];
        for (size_t i = 0; i < w->n; i++) {
            int before = same_at(&M, R, w->pairs[i].key);
            if (w->pairs[i].del)
                kvg_map_del(&M, w->pairs[i].key);
            else
                kvg_map_put(&M, w->pairs[i].key, w->pairs[i].val);
            int after = same_at(&M, R, w->pairs[i].key);
            mismatch = mismatch + (size_t)!after - (size_t)!before;
        }
    }
    kvg_map_free(&M);
    if (found >= 0) {
        *p = (size_t)found;
        return 1;
    }
    kvg_map E = {0};
    kvg_model_state_at(m, best_p, &E);
    char *diff = describe_differences(m, &E, R, 6);
    *why = kvg_printf("the state after the crash is not the state after any prefix of the "
                      "writes from %zu to %zu (of %zu sent, %zu acknowledged); the closest is "
                      "after %zu writes, %zu key(s) differ:%s",
                      lo, m->n, m->n, m->acked, best_p, best, diff);
    free(diff);
    kvg_map_free(&E);
    return 0;
}

int kvg_model_check_invented(const kvg_model *m, const kvg_map *R, char **why)
{
    for (size_t i = 0; i < R->n; i++) {
        long e = kvg_map_find(&m->ever, R->keys[i], NULL);
        uint64_t h = model_hash(R->vals[i]);
        int seen = 0;
        if (e >= 0)
            for (size_t j = 0; j + 8 <= m->ever.vals[e].n && !seen; j += 8)
                seen = memcmp(m->ever.vals[e].p + j, &h, 8) == 0;
        long b = kvg_map_find(&m->base, R->keys[i], NULL);
        if (!seen && !(b >= 0 && kvg_buf_eq(m->base.vals[b], R->vals[i]))) {
            char *ks = NULL, *vs = NULL;
            size_t kn, vn;
            FILE *f = open_memstream(&ks, &kn);
            kvg_print_bytes(f, R->keys[i].p, R->keys[i].n, 40);
            fclose(f);
            f = open_memstream(&vs, &vn);
            kvg_print_bytes(f, R->vals[i].p, R->vals[i].n, 40);
            fclose(f);
            *why = kvg_printf("after the crash key %s holds %s, %s", ks, vs,
                              e < 0 ? "but that key was never written" : "a value never written to it");
            free(ks);
            free(vs);
            return 0;
        }
    }
    return 1;
}

void kvg_model_rebase(kvg_model *m, const kvg_map *R)
{
    model_clear_writes(m);
    kvg_map_copy(&m->base, R);
    kvg_map_copy(&m->cur, R);
}

const kvg_map *kvg_model_keys(const kvg_model *m)
{
    return &m->ever;
}
