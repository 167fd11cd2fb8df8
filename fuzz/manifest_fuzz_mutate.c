/*
 * manifest_fuzz_mutate.c: the manifest fuzz harness's own mutator
 * (LLVMFuzzerCustomMutator; manifest_fuzz.c says what an input is and
 * what it checks): a CURRENT line and a manifest changed a record at a
 * time, knowing the records and the edits' fields, then framed again with
 * right checksums, so that most mutations reach the edit's decoder.
 *
 * Invariants: a mutation stays within max_size; where no libFuzzer is
 * linked (LLVMFuzzerMutate is NULL: the replay driver, AFL++) it changes
 * nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "current_file.h"
#include "file_header.h"
#include "fuzz_dbfile.h"
#include "fuzz_formats.h"
#include "internal_key.h"
#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"
#include "level_files.h"
#include "manifest.h"
#include "manifest_fuzz.h"
#include "table.h"
#include "version_edit.h"
#include "wal_format.h"
#include "wal_reader.h"
#include "wal_writer.h"

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
/* libFuzzer's own mutator; absent (NULL) where no libFuzzer is linked:
 * the replay driver and AFL++, which never call the custom mutator. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));

/* ---- a mutator that knows the records ---------------------------------------- */

/* The records of a manifest, as the reader hands them out until the first
 * damage: their payloads, back to back in bytes, record i ending at
 * ends[i]. */
#define MANIFEST_FUZZ_RECORDS 64
typedef struct manifest_fuzz_records {
    uint8_t *bytes;
    size_t len;
    size_t ends[MANIFEST_FUZZ_RECORDS];
    size_t n;
} manifest_fuzz_records;

static void manifest_fuzz_records_read(const uint8_t *man, size_t n, manifest_fuzz_records *rs)
{
    rs->bytes = malloc(n ? n : 1);
    manifest_fuzz_check(rs->bytes != NULL, "allocate");
    rs->len = rs->n = 0;
    wal_reader r;
    wal_reader_init_mem(&r, man, n < MANIFEST_START ? n : MANIFEST_START, n);
    while (rs->n < MANIFEST_FUZZ_RECORDS && wal_reader_next(&r) == WAL_READ_RECORD &&
           rs->len + r.rec_len <= n) {
        memcpy(rs->bytes + rs->len, r.rec, r.rec_len);
        rs->len += r.rec_len;
        rs->ends[rs->n++] = rs->len;
    }
    wal_reader_free(&r);
}

/* A field of each tag, as version_edit_encode writes them, for the mutator
 * to add to a record. */
static size_t manifest_fuzz_field(uint8_t *out, unsigned pick)
{
    static const uint8_t key[] = {'k', 0x01, 0x05, 0, 0, 0, 0, 0, 0};
    uint8_t *p = out;
    unsigned tag = 1 + pick % 7;
    p = coding_put_varint32(p, tag);
    switch (tag) {
    case EDIT_TAG_LOG_SEQ:
    case EDIT_TAG_NEXT_FILE:
    case EDIT_TAG_LAST_SEQ:
        p = coding_put_varint64(p, pick >> 3);
        break;
    case EDIT_TAG_POINTER:
        p = coding_put_varint32(p, (pick >> 3) % 8);
        p = coding_put_varint32(p, sizeof key);
        memcpy(p, key, sizeof key);
        p += sizeof key;
        break;
    case EDIT_TAG_REMOVED:
        p = coding_put_varint32(p, (pick >> 3) % 8);
        p = coding_put_varint64(p, 1 + (pick >> 6) % 16);
        break;
    case EDIT_TAG_ADDED:
        p = coding_put_varint32(p, (pick >> 3) % 8);
        p = coding_put_varint64(p, 1 + (pick >> 6) % 16);
        p = coding_put_varint64(p, 4096);
        p = coding_put_varint64(p, 1 + (pick >> 10) % 4);
        for (int k = 0; k < 2; k++) {
            p = coding_put_varint32(p, sizeof key);
            memcpy(p, key, sizeof key);
            p += sizeof key;
        }
        break;
    default: /* EDIT_TAG_DEAD */
        p = coding_put_varint64(p, 1 + (pick >> 3) % 16);
        p = coding_put_varint64(p, 1 + (pick >> 7) % 4);
        p = coding_put_varint64(p, 1 + (pick >> 9) % 64);
        break;
    }
    return (size_t)(p - out);
}

/* Where the fields of the edit [p, p + n) are, as version_edit.h lays
 * them out: the length of each key (an added file's two, a compact
 * pointer's) in keys[], every number (a counter, a level, a file number,
 * a size, a count) in nums[], up to max of each.  The walk stops at the
 * first field it cannot read. */
