/*
 * log_record_test.c: the record framing of the log stages
 * (common/log_record.h): a record decodes to what was encoded, a cut record
 * is SHORT, impossible lengths are BAD, and flipping any single byte is
 * never accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "coding.h"
#include "kv.h"
#include "log_record.h"

/* Encodes a record into a fresh exact-size allocation; returns its size. */
static size_t record_make(uint8_t **out, const char *key, size_t klen, const char *val,
                          size_t vlen, int is_delete)
{
    size_t size = (size_t)log_record_size(klen, vlen, is_delete);
    uint8_t *p = malloc(size);
    CHECK(p != NULL);
    log_record_header(p, key, klen, val, vlen, is_delete);
    memcpy(p + LOG_RECORD_HEADER, key, klen);
    if (!is_delete)
        memcpy(p + LOG_RECORD_HEADER + klen, val, vlen);
    *out = p;
    return size;
}

static void log_record_decodes_put(void)
{
    uint8_t *p;
    size_t n = record_make(&p, "key\0x", 5, "value\0", 6, 0);
    CHECK_EQ(n, LOG_RECORD_HEADER + 11);
    CHECK_EQ(coding_get_u16(p + 4), 5);
    CHECK_EQ(coding_get_u32(p + 6), 6);
    log_record rec;
    uint64_t size = 0;
    const char *why = NULL;
    CHECK_EQ(log_record_decode(p, p + n, &rec, &size, &why), LOG_DECODE_OK);
    CHECK_EQ(size, n);
    CHECK_EQ(rec.is_delete, 0);
    CHECK_MEM(rec.key, rec.klen, "key\0x", 5);
    CHECK_MEM(rec.value, rec.vlen, "value\0", 6);
    CHECK_EQ(rec.crc, coding_get_u32(p));
    free(p);
}

static void log_record_decodes_delete(void)
{
    uint8_t *p;
    size_t n = record_make(&p, "gone", 4, NULL, 0, 1);
    CHECK_EQ(n, LOG_RECORD_HEADER + 4);
    CHECK_EQ(coding_get_u32(p + 6), LOG_RECORD_TOMBSTONE);
    log_record rec;
    uint64_t size = 0;
    const char *why = NULL;
    CHECK_EQ(log_record_decode(p, p + n, &rec, &size, &why), LOG_DECODE_OK);
    CHECK_EQ(size, n);
    CHECK_EQ(rec.is_delete, 1);
    CHECK(rec.value == NULL);
    CHECK_EQ(rec.vlen, 0);
    CHECK_MEM(rec.key, rec.klen, "gone", 4);
    free(p);
}

static void log_record_decodes_empty_value(void)
{
    uint8_t *p;
    size_t n = record_make(&p, "k", 1, "", 0, 0);
    log_record rec;
    uint64_t size = 0;
    const char *why = NULL;
    CHECK_EQ(log_record_decode(p, p + n, &rec, &size, &why), LOG_DECODE_OK);
    CHECK_EQ(rec.is_delete, 0);
    CHECK_EQ(rec.vlen, 0);
    CHECK(rec.value != NULL);
    free(p);
}

/* Records laid end to end: decoding the first with the whole buffer as
 * limit gives the first record's size, then the second decodes after it. */
static void log_record_decodes_back_to_back(void)
{
    uint8_t *a, *b;
    size_t na = record_make(&a, "a", 1, "1", 1, 0);
    size_t nb = record_make(&b, "bb", 2, "22", 2, 0);
    uint8_t *buf = malloc(na + nb);
    CHECK(buf != NULL);
    memcpy(buf, a, na);
    memcpy(buf + na, b, nb);
    log_record rec;
    uint64_t size = 0;
    const char *why = NULL;
    CHECK_EQ(log_record_decode(buf, buf + na + nb, &rec, &size, &why), LOG_DECODE_OK);
    CHECK_EQ(size, na);
    CHECK_EQ(log_record_decode(buf + na, buf + na + nb, &rec, &size, &why), LOG_DECODE_OK);
    CHECK_EQ(size, nb);
    CHECK_MEM(rec.key, rec.klen, "bb", 2);
    free(a);
    free(b);
    free(buf);
}

/* Every proper prefix of a record is SHORT, with the size the header
 * promises once the header is whole; copies are exact-size so ASan sees any
 * read past limit. */
static void log_record_cut_short_is_short(void)
{
    uint8_t *p;
    size_t n = record_make(&p, "some key", 8, "some value here", 15, 0);
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        CHECK(copy != NULL);
        memcpy(copy, p, cut);
        log_record rec;
        uint64_t size = 0;
        const char *why = NULL;
        int r = log_record_decode(copy, copy + cut, &rec, &size, &why);
        free(copy);
        CHECK_MSG(r == LOG_DECODE_SHORT, "cut at %zu: result %d", cut, r);
        if (cut >= LOG_RECORD_HEADER)
            CHECK_EQ(size, n);
        else
            CHECK(size >= LOG_RECORD_HEADER);
    }
    free(p);
}

