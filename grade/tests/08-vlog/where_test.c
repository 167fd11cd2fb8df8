/*
 * where_test.c: exercise where, vlog_where_encode and vlog_where_decode
 * (stages/08-vlog/value_log/vlog_where.c): the table value of an
 * IKEY_PUT_ELSEWHERE says where its value is, as varint64 file, varint64
 * offset, varint32 length and the value's crc32c (4 bytes, little-endian;
 * docs/formats.md, "Where a value is").  The encoder writes exactly those
 * bytes; the decoder reads only inside the bytes it is given, and refuses
 * a where no log can hold: cut short, followed by more bytes, file 0, a
 * length of 0 or past 64 MiB, an offset inside the file header or a
 * block's 7-byte header.
 */
#include <stdio.h>
#include <string.h>

#include "ex_vlog.h"
#include "exercise.h"
#include "value_log.h"
#include "wal_format.h"

/* Wheres the tests encode and decode (offsets are payload bytes). */
static const vlog_where wh_cases[] = {
    {1, 61, 40000, 0x0ae572e0u},
    {1, 23, 1, 0},
    {7, 32767, 512, 0xffffffffu},
    {300, 32775, 70000, 0x12345678u},
    {(UINT64_C(1) << 56) - 1, (UINT64_C(1) << 40) + 100, VLOG_MAX_VALUE, 0x80000001u},
    {UINT64_MAX, UINT64_MAX / 2, 127, 0x00ff00ffu},
};
#define WH_CASES (sizeof wh_cases / sizeof wh_cases[0])

/* Decodes p[0, n) from memory that ends exactly there. */
static int wh_decode(const uint8_t *p, size_t n, vlog_where *w, const char **why,
                     const char *what)
{
    uint8_t *g = ex_guarded_copy(p, n);
    harness_context("vlog_where_decode of %s (%zu bytes): it must not read past the bytes it "
                    "is given", what, n);
    *why = NULL;
    memset(w, 0, sizeof *w);
    return vlog_where_decode(g, n, w, why);
}

static void where_encodes_the_format_bytes(void)
{
    EX_RULE_BEGIN(1, "the format's bytes: varint64, varint64, varint32, crc32c");
    /* docs/formats.md's example: 40,000 bytes at offset 61 of log 1. */
    static const uint8_t page[] = {0x01, 0x3d, 0xc0, 0xb8, 0x02, 0xe0, 0x72, 0xe5, 0x0a};
    /* First with room to spare, so that wrong bytes are named before a
     * write past the end is caught below. */
    uint8_t roomy[64];
    harness_context("vlog_where_encode of file 1, offset 61, length 40000, crc 0x0ae572e0 into "
                    "a buffer of 64 bytes");
    size_t rn = vlog_where_encode(roomy, &wh_cases[0]);
    EX_CHECK(rn == sizeof page && memcmp(roomy, page, sizeof page) == 0,
             "file 1, offset 61, length 40000, crc32c 0x0ae572e0 is 01 3d c0 b8 02 e0 72 e5 0a "
             "(varint 1, varint 61, varint 40000 = c0 b8 02, the crc little-endian): got %zu "
             "bytes %s", rn, harness_hex((char[HARNESS_HEX_BUF]){0}, roomy, rn < 9 ? rn : 9));
    uint8_t *out = ex_guarded(sizeof page);
    harness_context("vlog_where_encode of file 1, offset 61, length 40000, crc 0x0ae572e0 into "
                    "exactly 9 bytes");
    size_t n = vlog_where_encode(out, &wh_cases[0]);
    EX_CHECK(n == sizeof page && memcmp(out, page, sizeof page) == 0,
             "file 1, offset 61, length 40000, crc32c 0x0ae572e0 is 01 3d c0 b8 02 e0 72 e5 0a "
             "(varint 1, varint 61, varint 40000 = c0 b8 02, the crc little-endian): got %zu "
             "bytes %s", n, harness_hex((char[HARNESS_HEX_BUF]){0}, out, n < 9 ? n : 9));
    for (size_t i = 0; i < WH_CASES; i++) {
        uint8_t want[VLOG_WHERE_MAX];
        const vlog_where *w = &wh_cases[i];
        size_t wn = ex_where(want, w->file, w->offset, w->len, w->crc);
        uint8_t *got = ex_guarded(wn);
        harness_context("vlog_where_encode of case %zu into exactly its %zu bytes", i, wn);
        size_t gn = vlog_where_encode(got, w);
        char a[HARNESS_HEX_BUF], b[HARNESS_HEX_BUF];
        EX_CHECK(gn == wn && memcmp(got, want, wn) == 0,
                 "file %llu, offset %llu, length %u, crc 0x%08x: varint64 file, varint64 "
                 "offset, varint32 length, 4 bytes of crc32c little-endian: want %s, got %s",
                 (unsigned long long)w->file, (unsigned long long)w->offset, w->len, w->crc,
                 harness_hex(a, want, wn), harness_hex(b, got, gn < wn ? gn : wn));
    }
}

