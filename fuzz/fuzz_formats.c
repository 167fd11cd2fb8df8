/*
 * fuzz_formats.c: the formats by their byte tables, for the harnesses (see
 * fuzz_formats.h).  Only common code is used (crc32c, little-endian
 * integers, varints), so one object serves every stage.
 */
#include "fuzz_formats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "kv.h"
#include "log_record.h"

void fuzz_fix_file_header(uint8_t *p, size_t n)
{
    if (n >= 16)
        coding_put_u32(p + 12, crc32c_value(p, 12));
}

/* ---- log records: crc32c(4..end) | key_len u16 | value_len u32 | key | value */

/* The size of the record whose header is at p (10 bytes there), from the
 * byte table; 0 if its lengths are impossible. */
static uint64_t fuzz_log_size(const uint8_t *p)
{
    uint32_t klen = coding_get_u16(p + 4), vfield = coding_get_u32(p + 6);
    if (klen == 0)
        return vfield == 0xFFFFFFFEu ? 18 : 0; /* a seal, or nothing */
    if (vfield == 0xFFFFFFFFu)
        return 10 + (uint64_t)klen; /* a delete */
    return vfield > KV_MAX_VALUE ? 0 : 10 + (uint64_t)klen + vfield;
}

size_t fuzz_fix_log_records(uint8_t *p, size_t n, size_t at)
{
    while (at <= n && n - at >= 10) {
        uint64_t size = fuzz_log_size(p + at);
        if (size == 0 || size > n - at)
            break;
        coding_put_u32(p + at, crc32c_value(p + at + 4, (size_t)size - 4));
        at += (size_t)size;
    }
    return at;
}

static void fuzz_log_fail(size_t at, const char *what)
{
    fprintf(stderr, "log record at offset %zu: %s\n", at, what);
    abort();
}

size_t fuzz_log_records_check(const uint8_t *p, size_t n, size_t at, uint64_t *records)
{
    *records = 0;
    while (at < n) {
        const uint8_t *q = p + at, *limit = p + n;
        log_record rec;
        memset(&rec, 0x5a, sizeof rec);
        uint64_t size = 0;
        const char *why = NULL;
        int rc = log_record_decode(q, limit, &rec, &size, &why);
        if (n - at < 10) {
            if (rc != LOG_DECODE_SHORT || size != 10)
                fuzz_log_fail(at, "fewer than 10 bytes, but not SHORT by a 10-byte header");
            return at;
        }
        uint64_t want = fuzz_log_size(q);
        if (want == 0) {
            if (rc != LOG_DECODE_BAD || why == NULL)
                fuzz_log_fail(at, "impossible lengths, but not BAD with a reason");
            return at;
        }
        if (want > n - at) {
            if (rc != LOG_DECODE_SHORT || size != want)
                fuzz_log_fail(at, "a record past the end, but not SHORT by its size");
            return at;
        }
        int crc_ok = crc32c_value(q + 4, (size_t)want - 4) == coding_get_u32(q);
        if (!crc_ok) {
            if (rc != LOG_DECODE_BAD || why == NULL)
                fuzz_log_fail(at, "a checksum that does not match, but not BAD with a reason");
            return at;
        }
        if (rc != LOG_DECODE_OK || size != want)
            fuzz_log_fail(at, "a whole record with its checksum, but not OK with its size");
        uint32_t klen = coding_get_u16(q + 4), vfield = coding_get_u32(q + 6);
        if (klen == 0) {
            if (!rec.is_seal || rec.seal_at != coding_get_u64(q + 10))
                fuzz_log_fail(at, "a seal not decoded as one, with its offset");
        } else {
            int del = vfield == 0xFFFFFFFFu;
            if (rec.is_seal || rec.klen != klen || rec.key != q + 10 || rec.is_delete != del ||
                rec.vlen != (del ? 0 : vfield) || rec.value != (del ? NULL : q + 10 + klen))
                fuzz_log_fail(at, "a record's fields are not where the byte table puts them");
        }
        (*records)++;
        at += (size_t)want;
    }
    return at;
}

