/*
 * command_test.c: the command format (command.h): what is built parses
 * back op for op; every bound is refused when building and when reading;
 * no prefix of a command, no byte changed in its header and nothing after
 * its last op parses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "command.h"

/* Whether msg holds the whole number n (not as part of a longer one): a
 * refusal is checked for what it names, an offset here, never for its
 * words. */
static int names_number(const char *msg, unsigned long long n)
{
    for (const char *p = msg; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || (p > msg && p[-1] >= '0' && p[-1] <= '9'))
            continue;
        if (strtoull(p, NULL, 10) == n)
            return 1;
    }
    return 0;
}

/* if_value(a, 1), if_absent(b), put(c, 3), delete(d) */
static command *sample(void)
{
    command *c = NULL;
    CHECK_KV(command_new(&c), KV_OK);
    CHECK_KV(command_if_value(c, "a", 1, "1", 1), KV_OK);
    CHECK_KV(command_if_absent(c, "b", 1), KV_OK);
    CHECK_KV(command_put(c, "c", 1, "3", 1), KV_OK);
    CHECK_KV(command_delete(c, "d", 1), KV_OK);
    return c;
}

static void what_is_built_parses_back(void)
{
    command *c = sample();
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    CHECK_MSG(len == 72 && COMMAND_HEADER + (9 + 2) + (5 + 1) + (9 + 2) + (5 + 1) == 72,
              "a command of four ops takes its header and each op's kind, lengths, key and "
              "value, 72 bytes, a multiple of 8 already (got %zu bytes)", len);
    command_reader r;
    CHECK_KV(command_parse(p, len, &r), KV_OK);
    CHECK_MSG(r.conditions == 2 && r.writes == 2, "two conditions then two writes (got %u, %u)",
              r.conditions, r.writes);
    const int kinds[] = {COMMAND_IF_VALUE, COMMAND_IF_ABSENT, COMMAND_PUT, COMMAND_DELETE};
    const char *keys = "abcd";
    command_op op;
    for (int i = 0; i < 4; i++) {
        CHECK_MSG(command_next(&r, &op) == 1, "op %d is there", i);
        CHECK_MSG(op.kind == kinds[i] && op.klen == 1 && op.key[0] == keys[i],
                  "op %d is kind %d on key %c (got kind %d)", i, kinds[i], keys[i], op.kind);
        if (kinds[i] == COMMAND_IF_VALUE || kinds[i] == COMMAND_PUT)
            CHECK_MSG(op.vlen == 1 && op.val[0] == (i == 0 ? '1' : '3'), "op %d's value", i);
    }
    CHECK_MSG(command_next(&r, &op) == 0, "nothing after the fourth op");
    command_free(c);
}

static void bounds_are_refused_when_building(void)
{
    command *c = NULL;
    CHECK_KV(command_new(&c), KV_OK);
    CHECK_KV(command_put(c, "", 0, "v", 1), KV_ERR_INVALID);
    CHECK_KV(command_put(c, COMMAND_RESERVED "applied", COMMAND_RESERVED_LEN + 7, "v", 1),
             KV_ERR_INVALID);
    CHECK_KV(command_put(c, "k", 1, "v", 1), KV_OK);
    CHECK_KV(command_if_absent(c, "k", 1), KV_ERR_INVALID); /* after a write */
    size_t len;
    command_bytes(c, &len);
    CHECK_MSG(len == 56, "a refused op leaves the command as it was: 38 + 11 bytes, padded to "
              "56 (got %zu bytes)", len);
    command_free(c);
}

static void no_prefix_parses(void)
{
    command *c = sample();
    CHECK_KV(command_read(c, "e", 1), KV_OK); /* 78 bytes: 2 of padding */
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n + 1); /* exactly n bytes are the command's */
        memcpy(copy, p, n);
        command_reader r;
        CHECK_MSG(command_parse(copy, n, &r) == KV_ERR_CORRUPT,
                  "a command cut to %zu of its %zu bytes is refused as corrupt", n, len);
        free(copy);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, p, len);
    longer[len] = 0;
    command_reader r;
    CHECK_MSG(command_parse(longer, len + 1, &r) == KV_ERR_CORRUPT,
              "a byte after the padding is refused");
    CHECK_MSG(command_parse(p, len - 2, &r) == KV_ERR_CORRUPT,
              "the command without its padding is refused: libraft keeps multiples of 8");
    uint8_t *dirty = malloc(len);
    memcpy(dirty, p, len);
    dirty[len - 1] = 1;
    CHECK_MSG(command_parse(dirty, len, &r) == KV_ERR_CORRUPT, "padding that is not zeros is "
              "refused");
    free(dirty);
    CHECK_MSG(strpbrk(kv_errmsg(), "0123456789") != NULL, "the message names the offset, a "
              "number (in any words: command_parse is an exercise's) (got %s)", kv_errmsg());
    free(longer);
    command_free(c);
}

