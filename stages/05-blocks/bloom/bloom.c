/*
 * bloom.c: the bloom filter of bloom.h: the hash, the builder, the probe
 * and the checker.
 *
 * The filter's bytes (bloom.h has the why):
 *
 *   field   size         meaning
 *   bits    m / 8 bytes  bit j of the array is bit (j % 8) of byte j / 8
 *   k       1 byte       the number of probes, 1..30
 *
 * A key whose 64-bit hash has halves lo and hi sets (or, on lookup,
 * tests) the bits
 *   pos_i = (h_i * m) >> 32,  h_i = lo + i * hi (mod 2^32),  i = 0..k-1.
 */
#include "bloom.h"

#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "error.h"
#include "kv.h"

/* ---- the hash (part of the format: BF4) ------------------------------------------ */

#define BLOOM_SEED 0x6b76737461676573ull /* "kvstages" */
#define BLOOM_MUL1 0x9e3779b97f4a7c15ull /* odd: multiplying by it is a bijection */
#define BLOOM_MUL2 0xc2b2ae3d27d4eb4full

static inline uint64_t bloom_rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

/* Folds one 8-byte word into the state. */
static inline uint64_t bloom_absorb(uint64_t h, uint64_t word)
{
    h ^= word * BLOOM_MUL1;
    return bloom_rotl64(h, 29) * BLOOM_MUL2;
}

uint64_t bloom_hash(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint64_t h = BLOOM_SEED ^ ((uint64_t)len * BLOOM_MUL1);
    for (; len >= 8; p += 8, len -= 8)
        h = bloom_absorb(h, coding_get_u64(p));
    if (len > 0) {
        uint64_t tail = 0;
        for (size_t i = 0; i < len; i++)
            tail |= (uint64_t)p[i] << (8 * i);
        h = bloom_absorb(h, tail);
    }
    /* The final mix (MurmurHash3's fmix64): every input bit reaches every
     * output bit, so both halves the probes use are good. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* ---- probing ----------------------------------------------------------------------- */

/* h mapped onto [0, bits) by a multiply: cheaper than h % bits. */
static inline uint32_t bloom_pos(uint32_t h, uint32_t bits)
{
    return (uint32_t)(((uint64_t)h * bits) >> 32);
}

int bloom_k_for(int bits_per_key)
{
    if (bits_per_key >= 44) /* 44 ln 2 = 30.5 */
        return BLOOM_MAX_K;
    int k = (bits_per_key * 6931 + 5000) / 10000; /* round(bits_per_key ln 2) */
    return k < 1 ? 1 : k;
}

/* ---- building ------------------------------------------------------------------------ */

void bloom_builder_init(bloom_builder *b, int bits_per_key)
{
    memset(b, 0, sizeof *b);
    b->bits_per_key = bits_per_key < 1 ? 1 : bits_per_key;
    b->k = bloom_k_for(b->bits_per_key);
}

void bloom_builder_destroy(bloom_builder *b)
{
    free(b->hashes);
    b->hashes = NULL;
    b->count = b->cap = 0;
}

void bloom_builder_reset(bloom_builder *b)
{
    b->count = 0;
}

int bloom_builder_add_hash(bloom_builder *b, uint64_t h)
{
    if (b->count > 0 && b->hashes[b->count - 1] == h)
        return KV_OK; /* the same bits again */
    if (b->count == b->cap) {
        /* (cap * 8 cannot wrap: twice the bytes held, at most PTRDIFF_MAX.) */
        size_t cap = b->cap ? b->cap * 2 : 256;
        uint64_t *grown = realloc(b->hashes, cap * sizeof *grown);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "bloom filter: cannot grow to %zu key hashes", cap);
        b->hashes = grown;
        b->cap = cap;
    }
    b->hashes[b->count++] = h;
    return KV_OK;
}

int bloom_builder_add(bloom_builder *b, const void *key, size_t len)
{
    return bloom_builder_add_hash(b, bloom_hash(key, len));
}

size_t bloom_builder_keys(const bloom_builder *b)
{
    return b->count;
}

/* m for n keys: n * bits_per_key, at least BLOOM_MIN_BITS, a whole number
 * of bytes, at most BLOOM_MAX_BITS (itself whole bytes: rounding keeps m
 * within it). */
_Static_assert(BLOOM_MAX_BITS % 8 == 0, "BLOOM_MAX_BITS is a whole number of bytes");
static uint32_t bloom_bits_for(size_t n, int bits_per_key)
{
    uint64_t per_key = (uint64_t)bits_per_key;
    if ((uint64_t)n > BLOOM_MAX_BITS / per_key)
        return BLOOM_MAX_BITS;
    uint64_t bits = (uint64_t)n * per_key;
    if (bits < BLOOM_MIN_BITS)
        bits = BLOOM_MIN_BITS;
    return (uint32_t)((bits + 7) / 8 * 8);
}

