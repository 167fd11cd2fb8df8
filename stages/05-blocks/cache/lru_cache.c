/*
 * lru_cache.c: the sharded LRU cache of lru_cache.h.
 *
 * Each shard holds, under its mutex:
 *   - a hash table of chains (next_hash) holding every entry in the cache;
 *   - a circular list, oldest first, of the entries in the cache whose
 *     only reference is the cache's: the ones eviction may take (LRU1);
 *   - its usage and its counters.
 * An entry held by a caller is in the table but not on the list; when its
 * last caller lets go (refs back to 1) it joins the list's young end.
 *
 * Entries are freed after the shard's mutex is released (lru_dead_free),
 * so the on_free callback (closing a file) never runs under the lock.
 */
#include "lru_cache.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"

typedef struct lru_links {
    struct lru_links *prev, *next;
} lru_links;

struct lru_entry {
    lru_links links;      /* first: a links pointer is the entry's pointer */
    lru_entry *next_hash; /* the chain in the shard's table; the dead list */
    uint64_t k1, k2;
    size_t charge;
    size_t payload_bytes; /* in use */
    size_t allocated;     /* payload bytes allocated */
    uint32_t hash;
    uint32_t refs;        /* callers' references, plus one while in_cache */
    int in_cache;
    _Alignas(16) unsigned char payload[];
};

#define LRU_FIRST_BUCKETS 16

typedef struct lru_shard {
    pthread_mutex_t mu;
    lru_entry **table;    /* first_table until the table first grows */
    uint32_t buckets;     /* a power of two */
    uint32_t count;       /* entries in the table */
    lru_links lru;        /* evictable entries, oldest first (lru.next) */
    size_t capacity, usage;
    uint64_t hits, misses, inserts, evictions;
    /* The first table, inside the shard: a cache made and freed with few
     * entries (every kv check's, every short-lived open's) allocates
     * one block for all its shards, not one more for each. */
    lru_entry *first_table[LRU_FIRST_BUCKETS];
    char pad[64];         /* keeps two shards' hot fields off one cache line */
} lru_shard;

struct lru_cache {
    lru_free_fn on_free;
    unsigned shard_bits;
    lru_shard shards[];
};

static uint32_t lru_hash(uint64_t k1, uint64_t k2)
{
    uint64_t h = k1 * 0x9e3779b97f4a7c15ull + k2;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return (uint32_t)(h ^ (h >> 32));
}

static lru_shard *lru_shard_of(lru_cache *c, uint32_t hash)
{
    /* The top bits pick the shard; the table uses the low ones. */
    return &c->shards[c->shard_bits == 0 ? 0 : hash >> (32 - c->shard_bits)];
}

/* ---- the evictable list ---------------------------------------------------------- */

static void lru_list_remove(lru_entry *e)
{
    e->links.next->prev = e->links.prev;
    e->links.prev->next = e->links.next;
}

static void lru_list_append(lru_shard *s, lru_entry *e)
{
    e->links.next = &s->lru;
    e->links.prev = s->lru.prev;
    e->links.prev->next = &e->links;
    s->lru.prev = &e->links;
}

/* ---- the table --------------------------------------------------------------------- */

static lru_entry **lru_table_slot(lru_shard *s, uint32_t hash, uint64_t k1, uint64_t k2)
{
    lru_entry **slot = &s->table[hash & (s->buckets - 1)];
    while (*slot != NULL &&
           ((*slot)->hash != hash || (*slot)->k1 != k1 || (*slot)->k2 != k2))
        slot = &(*slot)->next_hash;
    return slot;
}

static void lru_table_free(lru_shard *s)
{
    if (s->table != s->first_table)
        free(s->table);
}

/* Doubles the table when it holds more entries than a quarter of its
 * buckets.  A lookup that misses (most of a block cache's, on a database
 * many times its size) then finds an empty bucket three times in four,
 * and reads no entry, which no CPU cache holds (docs/perf-06-leveled.md);
 * a bucket is a pointer, an entry a hundred bytes and more.  If memory
 * runs out the chains just grow longer (LRU4). */
static void lru_table_grow(lru_shard *s)
{
    if (s->count <= s->buckets / 4 || s->buckets > UINT32_MAX / 2)
        return;
    uint32_t buckets = s->buckets * 2;
    lru_entry **table = calloc(buckets, sizeof *table);
    if (table == NULL)
        return;
    for (uint32_t i = 0; i < s->buckets; i++) {
        for (lru_entry *e = s->table[i], *next; e != NULL; e = next) {
            next = e->next_hash;
            lru_entry **slot = &table[e->hash & (buckets - 1)];
            e->next_hash = *slot;
            *slot = e;
        }
    }
    lru_table_free(s);
    s->table = table;
    s->buckets = buckets;
}

