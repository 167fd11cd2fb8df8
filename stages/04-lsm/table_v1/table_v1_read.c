/*
 * table_v1_read.c: reading records of a v1 table, and point lookups by
 * binary search over its on-disk offset array (table.h,
 * table_v1_format.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "table_v1_format.h"

/* ---- records, reads, offsets ------------------------------------------------ */

int table_v1_record_decode(const uint8_t *p, size_t got, uint64_t room, int exact,
                           table_v1_record *r, const char **why)
{
    size_t avail = (uint64_t)got < room ? got : (size_t)room;
    uint32_t k, v;
    const uint8_t *q;
    if (room < TABLE_V1_RECORD_MIN || avail < 8 + 2) {
        *why = "not enough room for a record";
        return TABLE_V1_REC_BAD;
    }
    q = coding_get_varint32(p + 8, p + avail, &k);
    if (q != NULL)
        q = coding_get_varint32(q, p + avail, &v);
    if (q == NULL) {
        *why = "the key or value length is not a varint32";
        return TABLE_V1_REC_BAD;
    }
    if (k < TABLE_V1_IKEY_MIN || k > TABLE_V1_IKEY_MAX) {
        *why = "the internal key length is out of range (9 .. 65543)";
        return TABLE_V1_REC_BAD;
    }
    if (v > KV_MAX_VALUE) {
        *why = "the value length is larger than 64 MiB";
        return TABLE_V1_REC_BAD;
    }
    r->head_len = (size_t)(q - p) + k;
    r->value_len = v;
    uint64_t total = (uint64_t)r->head_len + v;
    if (total > room || (exact && total != room)) {
        *why = exact ? "the record's lengths disagree with the offset array"
                     : "the record runs past the end of the records";
        return TABLE_V1_REC_BAD;
    }
    if (r->head_len > got)
        return TABLE_V1_REC_SHORT;
    r->head_crc = coding_get_u32(p);
    r->value_crc = coding_get_u32(p + 4);
    if (crc32c_value(p + 4, r->head_len - 4) != r->head_crc) {
        *why = "the record head's checksum does not match";
        return TABLE_V1_REC_BAD;
    }
    r->ikey = q;
    r->ikey_len = k;
    ikey_parsed ik;
    if (!ikey_decode(q, q + k, &ik)) {
        *why = "the internal key has an unknown type";
        return TABLE_V1_REC_BAD;
    }
    if (ik.type == IKEY_DELETE && v != 0) {
        *why = "a tombstone carries a value";
        return TABLE_V1_REC_BAD;
    }
    return TABLE_V1_REC_OK;
}

int table_v1_read(table *t, uint64_t off, void *buf, size_t n, table_v1_count *count)
{
    size_t got;
    int rc = io_read_at(t->file, off, buf, n, &got);
    atomic_fetch_add_explicit(&t->ctx->reads, 1, memory_order_relaxed);
    if (count != NULL)
        count->reads++;
    if (rc != KV_OK)
        return rc;
    atomic_fetch_add_explicit(&t->ctx->read_bytes, got, memory_order_relaxed);
    if (count != NULL)
        count->bytes += got;
    if (got < n)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the file ends after %zu of "
                        "%zu bytes (it was %" PRIu64 " bytes at open)",
                        io_path(t->file), off, got, n, t->file_bytes);
    return KV_OK;
}

/* Record i starts at least 19 i bytes after the first, and leaves room
 * for the N - i records from it on. */
static int table_v1_start_ok(const table *t, uint64_t i, uint64_t off)
{
    uint64_t lo = TABLE_V1_RECORDS_AT + TABLE_V1_RECORD_MIN * i;
    return !(i == 0 && off != TABLE_V1_RECORDS_AT) && off >= lo && off <= t->array_at &&
           t->array_at - off >= TABLE_V1_RECORD_MIN * (t->n - i);
}

int table_v1_span_check(const table *t, uint64_t i, uint64_t off, uint64_t end)
{
    int ok = table_v1_start_ok(t, i, off) &&
             (i + 1 < t->n ? table_v1_start_ok(t, i + 1, end) : end == t->array_at) &&
             end > off && end - off >= TABLE_V1_RECORD_MIN;
    if (ok)
        return KV_OK;
    return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the offset array gives record %"
                    PRIu64 " the span %" PRIu64 "..%" PRIu64 ", where it cannot be",
                    io_path(t->file), t->array_at + 8 * i, i, off, end);
}

int table_v1_span(table *t, uint64_t i, uint64_t *off, uint64_t *end, table_v1_count *count)
{
    uint8_t b[16];
    int last = i + 1 == t->n;
    int rc = table_v1_read(t, t->array_at + 8 * i, b, last ? 8 : 16, count);
    if (rc != KV_OK)
        return rc;
    *off = coding_get_u64(b);
    *end = last ? t->array_at : coding_get_u64(b + 8);
    return table_v1_span_check(t, i, *off, *end);
}

/* ---- binary search ------------------------------------------------------------ */

/* Reads the head of the record spanning [at, end) into slot s (one read if
 * it fits in the slot, two if the key is longer) and decodes it. */