static void where_decodes_what_it_encodes(void)
{
    EX_RULE_BEGIN(2, "what it accepts is what vlog_where_encode wrote");
    for (size_t i = 0; i < WH_CASES; i++) {
        uint8_t p[VLOG_WHERE_MAX];
        const vlog_where *w = &wh_cases[i];
        size_t n = ex_where(p, w->file, w->offset, w->len, w->crc);
        vlog_where got;
        const char *why;
        int rc = wh_decode(p, n, &got, &why, "a where of the format");
        /* A where the encoder wrote, at a place a log can hold: a refusal
         * misreads its bytes (rule 2) or takes a place for none (rule 3:
         * 64 MiB itself, offset 23, a block's first and last payload byte
         * are places). */
        EX_CHECK(rc == 0, EX_RULES("2 and 3", "what vlog_where_encode wrote, at a place a log "
                 "can hold, decodes") "a where of file %llu, offset %llu, length %u decodes "
                 "(0), got %d: %s",
                 (unsigned long long)w->file, (unsigned long long)w->offset, w->len, rc,
                 why ? why : "(no reason)");
        EX_CHECK(got.file == w->file && got.offset == w->offset && got.len == w->len &&
                     got.crc == w->crc,
                 "decoded, it is the where encoded: file %llu offset %llu length %u crc 0x%08x "
                 "(got file %llu offset %llu length %u crc 0x%08x)",
                 (unsigned long long)w->file, (unsigned long long)w->offset, w->len, w->crc,
                 (unsigned long long)got.file, (unsigned long long)got.offset, got.len,
                 got.crc);
    }
}

/* p[0, n) must be refused, with a reason. */
static void wh_refused(const uint8_t *p, size_t n, const char *what, const char *rule)
{
    vlog_where w;
    const char *why;
    int rc = wh_decode(p, n, &w, &why, what);
    EX_CHECK(rc == -1, "%s: %s: vlog_where_decode returns -1 (got %d)", what, rule, rc);
    char test_rule[256];
    snprintf(test_rule, sizeof test_rule, "%s", ex_rule_now());
    EX_RULE_BEGIN(4, "a refusal says what is wrong, in any words");
    EX_CHECK(why != NULL && why[0] != '\0', "%s: vlog_where_decode returns -1 with *why saying "
             "what is wrong (a reason, in any words): got none", what);
    ex_rule_put(test_rule);
}

static void where_refuses_a_cut_or_padded_where(void)
{
    EX_RULE_BEGIN(2, "exactly the bytes [p, p + n), nothing cut, nothing after");
    for (size_t i = 0; i < WH_CASES; i++) {
        uint8_t p[VLOG_WHERE_MAX + 1];
        const vlog_where *w = &wh_cases[i];
        size_t n = ex_where(p, w->file, w->offset, w->len, w->crc);
        for (size_t cut = 0; cut < n; cut++) {
            char what[96];
            snprintf(what, sizeof what, "the first %zu of a where's %zu bytes", cut, n);
            wh_refused(p, cut, what, "a where cut short is not a where (and the decoder must "
                       "not read past the bytes it is given)");
        }
        p[n] = 0;
        wh_refused(p, n + 1, "a where with one more byte after its crc32c",
                   "a table value is exactly a where: bytes after it mean it is not one");
    }
    /* A varint longer than 64 bits. */
    uint8_t longv[16];
    memset(longv, 0xff, 10);
    longv[10] = 0x01;
    memcpy(longv + 11, "\x17\x01\x00\x00", 4);
    wh_refused(longv, 15, "a file number of 11 varint bytes", "a varint64 has at most 10 bytes");
}

