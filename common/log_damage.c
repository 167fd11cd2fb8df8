/*
 * log_damage.c: torn tail or damage, and the search for the next valid
 * record, in time linear in the bytes searched (log_damage.h).
 */
#include "log_damage.h"

#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"

#define DAMAGE_CHUNK (1u << 20)

/* ---- sequential reading ----------------------------------------------- */

/* Bytes [off, off + len) of the file, read a chunk at a time. */
typedef struct damage_reader {
    io_file *f;
    uint64_t limit;
    uint8_t *buf;
    size_t cap;         /* up to DAMAGE_CHUNK: no more than the region needs */
    uint64_t off;
    size_t len;
} damage_reader;

/* Makes the buffer hold `at` and, if the file has them, `need` bytes
 * after it; *p points at `at` and *avail counts the bytes buffered from
 * there (fewer than need only at the limit).  REQUIRES: need <= 32. */
static int damage_read(damage_reader *r, uint64_t at, size_t need, const uint8_t **p,
                       size_t *avail)
{
    if (at < r->off || at + need > r->off + r->len) {
        size_t want = r->limit - at < DAMAGE_CHUNK ? (size_t)(r->limit - at) : DAMAGE_CHUNK;
        if (want > r->cap) {
            uint8_t *grown = realloc(r->buf, want);
            if (grown == NULL)
                return kv_error(KV_ERR_NOMEM, "%s: out of memory reading offset %llu",
                                io_path(r->f), (unsigned long long)at);
            r->buf = grown;
            r->cap = want;
        }
        size_t got = 0;
        int rc = io_read_at(r->f, at, r->buf, want, &got);
        r->off = at;
        r->len = rc == KV_OK ? got : 0;
        if (rc != KV_OK)
            return rc;
    }
    *p = r->buf + (at - r->off);
    *avail = (size_t)(r->off + r->len - at);
    return KV_OK;
}

/* Extends *crc (the CRC of [from, *pos)) over [*pos, to). */
static int damage_crc_to(damage_reader *r, uint64_t *pos, uint64_t to, uint32_t *crc)
{
    while (*pos < to) {
        const uint8_t *p;
        size_t avail;
        int rc = damage_read(r, *pos, 1, &p, &avail);
        if (rc != KV_OK)
            return rc;
        if (avail == 0)
            return kv_error(KV_ERR_IO, "%s: offset %llu: the file ended early",
                            io_path(r->f), (unsigned long long)*pos);
        size_t n = to - *pos < avail ? (size_t)(to - *pos) : avail;
        *crc = crc32c_extend(*crc, p, n);
        *pos += n;
    }
    return KV_OK;
}

/* ---- the search --------------------------------------------------------- */

/* An offset y whose header has possible lengths and fits: its checksum
 * (stored) must equal the CRC of [a, b) = [y + 4, y + size). */
typedef struct damage_candidate {
    uint64_t a, b;
    uint32_t crc_a;     /* CRC of [origin, a) */
    uint32_t stored;
} damage_candidate;

typedef struct damage_search {
    damage_reader r;
    damage_candidate *v;
    size_t n, cap;
} damage_search;

static int damage_by_end(const void *x, const void *y)
{
    const damage_candidate *a = x, *b = y;
    return a->b < b->b ? -1 : a->b > b->b;
}

/* Where the next non-zero byte at or after p is, within [p, end). */
static const uint8_t *damage_skip_zeros(const uint8_t *p, const uint8_t *end)
{
    while (p < end && ((uintptr_t)p & 7) != 0 && *p == 0)
        p++;
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        if (w != 0)
            break;
        p += 8;
    }
    while (p < end && *p == 0)
        p++;
    return p;
}

/* Whether the header at p cannot have possible lengths, by one byte: the
 * top byte of its value-length field is neither that of a length up to
 * KV_MAX_VALUE (0 to 4) nor that of a tombstone or a seal (0xff).  Most
 * damaged bytes fail it, so the search tests it first, in a tight loop
 * over the bytes buffered, and decodes only the headers that pass. */
static int damage_surely_no_header(const uint8_t *p)
{
    uint8_t top = p[9];
    return top > (uint8_t)(KV_MAX_VALUE >> 24) && top != 0xff;
}