/* Each change breaks one rule of command.h: parse must say corrupt. */
static void a_changed_header_or_op_is_refused(void)
{
    command *c = sample();
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    struct {
        size_t at;
        uint8_t to;
        const char *rule;
    } changes[] = {
        {0, 2, "version 2 is none (2 is a member note's first byte)"},
        {0, 6, "version 6 is not this format's"},
        {0, 3, "version 3 has no term: its ops would start where this one's term is"},
        {0, 4, "version 4 has no R: its ops would start where this one's R is"},
        {34, 1, "one read the ops do not hold (C1)"},
        {1, 1, "the reserved byte is 0"},
        {2, 3, "three conditions, but op 2 is a write (C1)"},
        {2, 1, "one condition, but op 1 is a condition (C1)"},
        {6, 3, "three writes where two are (C2: the ops tile the bytes)"},
        {8, 0x10, "2 + 2^20 writes, more than one kv_write holds"},
        {COMMAND_HEADER, 7, "kind 7 is none"},
        {COMMAND_HEADER + 1, 0, "a key of 0 bytes"},
        {COMMAND_HEADER + 5, 9, "a value longer than the bytes left"},
    };
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, p, len);
        copy[changes[i].at] = changes[i].to;
        command_reader r;
        CHECK_MSG(command_parse(copy, len, &r) == KV_ERR_CORRUPT,
                  "byte %zu set to %u is refused: %s", changes[i].at, changes[i].to,
                  changes[i].rule);
        free(copy);
    }
    command_free(c);
}

static void a_reserved_key_is_refused_when_read(void)
{
    command *c = NULL;
    CHECK_KV(command_new(&c), KV_OK);
    CHECK_KV(command_put(c, "\xfe\xffkv.replica:applied", COMMAND_RESERVED_LEN + 7, "v", 1),
             KV_OK);
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    uint8_t *copy = malloc(len);
    memcpy(copy, p, len);
    copy[COMMAND_HEADER + 9] = 0xff; /* the key now starts with the reserved prefix */
    command_reader r;
    CHECK_MSG(command_parse(copy, len, &r) == KV_ERR_CORRUPT,
              "a write of a key of the replica's own is refused (C3)");
    free(copy);
    command_free(c);
}

/* More writes than one kv_write holds: refused when built, and in a
 * header when read, naming the limit. */
static void more_writes_than_a_kv_write_holds_are_refused(void)
{
    command *c = NULL;
    CHECK_KV(command_new(&c), KV_OK);
    char k[16];
    unsigned i = 0;
    int rc = KV_OK;
    for (; rc == KV_OK && i < KV_MAX_BATCH_OPS; i++) {
        int n = snprintf(k, sizeof k, "%u", i);
        rc = command_delete(c, k, (size_t)n);
    }
    CHECK_MSG(rc == KV_ERR_INVALID && i - 1 == KV_MAX_BATCH_OPS - 1,
              "%u writes go in, the next is refused (refused: write %u)", KV_MAX_BATCH_OPS - 1,
              i);
    CHECK_MSG(strstr(kv_errmsg(), "more than one kv_write holds") != NULL, "saying why (%s)",
              kv_errmsg());
    command_free(c);
    c = sample();
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    uint8_t *copy = malloc(len);
    memcpy(copy, p, len);
    copy[8] = 0x10; /* writes: 2 + 2^20 */
    command_reader r;
    CHECK_KV(command_parse(copy, len, &r), KV_ERR_CORRUPT);
    CHECK_MSG(strstr(kv_errmsg(), "1048578") != NULL && strstr(kv_errmsg(), "1048575") != NULL,
              "the message names the header's count and the limit, in any words (got %s)",
              kv_errmsg());
    free(copy);
    command_free(c);
}

/* Who proposed a command travels in it: set, it reads back, from the
 * whole parse and from the header alone. */
static void the_origin_travels_in_the_command(void)
{
    command *c = sample();
    command_set_origin(c, (command_origin){7, 0x0123456789abcdefull, 0xfedcba9876543210ull});
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    command_reader r;
    CHECK_KV(command_parse(p, len, &r), KV_OK);
    CHECK_MSG(r.origin.member == 7 && r.origin.serial == 0x0123456789abcdefull &&
                  r.origin.term == 0xfedcba9876543210ull,
              "the parse reads the origin back (got %llu, %llx, %llx)",
              (unsigned long long)r.origin.member, (unsigned long long)r.origin.serial,
              (unsigned long long)r.origin.term);
    command_head h;
    CHECK_KV(command_head_read(p, len, &h), KV_OK);
    CHECK_MSG(h.origin.member == 7 && h.origin.serial == 0x0123456789abcdefull &&
                  h.origin.term == 0xfedcba9876543210ull && h.conditions == 2 && h.writes == 2,
              "the header alone says the origin and the counts");
    CHECK_KV(command_head_read(p, COMMAND_HEADER - 1, &h), KV_ERR_CORRUPT);
    command_free(c);
}