/* ---- references -------------------------------------------------------------------- */

/* Drops one reference; an entry no one references goes on *dead, to be
 * freed once the lock is released. */
static void lru_unref_locked(lru_shard *s, lru_entry *e, lru_entry **dead)
{
    if (--e->refs == 0) {
        e->next_hash = *dead;
        *dead = e;
    } else if (e->in_cache && e->refs == 1) {
        lru_list_append(s, e); /* only the cache holds it now: evictable */
    }
}

/* Takes e, just unlinked from the table, out of the cache. */
static void lru_forget_locked(lru_shard *s, lru_entry *e, lru_entry **dead)
{
    if (e->refs == 1)
        lru_list_remove(e);
    e->in_cache = 0;
    s->usage -= e->charge;
    s->count--;
    lru_unref_locked(s, e, dead);
}

/* LRU2: pushes out the oldest evictable entries while over capacity. */
static void lru_evict_locked(lru_shard *s, lru_entry **dead)
{
    while (s->usage > s->capacity && s->lru.next != &s->lru) {
        lru_entry *old = (lru_entry *)s->lru.next;
        lru_entry **slot = lru_table_slot(s, old->hash, old->k1, old->k2);
        *slot = old->next_hash;
        s->evictions++;
        lru_forget_locked(s, old, dead);
    }
}

static void lru_dead_free(lru_cache *c, lru_entry *dead)
{
    while (dead != NULL) {
        lru_entry *next = dead->next_hash;
        if (c->on_free != NULL)
            c->on_free(dead->payload, dead->payload_bytes);
        free(dead);
        dead = next;
    }
}

/* ---- the interface ----------------------------------------------------------------- */

int lru_cache_new(size_t capacity, unsigned shards, lru_free_fn on_free, lru_cache **out)
{
    unsigned bits = 0;
    while ((1u << bits) < shards && bits < 6)
        bits++;
    const unsigned n = 1u << bits;
    lru_cache *c = calloc(1, sizeof *c + n * sizeof c->shards[0]);
    if (c == NULL)
        return kv_error(KV_ERR_NOMEM, "cache: cannot allocate %u shards", n);
    c->on_free = on_free;
    c->shard_bits = bits;
    unsigned made = 0;
    for (; made < n; made++) {
        lru_shard *s = &c->shards[made];
        if (pthread_mutex_init(&s->mu, NULL) != 0)
            break;
        s->table = s->first_table; /* (calloc's zeros: every bucket empty) */
        s->buckets = LRU_FIRST_BUCKETS;
        s->lru.next = s->lru.prev = &s->lru;
        s->capacity = capacity / n + (made < capacity % n ? 1 : 0);
    }
    if (made < n) {
        while (made-- > 0)
            pthread_mutex_destroy(&c->shards[made].mu);
        free(c);
        return kv_error(KV_ERR_NOMEM, "cache: cannot make the locks of %u shards", n);
    }
    *out = c;
    return KV_OK;
}

void lru_cache_free(lru_cache *c)
{
    if (c == NULL)
        return;
    for (unsigned i = 0; i < (1u << c->shard_bits); i++) {
        lru_shard *s = &c->shards[i];
        lru_entry *dead = NULL;
        for (uint32_t b = 0; b < s->buckets; b++) {
            for (lru_entry *e = s->table[b], *next; e != NULL; e = next) {
                next = e->next_hash;
                e->next_hash = dead; /* REQUIRES: only the cache holds it */
                dead = e;
            }
        }
        lru_dead_free(c, dead);
        pthread_mutex_destroy(&s->mu);
        lru_table_free(s);
    }
    free(c);
}

lru_entry *lru_cache_entry_new(lru_cache *c, size_t payload_bytes)
{
    (void)c;
    if (payload_bytes > SIZE_MAX - sizeof(lru_entry))
        return NULL;
    lru_entry *e = malloc(sizeof *e + payload_bytes);
    if (e == NULL)
        return NULL;
    e->next_hash = NULL;
    e->k1 = e->k2 = 0;
    e->charge = 0;
    e->payload_bytes = e->allocated = payload_bytes;
    e->hash = 0;
    e->refs = 1;
    e->in_cache = 0;
    return e;
}