/* Pass 1: collects the candidates of one window, starting at *y, with the
 * CRC of each one's prefix from the window's origin (its first candidate's
 * a).  Stops after LOG_RECORD_MAX bytes past the first candidate, or at
 * LOG_DAMAGE_CANDIDATES, or at the limit; *y is where the next window
 * starts. */
static int damage_collect(damage_search *s, uint64_t *y)
{
    damage_reader *r = &s->r;
    uint64_t crc_pos = 0, stop = r->limit;
    uint32_t crc = 0;
    s->n = 0;
    while (*y + LOG_RECORD_HEADER <= r->limit && *y < stop && s->n < LOG_DAMAGE_CANDIDATES) {
        const uint8_t *p;
        size_t avail;
        int rc;
        /* Before the buffer moves on, the CRC takes in the bytes it holds
         * (so crc_pos never falls behind the buffer). */
        if (s->n > 0 && *y + LOG_RECORD_HEADER > r->off + r->len &&
            (rc = damage_crc_to(r, &crc_pos, *y, &crc)) != KV_OK)
            return rc;
        if ((rc = damage_read(r, *y, LOG_RECORD_HEADER, &p, &avail)) != KV_OK)
            return rc;
        if (avail < LOG_RECORD_HEADER)
            break;
        /* Offsets the one-byte test rules out are no candidates: skip
         * them, as far as the buffer holds a whole header. */
        size_t skip = 0;
        while (avail - skip >= LOG_RECORD_HEADER && damage_surely_no_header(p + skip))
            skip++;
        if (skip > 0) {
            *y += skip;
            continue;
        }
        /* Lengths of zero are impossible: jump so that the next header
         * tried ends at the next non-zero byte. */
        const uint8_t *z = damage_skip_zeros(p + 4, p + avail);
        if ((size_t)(z - p) >= LOG_RECORD_HEADER) {
            uint64_t next = *y + (uint64_t)(z - p) - (LOG_RECORD_HEADER - 1);
            *y = next > *y ? next : *y + 1;
            continue;
        }
        const char *why;
        uint64_t size = log_record_size_at(p, &why);
        if (size != 0 && size <= r->limit - *y) {
            if (s->n == s->cap) {
                size_t cap = s->cap ? 2 * s->cap : 1024;
                damage_candidate *v = realloc(s->v, cap * sizeof *v);
                if (v == NULL)
                    return kv_error(KV_ERR_NOMEM, "%s: out of memory searching for records "
                                    "after offset %llu", io_path(r->f),
                                    (unsigned long long)*y);
                s->v = v;
                s->cap = cap;
            }
            if (s->n == 0) {
                crc_pos = *y + 4; /* the origin */
                crc = 0;
                stop = *y + LOG_RECORD_MAX < r->limit ? *y + LOG_RECORD_MAX : r->limit;
            }
            if ((rc = damage_crc_to(r, &crc_pos, *y + 4, &crc)) != KV_OK)
                return rc;
            s->v[s->n++] = (damage_candidate){.a = *y + 4, .b = *y + size, .crc_a = crc,
                                              .stored = coding_get_u32(p)};
        }
        (*y)++;
    }
    return KV_OK;
}

/* Pass 2: the CRC of every candidate's range, from the CRCs of the
 * prefixes [origin, a) and [origin, b).  *found gets the first valid
 * candidate's offset, or UINT64_MAX. */
static int damage_verify(damage_search *s, uint64_t *found)
{
    *found = UINT64_MAX;
    if (s->n == 0)
        return KV_OK;
    uint64_t pos = s->v[0].a;
    uint32_t crc = 0;
    qsort(s->v, s->n, sizeof *s->v, damage_by_end);
    for (size_t i = 0; i < s->n; i++) {
        const damage_candidate *c = &s->v[i];
        int rc = damage_crc_to(&s->r, &pos, c->b, &crc);
        if (rc != KV_OK)
            return rc;
        if ((crc ^ crc32c_combine(c->crc_a, 0, c->b - c->a)) == c->stored && c->a - 4 < *found)
            *found = c->a - 4;
    }
    return KV_OK;
}