/* ---- write-ahead log fragments: crc32c(4..6, data) | length u16 | type u8 | data */

#define FUZZ_WAL_BLOCK 32768u
#define FUZZ_WAL_HEADER 7u

void fuzz_fix_wal_fragments(uint8_t *p, size_t n, size_t at)
{
    while (at < n) {
        size_t left = FUZZ_WAL_BLOCK - at % FUZZ_WAL_BLOCK;
        if (left < FUZZ_WAL_HEADER) { /* the block's trailer */
            at += left;
            continue;
        }
        if (n - at < FUZZ_WAL_HEADER)
            break;
        size_t len = coding_get_u16(p + at + 4);
        int type = p[at + 6];
        /* Not a fragment (a zero trailer, damage) or one past the input:
         * the block ends here, as it does for the reader, which goes on at
         * the next. */
        if (type < 1 || type > 4 || FUZZ_WAL_HEADER + len > n - at) {
            at += left;
            continue;
        }
        uint32_t crc = crc32c_extend(crc32c_value(p + at + 4, 3), p + at + FUZZ_WAL_HEADER, len);
        coding_put_u32(p + at, crc);
        /* One that crosses its block gets its checksum too (a decoder must
         * still refuse it), and ends the block. */
        at += FUZZ_WAL_HEADER + len > left ? left : FUZZ_WAL_HEADER + len;
    }
}

/* ---- small files with one checksum ------------------------------------------ */

void fuzz_fix_hint(uint8_t *p, size_t n)
{
    if (n >= 24 + 12)
        coding_put_u32(p + n - 4, crc32c_value(p, n - 4));
}

void fuzz_fix_body_crc(uint8_t *p, size_t n)
{
    fuzz_fix_file_header(p, n);
    if (n >= 16 + 4 + 4)
        coding_put_u32(p + n - 4, crc32c_value(p + 16, n - 4 - 16));
}

void fuzz_fix_identity(uint8_t *p, size_t n)
{
    static const char tag[] = " crc32c=";
    size_t tl = sizeof tag - 1;
    for (size_t i = 0; i + tl + 8 <= n; i++) {
        if (memcmp(p + i, tag, tl) == 0) {
            char hex[9];
            snprintf(hex, sizeof hex, "%08x", crc32c_value(p, i));
            memcpy(p + i + tl, hex, 8);
            return;
        }
    }
}

/* ---- table format v1 ----------------------------------------------------------- */

#define FUZZ_T1_TAIL 52u

/* The two checksums of the record at [at, end): the value's if the value
 * lies inside, then the head's (bytes 4 .. the end of the key, which hold
 * the value's) if the key does, whatever the value length says (a decoder
 * must still refuse a value past the record).  0 if the key does not. */
static int fuzz_fix_t1_record(uint8_t *p, uint64_t at, uint64_t end)
{
    if (end < at || end - at < 10)
        return 0;
    uint32_t k = 0, v = 0;
    const uint8_t *q = coding_get_varint32(p + at + 8, p + end, &k);
    if (q != NULL)
        q = coding_get_varint32(q, p + end, &v);
    if (q == NULL || (uint64_t)(p + end - q) < k)
        return 0;
    if ((uint64_t)(p + end - q) - k >= v)
        coding_put_u32(p + at + 4, crc32c_value(q + k, v));
    coding_put_u32(p + at, crc32c_value(p + at + 4, (size_t)(q + k - (p + at + 4))));
    return 1;
}

