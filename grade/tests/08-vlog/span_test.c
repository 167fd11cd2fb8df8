/*
 * span_test.c: exercise span, vlog_payload_offset, vlog_span and
 * vlog_gather (stages/08-vlog/value_log/vlog_where.c): a value kept in
 * the log that took it sits in its record's payload, which the log cut
 * into fragments, one per 32 KiB block, each after a 7-byte header
 * (wal_format.h).  So the flush finds a value's place by arithmetic
 * (vlog_payload_offset), a read takes its span, the value's bytes and
 * the headers between them (vlog_span), in one read, and gathers the
 * value out of it (vlog_gather).  Checked against a walk over the file's
 * bytes that skips every header, on files written here byte by byte, and
 * through the store: a flush of those files, and loads from them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "ex_overlap.h"
#include "ex_vlog.h"
#include "exercise.h"
#include "internal_key.h"
#include "lsm_wal.h"
#include "value_log.h"
#include "wal_format.h"

/* The span of a value by walking: from its first byte to its last. */
static uint64_t sp_model_span(uint64_t offset, uint64_t len)
{
    uint64_t at = offset;
    for (uint64_t k = 1; k < len; k++) {
        at++;
        while (at % WAL_BLOCK_SIZE < WAL_HEADER_SIZE)
            at++;
    }
    return at + 1 - offset;
}

static uint8_t sp_file_byte(uint64_t o)
{
    return (uint8_t)(o * 5 + (o >> 8) + (o >> 16) * 3 + 11);
}

static void span_payload_offset_skips_every_header(void)
{
    EX_RULE_BEGIN(1, "payload byte i skips the fragment's and every block's header");
    /* Record starts: the first after the file header, mid-block, near a
     * block's end, with exactly 7 bytes left (an empty first fragment). */
    static const uint64_t starts[] = {16, 100, 32700, 32755, 32761, 32768 + 7000,
                                      5 * 32768 + 32761};
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
        uint64_t rs = starts[s];
        uint64_t first = WAL_BLOCK_SIZE - rs % WAL_BLOCK_SIZE - WAL_HEADER_SIZE;
        uint64_t ks[] = {0, 1, first ? first - 1 : 0, first, first + 1, first + 32760,
                         first + 32761, first + 32762, first + 3 * 32761 + 5, 200000};
        for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
            uint64_t want = ex_payload_at(rs, ks[i]);
            harness_context("vlog_payload_offset(%llu, %llu)", (unsigned long long)rs,
                            (unsigned long long)ks[i]);
            uint64_t got = vlog_payload_offset(rs, ks[i]);
            EX_CHECK(got == want, "byte %llu of the payload of a record whose first fragment "
                     "starts at offset %llu is at offset %llu: the payload starts after the "
                     "record's 7-byte fragment header, and skips the 7-byte header at the "
                     "start of each 32 KiB block (got %llu)", (unsigned long long)ks[i],
                     (unsigned long long)rs, (unsigned long long)want,
                     (unsigned long long)got);
        }
    }
}

