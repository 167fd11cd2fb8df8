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

/* crc32c_value(a || b) from crc32c_value(a), crc32c_value(b) and the
 * length of b, in time independent of the lengths (zlib's crc32_combine).
 * Since a CRC is linear, crc32c_combine(crc32c_value(a), 0, len_b) is what
 * the bytes of a contribute to the CRC of a || b, so the CRC of any range
 * [i, j) of a buffer follows from the CRCs of its prefixes:
 *   crc32c_value(p + i, j - i) == prefix(j) ^ crc32c_combine(prefix(i), 0, j - i)
 * where prefix(k) = crc32c_value(p, k).  (common/log_damage.c checks many
 * overlapping records that way in one pass.) */
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* The table-driven path alone, whatever the CPU offers (for tests). */
uint32_t crc32c_extend_software(uint32_t crc, const void *data, size_t n);

static inline uint32_t crc32c_value(const void *data, size_t n)
{
    return crc32c_extend(0, data, n);
}

#endif
