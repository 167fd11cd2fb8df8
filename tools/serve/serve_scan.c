/*
 * serve_scan.c: SCAN cursor [MATCH pattern] [COUNT n] [TYPE t].
 *
 * Redis's cursor is a number that clients hand back unchanged
 * (`redis-cli --scan` parses it as an unsigned integer), and Redis derives
 * it from its hash table.  Here keys come in key order from a kv_iter, so
 * the number names a slot in a table the server keeps:
 *
 *   cursor = (sequence << 10) | slot     slot in 0..1023, sequence >= 1
 *   slot   = { the next key to examine, an open iterator or NULL, last use }
 *
 * "SCAN 0" starts a walk: a new iterator, at the first key.  Each call
 * examines up to COUNT keys (default 10, at most SCAN_MAX_COUNT), returns
 * those that match, and a new cursor for the next call, or "0" when the
 * walk has reached the end.  A walk sees the database as it was at its
 * first call (an iterator is a snapshot), so it returns every key present
 * from its start to its end, once, in key order.
 *
 * Bounds: 1024 cursors are remembered (the least recently used is
 * forgotten: handing it back is an error), and 16 of them keep their
 * iterator open (a snapshot costs memory; the others are resumed with a
 * new iterator and kv_iter_seek to their next key: a key added meanwhile
 * may then be returned too, as Redis allows).
 *
 * Work per call.  A call stops early, returning a cursor, once its reply
 * holds 1 MiB of keys or it has spent SERVE_WALK_WORK steps (a key costs
 * SCAN_KEY_COST, and each step of the glob matcher one, serve_glob.h), so
 * no call holds up the loop for long.  The budget can run out in the
 * middle of matching one key against a long pattern: the slot then keeps
 * the matcher's state (serve_glob.h, G1) with that key as its next one,
 * and the next call goes on from there.  The pattern is compiled once per
 * call; a pattern longer than GLOB_MAX_PATTERN is refused.
 * serve_scan_step is that walk, shared with KEYS (serve_keys.c).
 * All of it runs on the loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_glob.h"
#include "server.h"

#define SCAN_SLOTS 1024
#define SCAN_SLOT_BITS 10
#define SCAN_OPEN_ITERS 16
#define SCAN_MAX_COUNT SERVE_WALK_KEYS
#define SCAN_REPLY_BYTES (1024u * 1024u)
#define SCAN_KEY_COST 32  /* work steps a key costs besides matching */

typedef struct scan_slot {
    unsigned long long id;  /* the cursor that names it; 0 = free */
    unsigned char *next;    /* the first key not yet examined (NULL: start) */
    size_t nextlen;
    kv_iter *it;            /* positioned at `next`, or NULL */
    unsigned long long used;
    int mid;                /* `next` is half matched: st is its match */
    glob_state st;
    uint64_t pat_hash;      /* ... against the pattern with this hash */
} scan_slot;

struct serve_scan {
    scan_slot slot[SCAN_SLOTS];
    unsigned long long seq, clock;
    size_t open_iters;
};

static void scan_slot_close_iter(struct serve_scan *sc, scan_slot *sl)
{
    if (sl->it != NULL) {
        kv_iter_free(sl->it);
        sl->it = NULL;
        sc->open_iters--;
    }
}

static void scan_slot_clear(struct serve_scan *sc, scan_slot *sl)
{
    scan_slot_close_iter(sc, sl);
    free(sl->next);
    memset(sl, 0, sizeof *sl);
}

void serve_scan_close_iters(server *s)
{
    if (s->scan == NULL)
        return;
    for (size_t i = 0; i < SCAN_SLOTS; i++)
        scan_slot_close_iter(s->scan, &s->scan->slot[i]);
}

void serve_scan_free(server *s)
{
    if (s->scan == NULL)
        return;
    for (size_t i = 0; i < SCAN_SLOTS; i++)
        scan_slot_clear(s->scan, &s->scan->slot[i]);
    free(s->scan);
    s->scan = NULL;
}

/* The least recently used slot (a free one first). */
static scan_slot *scan_slot_take(struct serve_scan *sc)
{
    scan_slot *best = &sc->slot[0];
    for (size_t i = 0; i < SCAN_SLOTS; i++) {
        scan_slot *sl = &sc->slot[i];
        if (sl->id == 0)
            return sl;
        if (sl->used < best->used)
            best = sl;
    }
    scan_slot_clear(sc, best);
    return best;
}