static void span_counts_a_header_per_boundary(void)
{
    EX_RULE_BEGIN(2, "the length and 7 per block boundary crossed");
    struct { uint64_t offset, len; const char *what; } c[] = {
        {23, 1, "one byte"},
        {23, 100, "a value inside its block"},
        {32700, 68, "a value that ends on its block's last byte"},
        {32700, 69, "a value one byte past its block's end"},
        {32767, 1, "one byte, the block's last"},
        {32767, 2, "two bytes across a boundary"},
        {61, 40000, "40,000 bytes across one boundary"},
        {100, 70000, "70,000 bytes across two boundaries"},
        {32775, 32761, "a whole block's data"},
        {32775, 32762, "a block's data and one byte"},
        {32700, 68 + 32762, "68 bytes, a whole block's data and one byte"},
        {40, 200000, "200,000 bytes across six boundaries"},
        {3 * 32768 + 9, VLOG_MAX_VALUE, "64 MiB"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        vlog_where w = {.file = 1, .offset = c[i].offset, .len = (uint32_t)c[i].len};
        uint64_t want = sp_model_span(c[i].offset, c[i].len);
        harness_context("vlog_span of %s at offset %llu", c[i].what,
                        (unsigned long long)c[i].offset);
        uint64_t got = vlog_span(&w);
        char off_by[64] = "";
        if (got < want && (want - got) % WAL_HEADER_SIZE == 0)
            snprintf(off_by, sizeof off_by, ": %llu header%s short",
                     (unsigned long long)((want - got) / WAL_HEADER_SIZE),
                     want - got == WAL_HEADER_SIZE ? "" : "s");
        else if (got > want && (got - want) % WAL_HEADER_SIZE == 0)
            snprintf(off_by, sizeof off_by, ": %llu header%s too many",
                     (unsigned long long)((got - want) / WAL_HEADER_SIZE),
                     got - want == WAL_HEADER_SIZE ? "" : "s");
        EX_CHECK(got == want, "the span of %s (%llu bytes at offset %llu) is its bytes and one "
                 "7-byte header for each block boundary it crosses, from its first byte to its "
                 "last: %llu bytes (got %llu%s)", c[i].what, (unsigned long long)c[i].len,
                 (unsigned long long)c[i].offset, (unsigned long long)want,
                 (unsigned long long)got, off_by);
    }
}

static void span_gather_leaves_the_headers_out(void)
{
    EX_RULE_BEGIN(3, "the value gathered without the block headers, in place too");
    struct { uint64_t offset, len; } c[] = {
        {23, 100}, {32700, 68}, {32767, 2}, {61, 40000}, {100, 70000}, {32775, 32762},
        {40, 200000},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        vlog_where w = {.file = 1, .offset = c[i].offset, .len = (uint32_t)c[i].len};
        uint64_t span = sp_model_span(c[i].offset, c[i].len);
        uint8_t *s = ex_guarded((size_t)span), *out = ex_guarded((size_t)c[i].len);
        uint8_t *want = malloc((size_t)c[i].len);
        EX_CHECK(want != NULL, "out of memory");
        uint64_t k = 0;
        for (uint64_t j = 0; j < span; j++) {
            uint64_t o = c[i].offset + j;
            s[j] = sp_file_byte(o);
            if (o % WAL_BLOCK_SIZE >= WAL_HEADER_SIZE)
                want[k++] = s[j];
        }
        harness_context("vlog_gather of %llu bytes at offset %llu from its span of %llu "
                        "bytes into %llu: it must not read or write past them",
                        (unsigned long long)c[i].len, (unsigned long long)c[i].offset,
                        (unsigned long long)span, (unsigned long long)c[i].len);
        vlog_gather(&w, s, out);
        size_t diff = 0;
        while (diff < c[i].len && out[diff] == want[diff])
            diff++;
        EX_CHECK(diff == c[i].len, "vlog_gather copies the value's bytes and leaves out the "
                 "7-byte header of each block the value crosses: %llu bytes at offset %llu, "
                 "byte %zu is 0x%02x, want 0x%02x (file offset %llu)",
                 (unsigned long long)c[i].len, (unsigned long long)c[i].offset, diff,
                 out[diff], want[diff], (unsigned long long)ex_payload_at(c[i].offset - 7,
                                                                          diff));
        /* In place, as a load gathers the span it read. */
        harness_context("vlog_gather in place (out == span), %llu bytes at offset %llu",
                        (unsigned long long)c[i].len, (unsigned long long)c[i].offset);
        ex_overlap_watch("vlog_gather in place (out == span)");
        vlog_gather(&w, s, s);
        ex_overlap_watch(NULL);
        EX_CHECK(memcmp(s, want, (size_t)c[i].len) == 0, "vlog_gather in place (out is the "
                 "span itself, as value_store_load uses it) gives the same bytes: %llu bytes "
                 "at offset %llu", (unsigned long long)c[i].len,
                 (unsigned long long)c[i].offset);
        free(want);
    }
}

/* The flush finds each value where the helper wrote it. */
static void span_a_flush_finds_each_value(void)
{
    EX_RULE_BEGIN(1, "payload byte i skips the fragment's and every block's header");
    const char *dir = harness_tmpdir();
    size_t vlens[] = {600, 40000, 100, 70000, 32761, 5000, 512, 511};
    size_t n = sizeof vlens / sizeof vlens[0];
    ex_place place[8];
    uint64_t size = ex_vlog_write(dir, 1, 1, vlens, n, place);
    value_store *vs = ex_store(dir, NULL, 0, 0);
    io_file *f = NULL;
    EX_CHECK(EX_KV(io_open(harness_join(dir, "000000000001.log"), IO_READ, &f)) == KV_OK,
             "open the log the test wrote (%s)", ex_kv_errmsg());
    uint64_t start = 1;
    value_logs logs = {.files = &f, .starts = &start, .sizes = &size, .n = 1};
    value_flush *vf = NULL;
    int rc = EX_KV(value_store_flush_begin(vs, &logs, 1, n, &vf));
    EX_CHECK(rc == KV_OK, "value_store_flush_begin over a whole log returns KV_OK (got %d: %s)",
             rc, ex_errmsg(rc));
    for (size_t i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "k1-%zu", i);
        uint8_t ikey[48];
        ikey_encode(ikey, key, strlen(key), 1 + i, IKEY_PUT);
        uint8_t *val = malloc(vlens[i]);
        EX_CHECK(val != NULL, "out of memory");
        for (size_t j = 0; j < vlens[i]; j++)
            val[j] = ex_value_byte(1, i, j);
        ikey_type type = IKEY_DELETE;
        const uint8_t *out = NULL;
        size_t outlen = 0;
        rc = EX_KV(value_store_flush_entry(vf, ikey, strlen(key) + IKEY_TRAILER_SIZE, val, vlens[i],
                                     &type, &out, &outlen));
        EX_CHECK(rc == KV_OK, "value_store_flush_entry returns KV_OK (got %d: %s)", rc,
                 ex_errmsg(rc));
        if (vlens[i] < VLOG_DEFAULT_THRESHOLD) {
            EX_CHECK(type == IKEY_PUT, "a value of %zu bytes, under the threshold (512), stays "
                     "in the table: IKEY_PUT", vlens[i]);
        } else {
            uint8_t want[VLOG_WHERE_MAX];
            size_t wn = ex_where(want, place[i].file, place[i].offset, place[i].len,
                                 place[i].crc);
            vlog_where got = {0};
            const char *why = NULL;
            if (type == IKEY_PUT_ELSEWHERE)
                vlog_where_decode(out, outlen, &got, &why);
            EX_CHECK(type == IKEY_PUT_ELSEWHERE && outlen == wn && memcmp(out, want, wn) == 0,
                     "the flush finds put %zu's value of %zu bytes in the log where it is, "
                     "payload byte by payload byte past every header (vlog_payload_offset): "
                     "offset %llu (got %s, offset %llu)", i, vlens[i],
                     (unsigned long long)place[i].offset,
                     type == IKEY_PUT_ELSEWHERE ? "a where" : "the value kept in the table, "
                     "as if the log did not hold it there", (unsigned long long)got.offset);
        }
        free(val);
    }
    value_store_flush_end(vs, vf, 0);
    io_close(f);
    value_store_close(vs, 0);
}

