/*
 * serve_watch.c: WATCH and UNWATCH, and the table of watched keys.
 *
 * WATCH k makes the client's next EXEC answer a null array (*-1) if k is
 * written, by anyone (another client or this one), between the WATCH and
 * the EXEC.  It is kept the way Redis keeps it: a hash table from each
 * watched key to the clients watching it, and in each client the list of
 * its keys.  Every write the loop gathers (SET, MSET, DEL, and the writes
 * of an EXEC when it runs) looks its keys up here and marks the watchers
 * dirty (serve_watch_touch); EXEC looks at the mark.  The lookup costs
 * nothing when nobody watches anything.
 *
 * "Between" is in the server's order of writes, the order the loop gathers
 * them (server.h, invariant 5).  A write gathered before the WATCH may not
 * be applied yet; so that the client's reads after the WATCH see it,
 * WATCH answers only once the writes gathered before it are applied: it
 * joins the batch as a no-op when there are any (serve_commit_noop).
 *
 * Why the server keeps the watches and not the engine (a kv_txn begun at
 * WATCH, reading the watched keys): a transaction that writes nothing
 * commits without any check (kv.h), so a WATCH before a read-only EXEC
 * would never fail; its queued reads would see the database as it was at
 * the WATCH, not at the EXEC; and a conflict on a key the queue only
 * writes could not be told from one on a watched key.  And stages 01 to 06
 * find conflicts by comparing values, so a watched key written with the
 * value it had would go unnoticed; here any write counts, on every stage,
 * as in Redis.  Unlike Redis, a DEL of a watched key that does not exist
 * counts too (the DEL is gathered before it is known whether the key
 * exists).
 *
 * The hash is FNV-1a over the key with a seed chosen at start-up, so that
 * a client cannot plan keys that share a bucket without knowing it (Redis
 * uses SipHash for the same reason).  Limits: SERVE_WATCH_KEYS keys and
 * SERVE_WATCH_BYTES bytes of keys per client.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

typedef struct watch_key {
    struct watch_key *next;     /* in its bucket */
    uint64_t hash;
    serve_client **clients;     /* watching it */
    size_t nclients, cap;
    size_t klen;
    unsigned char key[];
} watch_key;

struct serve_watch {
    watch_key **buckets;
    size_t nbuckets;            /* a power of two */
    size_t nkeys;
    uint64_t seed;
};

static uint64_t watch_hash(const struct serve_watch *w, const void *key, size_t klen)
{
    const unsigned char *p = key;
    uint64_t h = 14695981039346656037ull ^ w->seed;
    for (size_t i = 0; i < klen; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 33; /* FNV's low bits mix poorly: fold the high ones in */
    return h;
}

static watch_key *watch_find(const struct serve_watch *w, uint64_t h, const void *key,
                             size_t klen)
{
    for (watch_key *k = w->buckets[h & (w->nbuckets - 1)]; k != NULL; k = k->next)
        if (k->hash == h && k->klen == klen && memcmp(k->key, key, klen) == 0)
            return k;
    return NULL;
}

/* Doubles the buckets once there are more keys than buckets (best effort:
 * without memory the chains only get longer). */
static void watch_grow(struct serve_watch *w)
{
    if (w->nkeys < w->nbuckets)
        return;
    size_t n = w->nbuckets * 2;
    watch_key **b = calloc(n, sizeof *b);
    if (b == NULL)
        return;
    for (size_t i = 0; i < w->nbuckets; i++)
        for (watch_key *k = w->buckets[i], *next; k != NULL; k = next) {
            next = k->next;
            k->next = b[k->hash & (n - 1)];
            b[k->hash & (n - 1)] = k;
        }
    free(w->buckets);
    w->buckets = b;
    w->nbuckets = n;
}

static struct serve_watch *watch_table(server *s)
{
    if (s->watch != NULL)
        return s->watch;
    struct serve_watch *w = calloc(1, sizeof *w);
    if (w == NULL || (w->buckets = calloc(64, sizeof *w->buckets)) == NULL) {
        free(w);
        return NULL;
    }
    w->nbuckets = 64;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    w->seed = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 16) ^
              (uint64_t)(uintptr_t)w;
    s->watch = w;
    return w;
}

/* c watches key from now on (once, however often it asks).  0, or -1
 * when out of memory. */