int log_damage_resync(io_file *f, uint64_t from, uint64_t limit, uint64_t *next)
{
    damage_search s = {.r = {.f = f, .limit = limit}};
    uint64_t y = from, found = UINT64_MAX;
    int rc = KV_OK;
    while (rc == KV_OK && found == UINT64_MAX && y + LOG_RECORD_HEADER <= limit) {
        /* The origin of a window's CRCs: its candidates are checked
         * against the bytes as they are read again in pass 2. */
        uint64_t start = y;
        rc = damage_collect(&s, &y);
        if (rc == KV_OK)
            rc = damage_verify(&s, &found);
        if (y == start)
            y++;
    }
    free(s.v);
    free(s.r.buf);
    if (rc != KV_OK)
        return rc;
    if (found == UINT64_MAX)
        return 0;
    *next = found;
    return 1;
}

/* ---- the last record, whole but for its lengths (rule 2) ----------------- */

/* 1 if changing one byte of the lengths of the record at `at` makes it a
 * valid record ending exactly at `limit`; 0 if not; an error if a read
 * fails (then nothing is known: a torn write is not to be assumed). */
static int damage_relengthed(io_file *f, uint64_t at, uint64_t limit)
{
    uint8_t h[LOG_RECORD_HEADER];
    size_t got = 0;
    if (limit - at < LOG_RECORD_HEADER)
        return 0;
    int rc = io_read_at(f, at, h, sizeof h, &got);
    if (rc != KV_OK || got != sizeof h)
        return rc;
    uint64_t body = limit - at - LOG_RECORD_HEADER; /* key and value bytes present */
    uint32_t klen = coding_get_u16(h + 4), vfield = coding_get_u32(h + 6);
    /* The lengths that would end the record exactly at `limit`: a new
     * key length, a new value length, or a delete. */
    uint32_t alt[3][2];
    int n = 0;
    uint64_t vpart = vfield == LOG_RECORD_TOMBSTONE ? 0 : vfield;
    if ((vfield == LOG_RECORD_TOMBSTONE || vfield <= KV_MAX_VALUE) && body > vpart &&
        body - vpart <= KV_MAX_KEY) {
        alt[n][0] = (uint32_t)(body - vpart);
        alt[n++][1] = vfield;
    }
    if (klen >= 1 && body >= klen && body - klen <= KV_MAX_VALUE) {
        alt[n][0] = klen;
        alt[n++][1] = (uint32_t)(body - klen);
    }
    if (klen >= 1 && body == klen) {
        alt[n][0] = klen;
        alt[n++][1] = LOG_RECORD_TOMBSTONE;
    }
    damage_reader r = {.f = f, .limit = limit};
    uint64_t pos = at + LOG_RECORD_HEADER;
    uint32_t rest = 0;
    int whole = 0, have_rest = 0;
    for (int i = 0; i < n && !whole; i++) {
        uint8_t v[LOG_RECORD_HEADER];
        memcpy(v, h, sizeof v);
        coding_put_u16(v + 4, (uint16_t)alt[i][0]);
        coding_put_u32(v + 6, alt[i][1]);
        int differ = 0;
        for (int j = 4; j < (int)LOG_RECORD_HEADER; j++)
            differ += v[j] != h[j];
        if (differ != 1)
            continue;
        if (!have_rest && (rc = damage_crc_to(&r, &pos, limit, &rest)) != KV_OK)
            break;
        have_rest = 1;
        uint32_t crc = crc32c_combine(crc32c_value(v + 4, 6), rest, body);
        whole = crc == coding_get_u32(h);
    }
    free(r.buf);
    return rc != KV_OK ? rc : whole;
}

int log_damage_classify(io_file *f, uint64_t bad, const char *why, int short_record,
                        uint64_t limit, log_damage *d)
{
    memset(d, 0, sizeof *d);
    d->offset = bad;
    d->why = why;
    if (!short_record)
        return KV_OK; /* rule 1: damaged where it lies */
    int relengthed = damage_relengthed(f, bad, limit);
    if (relengthed < 0)
        return relengthed;
    if (relengthed) {
        d->why = "the last record is whole but a length in its header is damaged (one "
                 "changed byte makes it a valid record ending at the end of the file)";
        return KV_OK;
    }
    int found = log_damage_resync(f, bad + 1, limit, &d->next);
    if (found < 0)
        return found;
    d->searched = 1;
    d->has_next = found;
    d->torn = !found;
    return KV_OK;
}
