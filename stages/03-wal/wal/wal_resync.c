/*
 * wal_resync.c: the search for the next valid fragment in one block, after
 * damage (wal_resync.h).
 *
 * Damage can shift what follows it by any number of bytes, so every
 * offset is a possible fragment start; what decides is the crc.  Two
 * things make that search cheap without changing its answer:
 *
 * 1. Most offsets are ruled out by one byte.  A fragment at q has its type
 *    at q + 6, and a type is 1..4 (wal_format.h).  So the search walks the
 *    bytes looking for a 1, 2, 3 or 4; at each it tries q = that byte's
 *    offset - 6.  Zero bytes are never a type, so runs of zeros (a lost
 *    write, a sparse tail) are passed eight bytes at a time.  In random
 *    bytes one offset in 64 has a possible type; with the length, about
 *    one in 256 is a candidate: a header whose fragment fits in its block
 *    and in the bytes given.
 *
 * 2. A candidate's crc costs a constant, not its length.  Checked one by
 *    one, each candidate would cost the crc of its own bytes, up to 32 KiB:
 *    in random bytes about 40 times the block's size, and for a block of
 *    bytes 0x01 (every offset a candidate of length 257) 260 times.
 *    Instead the search keeps the crc of the block's prefixes, one every
 *    RESYNC_STEP bytes, computed once and only as far as a candidate needs
 *    them.  A crc is linear, so the crc of any range [a, b) follows from
 *    two prefixes (common/crc32c.h):
 *      crc(p[a, b)) == prefix(b) ^ crc32c_combine(prefix(a), 0, b - a)
 *    and prefix(k) is the checkpoint below k extended by fewer than
 *    RESYNC_STEP bytes.  So a candidate costs at most 2 * RESYNC_STEP bytes
 *    of crc and one crc32c_combine, whatever its length, and a block costs
 *    at most one crc pass over it plus that per candidate: time linear in
 *    the block's size.  (crc32c_combine is about a hundred shifts and
 *    xors, as much as the crc of a few hundred bytes: a candidate of at
 *    most RESYNC_DIRECT bytes is cheaper to check directly.)
 *
 * Candidates are tried in order of their offset, so the first one whose
 * crc matches is the answer, as in a byte-by-byte search.
 */
#include "wal_resync.h"

#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "wal_format.h"

#define RESYNC_STEP 64u
#define RESYNC_DIRECT 256u

/* The crc of every prefix p[0, k) of the bytes searched, from checkpoints
 * crc[i] = crc of p[0, i * RESYNC_STEP), computed up to crc[known]. */
typedef struct resync_prefix {
    const uint8_t *p;
    size_t known;
    uint32_t crc[WAL_BLOCK_SIZE / RESYNC_STEP + 1];
} resync_prefix;

/* The crc of p[0, k).  REQUIRES: k is within the bytes searched. */
static uint32_t resync_prefix_crc(resync_prefix *x, size_t k)
{
    size_t i = k / RESYNC_STEP;
    for (; x->known < i; x->known++)
        x->crc[x->known + 1] = crc32c_extend(x->crc[x->known],
                                             x->p + x->known * RESYNC_STEP, RESYNC_STEP);
    return crc32c_extend(x->crc[i], x->p + i * RESYNC_STEP, k % RESYNC_STEP);
}

/* The crc of p[a, b): directly if that is cheaper, else from two
 * prefixes. */
static uint32_t resync_range_crc(resync_prefix *x, size_t a, size_t b)
{
    if (b - a <= RESYNC_DIRECT)
        return crc32c_value(x->p + a, b - a);
    return resync_prefix_crc(x, b) ^ crc32c_combine(resync_prefix_crc(x, a), 0, b - a);
}

/* The first byte at or after t in p[0, n) that is not zero, or n. */
static size_t resync_skip_zeros(const uint8_t *p, size_t t, size_t n)
{
    for (uint64_t word; t + 8 <= n; t += 8) {
        memcpy(&word, p + t, 8);
        if (word != 0)
            break;
    }
    while (t < n && p[t] == 0)
        t++;
    return t;
}

/* The first offset at or after t in p[0, n) whose byte could be a
 * fragment's type (1 .. WAL_LAST), or n: point 1 above.  Apart from
 * wal_resync_block, and never inlined into it, so that the fuzzing build
 * can leave this loop over bytes out of its coverage hooks
 * (fuzz/sancov_ignore.txt), which cost more than the loop: where it stops
 * is all an input steers here, and the caller's branches see that. */
__attribute__((noinline)) static size_t resync_next_type(const uint8_t *p, size_t t, size_t n)
{
    while (t < n) {
        if (p[t] == 0)
            t = resync_skip_zeros(p, t, n);
        else if (p[t] > WAL_LAST)
            t++;
        else
            return t;
    }
    return n;
}

size_t wal_resync_block(const uint8_t *p, size_t n, uint32_t at)
{
    resync_prefix x;
    x.p = p;
    x.known = 0;
    x.crc[0] = 0; /* the crc of no bytes */
    /* t is a candidate's type byte; the candidate starts 6 bytes before. */
    for (size_t t = WAL_HEADER_SIZE - 1; (t = resync_next_type(p, t, n)) < n; t++) {
        /* What wal_fragment_decode checks, in the same order: the type
         * (1..4 here), a length within the block, the data within the
         * bytes given, then the crc of the length, type and data. */
        size_t q = t - (WAL_HEADER_SIZE - 1);
        size_t len = coding_get_u16(p + q + 4);
        size_t end = q + WAL_HEADER_SIZE + len;
        if (WAL_HEADER_SIZE + len > WAL_BLOCK_SIZE - (at + q) || end > n)
            continue;
        if (resync_range_crc(&x, q + 4, end) == coding_get_u32(p + q))
            return q;
    }
    return n;
}
