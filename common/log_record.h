/*
 * log_record.h: the record framing of the log-structured stages (01, 02).
 *
 * A record is one put or one delete, self-checking, laid end to end in a log
 * file.  Byte table (all integers little-endian; see docs/01-log.md):
 *
 *   offset  size       field
 *   0       4          crc32c of bytes 4 .. end of record
 *   4       2          key_len    (1 .. 65535)
 *   6       4          value_len  (0 .. 64 MiB), or 0xFFFFFFFF for a delete
 *   10      key_len    key
 *   10+k    value_len  value (absent for a delete)
 *
 * A seal marks the end of a closed segment (stage 02; stage 01 never writes
 * one).  It is a record with key_len 0, which no put or delete can have:
 *
 *   0       4          crc32c of bytes 4 .. 17
 *   4       2          0
 *   6       4          0xFFFFFFFE
 *   10      8          the seal's own offset in the file
 *
 * A file whose last record is a seal was not cut short after it was closed:
 * cut it at any record boundary and the seal is gone.
 *
 * The checksum covers the lengths, so a damaged length is caught like damaged
 * data.  key_len is two bytes because a key is at most 65535 bytes: the
 * largest key fits exactly and a longer one cannot be written.
 *
 * Invariant: a decoder never reads outside [p, limit) and never trusts a
 * length before checking it against the limits above.
 */
#ifndef KV_COMMON_LOG_RECORD_H
#define KV_COMMON_LOG_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define LOG_RECORD_HEADER 10u
#define LOG_RECORD_TOMBSTONE 0xFFFFFFFFu
#define LOG_RECORD_SEAL 0xFFFFFFFEu   /* value_len of a seal (key_len 0) */
#define LOG_RECORD_SEAL_SIZE 18u

typedef struct log_record {
    const uint8_t *key;
    const uint8_t *value;   /* NULL for a delete */
    uint32_t klen;
    uint32_t vlen;          /* 0 for a delete */
    int is_delete;
    int is_seal;            /* a seal: no key, no value; seal_at is its offset */
    uint64_t seal_at;
    uint32_t crc;           /* as stored */
} log_record;

/* Bytes a record of these lengths takes (value_len ignored for a delete). */
static inline uint64_t log_record_size(size_t klen, size_t vlen, int is_delete)
{
    return LOG_RECORD_HEADER + klen + (is_delete ? 0 : vlen);
}

/* Fills the 10-byte header for a record whose key and value follow it. */
void log_record_header(uint8_t header[LOG_RECORD_HEADER], const void *key, size_t klen,
                       const void *val, size_t vlen, int is_delete);

/* Writes the 18-byte seal for offset `at`. */
void log_record_seal(uint8_t out[LOG_RECORD_SEAL_SIZE], uint64_t at);

/*
 * Outcome of decoding the bytes at p.  On LOG_DECODE_OK, *size is the
 * record's length and *rec points into [p, limit).  LOG_DECODE_SHORT means the
 * header's lengths are sane but the record runs past limit (a record cut
 * short, or a buffer too small: the caller tells them apart); *size then says
 * how many bytes the whole record would need.  LOG_DECODE_BAD means the
 * bytes are not a record: *why says what is wrong.
 */
enum { LOG_DECODE_OK = 0, LOG_DECODE_SHORT = 1, LOG_DECODE_BAD = 2 };
int log_record_decode(const uint8_t *p, const uint8_t *limit, log_record *rec,
                      uint64_t *size, const char **why);

/* The size of the record whose 10-byte header is at `header`, from its
 * lengths alone; 0 if they are impossible (*why then says why): the one
 * place the rules on key_len and value_len are applied. */
uint64_t log_record_size_at(const uint8_t header[LOG_RECORD_HEADER], const char **why);

/* The same, without the checksum: only the lengths are checked (so it too
 * stays inside [p, limit)).  For re-reading bytes that were verified once and
 * cannot have changed since, like a log below its end while it is open. */
int log_record_parse(const uint8_t *p, const uint8_t *limit, log_record *rec,
                     uint64_t *size, const char **why);

#endif