/* Loads through the store: the span read, gathered, checked. */
static void span_loads_read_every_value_back(void)
{
    EX_RULE_BEGIN(3, "the value gathered without the block headers, in place too");
    const char *dir = harness_tmpdir();
    size_t vlens[] = {600, 40000, 100, 70000, 32761, 32762, 1, 131000};
    size_t n = sizeof vlens / sizeof vlens[0];
    ex_place place[8];
    uint64_t files[] = {5};
    uint64_t size = ex_vlog_write(dir, 5, 0, vlens, n, place);
    value_store *vs = ex_store(dir, files, 1, 0);
    value_buf buf = {0};
    for (size_t i = 0; i < n; i++) {
        uint8_t where[VLOG_WHERE_MAX];
        size_t wn = ex_where(where, 5, place[i].offset, place[i].len, place[i].crc);
        const uint8_t *val = NULL;
        size_t vlen = 0;
        uint64_t pin = value_store_pin(vs);
        harness_context("value_store_load of put %zu: %zu bytes at offset %llu", i, vlens[i],
                        (unsigned long long)place[i].offset);
        int rc = EX_KV(value_store_load(vs, where, wn, &buf, &val, &vlen));
        value_store_unpin(vs, pin);
        EX_CHECK(rc == KV_OK, "a value of %zu bytes at offset %llu of a whole value-log file "
                 "loads: its span read in one piece, the headers left out, the crc32c "
                 "matching (got %d: %s)", vlens[i], (unsigned long long)place[i].offset, rc,
                 ex_errmsg(rc));
        size_t diff = 0;
        while (diff < vlens[i] && diff < vlen && val[diff] == ex_value_byte(5, i, diff))
            diff++;
        EX_CHECK(vlen == vlens[i] && diff == vlens[i], "the value loaded is the one written: "
                 "%zu bytes (got %zu, the first difference at byte %zu)", vlens[i], vlen, diff);
    }
    /* One byte later: another value's bytes, whose crc32c differs; a span
     * past the end: a dangling pointer. */
    uint8_t where[VLOG_WHERE_MAX];
    size_t wn = ex_where(where, 5, place[1].offset + 1, place[1].len, place[1].crc);
    const uint8_t *val = NULL;
    size_t vlen = 0;
    int rc = value_store_load(vs, where, wn, &buf, &val, &vlen);
    EX_CHECK(rc == KV_ERR_CORRUPT, "a where one byte off reads bytes whose crc32c is not the "
             "value's: KV_ERR_CORRUPT (got %d)", rc);
    wn = ex_where(where, 5, size - 10, 100, 0);
    rc = value_store_load(vs, where, wn, &buf, &val, &vlen);
    EX_CHECK(rc == KV_ERR_CORRUPT, "a value whose span runs past the file's end is a dangling "
             "pointer: KV_ERR_CORRUPT (got %d)", rc);
    value_buf_free(&buf);
    value_store_close(vs, 0);
}

static const harness_test span_tests[] = {
    HARNESS_TEST(span_payload_offset_skips_every_header),
    HARNESS_TEST(span_counts_a_header_per_boundary),
    HARNESS_TEST(span_gather_leaves_the_headers_out),
    HARNESS_TEST(span_a_flush_finds_each_value),
    HARNESS_TEST(span_loads_read_every_value_back),
};
const harness_suite span_suite = HARNESS_SUITE("span", span_tests);