/* Makes room for one more open iterator by closing the least recently used. */
static void scan_make_iter_room(struct serve_scan *sc)
{
    while (sc->open_iters >= SCAN_OPEN_ITERS) {
        scan_slot *lru = NULL;
        for (size_t i = 0; i < SCAN_SLOTS; i++)
            if (sc->slot[i].it != NULL && (lru == NULL || sc->slot[i].used < lru->used))
                lru = &sc->slot[i];
        scan_slot_close_iter(sc, lru);
    }
}

/* Parses a decimal unsigned cursor; 0 if it is not one. */
static int scan_parse_u64(const char *p, size_t n, unsigned long long *v)
{
    if (n == 0 || n > 20)
        return 0;
    unsigned long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        unsigned long long d = (unsigned long long)(p[i] - '0');
        if (x > (~0ull - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *v = x;
    return 1;
}

/* An iterator for the slot, positioned at its next key; status. */
static int scan_resume(server *s, scan_slot *sl)
{
    if (sl->it != NULL)
        return KV_OK;
    scan_make_iter_room(s->scan);
    int rc = kv_iter_new(s->db, &sl->it);
    if (rc != KV_OK) {
        sl->it = NULL;
        return rc;
    }
    s->scan->open_iters++;
    if (sl->next == NULL)
        kv_iter_seek_first(sl->it);
    else
        kv_iter_seek(sl->it, sl->next, sl->nextlen);
    return KV_OK;
}

/* FNV-1a of the pattern: a slot's half-done match is resumed only with
 * the pattern it was started with. */
static uint64_t scan_pattern_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

int serve_scan_step(const server *s, kv_iter *it, const glob_pattern *g, glob_state *st,
                    int *mid, size_t max_keys, size_t max_bytes, uint64_t work,
                    serve_out *keys, size_t *nkeys)
{
    for (size_t n = 0; n < max_keys && kv_iter_valid(it); ) {
        if (keys->len >= max_bytes || work == 0)
            break;
        size_t klen;
        const void *key = kv_iter_key(it, &klen);
        work = work > SCAN_KEY_COST ? work - SCAN_KEY_COST : 0;
        if (s->hidden_prefix != NULL && klen >= s->hidden_len &&
            memcmp(key, s->hidden_prefix, s->hidden_len) == 0) {
            kv_iter_next(it); /* the server's own (server.h) */
            continue;
        }
        int rc = GLOB_MATCH;
        if (g != NULL) {
            if (!*mid)
                glob_start(st);
            rc = glob_run(g, st, key, klen, &work);
            *mid = rc == GLOB_MORE;
            if (*mid)
                break; /* the budget is spent: this key again next time */
        }
        if (rc == GLOB_MATCH) {
            out_bulk(keys, key, klen);
            ++*nkeys;
        }
        n++;
        kv_iter_next(it);
    }
    return kv_iter_status(it);
}

void serve_scan_cmd(server *s, serve_client *c, const serve_cmd *cmd, const serve_req *r)
{
    (void)cmd;
    if (s->scan == NULL && (s->scan = calloc(1, sizeof *s->scan)) == NULL) {
        out_error(&c->out, "ERR out of memory");
        return;
    }
    struct serve_scan *sc = s->scan;
    unsigned long long cursor;
    if (!scan_parse_u64(req_ptr(r, 1), req_len(r, 1), &cursor)) {
        out_error(&c->out, "ERR invalid cursor");
        return;
    }
    const char *pat = NULL;
    size_t plen = 0;
    long long count = 10;
    int type_ok = 1;
    for (size_t i = 2; i < r->argc; i += 2) {
        if (i + 1 >= r->argc) {
            out_error(&c->out, "ERR syntax error");
            return;
        }
        if (serve_cmd_is(r, i, "match")) {
            pat = req_ptr(r, i + 1);
            plen = req_len(r, i + 1);
        } else if (serve_cmd_is(r, i, "count")) {
            unsigned long long n;
            if (!scan_parse_u64(req_ptr(r, i + 1), req_len(r, i + 1), &n) || n < 1) {
                out_error(&c->out, "ERR value is not an integer or out of range");
                return;
            }
            count = n > SCAN_MAX_COUNT ? SCAN_MAX_COUNT : (long long)n;
        } else if (serve_cmd_is(r, i, "type")) {
            type_ok = serve_cmd_is(r, i + 1, "string");
        } else {
            out_error(&c->out, "ERR syntax error");
            return;
        }
    }
    glob_pattern *g = NULL;
    if (pat != NULL && serve_glob_compile(c, pat, plen, &g) != 0)
        return;
    if (!type_ok) {
        glob_free(g); /* nothing will be returned: no need to match */
        g = NULL;
    }
    uint64_t pat_hash = g != NULL ? scan_pattern_hash(pat, plen) : 0;

    scan_slot *sl;
    if (cursor == 0) {
        sl = scan_slot_take(sc);
    } else {
        sl = &sc->slot[cursor & (SCAN_SLOTS - 1)];
        if (sl->id != cursor) {
            out_error(&c->out, "ERR invalid cursor (unknown, or forgotten: the server "
                               "remembers the last %d)", SCAN_SLOTS);
            glob_free(g);
            return;
        }
    }
    sl->used = ++sc->clock;
    int rc = scan_resume(s, sl);
    if (rc != KV_OK) {
        out_error(&c->out, "ERR %s: %s", kv_strerror(rc), kv_errmsg());
        scan_slot_clear(sc, sl);
        glob_free(g);
        return;
    }
    /* A half-done match goes on only on the same key, with the same pattern. */
    if (sl->mid) {
        size_t klen = 0;
        const void *key = kv_iter_valid(sl->it) ? kv_iter_key(sl->it, &klen) : NULL;
        sl->mid = key != NULL && g != NULL && sl->pat_hash == pat_hash &&
                  klen == sl->nextlen && memcmp(key, sl->next, klen) == 0;
    }
    sl->pat_hash = pat_hash;

    serve_out keys = {0};
    size_t nkeys = 0;
    rc = serve_scan_step(s, sl->it, g, &sl->st, &sl->mid, (size_t)count,
                         SCAN_REPLY_BYTES, SERVE_WALK_WORK, &keys, &nkeys);
    glob_free(g);
    if (!type_ok) {
        /* TYPE other than string: the keys were examined, none is returned. */
        out_free(&keys);
        memset(&keys, 0, sizeof keys);
        nkeys = 0;
    }
    if (rc == KV_OK && !keys.failed && kv_iter_valid(sl->it)) {
        /* Remember where the next call starts, for when the iterator is
         * closed meanwhile. */
        size_t klen;
        const void *key = kv_iter_key(sl->it, &klen);
        unsigned char *copy = malloc(klen > 0 ? klen : 1);
        if (copy == NULL) {
            keys.failed = 1;
        } else {
            memcpy(copy, key, klen);
            free(sl->next);
            sl->next = copy;
            sl->nextlen = klen;
        }
    }
    if (keys.failed || rc != KV_OK) {
        if (keys.failed)
            out_error(&c->out, "ERR out of memory");
        else
            out_error(&c->out, "ERR %s: %s", kv_strerror(rc), kv_errmsg());
        out_free(&keys);
        scan_slot_clear(sc, sl);
        return;
    }
    char num[24];
    if (kv_iter_valid(sl->it)) {
        unsigned long long id = (++sc->seq << SCAN_SLOT_BITS) | (unsigned long long)(sl - sc->slot);
        sl->id = id;
        snprintf(num, sizeof num, "%llu", id);
    } else {
        scan_slot_clear(sc, sl);
        strcpy(num, "0");
    }
    out_array(&c->out, 2);
    out_bulk_str(&c->out, num);
    out_array(&c->out, nkeys);
    out_bytes(&c->out, keys.buf, keys.len);
    out_free(&keys);
}

int serve_glob_compile(serve_client *c, const char *pat, size_t plen, glob_pattern **g)
{
    int rc = glob_compile(pat, plen, 0, g);
    if (rc == KV_ERR_INVALID) {
        out_error(&c->out, "ERR pattern of %zu bytes is longer than %u bytes", plen,
                  GLOB_MAX_PATTERN);
        return -1;
    }
    if (rc != KV_OK) {
        out_error(&c->out, "ERR out of memory");
        return -1;
    }
    if (glob_matches_all(*g)) {
        glob_free(*g);
        *g = NULL;
    }
    return 0;
}
