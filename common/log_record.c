/*
 * log_record.c: encode a record header, decode a record (see log_record.h).
 */
#include "log_record.h"

#include "coding.h"
#include "crc32c.h"
#include "kv.h"

void log_record_header(uint8_t header[LOG_RECORD_HEADER], const void *key, size_t klen,
                       const void *val, size_t vlen, int is_delete)
{
    coding_put_u16(header + 4, (uint16_t)klen);
    coding_put_u32(header + 6, is_delete ? LOG_RECORD_TOMBSTONE : (uint32_t)vlen);
    uint32_t crc = crc32c_value(header + 4, LOG_RECORD_HEADER - 4);
    crc = crc32c_extend(crc, key, klen);
    if (!is_delete)
        crc = crc32c_extend(crc, val, vlen);
    coding_put_u32(header, crc);
}

void log_record_seal(uint8_t out[LOG_RECORD_SEAL_SIZE], uint64_t at)
{
    coding_put_u16(out + 4, 0);
    coding_put_u32(out + 6, LOG_RECORD_SEAL);
    coding_put_u64(out + LOG_RECORD_HEADER, at);
    coding_put_u32(out, crc32c_value(out + 4, LOG_RECORD_SEAL_SIZE - 4));
}

int log_record_decode(const uint8_t *p, const uint8_t *limit, log_record *rec,
                      uint64_t *size, const char **why)
{
    int rc = log_record_parse(p, limit, rec, size, why);
    if (rc == LOG_DECODE_OK && crc32c_value(p + 4, (size_t)*size - 4) != rec->crc) {
        *why = "checksum mismatch";
        return LOG_DECODE_BAD;
    }
    return rc;
}

uint64_t log_record_size_at(const uint8_t header[LOG_RECORD_HEADER], const char **why)
{
    uint32_t klen = coding_get_u16(header + 4);
    uint32_t vfield = coding_get_u32(header + 6);
    if (klen == 0) {
        if (vfield == LOG_RECORD_SEAL)
            return LOG_RECORD_SEAL_SIZE;
        *why = "key length is 0";
        return 0;
    }
    if (vfield == LOG_RECORD_TOMBSTONE)
        return LOG_RECORD_HEADER + (uint64_t)klen;
    if (vfield > KV_MAX_VALUE) {
        *why = "value length is over the 64 MiB limit";
        return 0;
    }
    return LOG_RECORD_HEADER + (uint64_t)klen + vfield;
}

int log_record_parse(const uint8_t *p, const uint8_t *limit, log_record *rec,
                     uint64_t *size, const char **why)
{
    if (limit - p < (ptrdiff_t)LOG_RECORD_HEADER) {
        *size = LOG_RECORD_HEADER;
        return LOG_DECODE_SHORT;
    }
    uint64_t need = log_record_size_at(p, why);
    if (need == 0)
        return LOG_DECODE_BAD;
    *size = need;
    if ((uint64_t)(limit - p) < need)
        return LOG_DECODE_SHORT;
    uint32_t klen = coding_get_u16(p + 4);
    uint32_t vfield = coding_get_u32(p + 6);
    rec->crc = coding_get_u32(p);
    if (klen == 0) {
        *rec = (log_record){.is_seal = 1, .seal_at = coding_get_u64(p + LOG_RECORD_HEADER),
                            .crc = rec->crc, .key = p + LOG_RECORD_HEADER};
        return LOG_DECODE_OK;
    }
    rec->is_seal = 0;
    rec->seal_at = 0;
    rec->klen = klen;
    rec->is_delete = vfield == LOG_RECORD_TOMBSTONE;
    rec->vlen = rec->is_delete ? 0 : vfield;
    rec->key = p + LOG_RECORD_HEADER;
    rec->value = rec->is_delete ? NULL : p + LOG_RECORD_HEADER + klen;
    return LOG_DECODE_OK;
}
