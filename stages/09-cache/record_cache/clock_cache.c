/*
 * clock_cache.c: the CLOCK cache (clock_cache.h).  A shard is a hash table
 * of chains for lookups and a ring of slots for the hand; a freed slot is
 * NULL until an insertion reuses it.  What an entry costs besides its
 * bytes (CLOCK_ENTRY_OVERHEAD): its header below (48 bytes) and its
 * allocation's (16), a ring slot and a free-list slot (8 each), and four
 * to eight bucket pointers (32 counted).
 */
#include "clock_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

typedef struct entry {
    struct entry *next; /* hash chain */
    size_t slot;        /* index in the ring */
    size_t klen, vlen;
    uint64_t hash;
    int referenced;
    unsigned char bytes[]; /* key then value */
} entry;

#define CLOCK_FIRST_BUCKETS 64

typedef struct shard {
    pthread_mutex_t mu;
    entry **buckets; /* first_buckets until they first grow */
    size_t nbuckets; /* a power of two */
    entry **ring;
    size_t ring_len, ring_cap, hand;
    size_t *free_slots;
    size_t nfree;
    size_t budget, bytes, entries;
    uint64_t hits, misses, evictions;
    /* The first buckets, inside the shard: a cache made and freed with few
     * entries (a short-lived open's) allocates one block for all its
     * shards, not one more for each. */
    entry *first_buckets[CLOCK_FIRST_BUCKETS];
} shard;

struct clock_cache {
    unsigned nshards;
    shard shards[];
};

static uint64_t hash_bytes(const void *p, size_t n)
{
    /* FNV-1a, eight bytes a step (then the rest one by one), mixed at the
     * end: the shard is chosen by the high bits, the bucket by the low. */
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 1099511628211ull;
    }
    for (; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

static void buckets_free(shard *s)
{
    if (s->buckets != s->first_buckets)
        free(s->buckets);
}

int clock_cache_new(size_t budget, unsigned nshards, clock_cache **out)
{
    *out = NULL;
    if (nshards == 0)
        return KV_ERR_INVALID;
    clock_cache *c = calloc(1, sizeof *c + nshards * sizeof(shard));
    if (!c)
        return KV_ERR_NOMEM;
    c->nshards = nshards;
    for (unsigned i = 0; i < nshards; i++) {
        shard *s = &c->shards[i];
        s->budget = budget / nshards;
        s->nbuckets = CLOCK_FIRST_BUCKETS;
        s->buckets = s->first_buckets; /* (calloc's zeros: every bucket empty) */
        if (pthread_mutex_init(&s->mu, NULL) != 0) {
            c->nshards = i;
            clock_cache_free(c);
            return KV_ERR_NOMEM;
        }
    }
    *out = c;
    return KV_OK;
}

void clock_cache_free(clock_cache *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->nshards; i++) {
        shard *s = &c->shards[i];
        for (size_t j = 0; j < s->ring_len; j++)
            free(s->ring[j]);
        free(s->ring);
        free(s->free_slots);
        buckets_free(s);
        pthread_mutex_destroy(&s->mu);
    }
    free(c);
}

static shard *shard_of(clock_cache *c, uint64_t h)
{
    return &c->shards[(h >> 32) % c->nshards];
}

static entry **find(shard *s, uint64_t h, const void *key, size_t klen)
{
    entry **p = &s->buckets[h & (s->nbuckets - 1)];
    while (*p && !((*p)->hash == h && (*p)->klen == klen &&
                   memcmp((*p)->bytes, key, klen) == 0))
        p = &(*p)->next;
    return p;
}

static void unlink_entry(shard *s, entry **link)
{
    entry *e = *link;
    *link = e->next;
    s->ring[e->slot] = NULL;
    s->free_slots[s->nfree++] = e->slot;
    s->bytes -= clock_cache_charge(e->klen, e->vlen);
    s->entries--;
    free(e);
}

/* The entry CLOCK evicts next: the hand goes on from the slot after the
 * one it stopped at, round the ring, passing empty slots; an entry with
 * its referenced bit set has the bit cleared and is passed over (its
 * second chance); the first with the bit clear is the victim, and the hand
 * stops just past it.  Two turns at most (the first may clear every bit);
 * NULL if the ring holds no entry. */
static entry *clock_victim(shard *s)
{
    for (size_t looked = 0; looked < 2 * s->ring_len; looked++) {
        if (s->hand >= s->ring_len)
            s->hand = 0;
        entry *e = s->ring[s->hand++];
        if (e == NULL)
            continue;
        if (e->referenced) {
            e->referenced = 0;
            continue;
        }
        return e;
    }
    return NULL;
}