static void manifest_fuzz_fields(const uint8_t *p, size_t n, size_t *keys, size_t *nkeys,
                                 size_t *nums, size_t *nnums, size_t max)
{
    const uint8_t *q = p, *end = p + n;
    uint64_t v;
    uint32_t tag, len;
    *nkeys = *nnums = 0;
    while (q != NULL && q < end) {
        if ((q = coding_get_varint32(q, end, &tag)) == NULL)
            break;
        /* the numbers before the keys, then the keys */
        static const int numbers[8] = {0, 1, 1, 1, 1, 2, 4, 3};
        static const int nkey[8] = {0, 0, 0, 0, 1, 0, 2, 0};
        if (tag < 1 || tag > 7)
            break;
        for (int i = 0; i < numbers[tag] && q != NULL; i++) {
            if (*nnums < max)
                nums[(*nnums)++] = (size_t)(q - p);
            q = coding_get_varint64(q, end, &v);
        }
        for (int i = 0; i < nkey[tag] && q != NULL; i++) {
            const uint8_t *k = coding_get_varint32(q, end, &len);
            if (k == NULL || len > (size_t)(end - k))
                return;
            if (*nkeys < max)
                keys[(*nkeys)++] = (size_t)(q - p);
            q = k + len;
        }
    }
}

/* The number at `at` of the record [rec, rec + *len) set to another, in
 * place (room for 10 more bytes): a bound of the format (0, 1, the last
 * level and the one past it, the largest sequence and the one past it,
 * the largest number), one more or one less than it was, or one more than
 * another number of the record (a count against what it counts). */
static void manifest_fuzz_number_set(uint8_t *rec, size_t *len, size_t at, uint64_t other,
                                     unsigned pick)
{
    uint64_t v;
    const uint8_t *after = coding_get_varint64(rec + at, rec + *len, &v);
    if (after == NULL)
        return;
    static const uint64_t bounds[] = {0, 1, VERSION_LEVELS - 1, VERSION_LEVELS, IKEY_MAX_SEQ,
                                      IKEY_MAX_SEQ + 1, UINT64_MAX};
    size_t nb = sizeof bounds / sizeof bounds[0];
    /* half of the time a step of one, the most common way past a bound */
    uint64_t to = pick % 2 == 0 ? (pick & 2 ? v + 1 : v - 1)
                  : (pick >> 2) % (nb + 2) < nb ? bounds[(pick >> 2) % (nb + 2)]
                  : (pick >> 2) % (nb + 2) == nb ? other : other + 1;
    uint8_t enc[10];
    size_t en = (size_t)(coding_put_varint64(enc, to) - enc);
    size_t old = (size_t)(after - (rec + at)), rest = *len - at - old;
    memmove(rec + at + en, rec + at + old, rest);
    memcpy(rec + at, enc, en);
    *len = at + en + rest;
}

/* The key whose length is at `at` of the record [rec, rec + *len) made
 * one byte longer (its last byte again) or shorter, in place (room for one
 * more byte). */
static void manifest_fuzz_key_resize(uint8_t *rec, size_t *len, size_t at, int longer)
{
    uint32_t klen;
    const uint8_t *k = coding_get_varint32(rec + at, rec + *len, &klen);
    size_t head = (size_t)(k - (rec + at));
    if (!longer && klen == 0)
        return;
    uint32_t nlen = longer ? klen + 1 : klen - 1;
    uint8_t v[5];
    size_t vn = (size_t)(coding_put_varint32(v, nlen) - v);
    size_t key_at = at + head, rest_at = key_at + klen;
    /* [at, rest_at) becomes v, then the key's bytes, one more or less */
    size_t rest = *len - rest_at, key_keep = longer ? klen : nlen;
    uint8_t *tmp = malloc(vn + klen + 1 + rest);
    manifest_fuzz_check(tmp != NULL, "allocate");
    memcpy(tmp, v, vn);
    memcpy(tmp + vn, rec + key_at, key_keep);
    size_t t = vn + key_keep;
    if (longer)
        tmp[t++] = klen ? rec[key_at + klen - 1] : 'k';
    memcpy(tmp + t, rec + rest_at, rest);
    t += rest;
    memcpy(rec + at, tmp, t);
    *len = at + t;
    free(tmp);
}