static int table_v1_read_head(table *t, uint64_t at, uint64_t end, table_v1_slot *s,
                              table_v1_count *count)
{
    uint64_t room = end - at;
    size_t want = room < s->cap ? (size_t)room : s->cap;
    int rc = table_v1_read(t, at, s->p, want, count);
    if (rc != KV_OK)
        return rc;
    s->at = at;
    s->got = want;
    const char *why = NULL;
    rc = table_v1_record_decode(s->p, s->got, room, 1, &s->rec, &why);
    if (rc == TABLE_V1_REC_SHORT) {
        size_t need = s->rec.head_len;
        uint8_t *p = malloc(need);
        if (p == NULL)
            return kv_error(KV_ERR_NOMEM, "table: cannot allocate %zu bytes for a key", need);
        if (s->p != s->space)
            free(s->p);
        s->p = p;
        s->cap = need;
        rc = table_v1_read(t, at, s->p, need, count);
        if (rc != KV_OK)
            return rc;
        s->got = need;
        rc = table_v1_record_decode(s->p, s->got, room, 1, &s->rec, &why);
    }
    if (rc != TABLE_V1_REC_OK)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": bad record: %s",
                        io_path(t->file), at, why ? why : "its head is cut short");
    return KV_OK;
}

int table_v1_search(table *t, const uint8_t *target, size_t target_len, table_v1_probe *pr,
                    table_v1_count *count)
{
    for (int i = 0; i < 2; i++) {
        pr->slot[i].p = pr->slot[i].space;
        pr->slot[i].cap = sizeof pr->slot[i].space;
        pr->slot[i].got = 0;
    }
    pr->found = NULL;
    table_v1_slot *probe = &pr->slot[0];
    uint64_t lo = 0, hi = t->n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2, at, end;
        int rc = table_v1_span(t, mid, &at, &end, count);
        if (rc == KV_OK)
            rc = table_v1_read_head(t, at, end, probe, count);
        if (rc != KV_OK)
            return rc;
        if (ikey_compare(probe->rec.ikey, probe->rec.ikey_len, target, target_len) < 0) {
            lo = mid + 1;
        } else {
            hi = mid; /* the best candidate so far; probe in the other slot */
            pr->found = probe;
            probe = probe == &pr->slot[0] ? &pr->slot[1] : &pr->slot[0];
        }
    }
    /* hi only ever takes values of probes that compared >= target, so
     * record lo is in pr->found unless lo == N. */
    pr->index = lo;
    return KV_OK;
}

void table_v1_probe_free(table_v1_probe *pr)
{
    for (int i = 0; i < 2; i++)
        if (pr->slot[i].p != pr->slot[i].space)
            free(pr->slot[i].p);
}

/* ---- lookups -------------------------------------------------------------------------- */

/* Copies the value of the record in slot s into a fresh allocation,
 * reading what the probe did not, and checks it. */
static int table_v1_value(table *t, const table_v1_slot *s, table_get_result *r,
                          table_v1_count *count)
{
    size_t n = s->rec.value_len, have = s->got - s->rec.head_len;
    if (have > n)
        have = n;
    uint8_t *v = malloc(n ? n : 1);
    if (v == NULL)
        return kv_error(KV_ERR_NOMEM, "table: cannot allocate %zu bytes for a value", n);
    if (have > 0)
        memcpy(v, s->p + s->rec.head_len, have);
    int rc = KV_OK;
    if (have < n)
        rc = table_v1_read(t, s->at + s->rec.head_len + have, v + have, n - have, count);
    if (rc == KV_OK && crc32c_value(v, n) != s->rec.value_crc)
        rc = kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": the value's checksum does not "
                      "match", io_path(t->file), s->at + s->rec.head_len);
    if (rc != KV_OK) {
        free(v);
        return rc;
    }
    r->value = v;
    r->value_len = n;
    return KV_OK;
}

/* Format v1 has no filter: nothing to skip in the last table. */
int table_get_last(table *t, const ikey_lookup *lk, table_get_result *r)
{
    return table_get(t, lk, r);
}

int table_get_last_skips(const table *t)
{
    (void)t;
    return 0;
}

int table_get(table *t, const ikey_lookup *lk, table_get_result *r)
{
    *r = (table_get_result){.state = IKEY_ABSENT};
    size_t ulen, ilen;
    const uint8_t *ukey = ikey_lookup_user(lk, &ulen);
    if (ikey_user_compare(ukey, ulen, t->smallest, t->smallest_len - IKEY_TRAILER_SIZE) < 0 ||
        ikey_user_compare(ukey, ulen, t->largest, t->largest_len - IKEY_TRAILER_SIZE) > 0)
        return KV_OK;
    r->in_range = 1;
    r->searched = 1;
    const uint8_t *target = ikey_lookup_ikey(lk, &ilen);
    table_v1_probe pr;
    table_v1_count count = {0};
    int rc = table_v1_search(t, target, ilen, &pr, &count);
    if (rc == KV_OK && pr.index < t->n) {
        const table_v1_record *rec = &pr.found->rec;
        if (ikey_user_compare(rec->ikey, rec->ikey_len - IKEY_TRAILER_SIZE, ukey, ulen) == 0) {
            r->seq = ikey_seq(rec->ikey, rec->ikey_len);
            if (ikey_type_of(rec->ikey, rec->ikey_len) == IKEY_DELETE)
                r->state = IKEY_DELETED;
            else if ((rc = table_v1_value(t, pr.found, r, &count)) == KV_OK) {
                r->state = IKEY_FOUND;
                r->elsewhere = ikey_type_of(rec->ikey, rec->ikey_len) == IKEY_PUT_ELSEWHERE;
            }
        }
    }
    table_v1_probe_free(&pr);
    r->reads = count.reads;
    r->bytes_read = count.bytes;
    atomic_fetch_add_explicit(&t->ctx->gets, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->ctx->get_reads, r->reads, memory_order_relaxed);
    return rc;
}
