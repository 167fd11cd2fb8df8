/*
 * key_fence.h: a number per key, for a binary search over a dense array
 * before the search over the keys themselves.
 *
 * A key's fence is the 8 bytes that follow the `skip` bytes every key of a
 * sorted run shares, read big-endian, zeros past the key's end.  Numbers
 * compare as those bytes do, and a key's zeros past its end compare below
 * any byte a longer key has there, so:
 *   KF1. fence(a) < fence(b) implies a < b (bytewise), and fence(a) >
 *        fence(b) implies a > b; equal fences say nothing (the keys may
 *        differ past the 8 bytes).
 * So a search for the first key >= k over a sorted run finds, by binary
 * search over the run's fences, the first fence >= fence(k) and the ones
 * equal to it: the answer is among those equal ones or is the first one
 * after them, and only those are compared whole.  The array is 8 bytes a
 * key, searched in a few cache lines where the keys would be one each.
 * Users: stage 05's index of a table (table_v2_fences.c), stage 06's
 * tables of a level (version_fences.c).
 */
#ifndef KV_COMMON_KEY_FENCE_H
#define KV_COMMON_KEY_FENCE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The fence of the key bytes [p, p + n) past the shared ones. */
static inline uint64_t key_fence(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    if (n >= 8) {
        memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        v = __builtin_bswap64(v);
#else
        v = 0;
        for (size_t i = 0; i < 8; i++)
            v = v << 8 | p[i];
#endif
        return v;
    }
    for (size_t i = 0; i < n; i++) /* the key's bytes, from the top; zeros below */
        v |= (uint64_t)p[i] << (56 - 8 * i);
    return v;
}

/* In the sorted fences f[0, n): *lo the first >= k, *hi the first > k. */
static inline void key_fence_equal_range(const uint64_t *f, size_t n, uint64_t k, size_t *lo,
                                         size_t *hi)
{
    size_t a = 0, b = n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (f[m] < k)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    while (a < n && f[a] == k) /* the equal ones: few, next to each other */
        a++;
    *hi = a;
}

/* The same answer from fences kept in lines: groups of `per` fences, each
 * at the start of a line of `stride` numbers (the rest of the line is the
 * caller's: 8 numbers are a cache line when the array is 64-byte aligned),
 * fence i at lines[(i / per) * stride + i % per]; and tops[g] the last
 * fence of group g.  The binary search runs over tops, a per-th of the
 * fences (which stays in a CPU cache where the whole array would not),
 * then one line is read.  In two steps, so that a caller can ask memory
 * for the line before reading it: key_fence_group_find gives the group,
 * key_fence_group_range the answer, which lies in that group's line
 * unless fences equal to k run on past it.  REQUIRES: n >= 1, tops holds
 * ceil(n / per) numbers, 1 <= per <= stride. */
static inline uint64_t key_fence_in_lines(const uint64_t *lines, size_t per, size_t stride,
                                          size_t i)
{
    return lines[i / per * stride + i % per];
}

/* The first group whose last fence is >= k (the first fence >= k is in
 * it); the number of groups if k is above every fence. */
static inline size_t key_fence_group_find(const uint64_t *tops, size_t n, size_t per, uint64_t k)
{
    size_t a = 0, b = (n + per - 1) / per;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (tops[m] < k)
            a = m + 1;
        else
            b = m;
    }
    return a;
}

static inline void key_fence_group_range(const uint64_t *lines, size_t n, size_t per,
                                         size_t stride, size_t g, uint64_t k, size_t *lo,
                                         size_t *hi)
{
    size_t first = g * per < n ? g * per : n, to = first + per < n ? first + per : n, i = first;
    if (i < to) { /* group g's line, read in place */
        const uint64_t *line = lines + g * stride;
        while (i < to && line[i - first] < k)
            i++;
        *lo = i;
        while (i < to && line[i - first] == k)
            i++;
    } else {
        *lo = i;
    }
    while (i < n && key_fence_in_lines(lines, per, stride, i) == k) /* on past the line */
        i++;
    *hi = i;
}

/* Where key [k, k + n) stands against the skip bytes a run shares
 * (prefix): -1 below every key of the run, 1 above every one, 0 if it
 * shares them (then its fence decides). */
static inline int key_fence_side(const uint8_t *k, size_t n, const uint8_t *prefix, size_t skip)
{
    int c = memcmp(k, prefix, n < skip ? n : skip);
    if (c < 0 || (c == 0 && n < skip))
        return -1;
    return c > 0 ? 1 : 0;
}

#endif
