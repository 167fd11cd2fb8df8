/*
 * crc32c_shift.c: products modulo CRC-32C's polynomial, and the x^(8n)
 * operator from byte tables (crc32c_shift.h).
 */
#include "crc32c_shift.h"

/* pow8[i][v] = x^(8 * v * 256^i) modulo the polynomial: the operator that
 * moves a CRC past v * 256^i zero bytes (crc32c_combine). */
static uint32_t pow8[8][256];

/* The shift-and-add of zlib's multmodp. */
uint32_t crc32c_multmodp(uint32_t a, uint32_t b)
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

void crc32c_shift_init(void)
{
    uint32_t step = 1u << 23; /* x^8: one byte */
    for (int i = 0; i < 8; i++) {
        pow8[i][0] = 1u << 31; /* x^0 */
        for (int v = 1; v < 256; v++)
            pow8[i][v] = crc32c_multmodp(pow8[i][v - 1], step);
        step = crc32c_multmodp(pow8[i][255], step); /* x^(8 * 256^(i+1)) */
    }
}

uint32_t crc32c_x8n(uint64_t n)
{
    uint32_t op = 1u << 31; /* x^0; then x^(8 * n), one byte of n at a time */
    for (int i = 0; i < 8; i++, n >>= 8)
        if ((n & 0xff) != 0)
            op = crc32c_multmodp(pow8[i][n & 0xff], op);
    return op;
}
