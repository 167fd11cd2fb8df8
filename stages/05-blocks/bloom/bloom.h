/*
 * bloom.h: a bloom filter per table, so that a lookup of a key the table
 * does not hold usually reads none of the table's blocks.
 *
 * A bloom filter is an array of m bits and k hash functions.  Adding a key
 * sets the k bits its hashes pick; asking about a key tests those k bits.
 * If any is clear, the key was never added: the table is skipped.  If all
 * are set the key may be there (or the bits were set by other keys: a
 * false positive), and the table is read.  With n keys, m bits and the best
 * k = (m/n) ln 2, the chance of a false positive is about
 * (1 - e^{-kn/m})^k: 0.82% at 10 bits per key (k = 7).  docs/05-blocks.md,
 * "Bloom filters", has the math next to what bench/bloom_fp.c measures.
 *
 * The k hashes come from one 64-bit hash of the key (bloom_hash) by double
 * hashing (Kirsch and Mitzenmacher, "Less hashing, same performance",
 * 2006): with lo and hi its two 32-bit halves, h_i = lo + i * hi (mod
 * 2^32), each mapped onto [0, m) by a multiply, (h_i * m) >> 32, not by a
 * division.  So a lookup hashes the user key once, whatever the number of
 * tables it asks (bloom_may_contain_hash).  Two independent halves matter:
 * deriving the step from a single 32-bit hash (LevelDB's h rotated by 17)
 * lets through 1.4 to 1.6 times the theory's false positives in filters
 * of 100,000 keys and more (bench/bloom_fp.c; docs/05-blocks.md, "Bloom
 * filters").
 *
 * Building: a table's builder hands every user key to bloom_builder_add,
 * which keeps only its hash (8 bytes a key, not the key); the
 * filter is sized and written once, at the end, when n is known.
 *
 * The filter's bytes (what a table stores; LevelDB's util/bloom.cc keeps
 * the same shape):
 *
 *   field   size         meaning
 *   bits    m / 8 bytes  the bit array; bit j is bit (j % 8) of byte j / 8
 *   k       1 byte       the number of hashes, 1..30
 *
 * m is a multiple of 8, at least 64 and at most 2^32 - 8 bits.
 *
 * Invariants:
 *   BF1. No false negatives: every key added to a builder is answered "may
 *       contain" by the filter it writes.
 *   BF2. A malformed filter (bloom_check says what is wrong) is answered
 *       "may contain" for every key: damage costs reads, never answers.
 *   BF3. The decoders look only inside [p, limit).
 *   BF4. The filter's bytes depend only on the keys added, in their order,
 *       and bits_per_key: bloom_hash is part of the format.
 */
#ifndef KV_BLOCKS_BLOOM_H
#define KV_BLOCKS_BLOOM_H

#include <stddef.h>
#include <stdint.h>

#define BLOOM_DEFAULT_BITS_PER_KEY 10
#define BLOOM_MAX_K 30
#define BLOOM_MIN_BITS 64
#define BLOOM_MAX_BITS 4294967288u /* 2^32 - 8: a bit position fits 32 bits */
/* The name a table's metaindex can file the filter under: it changes
 * whenever the bytes a key sets would (the hash, the probing). */
#define BLOOM_FORMAT_NAME "bloom.v1"

/* The 64-bit hash of a user key every filter uses (BF4): 8 bytes at a
 * time, multiplied and rotated, then a final mix of all 64 bits. */
uint64_t bloom_hash(const void *key, size_t len);

/* The number of hashes for bits_per_key: round(bits_per_key * ln 2),
 * clamped to 1..BLOOM_MAX_K (so 1 for a bits_per_key below 2). */
int bloom_k_for(int bits_per_key);

/* ---- building ------------------------------------------------------------- */

typedef struct bloom_builder {
    uint64_t *hashes; /* the hashes of the keys added so far */
    size_t count, cap;
    int bits_per_key;
    int k;
} bloom_builder;

/* An empty builder; a bits_per_key below 1 is taken as 1. */
void bloom_builder_init(bloom_builder *b, int bits_per_key);
/* Frees what it holds; it may be initialised again. */
void bloom_builder_destroy(bloom_builder *b);
/* Forgets the keys added, keeping its memory, for the next table. */
void bloom_builder_reset(bloom_builder *b);

/* Adds a user key.  A key whose hash equals the previous key's sets the
 * same bits, so it is not stored again (a table holds a user key's
 * versions next to each other).  KV_OK, or KV_ERR_NOMEM (nothing added;
 * the builder stays usable). */
int bloom_builder_add(bloom_builder *b, const void *key, size_t len);
int bloom_builder_add_hash(bloom_builder *b, uint64_t h);

/* The distinct hashes added (n in the math above). */
size_t bloom_builder_keys(const bloom_builder *b);
/* The size of the filter bloom_builder_finish would write now. */
size_t bloom_builder_bytes(const bloom_builder *b);
/* Writes the filter: exactly bloom_builder_bytes(b) bytes at out.  The
 * builder keeps its keys (reset it for the next table). */
void bloom_builder_finish(const bloom_builder *b, uint8_t *out);

/* ---- reading ----------------------------------------------------------------- */

/* 0 if the filter in [p, limit) rules the key out, 1 if the key may be in
 * the table: its bits are all set, or the filter is malformed (BF2). */
int bloom_may_contain(const uint8_t *p, const uint8_t *limit, const void *key, size_t len);
/* The same, for a key whose bloom_hash the caller already has. */
int bloom_may_contain_hash(const uint8_t *p, const uint8_t *limit, uint64_t h);

/* What a well-formed filter is made of (kv dump prints it). */
typedef struct bloom_info {
    uint64_t bits;     /* m */
    int k;
    uint64_t bits_set; /* how many of the m bits are 1: the measured fill */
} bloom_info;

/* KV_OK and *info filled (info may be NULL) if [p, limit) is a
 * well-formed filter; KV_ERR_CORRUPT if not, with a message saying what
 * is wrong, to which a caller adds the file and the offset.  Every filter
 * it rejects is one bloom_may_contain answers 1 for (BF2). */
int bloom_check(const uint8_t *p, const uint8_t *limit, bloom_info *info);

/* The false-positive rate theory expects of a filter of m bits, n keys
 * and k hashes: (1 - (1 - 1/m)^{kn})^k, of which (1 - e^{-kn/m})^k is the
 * limit for large m. */
double bloom_fp_theory(uint64_t m, uint64_t n, int k);

#endif
