/*
 * coding.h: how integers become bytes in every file the engine writes.
 *
 * Fixed-width integers are little-endian (the least significant byte first),
 * whatever the machine: 0x01020304 as a u32 is the bytes 04 03 02 01.
 *
 * Varints store 7 bits per byte, least significant group first; the top bit
 * of each byte says "more bytes follow".  300 = 0b1_0010_1100 is stored as
 * AC 02.  A u32 takes 1..5 bytes, a u64 1..10.
 *
 * Decoders look only inside [p, limit) and report bad input by returning
 * NULL, never by reading past limit.  That makes them safe on any bytes,
 * which is what the fuzz harnesses check.
 */
#ifndef KV_COMMON_CODING_H
#define KV_COMMON_CODING_H

#include <stddef.h>
#include <stdint.h>

#define CODING_MAX_VARINT32 5
#define CODING_MAX_VARINT64 10

static inline void coding_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void coding_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void coding_put_u64(uint8_t *p, uint64_t v)
{
    coding_put_u32(p, (uint32_t)v);
    coding_put_u32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t coding_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t coding_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint64_t coding_get_u64(const uint8_t *p)
{
    return (uint64_t)coding_get_u32(p) | ((uint64_t)coding_get_u32(p + 4) << 32);
}

/* Writes v as a varint at p (which must have room for the maximum size);
 * returns the byte after the last one written. */
uint8_t *coding_put_varint32(uint8_t *p, uint32_t v);
uint8_t *coding_put_varint64(uint8_t *p, uint64_t v);

/* Number of bytes coding_put_varint64 would write for v. */
int coding_varint_length(uint64_t v);

/* Reads a varint from [p, limit) into *v; returns the byte after it, or NULL
 * if the bytes end first or the varint is too long for the type. */
const uint8_t *coding_get_varint32(const uint8_t *p, const uint8_t *limit, uint32_t *v);
const uint8_t *coding_get_varint64(const uint8_t *p, const uint8_t *limit, uint64_t *v);

#endif