static void where_refuses_a_place_no_log_holds(void)
{
    EX_RULE_BEGIN(3, "a where that decodes is a place a log can hold a value");
    uint8_t p[VLOG_WHERE_MAX];
    vlog_where w;
    const char *why;
    size_t n = ex_where(p, 0, 61, 100, 0);
    wh_refused(p, n, "file 0", "logs are named by their first sequence number, from 1");
    n = ex_where(p, 1, 61, 0, 0);
    wh_refused(p, n, "a length of 0", "a value kept elsewhere has 1 to 64 MiB bytes");
    n = ex_where(p, 1, 61, VLOG_MAX_VALUE + 1, 0);
    wh_refused(p, n, "a length of 64 MiB + 1", "no value is longer than 64 MiB");
    n = ex_where(p, 1, 61, VLOG_MAX_VALUE, 0);
    EX_CHECK(wh_decode(p, n, &w, &why, "a length of 64 MiB") == 0,
             "a value of exactly 64 MiB (VLOG_MAX_VALUE) can be kept elsewhere: its where "
             "decodes (%s)", why ? why : "no reason");
    /* Offsets: every block's first 7 bytes are its header; the file
     * header is bytes 0..15 and the first fragment's header 16..22. */
    for (uint64_t b = 1; b <= 3; b++) {
        for (uint64_t k = 0; k < WAL_HEADER_SIZE; k++) {
            uint64_t off = b * WAL_BLOCK_SIZE + k;
            n = ex_where(p, 1, off, 10, 0);
            char what[64];
            snprintf(what, sizeof what, "offset %llu", (unsigned long long)off);
            wh_refused(p, n, what, "a value's first byte is never inside a block's 7-byte "
                       "header (the first 7 bytes of every 32 KiB block)");
        }
        uint64_t off = b * WAL_BLOCK_SIZE + WAL_HEADER_SIZE;
        n = ex_where(p, 1, off, 10, 0);
        EX_CHECK(wh_decode(p, n, &w, &why, "the first payload byte of a block") == 0,
                 "offset %llu, the first byte after a block's header, can hold a value's first "
                 "byte: it decodes (%s)", (unsigned long long)off, why ? why : "no reason");
        n = ex_where(p, 1, off - 8, 10, 0);
        EX_CHECK(wh_decode(p, n, &w, &why, "the last payload byte of a block") == 0,
                 "offset %llu, the last byte of a block, can hold a value's first byte: it "
                 "decodes (%s)", (unsigned long long)(off - 8), why ? why : "no reason");
    }
    for (uint64_t off = 0; off < 23; off++) {
        n = ex_where(p, 1, off, 10, 0);
        char what[64];
        snprintf(what, sizeof what, "offset %llu", (unsigned long long)off);
        wh_refused(p, n, what, "a value's first byte is never inside the file header (0..15) "
                   "or the first fragment's header (16..22)");
    }
    n = ex_where(p, 1, 23, 10, 0);
    EX_CHECK(wh_decode(p, n, &w, &why, "offset 23") == 0 && w.offset == 23,
             "offset 23, the first payload byte of a log, holds a value's first byte: it "
             "decodes (%s)", why ? why : "no reason");
    n = ex_where(p, 1, (UINT64_C(1) << 63) + 100, 10, 0);
    wh_refused(p, n, "offset 2^63 + 100", "no file is that long (the span's arithmetic must "
               "not wrap)");
}

static const harness_test where_tests[] = {
    HARNESS_TEST(where_encodes_the_format_bytes),
    HARNESS_TEST(where_decodes_what_it_encodes),
    HARNESS_TEST(where_refuses_a_cut_or_padded_where),
    HARNESS_TEST(where_refuses_a_place_no_log_holds),
};
const harness_suite where_suite = HARNESS_SUITE("where", where_tests);
