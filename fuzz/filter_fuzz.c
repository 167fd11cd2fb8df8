/*
 * filter_fuzz.c: fuzz harness for stage 05's bloom filter decoder
 * (stages/05-blocks/bloom/bloom.h: bloom_may_contain, bloom_check), bounded by
 * [p, limit).
 *
 * The input is used twice:
 *   1. As a filter's bytes, exactly as a table would hand them over (the
 *      fuzzer's buffer is exactly `size` long, so ASan sees any read past
 *      limit).  bloom_check and the probes must agree (B2 of bloom.h;
 *      with its info or without, and for no filter at all, NULL, or a
 *      limit before the start, which are malformed): a
 *      filter bloom_check rejects answers "may contain" for every key; one
 *      it accepts has (size - 1) * 8 bits, k in 1..30, no more bits set
 *      than it has, and, if none is set, rules every key out.  A probe by
 *      key and by the key's hash answer the same.
 *   2. As keys: split at each 0 byte, added to a builder with
 *      input[0] % 52 - 1 bits per key (-1 to 50; below 1 taken as 1).
 *      The first add, which allocates the builder's array, is first made
 *      with that allocation refused (tests/alloc/alloc_wrap.h): it must
 *      answer KV_ERR_NOMEM with a message and hold no key, then succeed.
 *      The builder must count every key
 *      but one whose hash is the previous key's; the filter written must
 *      pass bloom_check, be as long as bloom_builder_bytes said, have
 *      max(64, keys * bits per key) bits rounded up to a byte and
 *      round(bits per key * ln 2) hashes in 1..30 (as bloom_k_for says),
 *      and contain every key (B1: no false negative); the false-positive
 *      rate theory expects of it is a probability (1 with no bits or no
 *      hashes); reset, the builder holds no key.
 *
 * Seeds (fuzz/seeds/filter/, copied by scripts/fuzz_seeds.sh): filters
 * bloom_builder_finish wrote for the keys "key" + i in 16 digits, i < n
 * (names say n and the bits per key), and malformed ones (k of 0 and 31,
 * shorter than the minimum, empty); as keys, keys300-grown (300 keys: the
 * builder's array grows past its first 256) and keys-a-b-c-bits-per-key-0
 * (the first byte 1: 0 bits per key, taken as 1; a first byte 0, as in
 * keys0-bits10, gives -1).
 *
 * It is stage 05's entry "filter" in FUZZ_05-blocks: `make fuzz-smoke`
 * runs it, `make fuzz STAGE=05-blocks TARGET=filter` is an AFL++ campaign,
 * and `make test` replays its seeds (docs/fuzzing.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/alloc/alloc_wrap.h"
#include "bloom.h"
#include "error.h"
#include "kv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void filter_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "filter fuzz invariant broken: %s\n", what);
        abort();
    }
}

/* Part 1: the input as a filter. */
static void filter_fuzz_decode(const uint8_t *data, size_t size)
{
    bloom_info info;
    const int well_formed = bloom_check(data, data + size, &info) == KV_OK;
    filter_fuzz_check((bloom_check(data, data + size, NULL) == KV_OK) == well_formed,
                      "bloom_check answers the same without the info");
    if (well_formed) {
        filter_fuzz_check(info.bits == (uint64_t)(size - 1) * 8, "bits == (size - 1) * 8");
        filter_fuzz_check(info.k >= 1 && info.k <= BLOOM_MAX_K, "k in 1..30");
        filter_fuzz_check(info.bits_set <= info.bits, "bits_set <= bits");
    }
    /* Keys: slices of the input itself, and a few fixed ones. */
    for (size_t i = 0; i < 24; i++) {
        const uint8_t *key = data + (size > 0 ? i % size : 0);
        size_t len = size > 0 ? (size - i % size) % 17 : 0;
        char fixed[24];
        if (i >= 16) {
            len = (size_t)snprintf(fixed, sizeof fixed, "key%016zu", i);
            key = (const uint8_t *)fixed;
        }
        int may = bloom_may_contain(data, data + size, key, len);
        filter_fuzz_check(may == bloom_may_contain_hash(data, data + size, bloom_hash(key, len)),
                          "probe by key == probe by hash");
        if (!well_formed)
            filter_fuzz_check(may == 1, "a malformed filter may contain every key");
        else if (info.bits_set == 0)
            filter_fuzz_check(may == 0, "an empty filter rules every key out");
    }
}

/* round(bits_per_key * ln 2), bits_per_key below 1 taken as 1, clamped to
 * 1..BLOOM_MAX_K: the hashes a filter of bits_per_key uses (bloom.h). */