void fuzz_fix_table_v1(uint8_t *p, size_t n)
{
    fuzz_fix_file_header(p, n);
    if (n < 16 + FUZZ_T1_TAIL)
        return;
    uint8_t *tail = p + n - FUZZ_T1_TAIL;
    if (memcmp(tail, "KVS04TBL", 8) != 0)
        return;
    uint64_t count = coding_get_u64(tail + 16), a = coding_get_u64(tail + 32);
    uint64_t s = coding_get_u32(tail + 40), l = coding_get_u32(tail + 44);
    /* size = A + 8N + S + L + 52, without overflow */
    uint64_t room = n - FUZZ_T1_TAIL;
    if (a < 16 || a > room || count > (room - a) / 8 || s + l != room - a - 8 * count)
        return;
    uint64_t keys = a + 8 * count;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t at = coding_get_u64(p + a + 8 * i);
        uint64_t end = i + 1 < count ? coding_get_u64(p + a + 8 * (i + 1)) : a;
        if (at < 16 || at > a || end > a || !fuzz_fix_t1_record(p, at, end))
            break;
    }
    coding_put_u32(tail + 12, crc32c_value(p + a, (size_t)(8 * count)));
    coding_put_u32(tail + 48, crc32c_value(p + keys, (size_t)(s + l + 48)));
}

/* ---- a write-ahead log record's payload: a batch ------------------------------ */

int fuzz_wal_batch_read(const uint8_t *p, const uint8_t *limit, fuzz_wal_op *ops, size_t max,
                        size_t *count)
{
    uint32_t n = 0;
    p = coding_get_varint32(p, limit, &n);
    if (p == NULL || n == 0)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t klen = 0, vlen = 0;
        if (p >= limit || (*p != 1 && *p != 2))
            return 0;
        int del = *p++ == 2;
        p = coding_get_varint32(p, limit, &klen);
        if (p == NULL || klen == 0 || klen > KV_MAX_KEY)
            return 0;
        if (!del && ((p = coding_get_varint32(p, limit, &vlen)) == NULL || vlen > KV_MAX_VALUE))
            return 0;
        if ((uint64_t)(limit - p) < (uint64_t)klen + vlen)
            return 0;
        if (i < max)
            ops[i] = (fuzz_wal_op){p, del ? NULL : p + klen, klen, vlen, del};
        p += klen + vlen;
    }
    *count = n;
    return p == limit;
}

int fuzz_table_v1_spans_exact(const uint8_t *p, size_t n)
{
    if (n < 16 + FUZZ_T1_TAIL || memcmp(p + n - FUZZ_T1_TAIL, "KVS04TBL", 8) != 0)
        return -1;
    const uint8_t *tail = p + n - FUZZ_T1_TAIL;
    uint64_t count = coding_get_u64(tail + 16), a = coding_get_u64(tail + 32);
    uint64_t s = coding_get_u32(tail + 40), l = coding_get_u32(tail + 44);
    uint64_t room = n - FUZZ_T1_TAIL;
    if (a < 16 || a > room || count > (room - a) / 8 || s + l != room - a - 8 * count)
        return -1;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t at = coding_get_u64(p + a + 8 * i);
        uint64_t end = i + 1 < count ? coding_get_u64(p + a + 8 * (i + 1)) : a;
        if (at < 16 || end > a || end < at || end - at < 10)
            return 0;
        uint32_t k = 0, v = 0;
        const uint8_t *q = coding_get_varint32(p + at + 8, p + end, &k);
        q = q ? coding_get_varint32(q, p + end, &v) : NULL;
        if (q == NULL || (uint64_t)(p + end - q) != (uint64_t)k + v)
            return 0;
    }
    return 1;
}

/* ---- structure-aware mutations ------------------------------------------------------ */

/* libFuzzer's own mutations (weak: the replay driver and AFL++ have none,
 * and never call a mutator). */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));

size_t fuzz_mutate_default(uint8_t *p, size_t n, size_t max)
{
    return LLVMFuzzerMutate != NULL ? LLVMFuzzerMutate(p, n, max) : n;
}

size_t fuzz_mutate_mixed(uint8_t *p, size_t n, size_t max, unsigned seed, fuzz_mutator *own,
                         fuzz_mutator *also)
{
    if (LLVMFuzzerMutate == NULL)
        return n;
    if (seed % 4 == 1)
        return own(p, n, max, seed / 4);
    if (seed % 4 == 2 && also != NULL)
        return also(p, n, max, seed / 4);
    return LLVMFuzzerMutate(p, n, max);
}

#define FUZZ_MUTATE_MAX 256 /* the records one mutation chooses among */

