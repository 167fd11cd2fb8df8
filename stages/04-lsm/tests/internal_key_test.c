/*
 * internal_key_test.c: the internal key's bytes, its order, its bounded
 * decoder, and lookup keys (internal_key.h).
 */
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "internal_key.h"
#include "kv.h"

static void encode_puts_trailer_after_user_key(void)
{
    uint8_t out[16];
    ikey_encode(out, "abc", 3, 0x0102030405, IKEY_PUT);
    /* trailer = seq << 8 | type, little-endian */
    const uint8_t want[] = {'a', 'b', 'c', 0x01, 0x05, 0x04, 0x03, 0x02, 0x01, 0x00, 0x00};
    CHECK_MEM(out, 11, want, sizeof want);
    ikey_parsed k;
    CHECK(ikey_decode(out, out + 11, &k));
    CHECK_MEM(k.user_key, k.user_len, "abc", 3);
    CHECK_EQ(k.seq, 0x0102030405);
    CHECK_EQ(k.type, IKEY_PUT);
    CHECK_EQ(ikey_seq(out, 11), 0x0102030405);
    CHECK_EQ(ikey_type_of(out, 11), IKEY_PUT);
}

static void largest_sequence_round_trips(void)
{
    uint8_t out[9];
    ikey_encode(out, "k", 1, IKEY_MAX_SEQ, IKEY_DELETE);
    ikey_parsed k;
    CHECK(ikey_decode(out, out + 9, &k));
    CHECK(k.seq == IKEY_MAX_SEQ);
    CHECK_EQ(k.type, IKEY_DELETE);
}

static void decode_rejects_short_keys_and_unknown_types(void)
{
    uint8_t out[16];
    ikey_parsed k;
    ikey_encode(out, "k", 1, 7, IKEY_PUT);
    for (size_t n = 0; n < 9; n++)
        CHECK(!ikey_decode(out + 9 - n, out + 9, &k));
    CHECK(!ikey_decode(out, out + 8, &k)); /* an empty user key */
    CHECK(!ikey_decode(out + 1, out, &k)); /* limit before p */
    out[1] = 3;                            /* type 3 */
    CHECK(!ikey_decode(out, out + 9, &k));
    out[1] = 0xff;
    CHECK(!ikey_decode(out, out + 9, &k));
}

static int cmp_keys(const char *a, uint64_t sa, ikey_type ta, const char *b, uint64_t sb,
                    ikey_type tb)
{
    uint8_t x[64], y[64];
    size_t la = strlen(a), lb = strlen(b);
    ikey_encode(x, a, la, sa, ta);
    ikey_encode(y, b, lb, sb, tb);
    int c = ikey_compare(x, la + 8, y, lb + 8);
    int r = ikey_compare(y, lb + 8, x, la + 8);
    CHECK((c < 0 && r > 0) || (c > 0 && r < 0) || (c == 0 && r == 0));
    return c;
}

static void order_is_user_key_then_newest_first(void)
{
    CHECK(cmp_keys("a", 1, IKEY_PUT, "b", 1, IKEY_PUT) < 0);
    CHECK(cmp_keys("a", 1, IKEY_PUT, "ab", 9, IKEY_PUT) < 0);   /* prefix first */
    CHECK(cmp_keys("ab", 1, IKEY_PUT, "b", 9, IKEY_PUT) < 0);
    CHECK(cmp_keys("k", 9, IKEY_PUT, "k", 1, IKEY_PUT) < 0);    /* newest first */
    CHECK(cmp_keys("k", 9, IKEY_DELETE, "k", 8, IKEY_PUT) < 0);
    CHECK(cmp_keys("k", 5, IKEY_PUT, "k", 5, IKEY_DELETE) < 0); /* put before delete */
    CHECK(cmp_keys("k", 5, IKEY_PUT, "k", 5, IKEY_PUT) == 0);
    /* A user key byte above 0x7f is larger (bytes are unsigned). */
    CHECK(cmp_keys("\x80", 1, IKEY_PUT, "\x7f", 1, IKEY_PUT) > 0);
    /* The trailer never breaks a tie between user keys: "a" (any
     * sequence) sorts before "a\x00". */
    CHECK(cmp_keys("a", 0, IKEY_DELETE, "a\x01", IKEY_MAX_SEQ, IKEY_PUT) < 0);
}

static void lookup_key_sorts_between_visible_and_invisible_versions(void)
{
    ikey_lookup lk;
    CHECK_KV(ikey_lookup_init(&lk, "key", 3, 10), KV_OK);
    size_t ilen, ulen;
    const uint8_t *ik = ikey_lookup_ikey(&lk, &ilen);
    const uint8_t *uk = ikey_lookup_user(&lk, &ulen);
    CHECK_MEM(uk, ulen, "key", 3);
    CHECK_EQ(ilen, 11);
    CHECK_EQ(ikey_lookup_entry(&lk)[0], 11); /* varint32 length in front */
    CHECK(ikey_lookup_entry(&lk) + 1 == ik);
    uint8_t v[16];
    ikey_encode(v, "key", 3, 10, IKEY_PUT);
    CHECK(ikey_compare(ik, ilen, v, 11) <= 0);
    ikey_encode(v, "key", 3, 10, IKEY_DELETE);
    CHECK(ikey_compare(ik, ilen, v, 11) < 0);
    ikey_encode(v, "key", 3, 9, IKEY_PUT);
    CHECK(ikey_compare(ik, ilen, v, 11) < 0);
    ikey_encode(v, "key", 3, 11, IKEY_DELETE);
    CHECK(ikey_compare(ik, ilen, v, 11) > 0);
    ikey_lookup_free(&lk);
}

static void lookup_key_of_the_largest_user_key(void)
{
    char *big = malloc(KV_MAX_KEY);
    CHECK(big != NULL);
    memset(big, 'z', KV_MAX_KEY);
    ikey_lookup lk;
    CHECK_KV(ikey_lookup_init(&lk, big, KV_MAX_KEY, IKEY_MAX_SEQ), KV_OK);
    CHECK(lk.buf != lk.space);
    size_t ilen, ulen;
    ikey_lookup_ikey(&lk, &ilen);
    CHECK_EQ(ilen, KV_MAX_KEY + 8);
    const uint8_t *uk = ikey_lookup_user(&lk, &ulen);
    CHECK_MEM(uk, ulen, big, KV_MAX_KEY);
    CHECK_EQ(ikey_lookup_entry(&lk)[0], 0x87); /* 65543 = 0x10007: 87 80 04 */
    CHECK_EQ(ikey_lookup_entry(&lk)[2], 0x04);
    ikey_lookup_free(&lk);
    free(big);
}

static const harness_test internal_key_tests[] = {
    HARNESS_TEST(encode_puts_trailer_after_user_key),
    HARNESS_TEST(largest_sequence_round_trips),
    HARNESS_TEST(decode_rejects_short_keys_and_unknown_types),
    HARNESS_TEST(order_is_user_key_then_newest_first),
    HARNESS_TEST(lookup_key_sorts_between_visible_and_invisible_versions),
    HARNESS_TEST(lookup_key_of_the_largest_user_key),
};
const harness_suite internal_key_suite = HARNESS_SUITE("internal_key", internal_key_tests);