/* Mutates a CURRENT line and manifest: the line alone (one time in
 * eight), or the manifest as records: one record's bytes changed by
 * libFuzzer's mutator, a field of any tag added to one, one of its keys
 * made a byte longer or shorter (its length with it), one of its numbers
 * set to a bound of the format or next to another of its numbers, a
 * record dropped, doubled or put in another's place; then the records
 * framed again with right checksums after the same header (a file header
 * made right, even if the input had none), and now and then cut short (a
 * torn tail).  One time in eight, or when there is no record to work on,
 * libFuzzer's own mutation of the bytes as they are (damage to the
 * framing itself). */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    if (LLVMFuzzerMutate == NULL)
        return size;
    srand(seed);
    const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
    size_t line_len = nl ? (size_t)(nl - data) + 1 : size;
    manifest_fuzz_records rs;
    manifest_fuzz_records_read(data + line_len, size - line_len, &rs);
    if (rs.n == 0 || rand() % 8 == 0) {
        free(rs.bytes);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    if (rand() % 8 == 0) {
        /* the CURRENT line alone, the manifest after it kept */
        free(rs.bytes);
        size_t rest = size - line_len, room = max_size - rest;
        uint8_t *line = malloc(room ? room : 1);
        manifest_fuzz_check(line != NULL, "allocate");
        memcpy(line, data, line_len);
        size_t n = line_len && room ? LLVMFuzzerMutate(line, line_len, room) : line_len;
        memmove(data + n, data + line_len, rest);
        memcpy(data, line, n);
        free(line);
        return n + rest;
    }
    /* The records after the change, into a buffer with room for it. */
    size_t room = 2 * rs.len + 4096; /* a record doubled or put in another's place */
    uint8_t *recs = malloc(room);
    size_t ends[MANIFEST_FUZZ_RECORDS + 1], n = 0, len = 0;
    manifest_fuzz_check(recs != NULL, "allocate");
    size_t pick = (size_t)rand() % rs.n, other = (size_t)rand() % rs.n;
    int op = rand() % 9;
    for (size_t i = 0; i < rs.n; i++) {
        size_t from = i ? rs.ends[i - 1] : 0, rlen = rs.ends[i] - from;
        if (i == pick && op == 2 && rs.n > 1)
            continue; /* dropped */
        if (i == pick && op == 4 && other != pick)
            from = other ? rs.ends[other - 1] : 0, rlen = rs.ends[other] - from; /* moved */
        memcpy(recs + len, rs.bytes + from, rlen);
        size_t rec_at = len;
        len += rlen;
        if (i == pick && op <= 1) {
            /* libFuzzer's mutation of the record's bytes, or a field added */
            if (op == 0 && rlen > 0)
                len = rec_at + LLVMFuzzerMutate(recs + rec_at, rlen, rlen + 64);
            else
                len += manifest_fuzz_field(recs + len, (unsigned)rand());
        } else if (i == pick && op >= 5) {
            /* a key one byte longer or shorter (the bounds of its length),
             * or a number set to a bound or near another number */
            size_t keys[64], nums[64], nk, nn, rec_len = rlen;
            manifest_fuzz_fields(recs + rec_at, rlen, keys, &nk, nums, &nn, 64);
            if (op == 5 && nk > 0) {
                manifest_fuzz_key_resize(recs + rec_at, &rec_len, keys[(size_t)rand() % nk],
                                         rand() & 1);
            } else if (op >= 6 && nn > 0) {
                uint64_t other = 0;
                coding_get_varint64(recs + rec_at + nums[(size_t)rand() % nn],
                                    recs + rec_at + rlen, &other);
                manifest_fuzz_number_set(recs + rec_at, &rec_len, nums[(size_t)rand() % nn],
                                         other, (unsigned)rand());
            }
            len = rec_at + rec_len;
        }
        ends[n++] = len;
        if (i == pick && op == 3 && n < MANIFEST_FUZZ_RECORDS) {
            memcpy(recs + len, recs + rec_at, len - rec_at); /* doubled */
            len += len - rec_at;
            ends[n++] = len;
        }
    }
    free(rs.bytes);
    /* Framed again: the line, a header, each record at its offset. */
    size_t out_cap = line_len + MANIFEST_START + (size_t)wal_framed_max(len) +
                     n * WAL_HEADER_SIZE * 2;
    uint8_t *out = malloc(out_cap);
    manifest_fuzz_check(out != NULL, "allocate");
    memcpy(out, data, line_len);
    uint8_t *m = out + line_len;
    size_t at = MANIFEST_START;
    if (size - line_len >= MANIFEST_START)
        memcpy(m, data + line_len, MANIFEST_START);
    else
        file_header_encode(m, FILE_MAGIC_MAN06, MANIFEST_VERSION);
    for (size_t i = 0; i < n; i++) {
        size_t from = i ? ends[i - 1] : 0;
        at += wal_frame(m + at, at, recs + from, ends[i] - from);
    }
    manifest_fuzz_repair(m, at);
    size_t total = line_len + at;
    if (rand() % 16 == 0)
        total = line_len + MANIFEST_START + (size_t)rand() % (at - MANIFEST_START + 1);
    free(recs);
    if (total > max_size) {
        free(out);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    memcpy(data, out, total);
    free(out);
    return total;
}
