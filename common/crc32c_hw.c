/*
 * crc32c_hw.c: CRC-32C with the crc32 instruction of SSE4.2 (x86-64), three
 * chains at once on long buffers.  An optimisation: crc32c.c's table-driven
 * path gives the same answers, and a first reading skips this file.
 * Elsewhere (another CPU or compiler) crc32c_hw_init says no, and
 * crc32c_hw_extend is never called.
 */
#include "crc32c_hw.h"
#include "crc32c_shift.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

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
    uint32_t op = crc32c_x8n(CRC32C_STRETCH);
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
uint32_t crc32c_hw_extend(uint32_t crc, const uint8_t *p, size_t n)
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

int crc32c_hw_init(void)
{
    crc32c_build_shift();
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}

#else

int crc32c_hw_init(void) { return 0; }

uint32_t crc32c_hw_extend(uint32_t crc, const uint8_t *p, size_t n)
{
    (void)p;
    (void)n;
    return crc; /* never called: crc32c_hw_init said no */
}

#endif