static int grow_buckets(shard *s)
{
    size_t n = s->nbuckets * 2;
    entry **b = calloc(n, sizeof *b);
    if (!b)
        return KV_ERR_NOMEM;
    for (size_t i = 0; i < s->nbuckets; i++)
        for (entry *e = s->buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    buckets_free(s);
    s->buckets = b;
    s->nbuckets = n;
    return KV_OK;
}

int clock_cache_get(clock_cache *c, const void *key, size_t klen, void **val,
              size_t *vlen)
{
    uint64_t h = hash_bytes(key, klen);
    shard *s = shard_of(c, h);
    pthread_mutex_lock(&s->mu);
    entry *e = *find(s, h, key, klen);
    if (!e) {
        s->misses++;
        pthread_mutex_unlock(&s->mu);
        return KV_NOT_FOUND;
    }
    void *copy = malloc(e->vlen ? e->vlen : 1);
    if (!copy) {
        pthread_mutex_unlock(&s->mu);
        return KV_ERR_NOMEM;
    }
    memcpy(copy, e->bytes + e->klen, e->vlen);
    *vlen = e->vlen;
    e->referenced = 1;
    s->hits++;
    pthread_mutex_unlock(&s->mu);
    *val = copy;
    return KV_OK;
}

int clock_cache_put(clock_cache *c, const void *key, size_t klen, const void *val,
              size_t vlen)
{
    uint64_t h = hash_bytes(key, klen);
    shard *s = shard_of(c, h);
    size_t charge = clock_cache_charge(klen, vlen);
    entry *e = malloc(sizeof *e + klen + vlen);
    if (!e)
        return KV_ERR_NOMEM;
    memcpy(e->bytes, key, klen);
    memcpy(e->bytes + klen, val, vlen);
    e->klen = klen, e->vlen = vlen, e->hash = h, e->referenced = 0;
    pthread_mutex_lock(&s->mu);
    int rc = KV_OK;
    /* Room in the ring and the free list for one more slot. */
    if (s->nfree == 0 && s->ring_len == s->ring_cap) {
        size_t cap = s->ring_cap ? s->ring_cap * 2 : 16;
        entry **r = realloc(s->ring, cap * sizeof *r);
        if (r)
            s->ring = r;
        size_t *f = r ? realloc(s->free_slots, cap * sizeof *f) : NULL;
        if (f)
            s->free_slots = f;
        if (!r || !f) {
            rc = KV_ERR_NOMEM;
            goto out;
        }
        s->ring_cap = cap;
    }
    /* Four buckets an entry: a lookup that misses mostly finds its bucket
     * empty and reads no entry (cold memory) at all. */
    if (s->entries >= s->nbuckets / 4 && (rc = grow_buckets(s)) != KV_OK)
        goto out;
    entry **old = find(s, h, key, klen);
    if (*old)
        unlink_entry(s, old);
    if (charge > s->budget)
        goto out; /* too large to keep: the old pair is gone all the same */
    while (s->bytes + charge > s->budget) {
        entry *victim = clock_victim(s);
        if (victim == NULL)
            goto out; /* no entry to evict: cannot be while bytes > 0 */
        unlink_entry(s, find(s, victim->hash, victim->bytes, victim->klen));
        s->evictions++;
    }
    e->slot = s->nfree ? s->free_slots[--s->nfree] : s->ring_len++;
    s->ring[e->slot] = e;
    e->next = s->buckets[h & (s->nbuckets - 1)];
    s->buckets[h & (s->nbuckets - 1)] = e;
    s->bytes += charge;
    s->entries++;
    e = NULL;
out:
    pthread_mutex_unlock(&s->mu);
    free(e);
    return rc;
}

void clock_cache_erase(clock_cache *c, const void *key, size_t klen)
{
    uint64_t h = hash_bytes(key, klen);
    shard *s = shard_of(c, h);
    pthread_mutex_lock(&s->mu);
    entry **p = find(s, h, key, klen);
    if (*p)
        unlink_entry(s, p);
    pthread_mutex_unlock(&s->mu);
}

void clock_cache_stats_get(clock_cache *c, clock_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < c->nshards; i++) {
        shard *s = &c->shards[i];
        pthread_mutex_lock(&s->mu);
        out->hits += s->hits;
        out->misses += s->misses;
        out->evictions += s->evictions;
        out->bytes += s->bytes;
        out->entries += s->entries;
        pthread_mutex_unlock(&s->mu);
    }
}