size_t bloom_builder_bytes(const bloom_builder *b)
{
    return bloom_bits_for(b->count, b->bits_per_key) / 8 + 1;
}

void bloom_builder_finish(const bloom_builder *b, uint8_t *out)
{
    const uint32_t bits = bloom_bits_for(b->count, b->bits_per_key);
    memset(out, 0, bits / 8);
    for (size_t i = 0; i < b->count; i++) {
        uint32_t h = (uint32_t)b->hashes[i];
        const uint32_t delta = (uint32_t)(b->hashes[i] >> 32);
        for (int j = 0; j < b->k; j++) {
            uint32_t pos = bloom_pos(h, bits);
            out[pos / 8] |= (uint8_t)(1u << (pos % 8));
            h += delta;
        }
    }
    out[bits / 8] = (uint8_t)b->k;
}

/* ---- reading --------------------------------------------------------------------------- */

/* The filter's m and k, or 0 if it is malformed (the cases bloom_check
 * names). */
static uint32_t bloom_shape(const uint8_t *p, const uint8_t *limit, int *k)
{
    if (p == NULL || limit < p)
        return 0;
    const size_t len = (size_t)(limit - p);
    if (len < BLOOM_MIN_BITS / 8 + 1 || len - 1 > BLOOM_MAX_BITS / 8)
        return 0;
    *k = limit[-1];
    if (*k < 1 || *k > BLOOM_MAX_K)
        return 0;
    return (uint32_t)(len - 1) * 8;
}

int bloom_may_contain_hash(const uint8_t *p, const uint8_t *limit, uint64_t hash)
{
    int k;
    const uint32_t bits = bloom_shape(p, limit, &k);
    if (bits == 0)
        return 1; /* BF2: damage costs a read, never a wrong answer */
    uint32_t h = (uint32_t)hash;
    const uint32_t delta = (uint32_t)(hash >> 32);
    /* Every position first, each byte asked of the memory at once; then
     * the bits.  A filter is usually in no CPU cache, and the loads go out
     * side by side instead of one after another (about 3% of a get on a
     * settled database, docs/perf-06-leveled.md). */
    uint32_t pos[BLOOM_MAX_K];
    for (int j = 0; j < k; j++) {
        pos[j] = bloom_pos(h, bits);
        __builtin_prefetch(p + pos[j] / 8);
        h += delta;
    }
    for (int j = 0; j < k; j++)
        if ((p[pos[j] / 8] & (1u << (pos[j] % 8))) == 0)
            return 0;
    return 1;
}

int bloom_may_contain(const uint8_t *p, const uint8_t *limit, const void *key, size_t len)
{
    return bloom_may_contain_hash(p, limit, bloom_hash(key, len));
}

int bloom_check(const uint8_t *p, const uint8_t *limit, bloom_info *info)
{
    const size_t len = p == NULL || limit < p ? 0 : (size_t)(limit - p);
    int k = 0;
    const uint32_t bits = bloom_shape(p, limit, &k);
    if (bits == 0) {
        if (len < BLOOM_MIN_BITS / 8 + 1)
            return kv_error(KV_ERR_CORRUPT,
                            "bloom filter of %zu bytes: shorter than the smallest (%d bytes of "
                            "bits and the hash count)",
                            len, BLOOM_MIN_BITS / 8);
        if (len - 1 > BLOOM_MAX_BITS / 8)
            return kv_error(KV_ERR_CORRUPT,
                            "bloom filter of %zu bytes: more bits than the most, %u",
                            len, BLOOM_MAX_BITS);
        return kv_error(KV_ERR_CORRUPT, "bloom filter of %zu bytes: hash count %d is not 1..%d",
                        len, k, BLOOM_MAX_K);
    }
    if (info != NULL) {
        uint64_t set = 0;
        for (size_t i = 0; i < bits / 8; i++)
            set += (uint64_t)__builtin_popcount(p[i]);
        info->bits = bits;
        info->k = k;
        info->bits_set = set;
    }
    return KV_OK;
}

/* x^e for a whole e, by squaring. */
static double bloom_pow(double x, uint64_t e)
{
    double r = 1.0;
    for (; e > 0; e >>= 1, x *= x)
        if (e & 1)
            r *= x;
    return r;
}

double bloom_fp_theory(uint64_t m, uint64_t n, int k)
{
    if (m == 0 || k < 1)
        return 1.0;
    /* The chance a given bit is still 0 after the kn settings. */
    double zero = bloom_pow(1.0 - 1.0 / (double)m, (uint64_t)k * n);
    return bloom_pow(1.0 - zero, (uint64_t)k);
}
