/*
 * crc32c_hw.h: the hardware path of CRC-32C (crc32c_hw.c), between it and
 * crc32c.c: an optimisation a first reading of crc32c.c skips.
 *
 * Invariant: where crc32c_hw_init returned 1, crc32c_hw_extend(c, p, n)
 * equals crc32c.c's table-driven result for every c, p and n (both work
 * on the register as it is, not inverted).
 */
#ifndef KV_COMMON_CRC32C_HW_H
#define KV_COMMON_CRC32C_HW_H

#include <stddef.h>
#include <stdint.h>

/* Builds the hardware path's tables (after crc32c.c's own and
 * crc32c_shift.c's, with whose operators it builds them) and says
 * whether this CPU can take it: 1 or 0.  Called once. */
int crc32c_hw_init(void);
uint32_t crc32c_hw_extend(uint32_t crc, const uint8_t *p, size_t n);

#endif
