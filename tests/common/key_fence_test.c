/*
 * key_fence_test.c: common/key_fence.h's search over a sorted array of
 * fences answers exactly as a walk from the start does, whatever the
 * fences' spread (even, one crowded end, runs of equal ones, the ends of
 * the number range) and wherever the searched fence falls (below the
 * first, above the last, on one, between two).
 */
#include <stdint.h>
#include <stdlib.h>

#include "../harness.h"
#include "key_fence.h"

/* The answer by a walk: *lo the first >= k, *hi the first > k. */
static void walk_equal_range(const uint64_t *f, size_t n, uint64_t k, size_t *lo, size_t *hi)
{
    size_t i = 0;
    while (i < n && f[i] < k)
        i++;
    *lo = i;
    while (i < n && f[i] == k)
        i++;
    *hi = i;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* n fences of spread `kind`, sorted. */
static void make_fences(uint64_t *f, size_t n, int kind, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next_random(seed);
        switch (kind) {
        case 0: f[i] = r; break;                                   /* even over 64 bits */
        case 1: f[i] = r % 1000; break;                            /* many equal ones */
        case 2: f[i] = (r % 97 == 0) ? r : r % 4096; break;        /* one far, the rest crowded */
        case 3: f[i] = r & 0x3939393939393939ull; break;           /* digits-like bytes */
        case 4: f[i] = i < n / 2 ? 0 : UINT64_MAX - (r % 3); break; /* the ends of the range */
        default: f[i] = (uint64_t)i * i * i; break;                /* rising ever faster */
        }
    }
    qsort(f, n, sizeof *f, cmp_u64);
}

static void key_fence_search_matches_a_walk(void)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    static uint64_t f[3000];
    static const size_t sizes[] = {0, 1, 2, 5, 16, 17, 33, 100, 512, 3000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        for (int kind = 0; kind < 6; kind++) {
            make_fences(f, n, kind, &seed);
            for (int q = 0; q < 400; q++) {
                uint64_t k;
                uint64_t r = next_random(&seed);
                if (n > 0 && q % 3 == 0)
                    k = f[r % n];                       /* on a fence */
                else if (n > 0 && q % 3 == 1)
                    k = f[r % n] + (r >> 60) - 8;        /* next to one, either side */
                else
                    k = kind == 0 ? r : r % 5000;       /* anywhere */
                if (q == 0)
                    k = 0;
                if (q == 1)
                    k = UINT64_MAX;
                size_t lo, hi, wlo, whi;
                key_fence_equal_range(f, n, k, &lo, &hi);
                walk_equal_range(f, n, k, &wlo, &whi);
                if (lo != wlo || hi != whi) {
                    CHECK_MSG(0, "n %zu, spread %d, fence %llu: [%zu, %zu) where a walk finds "
                              "[%zu, %zu)", n, kind, (unsigned long long)k, lo, hi, wlo, whi);
                    return;
                }
                if (n == 0)
                    continue;
                /* In lines: groups of 5 with room for 3 numbers more in
                 * each line of 8 (table_v2_fences.c's), and groups of 8
                 * filling their lines, found through their last fences. */
                static const size_t pers[] = {5, 8};
                for (size_t p = 0; p < sizeof pers / sizeof pers[0]; p++) {
                    size_t per = pers[p], groups = (n + per - 1) / per;
                    static uint64_t lines[3000 / 5 * 8 + 8], tops[3000 / 5 + 1];
                    for (size_t i = 0; i < groups * 8; i++)
                        lines[i] = 0x5a5a5a5a5a5a5a5aull; /* the caller's numbers */
                    for (size_t i = 0; i < n; i++)
                        lines[i / per * 8 + i % per] = f[i];
                    for (size_t g = 0; g < groups; g++)
                        tops[g] = f[(g + 1) * per < n ? (g + 1) * per - 1 : n - 1];
                    size_t g = key_fence_group_find(tops, n, per, k);
                    CHECK(g <= groups);
                    key_fence_group_range(lines, n, per, 8, g, k, &lo, &hi);
                    if (lo != wlo || hi != whi || (lo < n && lo / per != g)) {
                        CHECK_MSG(0, "n %zu, spread %d, fence %llu, in groups of %zu: [%zu, "
                                  "%zu) from group %zu where a walk finds [%zu, %zu)", n, kind,
                                  (unsigned long long)k, per, lo, hi, g, wlo, whi);
                        return;
                    }
                }
            }
        }
    }
}

static const harness_test tests[] = {
    HARNESS_TEST(key_fence_search_matches_a_walk),
};
const harness_suite key_fence_suite = HARNESS_SUITE("key_fence", tests);
