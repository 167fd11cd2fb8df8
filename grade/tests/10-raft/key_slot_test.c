/*
 * key_slot_test.c: exercise key_slot, key_slot_crc16 and key_slot
 * (stages/10-raft/member/key_slot.c): a key's slot as every Redis
 * Cluster client computes it, so that a member's -MOVED names the slot
 * the client files the leader under.  The expected slots are those
 * Debian's redis-server 7.0 answers to CLUSTER KEYSLOT for the same keys.
 */
#include <string.h>

#include "exercise.h"
#include "key_slot.h"

static unsigned slot_of(const char *k)
{
    harness_context("key_slot(\"%s\", %zu bytes): CRC16 (XMODEM) of the key, or of its hash tag, "
                    "modulo 16384; only k[0..n) is read", k, strlen(k));
    return key_slot(k, strlen(k));
}

static void key_slot_crc16_is_xmodem(void)
{
    EX_RULE_BEGIN(1, "CRC16 is XMODEM's, polynomial 0x1021");
    harness_context("key_slot_crc16 of \"123456789\", of no bytes, then of ff 00 80: XMODEM "
                    "(polynomial 0x1021, initial 0, no reflection, no final xor), each byte "
                    "unsigned");
    unsigned got = key_slot_crc16((const unsigned char *)"123456789", 9);
    EX_CHECK(got == 0x31c3, "CRC16 of \"123456789\" is 0x31c3, XMODEM's check value "
             "(polynomial 0x1021, initial value 0, no reflection, no final xor) (got 0x%04x)",
             got);
    got = key_slot_crc16((const unsigned char *)"", 0);
    EX_CHECK(got == 0, "CRC16 of no bytes is the initial value, 0 (got 0x%04x)", got);
    static const unsigned char high[] = {0xff, 0x00, 0x80};
    got = key_slot_crc16(high, sizeof high);
    EX_CHECK(got == 0x5eeb, "CRC16 of the bytes ff 00 80 is 0x5eeb: each byte taken as "
             "unsigned, shifted into the top of the 16 bits (got 0x%04x)", got);
}

static void key_slot_of_plain_keys(void)
{
    EX_RULE_BEGIN(2, "the slot is the CRC16 of the whole key modulo 16384");
    static const struct {
        const char *key;
        unsigned slot;
    } cases[] = {{"foo", 12182}, {"bar", 5061}, {"hello", 866}, {"123456789", 12739}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned got = slot_of(cases[i].key);
        EX_CHECK(got == cases[i].slot, "the slot of \"%s\" is CRC16 of the key modulo 16384: "
                 "%u, as redis-server's CLUSTER KEYSLOT answers (got %u)", cases[i].key,
                 cases[i].slot, got);
    }
    harness_context("key_slot of the 3-byte key ff 00 80: over all its bytes, a zero byte among "
                    "them");
    unsigned got = key_slot("\xff\x00\x80", 3);
    EX_CHECK(got == 7915, "a key's slot is over all its bytes, a zero byte among them: the "
             "3-byte key ff 00 80 is in slot 7915 (got %u)", got);
}

static void key_slot_hash_tags(void)
{
    EX_RULE_BEGIN(2, "a hash tag: the bytes between the first '{' and the first '}' after it");
    static const struct {
        const char *key, *why;
        unsigned slot;
    } cases[] = {
        {"{user1000}.following", "the tag user1000 alone is hashed", 3443},
        {"user1000", "the key the tag of {user1000}.following names", 3443},
        {"foo{{bar}}zap", "the tag runs from the first '{' to the first '}' after it: {bar",
         4015},
        {"foo{bar}{zap}", "the first tag only: bar", 5061},
        {"foo{}{bar}", "an empty tag ({}) is no tag: the whole key is hashed", 8363},
        {"{", "a '{' with no '}' after it is no tag", 4092},
        {"}{a}", "a '}' before the first '{' does not close it: the tag is a", 15495},
        {"a{b", "a '{' with no '}' after it is no tag: the whole key", 13340},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned got = slot_of(cases[i].key);
        EX_CHECK(got == cases[i].slot, "the slot of \"%s\" is %u: %s (got %u)", cases[i].key,
                 cases[i].slot, cases[i].why, got);
    }
}

static void key_slot_reads_the_key_only(void)
{
    EX_RULE_BEGIN(2, "the key is its n bytes, not a C string");
    /* The key is "a{b", 3 bytes; the byte after it in memory is a '}'. */
    const char buf[] = "a{b}";
    harness_context("key_slot(\"a{b\", 3) with a '}' after it in memory: k[0..n) only is read, so "
                    "no tag");
    unsigned got = key_slot(buf, 3);
    EX_CHECK(got == 13340, "key_slot(k, n) reads k[0..n) only: the 3-byte key \"a{b\" has no "
             "tag, though a '}' follows it in memory, and is in slot 13340 (got %u; slot "
             "3300, the tag b's, would mean a search past the key's end)", got);
}

static void key_slot_is_in_range(void)
{
    EX_RULE_BEGIN(2, "the slot is modulo 16384");
    char key[8];
    for (unsigned i = 0; i < 70000; i++) {
        size_t n = (size_t)(i % 7) + 1;
        for (size_t j = 0; j < n; j++)
            key[j] = (char)((i >> (3 * j)) * 31 + j);
        harness_context("key_slot of key %u of the sweep, %zu bytes: a slot is 0..16383", i, n);
        unsigned got = key_slot(key, n);
        EX_CHECK(got < KEY_SLOTS, "a slot is 0..16383 (key %u of the sweep got %u)", i, got);
    }
}

static const harness_test tests[] = {
    HARNESS_TEST(key_slot_crc16_is_xmodem),
    HARNESS_TEST(key_slot_of_plain_keys),
    HARNESS_TEST(key_slot_hash_tags),
    HARNESS_TEST(key_slot_reads_the_key_only),
    HARNESS_TEST(key_slot_is_in_range),
};
const harness_suite key_slot_suite = HARNESS_SUITE("key_slot", tests);
