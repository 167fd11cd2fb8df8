/*
 * crc32c.c: CRC-32C in software (slicing by 8: eight table lookups per 8
 * bytes) and, where the CPU has SSE4.2, with its crc32 instruction (three
 * chains at once on long buffers, crc32c_hardware).  Both
 * give the same answer; tests/common/crc32c_test.c checks the RFC 3720
 * vectors.  crc32c_combine is zlib's crc32_combine (by Mark Adler) for the
 * Castagnoli polynomial, with its x^(8n) operator taken from byte tables.
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

static uint32_t table[8][256];
/* pow8[i][v] = x^(8 * v * 256^i) modulo the polynomial: the operator that
 * moves a CRC past v * 256^i zero bytes (crc32c_combine). */
static uint32_t pow8[8][256];

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

/* a * b modulo the polynomial, in the reflected representation (bit 31 is
 * x^0).  REQUIRES: a != 0.  (The shift-and-add of zlib's multmodp.) */
static uint32_t crc32c_multmodp(uint32_t a, uint32_t b)
{
    uint32_t m = 1u << 31, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0)
                break;
        }
        m >>= 1;
        b = b & 1 ? (b >> 1) ^ CRC32C_POLY : b >> 1;
    }
    return p;
}

static void crc32c_build_pow8(void)
{
    uint32_t step = 1u << 23; /* x^8: one byte */
    for (int i = 0; i < 8; i++) {
        pow8[i][0] = 1u << 31; /* x^0 */
        for (int v = 1; v < 256; v++)
            pow8[i][v] = crc32c_multmodp(pow8[i][v - 1], step);
        step = crc32c_multmodp(pow8[i][255], step); /* x^(8 * 256^(i+1)) */
    }
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

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRC32C_HAVE_HW 1

/* The crc32 instruction takes 3 cycles to give its result and can start a
 * new one every cycle, so one chain of them (each waiting for the last)
 * runs at a third of the speed the processor allows.  A buffer of 3 * S
 * bytes or more is therefore taken as three chains at once over three
 * stretches of S bytes, the 2nd and 3rd starting from 0; then, since a CRC
 * register is linear, crc(A B) = shift(crc(A), |B|) ^ crc0(B) glues them:
 * shift(c, S) is c times x^(8 S) modulo the polynomial, which shift_s
 * gives with four table lookups (one per byte of c).  This is Intel's
 * method for iSCSI, as Mark Adler's crc32c.c does it. */
#define CRC32C_STRETCH 256
static uint32_t shift_s[4][256];

static void crc32c_build_shift(void)
{
    uint32_t op = 1u << 31; /* x^(8 * CRC32C_STRETCH): pow8 by bytes of the length */
    for (int i = 0, len = CRC32C_STRETCH; i < 8 && len > 0; i++, len >>= 8)
        if ((len & 0xff) != 0)
            op = crc32c_multmodp(pow8[i][len & 0xff], op);
    for (int k = 0; k < 4; k++)
        for (uint32_t b = 0; b < 256; b++)
            shift_s[k][b] = crc32c_multmodp(op, b << (8 * k));
}

static inline uint32_t crc32c_shift(uint32_t c)
{
    return shift_s[0][c & 0xff] ^ shift_s[1][(c >> 8) & 0xff] ^
           shift_s[2][(c >> 16) & 0xff] ^ shift_s[3][c >> 24];
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_hardware(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t c = crc;
    while (n >= 3 * CRC32C_STRETCH) {
        uint64_t c1 = 0, c2 = 0;
        for (int i = 0; i < CRC32C_STRETCH; i += 8) {
            uint64_t w0, w1, w2;
            memcpy(&w0, p + i, 8);
            memcpy(&w1, p + CRC32C_STRETCH + i, 8);
            memcpy(&w2, p + 2 * CRC32C_STRETCH + i, 8);
            c = __builtin_ia32_crc32di(c, w0);
            c1 = __builtin_ia32_crc32di(c1, w1);
            c2 = __builtin_ia32_crc32di(c2, w2);
        }
        c = crc32c_shift(crc32c_shift((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
        p += 3 * CRC32C_STRETCH;
        n -= 3 * CRC32C_STRETCH;
    }
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n-- > 0)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
static int crc32c_use_hardware;
#endif

static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static int crc32c_ready; /* 1 once crc32c_init ran (release store, acquire load) */

static void crc32c_init(void)
{
    crc32c_build_table();
    crc32c_build_pow8();
#ifdef CRC32C_HAVE_HW
    crc32c_build_shift();
    __builtin_cpu_init();
    crc32c_use_hardware = __builtin_cpu_supports("sse4.2");
#endif
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
#ifdef CRC32C_HAVE_HW
    if (crc32c_use_hardware)
        return ~crc32c_hardware(~crc, data, n);
#endif
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
    uint32_t op = 1u << 31; /* x^(8 * len_b), one byte of len_b at a time */
    for (int i = 0; i < 8; i++, len_b >>= 8)
        if ((len_b & 0xff) != 0)
            op = crc32c_multmodp(pow8[i][len_b & 0xff], op);
    return crc32c_multmodp(op, crc_a) ^ crc_b;
}
