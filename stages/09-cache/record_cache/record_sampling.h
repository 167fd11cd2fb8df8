/*
 * record_sampling.h: when to ask the record cache at all.  A get that
 * reaches a table asks the record cache first; when keys rarely come
 * back (reads spread evenly over far more keys than the cache holds),
 * almost every ask misses, and the asks and the records kept for keys
 * never read again are all cost.  So the lookups watch the cache's hit
 * rate and, once it is low, ask it only for a sample of the keys: one in
 * RECORD_SAMPLE_KEYS, chosen by the key's hash, so that a key in the
 * sample is always asked and kept and one outside never is.  The sample
 * keeps measuring: if its keys start to come back, every key is asked
 * again.  A first reading may skip this file and record_sampling.c.
 *
 * The rule, per thread: what counts is the lookups that could have been
 * answered from a record, the ones whose table holds the key.  Each is a
 * hit (the record cache answered) or a miss of a held key (the table
 * answered, and its record was not kept); a table that does not hold the
 * key says nothing (a get reaches several tables on its way down, and
 * all but one of them would miss however much the cache held).  Every
 * RECORD_SAMPLE_WINDOW of them, the thread compares:
 *   - asking every key, hits below RECORD_SAMPLE_ENTER per mille: ask the
 *     sample only;
 *   - asking the sample, hits at RECORD_SAMPLE_LEAVE per mille or more:
 *     every key again.  The sample's keys have the whole budget to
 *     themselves, so their hit rate runs higher than every key's would:
 *     the bar to leave is RECORD_SAMPLE_KEYS times the bar to enter.
 *
 * Invariants:
 *   - Correctness never depends on it: a lookup that does not ask the
 *     record cache asks the table, which is always right (record_cache.h,
 *     R1 and R2 say what a kept record may answer, not that one must be
 *     asked).
 *   - A database starts asking every key, and a window is counted per
 *     thread, so fewer than RECORD_SAMPLE_WINDOW lookups of held keys in
 *     one thread never change it.  (A thread reading two databases
 *     counts both in one window; each database's choice is its own.)
 *   - Its counts are in kv_stats: record_cache.sampling (1 while asking
 *     the sample only), session.record_cache.left_out (lookups that did
 *     not ask) and session.record_cache.sampling_changes.
 */
#ifndef KV_RECORD_SAMPLING_H
#define KV_RECORD_SAMPLING_H

#include <stdatomic.h>
#include <stdint.h>


#define RECORD_SAMPLE_KEYS 8u
#define RECORD_SAMPLE_WINDOW 1024u
#define RECORD_SAMPLE_ENTER 20u   /* per mille: 2% */
#define RECORD_SAMPLE_LEAVE (RECORD_SAMPLE_ENTER * RECORD_SAMPLE_KEYS)

typedef struct record_sampling {
    atomic_int on;                    /* 1: the sample's keys only */
    atomic_uint_least64_t left_out;   /* lookups that did not ask the cache
                                         (counted as format v2 counts its
                                         lookups: a relaxed load and store,
                                         no locked instruction, so two
                                         threads at once may lose one) */
    atomic_uint_least64_t changes;    /* times `on` changed */
} record_sampling;

void record_sampling_init(record_sampling *s);

/* Whether a lookup of the key whose bloom_hash is `hash` asks the record
 * cache; one that does not is counted in left_out. */
static inline int record_sampling_asks(record_sampling *s, uint32_t hash)
{
    /* The sample: the hashes in the lowest 1/RECORD_SAMPLE_KEYS of their
     * range (the doorkeeper mixes a hash again before it picks a slot, so
     * the sample does not crowd a part of its table). */
    if (!atomic_load_explicit(&s->on, memory_order_relaxed) ||
        ((uint64_t)hash * RECORD_SAMPLE_KEYS) >> 32 == 0)
        return 1;
    atomic_store_explicit(&s->left_out,
                          atomic_load_explicit(&s->left_out, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return 0;
}

/* Counts, for the calling thread, one lookup of a key its table holds:
 * hit 1 if the record cache answered it, 0 if the table did; every
 * RECORD_SAMPLE_WINDOW of them, applies the rule. */
void record_sampling_held(record_sampling *s, int hit);

#endif