static void log_record_zero_key_length_is_bad(void)
{
    uint8_t *p;
    size_t n = record_make(&p, "k", 1, "v", 1, 0);
    coding_put_u16(p + 4, 0);
    log_record rec;
    uint64_t size = 0;
    const char *why = NULL;
    CHECK_EQ(log_record_decode(p, p + n, &rec, &size, &why), LOG_DECODE_BAD);
    CHECK(why != NULL && why[0] != '\0');
    free(p);
}

static void log_record_value_over_limit_is_bad(void)
{
    uint8_t h[LOG_RECORD_HEADER + 1];
    log_record_header(h, "k", 1, "", 0, 0);
    h[LOG_RECORD_HEADER] = 'k';
    coding_put_u32(h + 6, KV_MAX_VALUE + 1);
    log_record rec;
    uint64_t size = 0;
    const char *why = NULL;
    CHECK_EQ(log_record_decode(h, h + sizeof h, &rec, &size, &why), LOG_DECODE_BAD);
    CHECK(why != NULL && why[0] != '\0');
    /* 0xFFFFFFFE: the largest non-tombstone length. */
    coding_put_u32(h + 6, 0xFFFFFFFEu);
    why = NULL;
    CHECK_EQ(log_record_decode(h, h + sizeof h, &rec, &size, &why), LOG_DECODE_BAD);
    CHECK(why != NULL && why[0] != '\0');
    /* Exactly the limit is a sane length: the record is merely cut short. */
    coding_put_u32(h + 6, KV_MAX_VALUE);
    CHECK_EQ(log_record_decode(h, h + sizeof h, &rec, &size, &why), LOG_DECODE_SHORT);
    CHECK_EQ(size, LOG_RECORD_HEADER + 1 + (uint64_t)KV_MAX_VALUE);
}

/* No single damaged byte is accepted: outside the length fields it is a
 * checksum mismatch; inside them the lengths may also turn impossible or
 * point past the end. */
static void log_record_every_flipped_byte_is_rejected(void)
{
    static const uint8_t masks[] = {0x01, 0x10, 0x80, 0xFF};
    uint8_t *p;
    size_t n = record_make(&p, "flip-key", 8, "flip value \0 with a NUL", 23, 0);
    for (size_t i = 0; i < n; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            p[i] ^= masks[m];
            log_record rec;
            uint64_t size = 0;
            const char *why = NULL;
            int r = log_record_decode(p, p + n, &rec, &size, &why);
            p[i] ^= masks[m];
            CHECK_MSG(r != LOG_DECODE_OK, "byte %zu ^ 0x%02x accepted", i, masks[m]);
            if (i < 4 || i >= LOG_RECORD_HEADER) {
                CHECK_MSG(r == LOG_DECODE_BAD && why != NULL && strstr(why, "checksum"),
                          "byte %zu ^ 0x%02x: result %d, why \"%s\"", i, masks[m], r,
                          why ? why : "(null)");
            }
        }
    }
    free(p);
}

static void log_record_largest_key_fits(void)
{
    size_t klen = KV_MAX_KEY;
    char *key = malloc(klen);
    CHECK(key != NULL);
    memset(key, 'K', klen);
    uint8_t *p;
    size_t n = record_make(&p, key, klen, "v", 1, 0);
    log_record rec;
    uint64_t size = 0;
    const char *why = NULL;
    CHECK_EQ(log_record_decode(p, p + n, &rec, &size, &why), LOG_DECODE_OK);
    CHECK_EQ(rec.klen, KV_MAX_KEY);
    CHECK_MEM(rec.key, rec.klen, key, klen);
    free(p);
    free(key);
}

static const harness_test tests[] = {
    HARNESS_TEST(log_record_decodes_put),
    HARNESS_TEST(log_record_decodes_delete),
    HARNESS_TEST(log_record_decodes_empty_value),
    HARNESS_TEST(log_record_decodes_back_to_back),
    HARNESS_TEST(log_record_cut_short_is_short),
    HARNESS_TEST(log_record_zero_key_length_is_bad),
    HARNESS_TEST(log_record_value_over_limit_is_bad),
    HARNESS_TEST(log_record_every_flipped_byte_is_rejected),
    HARNESS_TEST(log_record_largest_key_fits),
};
const harness_suite log_record_suite = HARNESS_SUITE("log_record", tests);