static int filter_fuzz_k(int bits_per_key)
{
    long per_key = bits_per_key < 1 ? 1 : bits_per_key;
    long k = (per_key * 693147 + 500000) / 1000000; /* ln 2 = 0.693147... */
    return k < 1 ? 1 : k > BLOOM_MAX_K ? BLOOM_MAX_K : (int)k;
}

/* The first key's add with the allocation of the builder's array refused:
 * KV_ERR_NOMEM with a message, no key held. */
static void filter_fuzz_add_refused(bloom_builder *b, const uint8_t *key, size_t len)
{
    kv_error_clear();
    alloc_fail_at(1);
    int rc = bloom_builder_add(b, key, len);
    filter_fuzz_check(alloc_disarm(), "the first add allocates");
    filter_fuzz_check(rc == KV_ERR_NOMEM && kv_errmsg()[0] != '\0' &&
                          bloom_builder_keys(b) == 0,
                      "an add whose allocation is refused: KV_ERR_NOMEM, a message, no key");
}

/* Part 2: the input as keys, through a builder. */
static void filter_fuzz_build(const uint8_t *data, size_t size)
{
    bloom_builder b;
    const int bits_per_key = size > 0 ? data[0] % 52 - 1 : 10;
    filter_fuzz_check(bloom_k_for(bits_per_key) == filter_fuzz_k(bits_per_key),
                      "bloom_k_for: round(bits per key * ln 2) in 1..30");
    bloom_builder_init(&b, bits_per_key);
    size_t empty_len = bloom_builder_bytes(&b), start = 0, distinct = 0;
    uint64_t prev = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != 0)
            continue;
        uint64_t h = bloom_hash(data + start, i - start);
        if (distinct == 0)
            filter_fuzz_add_refused(&b, data + start, i - start);
        distinct += distinct == 0 || h != prev;
        prev = h;
        filter_fuzz_check(bloom_builder_add(&b, data + start, i - start) == KV_OK, "add");
        start = i + 1;
    }
    filter_fuzz_check(bloom_builder_keys(&b) == distinct,
                      "the keys counted: each but one whose hash is the previous key's");
    size_t len = bloom_builder_bytes(&b);
    uint8_t *f = malloc(len);
    filter_fuzz_check(f != NULL, "malloc");
    bloom_builder_finish(&b, f);
    bloom_info info;
    filter_fuzz_check(bloom_check(f, f + len, &info) == KV_OK, "a built filter is well formed");
    uint64_t want_bits = (uint64_t)distinct * (uint64_t)(bits_per_key < 1 ? 1 : bits_per_key);
    want_bits = want_bits < BLOOM_MIN_BITS ? BLOOM_MIN_BITS : (want_bits + 7) / 8 * 8;
    filter_fuzz_check(info.bits == want_bits && info.k == filter_fuzz_k(bits_per_key),
                      "a built filter has max(64, keys * bits per key) bits, rounded up to a "
                      "byte, and round(bits per key * ln 2) hashes");
    double fp = bloom_fp_theory(info.bits, distinct, info.k);
    filter_fuzz_check(fp >= 0.0 && fp <= 1.0, "the rate theory expects is a probability");
    filter_fuzz_check(bloom_fp_theory(0, distinct, info.k) == 1.0 &&
                      bloom_fp_theory(info.bits, distinct, 0) == 1.0,
                      "with no bits or no hashes, every lookup is a false positive");
    bloom_builder_reset(&b);
    filter_fuzz_check(bloom_builder_keys(&b) == 0 && bloom_builder_bytes(&b) == empty_len,
                      "a builder reset holds no key");
    start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != 0)
            continue;
        filter_fuzz_check(bloom_may_contain(f, f + len, data + start, i - start),
                          "no false negative");
        start = i + 1;
    }
    free(f);
    bloom_builder_destroy(&b);
}

/* No filter (NULL), and a range whose limit is before its start (a length
 * that wrapped): malformed, so every key may be in them (BF2). */
static void filter_fuzz_no_filter(const uint8_t *data, size_t size)
{
    filter_fuzz_check(bloom_check(NULL, NULL, NULL) == KV_ERR_CORRUPT &&
                      bloom_may_contain(NULL, NULL, data, size) == 1,
                      "no filter: malformed, every key may be in it");
    if (size > 0)
        filter_fuzz_check(bloom_check(data + 1, data, NULL) == KV_ERR_CORRUPT &&
                          bloom_may_contain(data + 1, data, data, size) == 1,
                          "a limit before the start: malformed, every key may be in it");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    filter_fuzz_no_filter(data, size);
    filter_fuzz_decode(data, size);
    filter_fuzz_build(data, size);
    return 0;
}
