/*
 * batch_test.c: exercise batch, wal_batch_encode and wal_batch_decode
 * (stages/03-wal/wal/wal_batch.c): a batch of puts and deletes as one log
 * record's payload.
 */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "coding.h"
#include "exercise.h"
#include "kv.h"
#include "wal_batch.h"

typedef struct got_ops {
    int n;
    batch_op ops[8];
    size_t idx[8];
} got_ops;

static int collect(void *ctx, size_t i, const batch_op *op)
{
    got_ops *g = ctx;
    if (g->n < 8) {
        g->ops[g->n] = *op;
        g->idx[g->n] = i;
    }
    g->n++;
    return 0;
}

static const batch_op sample[] = {
    {.key = "alpha", .klen = 5, .val = "one", .vlen = 3},
    {.key = "beta", .klen = 4, .is_delete = 1},
    {.key = "g", .klen = 1, .val = "", .vlen = 0},
};

static void batch_encodes_the_byte_table(void)
{
    uint8_t buf[64];
    memset(buf, 0xAA, sizeof buf);
    harness_context("wal_batch_encode of 3 ops (put alpha = one, delete beta, put g = \"\") into "
                    "64 bytes: count, then type, key_len, value_len (puts), key, value; exactly "
                    "wal_batch_size bytes");
    uint8_t *end = wal_batch_encode(buf, sample, 3);
    static const uint8_t want[] = {3, 1, 5, 3, 'a', 'l', 'p', 'h', 'a', 'o', 'n', 'e',
                                   2, 4, 'b', 'e', 't', 'a', 1, 1, 0, 'g'};
    EX_CHECK(end - buf == (long)sizeof want,
             EX_RULE(1, "the encoding") "the payload of these 3 ops takes %zu bytes "
             "(wal_batch.h's table; got %ld)",
             sizeof want, (long)(end - buf));
    EX_CHECK(memcmp(buf, want, sizeof want) == 0,
             EX_RULE(1, "the encoding") "count (varint), then per op: type (1 put, 2 delete), "
             "key_len, value_len (a put "
             "only), key, value (a put only)");
    EX_CHECK((uint64_t)(end - buf) == wal_batch_size(sample, 3),
             EX_RULE(1, "the end returned") "wal_batch_encode writes exactly wal_batch_size bytes");
}

static void batch_round_trip(void)
{
    uint8_t buf[64];
    harness_context("wal_batch_encode of 3 ops (put alpha = one, delete beta, put g = \"\") into "
                    "64 bytes");
    uint8_t *end = wal_batch_encode(buf, sample, 3);
    uint8_t *p = ex_guarded_copy(buf, (size_t)(end - buf));
    got_ops g = {0};
    size_t count = 0;
    const char *why = NULL;
    harness_context("wal_batch_decode of a 3-op batch (put alpha, delete beta, put g) ending "
                    "exactly at limit: fn once per op, in order; nothing read past limit");
    int rc = wal_batch_decode(p, p + (end - buf), collect, &g, &count, &why);
    EX_CHECK(rc == 0, EX_RULE(5, "a batch decoded") "a batch decodes: 0 (got %d, why %s)", rc, why ? why : "-");
    EX_CHECK(count == 3 && g.n == 3, EX_RULE(5, "fn for each op, in order") "*count is 3 and fn "
             "is called once per op, in order");
    for (int i = 0; i < 3; i++) {
        EX_CHECK(g.idx[i] == (size_t)i, EX_RULE(5, "fn for each op, in order") "fn gets each "
                 "op's index");
        EX_CHECK(g.ops[i].is_delete == sample[i].is_delete && g.ops[i].klen == sample[i].klen &&
                     memcmp(g.ops[i].key, sample[i].key, sample[i].klen) == 0,
                 "op %d comes back with its type and key", i);
        EX_CHECK(sample[i].is_delete ? g.ops[i].val == NULL
                                     : g.ops[i].vlen == sample[i].vlen &&
                                           memcmp(g.ops[i].val, sample[i].val, sample[i].vlen) == 0,
                 "op %d: a put's value comes back, a delete's is NULL", i);
    }
}

/* A payload that must be refused: -1, why set, fn never called. */
static void refused(const uint8_t *bytes, size_t n, const char *rule)
{
    uint8_t *p = ex_guarded_copy(bytes, n);
    got_ops g = {0};
    const char *why = NULL;
    harness_context("wal_batch_decode of %zu bytes that break the rule: %s; refuse them (-1, "
                    "*why) before fn is called, reading nothing past limit", n, rule);
    int rc = wal_batch_decode(p, p + n, collect, &g, NULL, &why);
    EX_CHECK(rc == -1, "%s: -1 (got %d)", rule, rc);
    EX_CHECK(why != NULL, "%s: *why says what is wrong", rule);
    EX_CHECK(g.n == 0, EX_RULE(7, "all or nothing") "fn is never called before the whole "
             "batch checked out (all or nothing: %d ops were handed out of a batch refused, as "
             "it must be, for this: %s)", g.n, rule);
}

