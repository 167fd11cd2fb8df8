/*
 * ex_bloom.h: the tests' own bloom filter, built and asked exactly as
 * bloom.h's byte format says (m bits, then k; double hashing from the two
 * halves of bloom_hash; each probe mapped onto [0, m) by a multiply).
 */
#ifndef KV_GRADE_EX_BLOOM_H
#define KV_GRADE_EX_BLOOM_H

#include <stddef.h>
#include <stdint.h>

/* Writes the filter of hashes[0..n) into out: m bits, then the byte k;
 * returns its size (m / 8 + 1).  REQUIRES: m a multiple of 8. */
size_t ex_bloom_build(uint8_t *out, const uint64_t *hashes, size_t n, uint32_t m, int k);
/* 1 if every one of the k bits of h is set in the filter [p, p + size). */
int ex_bloom_query(const uint8_t *p, size_t size, uint64_t h);

#endif