size_t fuzz_mutate_log_record(uint8_t *p, size_t n, size_t max, unsigned seed)
{
    (void)max;
    size_t at[FUZZ_MUTATE_MAX], k = 0;
    for (size_t q = 16; q <= n && n - q >= 10 && k < FUZZ_MUTATE_MAX;) {
        uint64_t size = fuzz_log_size(p + q);
        at[k++] = q;
        if (size == 0 || size > n - q)
            break;
        q += (size_t)size;
    }
    if (k == 0)
        return n;
    uint8_t *r = p + at[seed % k];
    seed /= k;
    uint32_t klen = coding_get_u16(r + 4), vlen = coding_get_u32(r + 6);
    static const uint32_t lengths[] = {0, 1, 65535, 0xFFFFFFFFu, 0xFFFFFFFEu,
                                       KV_MAX_VALUE, KV_MAX_VALUE + 1};
    uint32_t nl = sizeof lengths / sizeof lengths[0];
    uint32_t pick = seed % (nl + 2);
    seed /= nl + 2;
    if (seed % 2 == 0) { /* the key length */
        uint32_t v = pick < nl ? lengths[pick] : pick == nl ? klen + 1 : klen - 1;
        coding_put_u16(r + 4, (uint16_t)v);
    } else {
        coding_put_u32(r + 6, pick < nl ? lengths[pick] : pick == nl ? vlen + 1 : vlen - 1);
    }
    return n;
}

/* Where the fragment headers of a write-ahead log are, from offset 16, as
 * the byte table lays them out (a block's trailer skipped), up to
 * FUZZ_MUTATE_MAX of them: the last listed may be one whose length runs
 * past its block or the input, where the walk stops.  Returns how many. */
static size_t fuzz_wal_fragments(const uint8_t *p, size_t n, size_t at[FUZZ_MUTATE_MAX])
{
    size_t k = 0;
    for (size_t q = 16; q < n && k < FUZZ_MUTATE_MAX;) {
        size_t left = FUZZ_WAL_BLOCK - q % FUZZ_WAL_BLOCK;
        if (left < FUZZ_WAL_HEADER) {
            q += left;
            continue;
        }
        if (n - q < FUZZ_WAL_HEADER)
            break;
        at[k++] = q;
        size_t len = coding_get_u16(p + q + 4);
        if (FUZZ_WAL_HEADER + len > left || FUZZ_WAL_HEADER + len > n - q)
            break;
        q += FUZZ_WAL_HEADER + len;
    }
    return k;
}

size_t fuzz_mutate_wal_fragment(uint8_t *p, size_t n, size_t max, unsigned seed)
{
    (void)max;
    size_t at[FUZZ_MUTATE_MAX], k = fuzz_wal_fragments(p, n, at);
    if (k == 0)
        return n;
    size_t q = at[seed % k];
    seed /= k;
    uint8_t *r = p + q;
    if (seed % 4 == 0) {
        r[6] = (uint8_t)(seed / 4 % 6); /* a type of 0 .. 5 */
        return n;
    }
    seed /= 4;
    uint32_t len = coding_get_u16(r + 4);
    uint32_t fill = (uint32_t)(FUZZ_WAL_BLOCK - q % FUZZ_WAL_BLOCK - FUZZ_WAL_HEADER);
    uint32_t v;
    switch (seed % 8) {
    case 0: v = 0; break;
    case 1: v = 1; break;
    case 2: v = len + 1; break;
    case 3: v = len - 1; break;
    case 4: v = fill; break;                      /* ends at its block's end */
    case 5: v = fill + 1 + seed / 8 % 7; break;   /* crosses it by 1 .. 7 */
    case 6: v = FUZZ_WAL_BLOCK - FUZZ_WAL_HEADER; break;
    default: v = FUZZ_WAL_BLOCK - FUZZ_WAL_HEADER + 1; break;
    }
    coding_put_u16(r + 4, (uint16_t)v);
    return n;
}