static int watch_add(server *s, serve_client *c, const void *key, size_t klen)
{
    struct serve_watch *w = watch_table(s);
    if (w == NULL)
        return -1;
    uint64_t h = watch_hash(w, key, klen);
    watch_key *k = watch_find(w, h, key, klen);
    if (k != NULL)
        for (size_t i = 0; i < k->nclients; i++)
            if (k->clients[i] == c)
                return 0;
    if (c->nwatch == c->watch_cap) {
        size_t cap = c->watch_cap == 0 ? 8 : c->watch_cap * 2;
        watch_key **grown = realloc(c->watch, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        c->watch = grown;
        c->watch_cap = cap;
    }
    if (k == NULL) {
        if ((k = calloc(1, sizeof *k + klen)) == NULL)
            return -1;
        if ((k->clients = malloc(2 * sizeof *k->clients)) == NULL) {
            free(k);
            return -1;
        }
        k->cap = 2;
        k->hash = h;
        k->klen = klen;
        memcpy(k->key, key, klen);
        k->next = w->buckets[h & (w->nbuckets - 1)];
        w->buckets[h & (w->nbuckets - 1)] = k;
        w->nkeys++;
        watch_grow(w);
    }
    if (k->nclients == k->cap) {
        size_t cap = k->cap == 0 ? 2 : k->cap * 2;
        serve_client **grown = realloc(k->clients, cap * sizeof *grown);
        if (grown == NULL)
            return -1; /* k has other watchers (a new key has room): it stays */
        k->clients = grown;
        k->cap = cap;
    }
    k->clients[k->nclients++] = c;
    c->watch[c->nwatch++] = k;
    c->watch_bytes += klen;
    return 0;
}

/* Takes k out of the table and frees it. */
static void watch_remove_key(struct serve_watch *w, watch_key *k)
{
    watch_key **at = &w->buckets[k->hash & (w->nbuckets - 1)];
    while (*at != k)
        at = &(*at)->next;
    *at = k->next;
    w->nkeys--;
    free(k->clients);
    free(k);
}

void serve_watch_drop(server *s, serve_client *c)
{
    for (size_t i = 0; i < c->nwatch; i++) {
        watch_key *k = c->watch[i];
        for (size_t j = 0; j < k->nclients; j++)
            if (k->clients[j] == c) {
                k->clients[j] = k->clients[--k->nclients];
                break;
            }
        if (k->nclients == 0)
            watch_remove_key(s->watch, k);
    }
    free(c->watch);
    c->watch = NULL;
    c->nwatch = c->watch_cap = c->watch_bytes = 0;
    c->watch_dirty = 0;
}

void serve_watch_free(server *s)
{
    if (s->watch == NULL)
        return;
    free(s->watch->buckets);
    free(s->watch);
    s->watch = NULL;
}

void serve_watch_touch(server *s, const void *key, size_t klen)
{
    struct serve_watch *w = s->watch;
    if (w == NULL || w->nkeys == 0)
        return;
    watch_key *k = watch_find(w, watch_hash(w, key, klen), key, klen);
    if (k != NULL)
        for (size_t i = 0; i < k->nclients; i++)
            k->clients[i]->watch_dirty = 1;
}

void serve_watch_cmd(server *s, serve_client *c, const serve_req *r)
{
    if (serve_multi_queuing(c)) {
        out_error(&c->out, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    size_t bytes = 0;
    for (size_t i = 1; i < r->argc; i++)
        bytes += req_len(r, i);
    if (c->nwatch + (r->argc - 1) > SERVE_WATCH_KEYS || c->watch_bytes + bytes > SERVE_WATCH_BYTES) {
        out_error(&c->out, "ERR a client may watch at most %u keys and %u bytes of keys",
                  SERVE_WATCH_KEYS, SERVE_WATCH_BYTES);
        return;
    }
    for (size_t i = 1; i < r->argc; i++) {
        size_t klen = req_len(r, i);
        if (klen < 1 || klen > KV_MAX_KEY)
            continue; /* no write can have such a key */
        if (watch_add(s, c, req_ptr(r, i), klen) != 0) {
            out_error(&c->out, "ERR %s: watching a key", kv_strerror(KV_ERR_NOMEM));
            return;
        }
    }
    /* Answered once the writes gathered before it are applied. */
    if (!serve_commit_busy(s))
        out_simple(&c->out, "OK");
    else if (serve_commit_noop(s, c) != 0)
        out_error(&c->out, "ERR %s: answering a WATCH", kv_strerror(KV_ERR_NOMEM));
}

void serve_unwatch_cmd(server *s, serve_client *c, const serve_req *r)
{
    (void)r;
    serve_watch_drop(s, c);
    out_simple(&c->out, "OK");
}
