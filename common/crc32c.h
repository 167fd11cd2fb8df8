/*
 * crc32c.h: CRC-32C (Castagnoli), the checksum on every record and block.
 *
 * CRC-32C uses the polynomial 0x1EDC6F41 (reflected: 0x82F63B78), the one
 * iSCSI uses (RFC 3720, section B.4), which x86 CPUs with SSE4.2 compute in
 * hardware.  crc32c_value("123456789", 9) == 0xE3069283.
 *
 * crc32c_extend(crc32c_value(a), b) == crc32c_value(a || b), so a record's
 * checksum can be computed over its pieces without copying them together.
 */
#ifndef KV_COMMON_CRC32C_H
#define KV_COMMON_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n);

/* The table-driven path alone, whatever the CPU offers (for tests). */
uint32_t crc32c_extend_software(uint32_t crc, const void *data, size_t n);

static inline uint32_t crc32c_value(const void *data, size_t n)
{
    return crc32c_extend(0, data, n);
}

#endif