static void batch_refuses_what_is_not_a_batch(void)
{
    uint8_t buf[64];
    harness_context("wal_batch_encode of 3 ops into 64 bytes, the batch then damaged for each "
                    "rule");
    uint8_t *end = wal_batch_encode(buf, sample, 3);
    size_t n = (size_t)(end - buf);
    refused(buf, 0, EX_RULE(2, "a count of at least 1") "an empty payload has no op count");
    uint8_t zero[] = {0};
    refused(zero, 1, EX_RULE(2, "a count of at least 1") "a count of 0 is no batch (a marker "
            "starts with 0)");
    refused(buf, n - 1, EX_RULE(3, "each op within [p, limit)") "the last op cut short: an op "
            "that runs past the end of its batch");
    uint8_t more[64];
    memcpy(more, buf, n);
    more[n] = 7;
    refused(more, n + 1, EX_RULE(4, "nothing after the last op") "bytes after the last op");
    memcpy(more, buf, n);
    more[0] = 4;
    refused(more, n, EX_RULE(3, "each op within [p, limit)") "fewer ops than the count says");
    memcpy(more, buf, n);
    more[1] = 3;
    refused(more, n, EX_RULE(3, "a known type") "an unknown op type (3)");
    uint8_t zk[] = {1, 1, 0, 1, 'v'};
    refused(zk, sizeof zk, EX_RULE(3, "lengths in range") "a key length of 0");
    uint8_t bigk[16] = {1, 2};
    uint8_t *q = coding_put_varint32(bigk + 2, 65536);
    refused(bigk, (size_t)(q - bigk) + 1, EX_RULE(3, "lengths in range") "a key length over 65535");
    uint8_t bigv[16] = {1, 1, 1};
    q = coding_put_varint32(bigv + 3, KV_MAX_VALUE + 1);
    *q++ = 'k';
    refused(bigv, (size_t)(q - bigv), EX_RULE(3, "lengths in range") "a value length over 64 MiB");
    uint8_t cut[] = {1, 1, 0x85};
    refused(cut, sizeof cut, EX_RULE(3, "each op within [p, limit)") "a key length whose varint "
            "runs past the end");
}

static int stop_at_one(void *ctx, size_t i, const batch_op *op)
{
    (void)op;
    int *calls = ctx;
    (*calls)++;
    return i == 1 ? 7 : 0;
}

static const char *refused_why(const uint8_t *bytes, size_t n)
{
    uint8_t *p = ex_guarded_copy(bytes, n);
    const char *why = NULL;
    harness_context("wal_batch_decode of %zu bytes that are no batch, fn NULL: -1 with *why, fn "
                    "never called; nothing read past limit", n);
    EX_CHECK(wal_batch_decode(p, p + n, NULL, NULL, NULL, &why) == -1 && why != NULL,
             "test setup: the batch is refused, with *why");
    return why;
}

static void batch_why_says_what_is_wrong(void)
{
    uint8_t buf[64];
    harness_context("wal_batch_encode of 3 ops into 64 bytes, then fewer ops than the count and an "
                    "unknown op type, each refused with its own *why");
    uint8_t *end = wal_batch_encode(buf, sample, 3);
    size_t n = (size_t)(end - buf);
    uint8_t more[64];
    memcpy(more, buf, n);
    more[0] = 4;
    const char *fewer = refused_why(more, n);
    memcpy(more, buf, n);
    more[1] = 3;
    const char *unknown = refused_why(more, n);
    EX_CHECK(strcmp(fewer, unknown) != 0,
             EX_RULE(6, "*why names what is wrong") "*why says what is wrong: a batch that ends "
             "before the ops its count announces "
             "(fewer ops than the count) is told apart from an op of an unknown type (both "
             "got \"%s\")", fewer);
    /* A key length of 0 (then a value length and a byte), and a whole
     * batch with a byte after its last op: the first is refused at its
     * key length, where wal_batch_op stops (-1), not later for what is
     * left behind it. */
    uint8_t zk[] = {1, 1, 0, 1, 'v'};
    const char *zero_key = refused_why(zk, sizeof zk);
    memcpy(more, buf, n);
    more[n] = 7;
    const char *after = refused_why(more, n + 1);
    EX_CHECK(strcmp(zero_key, after) != 0,
             EX_RULE(6, "*why names what is wrong") "*why says what is wrong: an op whose key "
             "length is 0 is refused for its key "
             "length (wal_batch_op returns -1 there), told apart from bytes after the last op "
             "(both got \"%s\")", after);
    /* The last op cut short: refused where its key and value run past
     * the end, not later as if bytes were left over. */
    const char *cut_short = refused_why(buf, n - 1);
    EX_CHECK(strcmp(cut_short, after) != 0,
             EX_RULE(6, "*why names what is wrong") "*why says what is wrong: an op whose key "
             "and value run past the end of its batch "
             "is refused there (wal_batch_op returns -1 before it moves past them), told apart "
             "from bytes after the last op (both got \"%s\")", after);
}

static void batch_callback_answer_stops_the_walk(void)
{
    uint8_t buf[64];
    harness_context("wal_batch_encode of 3 ops, then wal_batch_decode with an fn that answers 7 at "
                    "op 1: the walk stops there and returns fn's answer");
    uint8_t *end = wal_batch_encode(buf, sample, 3);
    int calls = 0;
    const char *why = NULL;
    int rc = wal_batch_decode(buf, end, stop_at_one, &calls, NULL, &why);
    EX_CHECK(rc == 7 && calls == 2,
             "when fn returns non-zero (7, at op 1) the walk stops there and wal_batch_decode "
             "returns fn's answer: replay must not apply ops after a failed one, nor call the "
             "batch applied (got %d after %d calls)", rc, calls);
}

static const harness_test batch_tests[] = {
    HARNESS_TEST(batch_encodes_the_byte_table),
    HARNESS_TEST(batch_round_trip),
    HARNESS_TEST(batch_refuses_what_is_not_a_batch),
    HARNESS_TEST(batch_why_says_what_is_wrong),
    HARNESS_TEST(batch_callback_answer_stops_the_walk),
};
const harness_suite batch_suite = HARNESS_SUITE("batch", batch_tests);