size_t fuzz_mutate_lsm_wal_seq(uint8_t *p, size_t n, size_t max, unsigned seed)
{
    (void)max;
    size_t frag[FUZZ_MUTATE_MAX], nf = fuzz_wal_fragments(p, n, frag);
    size_t at[FUZZ_MUTATE_MAX], k = 0;      /* where each record's sequence is */
    uint64_t before[FUZZ_MUTATE_MAX], last = 0; /* the last number before it */
    uint32_t ops[FUZZ_MUTATE_MAX];
    for (size_t f = 0; f < nf; f++) {
        size_t q = frag[f], len = coding_get_u16(p + q + 4);
        if (FUZZ_WAL_HEADER + len > FUZZ_WAL_BLOCK - q % FUZZ_WAL_BLOCK ||
            FUZZ_WAL_HEADER + len > n - q)
            break;
        const uint8_t *d = p + q + FUZZ_WAL_HEADER;
        uint32_t count = 0;
        if (p[q + 6] == 1 && len > 8 && d[0] != 0 &&
            coding_get_varint32(d, d + len - 8, &count) != NULL && count > 0) {
            at[k] = q + FUZZ_WAL_HEADER + len - 8;
            before[k] = last;
            ops[k] = count;
            last = coding_get_u64(d + len - 8) + count - 1;
            k++;
        }
    }
    if (k == 0)
        return n;
    size_t i = seed % k;
    seed /= k;
    uint64_t top = (UINT64_C(1) << 56) - 1, seq = coding_get_u64(p + at[i]), v;
    switch (seed % 8) {
    case 0: v = 0; break;
    case 1: v = 1; break;
    case 2: v = top; break;
    case 3: v = top - (ops[i] - 1); break;    /* its last op numbered 2^56 - 1 */
    case 4: v = top - (ops[i] - 1) + 1; break; /* one past */
    case 5: v = before[i]; break;             /* the number the record before ended with */
    case 6: v = before[i] + 1; break;
    default: v = seq - 1; break;
    }
    coding_put_u64(p + at[i], v);
    return n;
}

/* The bytes of v's varint32 encoding. */
static size_t fuzz_varint_width(uint32_t v)
{
    size_t w = 1;
    while (v >= 128) {
        v >>= 7;
        w++;
    }
    return w;
}

size_t fuzz_mutate_table_v1(uint8_t *p, size_t n, size_t max, unsigned seed)
{
    (void)max;
    if (n < 16 + FUZZ_T1_TAIL || memcmp(p + n - FUZZ_T1_TAIL, "KVS04TBL", 8) != 0)
        return n;
    const uint8_t *tail = p + n - FUZZ_T1_TAIL;
    uint64_t count = coding_get_u64(tail + 16), a = coding_get_u64(tail + 32);
    if (count == 0 || a < 16 || a > n - FUZZ_T1_TAIL || count > (n - FUZZ_T1_TAIL - a) / 8)
        return n;
    uint64_t i = seed % count;
    seed /= (unsigned)(count < 65536 ? count : 65536);
    uint64_t at = coding_get_u64(p + a + 8 * i);
    uint64_t end = i + 1 < count ? coding_get_u64(p + a + 8 * (i + 1)) : a;
    if (at < 16 || end > a || end < at || end - at < 10)
        return n;
    uint32_t k = 0, v = 0;
    uint8_t *kp = p + at + 8;
    const uint8_t *vp = coding_get_varint32(kp, p + end, &k);
    const uint8_t *q = vp ? coding_get_varint32(vp, p + end, &v) : NULL;
    if (q == NULL)
        return n;
    int key = seed % 2;
    seed /= 2;
    uint32_t old = key ? k : v;
    size_t width = (size_t)((key ? vp : q) - (key ? kp : vp));
    uint64_t room = end - at - 8 - (uint64_t)(q - kp); /* the key's and value's bytes */
    uint64_t exact = key ? (room > v ? room - v : 0) : (room > k ? room - k : 0);
    uint64_t want[7] = {(uint64_t)old + 1, old ? old - 1 : 0, exact, exact + 1, exact + 100,
                        width >= 5 ? 0xFFFFFFFFu : (UINT64_C(1) << (7 * width)) - 1, 0};
    for (int t = 0; t < 7; t++) {
        uint64_t w = want[(seed + (unsigned)t) % 7];
        if (w > 0xFFFFFFFFu || fuzz_varint_width((uint32_t)w) != width)
            continue;
        uint8_t *dst = key ? kp : (uint8_t *)vp;
        coding_put_varint32(dst, (uint32_t)w);
        return n;
    }
    return n;
}

