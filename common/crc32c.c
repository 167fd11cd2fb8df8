/*
 * crc32c.c: CRC-32C in software (slicing by 8: eight table lookups per 8
 * bytes), and crc32c_combine, zlib's crc32_combine (by Mark Adler) for the
 * Castagnoli polynomial, with its x^(8n) operator taken from byte tables
 * (crc32c_shift.c).
 * Where the CPU has SSE4.2, crc32c_extend uses its crc32 instruction
 * instead (crc32c_hw.c, an optimisation a first reading skips); both give
 * the same answer, and tests/common/crc32c_test.c checks the RFC 3720
 * vectors on both.
 */
#include "crc32c.h"
#include "crc32c_hw.h"
#include "crc32c_shift.h"

#include <pthread.h>
#include <string.h>

static uint32_t table[8][256];

static void crc32c_build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

static uint32_t crc32c_software(uint32_t crc, const uint8_t *p, size_t n)
{
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
        n--;
    }
    while (n >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                             (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
                      (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
              table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
              table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n-- > 0)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return crc;
}

static int crc32c_use_hardware;
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static int crc32c_ready; /* 1 once crc32c_init ran (release store, acquire load) */

static void crc32c_init(void)
{
    crc32c_build_table();
    crc32c_shift_init();
    crc32c_use_hardware = crc32c_hw_init();
    __atomic_store_n(&crc32c_ready, 1, __ATOMIC_RELEASE);
}

/* The tables are built once, by whichever thread comes first; after that
 * an acquire load is all a call pays (pthread_once is a call into libc on
 * every write's checksum). */
static inline void crc32c_ensure_init(void)
{
    if (!__atomic_load_n(&crc32c_ready, __ATOMIC_ACQUIRE))
        pthread_once(&crc32c_once, crc32c_init);
}

uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n)
{
    crc32c_ensure_init();
    if (crc32c_use_hardware)
        return ~crc32c_hw_extend(~crc, data, n);
    return ~crc32c_software(~crc, data, n);
}

/* For tests: the software path, whatever the CPU offers. */
uint32_t crc32c_extend_software(uint32_t crc, const void *data, size_t n)
{
    crc32c_ensure_init();
    return ~crc32c_software(~crc, data, n);
}

uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    crc32c_ensure_init();
    return crc32c_multmodp(crc32c_x8n(len_b), crc_a) ^ crc_b;
}