size_t lru_entry_overhead(void) { return sizeof(lru_entry); }
void *lru_entry_payload(lru_entry *e) { return e->payload; }
size_t lru_entry_payload_bytes(const lru_entry *e) { return e->payload_bytes; }
size_t lru_entry_allocated(const lru_entry *e) { return e->allocated; }

void lru_entry_shrink(lru_entry *e, size_t payload_bytes)
{
    if (payload_bytes < e->payload_bytes)
        e->payload_bytes = payload_bytes;
}

void lru_cache_insert(lru_cache *c, lru_entry *e, uint64_t k1, uint64_t k2, size_t charge)
{
    e->k1 = k1;
    e->k2 = k2;
    e->hash = lru_hash(k1, k2);
    e->charge = charge;
    lru_shard *s = lru_shard_of(c, e->hash);
    lru_entry *dead = NULL;
    pthread_mutex_lock(&s->mu);
    if (charge <= s->capacity && s->capacity > 0) { /* LRU3 */
        e->in_cache = 1;
        e->refs++;
        lru_entry **slot = lru_table_slot(s, e->hash, k1, k2);
        lru_entry *old = *slot;
        e->next_hash = old == NULL ? NULL : old->next_hash;
        *slot = e;
        s->usage += charge;
        s->count++;
        s->inserts++;
        if (old != NULL)
            lru_forget_locked(s, old, &dead);
        else
            lru_table_grow(s);
        lru_evict_locked(s, &dead);
    }
    pthread_mutex_unlock(&s->mu);
    lru_dead_free(c, dead);
}

lru_entry *lru_cache_lookup(lru_cache *c, uint64_t k1, uint64_t k2)
{
    const uint32_t hash = lru_hash(k1, k2);
    lru_shard *s = lru_shard_of(c, hash);
    pthread_mutex_lock(&s->mu);
    lru_entry *e = *lru_table_slot(s, hash, k1, k2);
    if (e != NULL) {
        if (e->refs == 1)
            lru_list_remove(e); /* held now: not evictable */
        e->refs++;
        s->hits++;
    } else {
        s->misses++;
    }
    pthread_mutex_unlock(&s->mu);
    return e;
}

void lru_cache_release(lru_cache *c, lru_entry *e)
{
    if (e == NULL)
        return;
    lru_shard *s = lru_shard_of(c, e->hash);
    lru_entry *dead = NULL;
    pthread_mutex_lock(&s->mu);
    lru_unref_locked(s, e, &dead);
    lru_evict_locked(s, &dead);
    pthread_mutex_unlock(&s->mu);
    lru_dead_free(c, dead);
}

void lru_cache_erase(lru_cache *c, uint64_t k1, uint64_t k2)
{
    const uint32_t hash = lru_hash(k1, k2);
    lru_shard *s = lru_shard_of(c, hash);
    lru_entry *dead = NULL;
    pthread_mutex_lock(&s->mu);
    lru_entry **slot = lru_table_slot(s, hash, k1, k2);
    lru_entry *e = *slot;
    if (e != NULL) {
        *slot = e->next_hash;
        lru_forget_locked(s, e, &dead);
    }
    pthread_mutex_unlock(&s->mu);
    lru_dead_free(c, dead);
}

void lru_cache_stats_get(lru_cache *c, lru_cache_stats *st)
{
    *st = (lru_cache_stats){0};
    for (unsigned i = 0; i < (1u << c->shard_bits); i++) {
        lru_shard *s = &c->shards[i];
        pthread_mutex_lock(&s->mu);
        st->hits += s->hits;
        st->misses += s->misses;
        st->inserts += s->inserts;
        st->evictions += s->evictions;
        st->entries += s->count;
        st->usage += s->usage;
        st->capacity += s->capacity;
        pthread_mutex_unlock(&s->mu);
    }
}

void lru_cache_report(lru_cache *c, const char *prefix, kv_line_fn line, void *line_ctx)
{
    lru_cache_stats st;
    lru_cache_stats_get(c, &st);
    const struct {
        const char *name;
        uint64_t value;
        int counted; /* since this open (session.), or what the cache holds now */
    } rows[] = {{"hits", st.hits, 1},       {"misses", st.misses, 1},
                {"inserts", st.inserts, 1}, {"evictions", st.evictions, 1},
                {"entries", st.entries, 0}, {"usage", st.usage, 0},
                {"capacity", st.capacity, 0}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "%s%s.%s: %" PRIu64, rows[i].counted ? "session." : "",
                 prefix, rows[i].name, rows[i].value);
        line(line_ctx, text);
    }
}