/* A version 3 command, written before the origin carried its term: its
 * ops start after its 26-byte header, and its origin reads with term 0,
 * which no leader's is (C5), so it answers no waiting write. */
static void a_version_3_command_has_no_term(void)
{
    uint8_t v3[40] = {3, 0, 0, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0,
                      0, 0, COMMAND_PUT, 1, 0, 0, 0, 1, 0, 0, 0, 'k', 'v'};
    command_reader r;
    command_op op;
    CHECK_KV(command_parse(v3, sizeof v3, &r), KV_OK);
    CHECK_MSG(r.writes == 1 && r.origin.member == 7 && r.origin.serial == 9 &&
                  r.origin.term == 0 && command_next(&r, &op) && op.kind == COMMAND_PUT &&
                  op.key[0] == 'k' && op.val[0] == 'v' && !command_next(&r, &op),
              "a version 3 command parses: member 7, serial 9, term 0, its put");
    command_head h;
    CHECK_KV(command_head_read(v3, sizeof v3, &h), KV_OK);
    CHECK_MSG(h.origin.member == 7 && h.origin.serial == 9 && h.origin.term == 0 && h.writes == 1,
              "its header alone reads the same");
    CHECK_KV(command_head_read(v3, COMMAND_HEADER_V3 - 1, &h), KV_ERR_CORRUPT);
}

/* A version 4 command, written before commands carried reads: its ops
 * start after its 34-byte header, its origin has a term, and it has no
 * reads. */
static void a_version_4_command_has_no_reads(void)
{
    uint8_t v4[48] = {4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0,
                      0, 0, 5, 0, 0, 0, 0, 0, 0, 0, COMMAND_PUT, 1, 0, 0, 0, 1, 0, 0, 0, 'k',
                      'v'};
    command_reader r;
    command_op op;
    CHECK_KV(command_parse(v4, sizeof v4, &r), KV_OK);
    CHECK_MSG(r.writes == 1 && r.reads == 0 && r.origin.member == 7 && r.origin.serial == 9 &&
                  r.origin.term == 5 && command_next(&r, &op) && op.kind == COMMAND_PUT &&
                  op.key[0] == 'k' && op.val[0] == 'v' && !command_next(&r, &op),
              "a version 4 command parses: member 7, serial 9, term 5, its put, no reads");
    command_head h;
    CHECK_KV(command_head_read(v4, sizeof v4, &h), KV_OK);
    CHECK_MSG(h.origin.term == 5 && h.writes == 1 && h.reads == 0,
              "its header alone reads the same");
    v4[34] = COMMAND_READ; /* a read, which version 4 does not have (C5) */
    CHECK_KV(command_parse(v4, sizeof v4, &r), KV_ERR_CORRUPT);
    CHECK_MSG(names_number(kv_errmsg(), 34), "naming the op's offset (got %s)",
              kv_errmsg());
}

/* Reads (a GET inside EXEC) go among the writes, in the order they take
 * effect, counted apart in R; a condition after one is refused, and the
 * header's counts must match the ops' kinds. */