/* One hint entry, parsed. */
typedef struct fuzz_hint_entry {
    const uint8_t *key;
    uint32_t klen, rsize;
} fuzz_hint_entry;

size_t fuzz_mutate_hint(uint8_t *p, size_t n, size_t max, unsigned seed)
{
    if (n < 36)
        return n;
    const uint8_t *trailer = p + n - 12;
    fuzz_hint_entry e[FUZZ_MUTATE_MAX];
    size_t k = 0;
    for (const uint8_t *q = p + 24; q < trailer && k < FUZZ_MUTATE_MAX;) {
        uint32_t klen, rsize;
        q = coding_get_varint32(q, trailer, &klen);
        q = q ? coding_get_varint32(q, trailer, &rsize) : NULL;
        if (q == NULL || (size_t)(trailer - q) < klen)
            break;
        e[k++] = (fuzz_hint_entry){q, klen, rsize};
        q += klen;
    }
    if (k == 0)
        return n;
    size_t i = seed % k;
    seed /= k;
    uint64_t seg = coding_get_u64(p + 16);
    /* The new entry i (the key: a length, and bytes repeated from the old). */
    uint32_t klen = e[i].klen, rsize = e[i].rsize;
    int drop = 0, twice = 0;
    switch (seed % 10) {
    case 0: klen = 0; break;
    case 1: klen = 1; break;
    case 2: klen = e[i].klen + 1; break;
    case 3: klen = e[i].klen ? e[i].klen - 1 : 0; break;
    case 4: klen = seed / 10 % 2 ? 65535 : 65536; break;
    case 5: rsize = 10 + e[i].klen; break;            /* an empty value */
    case 6: rsize = 10 + e[i].klen - 1; break;        /* one byte short of any record */
    case 7: rsize = e[i].rsize + (seed / 10 % 2 ? 1 : (uint32_t)-1); break;
    case 8: rsize = 10 + e[i].klen + KV_MAX_VALUE + seed / 10 % 2; break;
    default: seed / 10 % 2 ? (drop = 1) : (twice = 1); break;
    }
    /* The segment's size follows the records, so they still cover it. */
    seg += (uint64_t)rsize - e[i].rsize;
    if (drop)
        seg -= e[i].rsize;
    if (twice)
        seg += e[i].rsize;
    size_t out_len = 24 + 12;
    for (size_t j = 0; j < k; j++)
        out_len += 10 + (j == i ? (size_t)klen * (1 + twice) + 10 : e[j].klen);
    if (out_len > max || out_len > (1u << 20))
        return n;
    uint8_t *out = malloc(out_len);
    if (out == NULL)
        return n;
    memcpy(out, p, 24);
    coding_put_u64(out + 16, seg);
    uint8_t *o = out + 24;
    uint64_t count = 0;
    for (size_t j = 0; j < k; j++) {
        int copies = j != i ? 1 : drop ? 0 : 1 + twice;
        for (int c = 0; c < copies; c++) {
            uint32_t kl = j == i ? klen : e[j].klen;
            o = coding_put_varint32(o, kl);
            o = coding_put_varint32(o, j == i ? rsize : e[j].rsize);
            for (uint32_t b = 0; b < kl; b++)
                *o++ = e[j].klen ? e[j].key[b % e[j].klen] : 'k';
            count++;
        }
    }
    coding_put_u64(o, count);
    coding_put_u32(o + 8, crc32c_value(out, (size_t)(o + 8 - out)));
    o += 12;
    size_t len = (size_t)(o - out);
    memcpy(p, out, len);
    free(out);
    return len;
}
