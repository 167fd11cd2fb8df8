/*
 * log_damage.h: what the first damaged byte of a log of records
 * (log_record.h) means, and where valid records resume after damage.
 *
 * A crash can cut short only the write it interrupted.  In stages 01 and
 * 02 that is one write() of one put, delete or batch: its records are
 * whole but the last, which the end of the file cuts.  So the damage a
 * scan stops at, offset X, is a TORN TAIL when all three hold
 * (docs/01-log.md, "Recovery"):
 *
 *   1. the record at X runs past the end of the file: fewer than 10 bytes
 *      are left, or its header's lengths are possible and ask for more
 *      bytes than are left.  Bytes that fit but are no record (a checksum
 *      mismatch, an impossible length, zeros) were damaged where they lie;
 *   2. no one-byte change to the record's two lengths makes it a whole,
 *      valid record ending exactly at the end of the file (that would be
 *      the last record, complete, with a damaged length);
 *   3. no valid record starts after X: a torn write is the last thing in
 *      the file.
 *
 * Anything else is damage, never cut silently.  A torn tail is shorter than
 * the record its header announces, so it is never longer than the largest
 * record (LOG_RECORD_MAX bytes), and the search of rule 3 covers only that.
 *
 * The search (log_damage_resync) tries every offset, as it must: damage can
 * shift the records after it by any amount.  At each offset whose header
 * has possible lengths and fits in the file, the candidate's checksum
 * decides.  Computed one by one, those checksums would cost the sum of the
 * candidates' lengths (in random bytes, one offset in 64 has possible
 * lengths, each up to 64 MiB long: hours for 32 MiB).  Instead the search
 * reads the bytes twice, computing the CRC of every prefix it needs, and
 * gets each candidate's CRC from two prefix CRCs with crc32c_combine
 * (crc32c.h).  Time is linear in the bytes covered (with a constant that
 * grows only if more than LOG_DAMAGE_CANDIDATES candidates fall within one
 * record's length), memory is at most 24 bytes per candidate, up to that
 * bound.  Runs of zero bytes, where no header has possible lengths, are
 * skipped a word at a time, and so is, a byte at a time, every offset
 * whose value-length field's top byte no possible length has (5 to 254):
 * most damaged bytes.
 *
 * Invariant: both functions only read the file, inside [offset, limit).
 */
#ifndef KV_COMMON_LOG_DAMAGE_H
#define KV_COMMON_LOG_DAMAGE_H

#include <stdint.h>

#include "io.h"
#include "kv.h"
#include "log_record.h"

/* The largest record: a 65,535-byte key and a 64 MiB value. */
#define LOG_RECORD_MAX (LOG_RECORD_HEADER + (uint64_t)KV_MAX_KEY + KV_MAX_VALUE)
/* Candidates checked together in one pass (24 bytes each). */
#define LOG_DAMAGE_CANDIDATES (1u << 20)

typedef struct log_damage {
    uint64_t offset;    /* the first byte that is not a valid record */
    const char *why;    /* what is wrong there */
    int torn;           /* 1: a torn tail (the rule above) */
    int searched;       /* 1: has_next below is known */
    int has_next;       /* a valid record starts at `next` (> offset) */
    uint64_t next;
} log_damage;

/* Classifies the damage a log_scan stopped at (LOG_SCAN_BAD, with its
 * `why` and `short_record`) at offset `bad` of f, whose records end at
 * `limit` (the file's size).  Searches after it only when rule 1 holds.
 * KV_OK (the verdict in *d), or an I/O error or KV_ERR_NOMEM. */
int log_damage_classify(io_file *f, uint64_t bad, const char *why, int short_record,
                        uint64_t limit, log_damage *d);

/* The first offset in [from, limit) of f where a valid record starts: 1
 * (with *next), 0 if none does, or an I/O error or KV_ERR_NOMEM. */
int log_damage_resync(io_file *f, uint64_t from, uint64_t limit, uint64_t *next);

#endif