static void reads_go_among_the_writes(void)
{
    command *c = NULL;
    CHECK_KV(command_new(&c), KV_OK);
    CHECK_KV(command_if_absent(c, "w", 1), KV_OK);
    CHECK_KV(command_put(c, "k", 1, "v", 1), KV_OK);
    CHECK_KV(command_read(c, "k", 1), KV_OK);
    CHECK_KV(command_delete(c, "k", 1), KV_OK);
    CHECK_KV(command_read(c, "k", 1), KV_OK);
    CHECK_KV(command_if_absent(c, "x", 1), KV_ERR_INVALID); /* after a read */
    CHECK_KV(command_read(c, "", 0), KV_ERR_INVALID);
    CHECK_KV(command_read(c, COMMAND_RESERVED "applied", COMMAND_RESERVED_LEN + 7),
             KV_ERR_INVALID);
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    command_reader r;
    CHECK_KV(command_parse(p, len, &r), KV_OK);
    CHECK_MSG(r.conditions == 1 && r.writes == 2 && r.reads == 2,
              "one condition, two writes, two reads (got %u, %u, %u)", r.conditions, r.writes,
              r.reads);
    const int kinds[] = {COMMAND_IF_ABSENT, COMMAND_PUT, COMMAND_READ, COMMAND_DELETE,
                         COMMAND_READ};
    command_op op;
    for (int i = 0; i < 5; i++)
        CHECK_MSG(command_next(&r, &op) && op.kind == kinds[i] && op.klen == 1 &&
                      (op.kind != COMMAND_READ || op.val == NULL),
                  "op %d is of kind %d, in the order built", i, kinds[i]);
    CHECK_MSG(command_next(&r, &op) == 0, "nothing after the fifth op");
    command_head h;
    CHECK_KV(command_head_read(p, len, &h), KV_OK);
    CHECK_MSG(h.reads == 2 && h.writes == 2, "the header alone says two reads, two writes");
    /* Counts that do not match the kinds: one write and three reads, two
     * writes and one read (the ops are the same). */
    uint8_t *copy = malloc(len);
    memcpy(copy, p, len);
    copy[6] = 1;
    copy[34] = 3;
    CHECK_KV(command_parse(copy, len, &r), KV_ERR_CORRUPT);
    CHECK_MSG(names_number(kv_errmsg(), 61), "naming the second write, at offset "
              "61 (got %s)", kv_errmsg());
    memcpy(copy, p, len);
    copy[34] = 1;
    copy[2] = 2;
    CHECK_KV(command_parse(copy, len, &r), KV_ERR_CORRUPT);
    memcpy(copy, p, len);
    copy[37] = 0x10; /* R past COMMAND_MAX_READS */
    CHECK_KV(command_parse(copy, len, &r), KV_ERR_CORRUPT);
    CHECK_MSG(names_number(kv_errmsg(), 34), "naming R's offset (got %s)",
              kv_errmsg());
    free(copy);
    command_free(c);
}

/* Puts of kinds 4 and 5 (SET NX, SET XX) are writes of version 3 on; a
 * version 1 command, written before they were, has neither (C5), and its
 * ops start after its 10-byte header. */
static void conditional_puts_and_version_1(void)
{
    command *c = NULL;
    CHECK_KV(command_new(&c), KV_OK);
    CHECK_KV(command_put_when(c, COMMAND_PUT_IF_ABSENT, "a", 1, "1", 1), KV_OK);
    CHECK_KV(command_put_when(c, COMMAND_PUT_IF_PRESENT, "b", 1, "2", 1), KV_OK);
    CHECK_KV(command_put_when(c, COMMAND_DELETE, "c", 1, "", 0), KV_ERR_INVALID);
    size_t len;
    const uint8_t *p = command_bytes(c, &len);
    command_reader r;
    CHECK_KV(command_parse(p, len, &r), KV_OK);
    CHECK_MSG(r.writes == 2 && r.conditional_writes == 2, "two conditional puts (got %u, %u)",
              r.writes, r.conditional_writes);
    command_op op;
    CHECK_MSG(command_next(&r, &op) && op.kind == COMMAND_PUT_IF_ABSENT && op.vlen == 1 &&
                  command_next(&r, &op) && op.kind == COMMAND_PUT_IF_PRESENT && op.val[0] == '2',
              "each reads back with its kind and value");
    command_free(c);
    /* A version 1 command: its header, then one put, and the same with a
     * put of kind 4, which version 1 does not have. */
    uint8_t v1[24] = {1, 0, 0, 0, 0, 0, 1, 0, 0, 0, COMMAND_PUT, 1, 0, 0, 0, 1, 0, 0, 0, 'k',
                      'v'};
    CHECK_KV(command_parse(v1, sizeof v1, &r), KV_OK);
    CHECK_MSG(r.writes == 1 && r.origin.member == 0 && command_next(&r, &op) &&
                  op.kind == COMMAND_PUT && op.key[0] == 'k' && op.val[0] == 'v',
              "a version 1 command parses, with no origin");
    v1[10] = COMMAND_PUT_IF_ABSENT;
    CHECK_KV(command_parse(v1, sizeof v1, &r), KV_ERR_CORRUPT);
    CHECK_MSG(names_number(kv_errmsg(), 10), "naming the op's offset (got %s)",
              kv_errmsg());
}

static const harness_test tests[] = {
    HARNESS_TEST(the_origin_travels_in_the_command),
    HARNESS_TEST(conditional_puts_and_version_1),
    HARNESS_TEST(a_version_3_command_has_no_term),
    HARNESS_TEST(a_version_4_command_has_no_reads),
    HARNESS_TEST(reads_go_among_the_writes),
    HARNESS_TEST(what_is_built_parses_back),
    HARNESS_TEST(bounds_are_refused_when_building),
    HARNESS_TEST(no_prefix_parses),
    HARNESS_TEST(a_changed_header_or_op_is_refused),
    HARNESS_TEST(a_reserved_key_is_refused_when_read),
    HARNESS_TEST(more_writes_than_a_kv_write_holds_are_refused),
};
const harness_suite command_suite = HARNESS_SUITE("command", tests);
