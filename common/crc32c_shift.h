/*
 * crc32c_shift.h: arithmetic modulo CRC-32C's polynomial (Castagnoli's),
 * in the reflected representation (bit 31 is x^0): a product, and the
 * operator x^(8n) that moves a CRC past n zero bytes.  crc32c.c combines
 * two CRCs with them (crc32c_combine, zlib's crc32_combine by Mark
 * Adler), and the hardware path builds its tables with them
 * (crc32c_hw.c); both call in here, and this file calls neither.
 */
#ifndef KV_COMMON_CRC32C_SHIFT_H
#define KV_COMMON_CRC32C_SHIFT_H

#include <stdint.h>

#define CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

/* Builds the byte tables x8n reads.  REQUIRES: called once, before any
 * call of crc32c_x8n (crc32c.c's initialisation). */
void crc32c_shift_init(void);
/* a * b modulo the polynomial.  REQUIRES: a != 0. */
uint32_t crc32c_multmodp(uint32_t a, uint32_t b);
/* x^(8n) modulo the polynomial. */
uint32_t crc32c_x8n(uint64_t n);

#endif
