/*
 * command_decode_test.c: exercise command_decode, op_read, command_parse
 * and command_next (stages/10-raft/replica/command.c): a command's bytes
 * (command.h) checked whole, C1 to C4, inside the bytes given, and its ops
 * handed out in order.  The commands are built by the reference's builder
 * (command_new, command_put...) or byte by byte here, and parsed from
 * memory with an unreadable page right after them (ex_guarded).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "command.h"
#include "exercise.h"
#include "kv.h"

/* A command written byte by byte. */
typedef struct raw {
    uint8_t *p;
    size_t len, cap;
} raw;

static void raw_room(raw *w, size_t n)
{
    if (w->len + n <= w->cap)
        return;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n)
        cap *= 2;
    w->p = realloc(w->p, cap);
    EX_CHECK(w->p != NULL, "test setup: out of memory");
    w->cap = cap;
}

static void raw_bytes(raw *w, const void *p, size_t n)
{
    raw_room(w, n);
    if (n > 0)
        memcpy(w->p + w->len, p, n);
    w->len += n;
}

static void raw_u32(raw *w, uint32_t v)
{
    uint8_t b[4];
    coding_put_u32(b, v);
    raw_bytes(w, b, 4);
}

/* The header: version 1, reserved 0, C and W. */
static void raw_head(raw *w, uint32_t c, uint32_t n)
{
    w->len = 0;
    uint8_t h[2] = {1, 0};
    raw_bytes(w, h, 2);
    raw_u32(w, c);
    raw_u32(w, n);
}

/* An op whose lengths are klen and vlen (vlen written for kinds 0 and 2),
 * followed by `have` bytes of key and value ('k' then 'v'). */
static void raw_op_lens(raw *w, int kind, uint32_t klen, uint32_t vlen, size_t have)
{
    uint8_t k = (uint8_t)kind;
    raw_bytes(w, &k, 1);
    raw_u32(w, klen);
    if (kind == COMMAND_IF_VALUE || kind == COMMAND_PUT)
        raw_u32(w, vlen);
    raw_room(w, have);
    for (size_t i = 0; i < have; i++)
        w->p[w->len + i] = i < klen ? 'k' : 'v';
    w->len += have;
}

static void raw_op(raw *w, int kind, const char *key, const char *val)
{
    uint8_t k = (uint8_t)kind;
    raw_bytes(w, &k, 1);
    raw_u32(w, (uint32_t)strlen(key));
    if (kind == COMMAND_IF_VALUE || kind == COMMAND_PUT)
        raw_u32(w, (uint32_t)strlen(val));
    raw_bytes(w, key, strlen(key));
    if (kind == COMMAND_IF_VALUE || kind == COMMAND_PUT)
        raw_bytes(w, val, strlen(val));
}

/* Zeros to a multiple of 8 (C2). */
static void raw_pad(raw *w)
{
    static const uint8_t zeros[8];
    raw_bytes(w, zeros, (8 - w->len % 8) % 8);
}

/* command_parse of a copy of p[0, n) in memory that ends where it does. */
static int parse_guarded(const void *p, size_t n, command_reader *r)
{
    ex_seed("command", p, n);
    uint8_t *g = ex_guarded_copy(p, n);
    memset(r, 0, sizeof *r);
    int rc = EX_KV(command_parse(g, n, r));
    /* error.h: a failing path sets its own message, or kv_errmsg() goes
     * on saying an earlier call's. */
    EX_CHECK(rc == KV_OK || kv_errmsg()[0] != '\0',
             EX_RULES("1 to 7", "a command refused says why") "command_parse of %zu bytes "
             "refused them (%s) and set no message of its own: kv_errmsg() would say whatever "
             "an earlier call left there", n, kv_strerror(rc));
    return rc;
}

/* The command every test starts from: two conditions, three writes. */
static const uint8_t *sample(command **c, size_t *len)
{
    EX_CHECK(command_new(c) == KV_OK, "test setup: command_new");
    EX_CHECK(command_if_value(*c, "watched", 7, "1", 1) == KV_OK &&
                 command_if_absent(*c, "gone", 4) == KV_OK &&
                 command_put(*c, "apple", 5, "red", 3) == KV_OK &&
                 command_delete(*c, "pear", 4) == KV_OK &&
                 command_put(*c, "empty", 5, "", 0) == KV_OK,
             "test setup: the command's builder");
    return command_bytes(*c, len);
}

static void expect_op(command_reader *r, int i, int kind, const char *key, const char *val)
{
    command_op op;
    memset(&op, 0, sizeof op);
    harness_context("command_next for op %d (kind %d, key \"%s\") of a command of 2 conditions and "
                    "3 writes: the ops handed out in order, key and value pointing at their bytes",
                    i, kind, key);
    EX_CHECK(command_next(r, &op) == 1, "command_next hands out op %d of the command (it has "
             "2 conditions and 3 writes): it answered 0 before the last op", i);
    EX_CHECK(op.kind == kind, "op %d is of kind %d, as encoded (got %d)", i, kind, op.kind);
    EX_CHECK(op.klen == strlen(key) && op.key != NULL && memcmp(op.key, key, op.klen) == 0,
             "op %d's key is \"%s\", its bytes as encoded (got %zu bytes)", i, key, op.klen);
    if (val != NULL)
        EX_CHECK(op.vlen == strlen(val) && (op.vlen == 0 || memcmp(op.val, val, op.vlen) == 0),
                 "op %d's value is \"%s\", as encoded (got %zu bytes)", i, val, op.vlen);
}

static void command_decode_reads_back_what_the_builder_wrote(void)
{
    command *c = NULL;
    size_t len = 0;
    const uint8_t *p = sample(&c, &len);
    command_reader r;
    EX_RULE_BEGIN(8, "command_next hands out the ops in order, then 0");
    harness_context("command_parse of the builder's %zu-byte command (2 conditions, 3 writes) in "
                    "memory that ends there: it parses, the header's counts in the reader; nothing "
                    "past the bytes given is read", len);
    int rc = EX_KV(parse_guarded(p, len, &r));
    EX_CHECK(rc == KV_OK, "a command the builder made parses (got %s: %s)", kv_strerror(rc),
             ex_errmsg(rc));
    EX_CHECK(r.conditions == 2 && r.writes == 3, "the reader holds the header's counts: 2 "
             "conditions, 3 writes (got %u, %u)", r.conditions, r.writes);
    expect_op(&r, 0, COMMAND_IF_VALUE, "watched", "1");
    expect_op(&r, 1, COMMAND_IF_ABSENT, "gone", NULL);
    expect_op(&r, 2, COMMAND_PUT, "apple", "red");
    expect_op(&r, 3, COMMAND_DELETE, "pear", NULL);
    expect_op(&r, 4, COMMAND_PUT, "empty", "");
    command_op op;
    harness_context("command_next after the last of 5 ops: 0, again and again; the padding after "
                    "it is no op");
    EX_CHECK(command_next(&r, &op) == 0, "after the last op command_next answers 0: the "
             "padding after it is no op");
    EX_CHECK(command_next(&r, &op) == 0, "after the last op command_next keeps answering 0");
    command_free(c);

    EX_CHECK(command_new(&c) == KV_OK, "test setup: command_new");
    p = command_bytes(c, &len);
    harness_context("command_parse of a command of no op (%zu bytes: header and 6 zeros), then "
                    "command_next: it parses and hands out none", len);
    rc = EX_KV(parse_guarded(p, len, &r));
    EX_CHECK(rc == KV_OK && r.conditions == 0 && r.writes == 0, "a command of no op (its "
             "header and 6 zeros) parses (got %s: %s)", kv_strerror(rc), ex_errmsg(rc));
    EX_CHECK(command_next(&r, &op) == 0, "a command of no op hands out none");
    command_free(c);
}

static void command_decode_every_cut_is_refused(void)
{
    command *c = NULL;
    size_t len = 0;
    const uint8_t *p = sample(&c, &len);
    EX_RULE_BEGIN(1, "nothing outside the bytes given is read, every length checked first");
    for (size_t cut = 0; cut < len; cut++) {
        harness_context("the command cut to its first %zu of %zu bytes, in memory that ends "
                        "there: a decoder that reads past the bytes it is given crashes here",
                        cut, len);
        command_reader r;
        int rc = parse_guarded(p, cut, &r);
        EX_CHECK(rc == KV_ERR_CORRUPT, "a command cut to %zu of its %zu bytes is not a "
                 "command: KV_ERR_CORRUPT (got %s)", cut, len, kv_strerror(rc));
    }
    command_free(c);
}

static void command_decode_a_length_past_the_end_is_refused_at_its_op(void)
{
    raw w = {0};
    EX_RULE_BEGIN(1, "a length is checked against the bytes left after the op's head");
    /* One put whose key and value claim 5 bytes more than follow its head:
     * less than the head's 9, so only a check that leaves the head out of
     * the bytes left lets it through. */
    for (int ops = 1; ops <= 2; ops++) {
        raw_head(&w, 0, (uint32_t)ops);
        size_t at = w.len;
        if (ops == 2) {
            raw_op(&w, COMMAND_PUT, "first", "ok");
            at = w.len;
        }
        size_t total = (at + 9 + 20 + 7) / 8 * 8; /* the op's bytes run to the end */
        size_t have = total - at - 9;
        raw_op_lens(&w, COMMAND_PUT, 16, (uint32_t)(have - 16 + 5), have);
        EX_CHECK(w.len == total, "test setup: the command is %zu bytes", total);
        harness_context("a command of %zu bytes whose op at offset %zu claims a key and value "
                        "that run 5 bytes past the end of the command: a decoder that trusts "
                        "the lengths reads past the bytes it is given", w.len, at);
        command_reader r;
        int rc = EX_KV(parse_guarded(w.p, w.len, &r));
        EX_CHECK(rc == KV_ERR_CORRUPT, "an op whose key and value run past the end of the "
                 "command is refused (KV_ERR_CORRUPT, got %s): its lengths are checked against "
                 "the bytes left after its own head (kind, key length, value length)",
                 kv_strerror(rc));
        EX_CHECK(ex_names_number(kv_errmsg(), at), "an op whose key and value run past the end "
                 "of the command is refused naming its own offset, %zu (got \"%s\")", at,
                 kv_errmsg());
        EX_CHECK(ex_names_number(kv_errmsg(), have + 5) && ex_names_number(kv_errmsg(), have),
                 "an op whose key and value run past the end of the command is refused saying "
                 "what is wrong: the %zu bytes its key and value claim, and the %zu left after "
                 "its head (got \"%s\")", have + 5, have, kv_errmsg());
    }
    /* A length whose sum with the pointer would wrap. */
    raw_head(&w, 0, 1);
    raw_op_lens(&w, COMMAND_PUT, KV_MAX_KEY, KV_MAX_VALUE, 20);
    raw_pad(&w);
    harness_context("command_parse of a command of %zu bytes whose op claims a key of %u "
                    "bytes and a value of %u: check the lengths against the bytes left "
                    "without a sum that wraps; refused naming offset 10", w.len, KV_MAX_KEY,
                    KV_MAX_VALUE);
    command_reader r;
    int rc = EX_KV(parse_guarded(w.p, w.len, &r));
    EX_CHECK(rc == KV_ERR_CORRUPT && ex_names_number(kv_errmsg(), COMMAND_HEADER_V1),
             "an op whose key and value run past the end of the command (%u + %u bytes, 20 "
             "there) is refused naming its offset, 10 (got %s: \"%s\")", KV_MAX_KEY,
             KV_MAX_VALUE, kv_strerror(rc), kv_errmsg());
    free(w.p);
}

static void command_decode_padding_is_fewer_than_8_zeros(void)
{
    raw w = {0};
    EX_RULE_BEGIN(5, "C2: fewer than 8 zeros after the last op, refused where the tail starts");
    raw_head(&w, 0, 1);
    raw_op(&w, COMMAND_PUT, "abc", "xyz"); /* ends at 10 + 9 + 6 = 25 */
    size_t end = w.len;
    raw_pad(&w);
    command_reader r;
    harness_context("command_parse of a put padded to %zu bytes (its op ends at %zu): it parses",
                    w.len, end);
    int rc = EX_KV(parse_guarded(w.p, w.len, &r));
    EX_CHECK(rc == KV_OK, "test setup: a put padded to %zu bytes parses (got %s: %s)", w.len,
             kv_strerror(rc), ex_errmsg(rc));
    for (size_t at = end; at < w.len; at++) {
        w.p[at] = 0x5a;
        harness_context("command_parse of %zu bytes whose padding holds 0x5a at offset %zu: "
                        "padding is fewer than 8 zeros (C2), refused naming offset %zu", w.len, at,
                        end);
        rc = EX_KV(parse_guarded(w.p, w.len, &r));
        EX_CHECK(rc == KV_ERR_CORRUPT, "the bytes after the last op are padding, fewer than 8 "
                 "and only zeros (C2): a tail holding 0x5a at offset %zu is refused (got %s)",
                 at, kv_strerror(rc));
        EX_CHECK(ex_names_number(kv_errmsg(), end), "a tail that is not padding is refused "
                 "naming where it starts, offset %zu, the end of the last op (got \"%s\")",
                 end, kv_errmsg());
        w.p[at] = 0;
    }
    harness_context("command_parse of %zu bytes, not a multiple of 8: refused (C2)", end);
    rc = parse_guarded(w.p, end, &r);
    EX_CHECK(rc == KV_ERR_CORRUPT, "a command of %zu bytes, not a multiple of 8, is refused "
             "(C2: libraft keeps an entry's bytes in multiples of 8; got %s)", end,
             kv_strerror(rc));
    static const uint8_t zeros[8];
    raw_bytes(&w, zeros, 8);
    harness_context("command_parse of %zu bytes, 8 zeros more after the padding: padding is fewer "
                    "than 8 bytes (C2), refused", w.len);
    rc = parse_guarded(w.p, w.len, &r);
    EX_CHECK(rc == KV_ERR_CORRUPT, "8 zero bytes more after the padding are refused: padding "
             "is fewer than 8 bytes, only zeros (C2; got %s)", kv_strerror(rc));
    /* Ops that end at a multiple of 8 take no padding. */
    raw_head(&w, 0, 1);
    raw_op(&w, COMMAND_PUT, "ab", "abc"); /* ends at 10 + 9 + 5 = 24 */
    harness_context("command_parse of a put whose op ends at 24 bytes, a multiple of 8: it parses "
                    "with no padding");
    rc = EX_KV(parse_guarded(w.p, w.len, &r));
    EX_CHECK(rc == KV_OK, "a command whose ops end at 24 bytes, a multiple of 8, parses with no "
             "padding (got %s: %s)", kv_strerror(rc), ex_errmsg(rc));
    raw_bytes(&w, zeros, 8);
    harness_context("command_parse of a put ending at 24 bytes followed by 8 zeros: refused, 8 "
                    "zeros are no padding (C2)");
    rc = parse_guarded(w.p, w.len, &r);
    EX_CHECK(rc == KV_ERR_CORRUPT, "a command whose ops end at 24 bytes, a multiple of 8, "
             "followed by 8 zero bytes is refused: padding is fewer than 8 bytes (C2), and "
             "8 zeros would be no padding at all (got %s)", kv_strerror(rc));
    free(w.p);
}

static void command_decode_conditions_come_first(void)
{
    raw w = {0};
    EX_RULE_BEGIN(4, "C1: the header's C conditions first, then its W writes");
    /* The header says one condition; the first op is a write. */
    raw_head(&w, 1, 1);
    raw_op(&w, COMMAND_PUT, "a", "1");
    raw_op(&w, COMMAND_IF_ABSENT, "b", NULL);
    raw_pad(&w);
    command_reader r;
    harness_context("command_parse of %zu bytes whose header says 1 condition and whose op 0 is a "
                    "write: conditions come first (C1), refused naming offset 10", w.len);
    int rc = EX_KV(parse_guarded(w.p, w.len, &r));
    EX_CHECK(rc == KV_ERR_CORRUPT && ex_names_number(kv_errmsg(), COMMAND_HEADER_V1),
             "the header's C conditions come first, then the writes (C1): a write as op 0 of "
             "a command whose header says 1 condition is refused naming its offset, 10 (got "
             "%s: \"%s\")", kv_strerror(rc), kv_errmsg());
    /* One condition, one write by the header; the second op is a condition. */
    raw_head(&w, 1, 1);
    raw_op(&w, COMMAND_IF_ABSENT, "a", NULL);
    size_t at = w.len;
    raw_op(&w, COMMAND_IF_VALUE, "b", "2");
    raw_pad(&w);
    harness_context("command_parse of %zu bytes, 1 condition and 1 write by the header, op 1 (at "
                    "%zu) a condition: refused naming its offset (C1)", w.len, at);
    rc = EX_KV(parse_guarded(w.p, w.len, &r));
    EX_CHECK(rc == KV_ERR_CORRUPT && ex_names_number(kv_errmsg(), at),
             "the conditions come first, then the writes, as many of each as the header says "
             "(C1): a condition where the header says a write is due (op 1, at offset %zu) is "
             "refused naming its offset; taken, the replica would read it as a write (got %s: "
             "\"%s\")", at, kv_strerror(rc), kv_errmsg());
    /* No condition by the header, and a condition. */
    raw_head(&w, 0, 1);
    raw_op(&w, COMMAND_IF_ABSENT, "a", NULL);
    raw_pad(&w);
    harness_context("command_parse of %zu bytes, 0 conditions and 1 write by the header, op 0 a "
                    "condition: refused (C1)", w.len);
    rc = parse_guarded(w.p, w.len, &r);
    EX_CHECK(rc == KV_ERR_CORRUPT, "the conditions come first, as many as the header says "
             "(C1): a condition in a command whose header says 0 conditions, 1 write, is "
             "refused (got %s)", kv_strerror(rc));
    free(w.p);
}

static void command_decode_reserved_keys_are_refused(void)
{
    char key[64];
    memcpy(key, COMMAND_RESERVED, COMMAND_RESERVED_LEN);
    strcpy(key + COMMAND_RESERVED_LEN, "applied");
    raw w = {0};
    EX_RULE_BEGIN(6, "C3: no key starts with COMMAND_RESERVED");
    for (int kind = COMMAND_IF_VALUE; kind <= COMMAND_DELETE; kind++) {
        int write = kind >= COMMAND_PUT;
        raw_head(&w, write ? 0 : 1, write ? 1 : 0);
        raw_op(&w, kind, key, "x");
        raw_pad(&w);
        command_reader r;
        harness_context("command_parse of an op of kind %d naming the key COMMAND_RESERVED "
                        "\"applied\": no key of a command starts with COMMAND_RESERVED (C3), "
                        "refused", kind);
        int rc = parse_guarded(w.p, w.len, &r);
        EX_CHECK(rc == KV_ERR_CORRUPT, "no key of a command starts with COMMAND_RESERVED "
                 "(C3): those are the replica's own (its applied index), and an op of kind %d "
                 "(%s) naming one is refused (got %s)", kind, write ? "a write" : "a condition",
                 kv_strerror(rc));
    }
    /* Refused naming the op's own offset, in a message of this refusal's
     * own (EX_KV clears kv_errmsg() first: a message left from an
     * earlier refusal names another op). */
    EX_RULE_BEGIN(6, "C3: a reserved key refused naming its op's offset");
    for (int kind = COMMAND_IF_VALUE; kind <= COMMAND_DELETE; kind++) {
        int write = kind >= COMMAND_PUT;
        raw_head(&w, write ? 0 : 2, write ? 2 : 0);
        raw_op(&w, kind, "client", "x");
        size_t at = w.len;
        raw_op(&w, kind, key, "x");
        raw_pad(&w);
        command_reader r;
        harness_context("command_parse of two ops of kind %d, the second (at offset %zu) naming "
                        "the key COMMAND_RESERVED \"applied\": refused naming that op's offset "
                        "(C3)", kind, at);
        int rc = EX_KV(parse_guarded(w.p, w.len, &r));
        EX_CHECK(rc == KV_ERR_CORRUPT && ex_names_number(kv_errmsg(), at),
                 "an op of kind %d (%s) naming a key that starts with COMMAND_RESERVED is "
                 "refused naming its own offset, %zu, in kv_errmsg() (got %s: %s)", kind,
                 write ? "a write" : "a condition", at, kv_strerror(rc), ex_kv_errmsg());
    }
    /* A key that is the reserved prefix less its last byte is a client's. */
    raw_head(&w, 0, 1);
    key[COMMAND_RESERVED_LEN - 1] = '\0';
    raw_op(&w, COMMAND_PUT, key, "x");
    raw_pad(&w);
    command_reader r;
    harness_context("command_parse of a put of a key that is COMMAND_RESERVED less its last byte: "
                    "a client's own key, it parses");
    int rc = EX_KV(parse_guarded(w.p, w.len, &r));
    EX_CHECK(rc == KV_OK, "a key shorter than COMMAND_RESERVED that begins as it does is a "
             "client's own and parses (got %s: %s)", kv_strerror(rc), ex_errmsg(rc));
    free(w.p);
}

static void command_decode_bad_heads_and_ops_are_refused(void)
{
    raw w = {0};
    command_reader r;
    int rc;
    /* The header. */
    EX_RULE_BEGIN(2, "version 1, reserved byte 0");
    raw_head(&w, 0, 0);
    raw_pad(&w);
    harness_context("command_parse of an empty command (%zu bytes), then of it with version 2, "
                    "version 7, reserved byte 9: versions 1, 3, 4 and 5 only, reserved byte 0, "
                    "else refused naming offset and byte", w.len);
    rc = parse_guarded(w.p, w.len, &r);
    EX_CHECK(rc == KV_OK, "test setup: an empty command parses (got %s)", kv_strerror(rc));
    w.p[0] = 2;
    rc = EX_KV(parse_guarded(w.p, w.len, &r));
    EX_CHECK(rc == KV_ERR_CORRUPT, "a command of version 2 is refused: versions 1, 3, 4 and "
             "5 are the ones this member can read, and 2 is a member note's first byte (got %s)",
             kv_strerror(rc));
    EX_CHECK(ex_names_number(kv_errmsg(), 0), "a command of version 2 is refused naming its "
             "offset, 0 (got \"%s\")", kv_errmsg());
    w.p[0] = 7;
    rc = EX_KV(parse_guarded(w.p, w.len, &r));
    EX_CHECK(rc == KV_ERR_CORRUPT && ex_names_number(kv_errmsg(), 7), "a command of version 7 "
             "is refused saying what is wrong: the version it holds, 7 (got %s: \"%s\")",
             kv_strerror(rc), kv_errmsg());
    w.p[0] = 1;
    w.p[1] = 9;
    rc = EX_KV(parse_guarded(w.p, w.len, &r));
    EX_CHECK(rc == KV_ERR_CORRUPT, "a command whose reserved byte (offset 1) is not 0 is "
             "refused (got %s)", kv_strerror(rc));
    EX_CHECK(ex_names_number(kv_errmsg(), 9), "a command whose reserved byte is 9 is refused "
             "saying what is wrong: the byte it holds, 9 (got \"%s\")", kv_errmsg());
    /* The ops. */
    EX_RULE_BEGIN(3, "kinds 0..3, keys 1..KV_MAX_KEY, values at most KV_MAX_VALUE");
    struct {
        int kind;
        uint32_t klen, vlen;
        const char *what;
    } bad[] = {
        {4, 1, 0, "of kind 4 (kinds are 0..3)"},
        {COMMAND_PUT, 0, 1, "with a key of 0 bytes (keys are 1..KV_MAX_KEY bytes)"},
        {COMMAND_DELETE, KV_MAX_KEY + 1u, 0, "with a key of KV_MAX_KEY + 1 bytes"},
        {COMMAND_PUT, 1, KV_MAX_VALUE + 1u, "with a value of KV_MAX_VALUE + 1 bytes"},
        {COMMAND_IF_VALUE, 1, KV_MAX_VALUE + 1u, "(a condition) with a value of KV_MAX_VALUE + 1 bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int write = bad[i].kind >= COMMAND_PUT;
        raw_head(&w, write ? 0 : 1, write ? 1 : 0);
        raw_op_lens(&w, bad[i].kind, bad[i].klen, bad[i].vlen, 40);
        raw_pad(&w);
        harness_context("command_parse of an op %s, with 40 bytes after its head: refused "
                        "naming its offset, 10; nothing past the bytes given is read",
                        bad[i].what);
        rc = EX_KV(parse_guarded(w.p, w.len, &r));
        EX_CHECK(rc == KV_ERR_CORRUPT && ex_names_number(kv_errmsg(), COMMAND_HEADER_V1),
                 "an op %s is refused naming its offset, 10 (got %s: \"%s\")", bad[i].what,
                 kv_strerror(rc), kv_errmsg());
    }
    /* The header promises more ops than there are. */
    EX_RULE_BEGIN(5, "C2: the ops the header promises, then padding only");
    raw_head(&w, 0, 2);
    raw_op(&w, COMMAND_DELETE, "abcdefghijklm", NULL);
    raw_pad(&w);
    harness_context("command_parse of %zu bytes whose header says 2 writes and that holds one "
                    "delete: refused; its padding is no op", w.len);
    rc = parse_guarded(w.p, w.len, &r);
    EX_CHECK(rc == KV_ERR_CORRUPT, "a command whose header says 2 writes and that holds one "
             "(its padding is no op) is refused (got %s)", kv_strerror(rc));
    free(w.p);
}

/* The header of a command of `version` (1, 3, 4 or 5: 10, 26, 34 or 38
 * bytes): C and W, then, as the version has them, the origin's member
 * and serial, its term and R. */
static void raw_head_version(raw *w, int version, uint32_t c, uint32_t n, uint32_t reads)
{
    w->len = 0;
    uint8_t h[2] = {(uint8_t)version, 0};
    raw_bytes(w, h, 2);
    raw_u32(w, c);
    raw_u32(w, n);
    uint8_t u[8];
    if (version >= 3) {
        coding_put_u64(u, 0x0102030405060708ull); /* the member */
        raw_bytes(w, u, 8);
        coding_put_u64(u, 77); /* its serial */
        raw_bytes(w, u, 8);
    }
    if (version >= 4) {
        coding_put_u64(u, 5); /* the term */
        raw_bytes(w, u, 8);
    }
    if (version >= 5)
        raw_u32(w, reads);
}

static void command_decode_each_version_reads_its_own_header(void)
{
    raw w = {0};
    EX_RULE_BEGIN(2, "each version read with its own header: 10, 26, 34 or 38 bytes, R in 5's only");
    static const int versions[] = {1, 3, 4, 5};
    static const size_t headers[] = {COMMAND_HEADER_V1, COMMAND_HEADER_V3, COMMAND_HEADER_V4,
                                     COMMAND_HEADER};
    for (size_t v = 0; v < 4; v++) {
        int version = versions[v];
        /* A condition and a put, then (version 5) a read of the put's key. */
        raw_head_version(&w, version, 1, 1, version == 5 ? 1 : 0);
        EX_CHECK(w.len == headers[v], "test setup: version %d's header is %zu bytes", version,
                 headers[v]);
        raw_op(&w, COMMAND_IF_ABSENT, "gone", NULL);
        raw_op(&w, COMMAND_PUT, "key", "val");
        if (version == 5) {
            uint8_t k = COMMAND_READ;
            raw_bytes(&w, &k, 1);
            raw_u32(&w, 3);
            raw_bytes(&w, "key", 3);
        }
        raw_pad(&w);
        command_reader r;
        harness_context("command_parse of a version %d command (its header %zu bytes, the ops "
                        "right after it: a condition, a put%s): each version is read with its "
                        "own header", version, headers[v], version == 5 ? ", a read" : "");
        int rc = EX_KV(parse_guarded(w.p, w.len, &r));
        EX_CHECK(rc == KV_OK, "a version %d command parses, its header %zu bytes long, its first "
                 "op at offset %zu (got %s: %s)%s", version, headers[v], headers[v],
                 kv_strerror(rc), ex_kv_errmsg(),
                 version == 4 ? ": only version 5's header holds R, the number of reads; "
                                "version 4's ends with the origin's term, at 34" : "");
        EX_CHECK(r.conditions == 1 && r.writes == 1 && r.reads == (version == 5 ? 1u : 0u),
                 "a version %d command's reader holds its header's counts: 1 condition, 1 "
                 "write, %d reads (got %u, %u, %u)", version, version == 5, r.conditions,
                 r.writes, r.reads);
        EX_CHECK(r.origin.member == (version >= 3 ? 0x0102030405060708ull : 0) &&
                     r.origin.serial == (version >= 3 ? 77u : 0u) &&
                     r.origin.term == (version >= 4 ? 5u : 0u),
                 "a version %d command's origin is read from its header: member %s, serial %s, "
                 "term %s (got %llu, %llu, %llu)", version,
                 version >= 3 ? "0x0102030405060708" : "0", version >= 3 ? "77" : "0",
                 version >= 4 ? "5" : "0", (unsigned long long)r.origin.member,
                 (unsigned long long)r.origin.serial, (unsigned long long)r.origin.term);
        command_op op;
        memset(&op, 0, sizeof op);
        EX_CHECK(command_next(&r, &op) == 1 && op.kind == COMMAND_IF_ABSENT && op.klen == 4 &&
                     memcmp(op.key, "gone", 4) == 0,
                 "a version %d command's first op, at offset %zu right after its header, is "
                 "the condition on \"gone\" (got kind %d, %zu bytes of key)", version,
                 headers[v], op.kind, op.klen);
    }
    free(w.p);
}

/* A command of n deletes of the key "d". */
static void deletes(raw *w, uint32_t n)
{
    raw_head(w, 0, n);
    raw_room(w, (size_t)n * 6 + 8);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *q = w->p + w->len;
        q[0] = COMMAND_DELETE;
        coding_put_u32(q + 1, 1);
        q[5] = 'd';
        w->len += 6;
    }
    raw_pad(w);
}

static void command_decode_the_writes_fit_one_kv_write(void)
{
    raw w = {0};
    command_reader r;
    EX_RULE_BEGIN(7, "C4: at most KV_MAX_BATCH_OPS - 1 writes");
    deletes(&w, KV_MAX_BATCH_OPS - 1u);
    harness_context("command_parse of KV_MAX_BATCH_OPS - 1 deletes (%zu bytes): it parses; with "
                    "the applied index they fill one kv_write (C4)", w.len);
    int rc = EX_KV(parse_guarded(w.p, w.len, &r));
    EX_CHECK(rc == KV_OK, "a command of KV_MAX_BATCH_OPS - 1 writes parses: with the "
             "replica's applied index, they fill one kv_write (got %s: %s)", kv_strerror(rc),
             ex_errmsg(rc));
    deletes(&w, KV_MAX_BATCH_OPS);
    harness_context("command_parse of KV_MAX_BATCH_OPS deletes (%zu bytes): more than one kv_write "
                    "takes with the applied index (C4), refused", w.len);
    rc = parse_guarded(w.p, w.len, &r);
    EX_CHECK(rc == KV_ERR_CORRUPT, "a command holds at most KV_MAX_BATCH_OPS - 1 writes (C4): "
             "one of KV_MAX_BATCH_OPS writes, with the replica's applied index, is more than "
             "a kv_write takes, and every member would fail to apply it (got %s)",
             kv_strerror(rc));
    /* The largest value, and the largest key, each within C4. */
    EX_RULE_BEGIN(3, "values at most KV_MAX_VALUE bytes, keys at most KV_MAX_KEY, those included");
    raw_head(&w, 0, 1);
    raw_op_lens(&w, COMMAND_PUT, 1, KV_MAX_VALUE, (size_t)1 + KV_MAX_VALUE);
    raw_pad(&w);
    harness_context("command_parse of a put of a 1-byte key and a KV_MAX_VALUE-byte value (%zu "
                    "bytes): the largest value parses", w.len);
    rc = EX_KV(parse_guarded(w.p, w.len, &r));
    EX_CHECK(rc == KV_OK, "a put of a 1-byte key and a value of KV_MAX_VALUE bytes, the "
             "largest value, parses: values are at most KV_MAX_VALUE bytes, that many "
             "included (got %s: %s)", kv_strerror(rc), ex_errmsg(rc));
    raw_head(&w, 0, 1);
    raw_op_lens(&w, COMMAND_DELETE, KV_MAX_KEY, 0, KV_MAX_KEY);
    raw_pad(&w);
    harness_context("command_parse of a delete of a KV_MAX_KEY-byte key (%zu bytes): the largest "
                    "key parses", w.len);
    rc = EX_KV(parse_guarded(w.p, w.len, &r));
    EX_CHECK(rc == KV_OK, "a delete of a key of KV_MAX_KEY bytes, the largest key, parses: "
             "keys are 1..KV_MAX_KEY bytes, that many included (got %s: %s)", kv_strerror(rc),
             ex_errmsg(rc));
    /* One put of the largest key and the largest value: past
     * COMMAND_MAX_WRITE_BYTES. */
    EX_RULE_BEGIN(7, "C4: the writes' keys and values at most COMMAND_MAX_WRITE_BYTES");
    raw_head(&w, 0, 1);
    raw_op_lens(&w, COMMAND_PUT, KV_MAX_KEY, KV_MAX_VALUE, (size_t)KV_MAX_KEY + KV_MAX_VALUE);
    raw_pad(&w);
    harness_context("command_parse of a put of a KV_MAX_KEY-byte key and a KV_MAX_VALUE-byte value "
                    "(%zu bytes): past COMMAND_MAX_WRITE_BYTES (C4), refused", w.len);
    rc = parse_guarded(w.p, w.len, &r);
    EX_CHECK(rc == KV_ERR_CORRUPT, "the writes' keys and values are at most "
             "COMMAND_MAX_WRITE_BYTES (C4): a put of a %u-byte key and a %u-byte value, "
             "%llu bytes, is more than one kv_write beside the applied index holds (got %s)",
             KV_MAX_KEY, KV_MAX_VALUE, (unsigned long long)KV_MAX_KEY + KV_MAX_VALUE,
             kv_strerror(rc));
    /* Two writes whose keys and values come to exactly
     * COMMAND_MAX_WRITE_BYTES, after a condition with a value of its own,
     * then two to one byte more: the bound counts every write's bytes,
     * and that many is allowed; a condition is read, never written, so
     * its key and value are not counted. */
    uint32_t klen = KV_MAX_KEY - 100u;
    size_t rest = (size_t)COMMAND_MAX_WRITE_BYTES - klen - 1; /* the first write: 1-byte key */
    for (int more = 0; more <= 1; more++) {
        raw_head(&w, more ? 0 : 1, 2);
        if (!more)
            raw_op_lens(&w, COMMAND_IF_VALUE, 1, 100, 101);
        raw_op_lens(&w, COMMAND_PUT, 1, (uint32_t)(rest - KV_MAX_VALUE), rest - KV_MAX_VALUE + 1);
        size_t second = w.len;
        raw_op_lens(&w, COMMAND_PUT, klen + (uint32_t)more, KV_MAX_VALUE,
                    (size_t)klen + (size_t)more + KV_MAX_VALUE);
        raw_pad(&w);
        harness_context("command_parse of %stwo puts whose keys and values come to %llu bytes, "
                        "COMMAND_MAX_WRITE_BYTES%s: %s (C4)",
                        more ? "" : "a condition of a 1-byte key and a 100-byte value, then ",
                        (unsigned long long)COMMAND_MAX_WRITE_BYTES + (unsigned)more,
                        more ? " + 1" : " exactly", more ? "refused" : "it parses");
        rc = EX_KV(parse_guarded(w.p, w.len, &r));
        if (!more)
            EX_CHECK(rc == KV_OK, "the writes' keys and values are at most "
                     "COMMAND_MAX_WRITE_BYTES (C4), that many included, and a condition's are "
                     "not counted (it is read, never written): a condition of 101 bytes of key "
                     "and value, then two puts of exactly %llu bytes of keys and values, parse "
                     "(got %s: %s)", (unsigned long long)COMMAND_MAX_WRITE_BYTES, kv_strerror(rc),
                     ex_errmsg(rc));
        else
            EX_CHECK(rc == KV_ERR_CORRUPT && ex_names_number(kv_errmsg(), second),
                     "the writes' keys and values are at most COMMAND_MAX_WRITE_BYTES (C4), "
                     "counted over every write: two puts of %llu bytes, one more, are refused "
                     "naming the offset of the write that passes the bound, %zu (got %s: "
                     "\"%s\")", (unsigned long long)COMMAND_MAX_WRITE_BYTES + 1, second,
                     kv_strerror(rc), kv_errmsg());
    }
    free(w.p);
}

static const harness_test tests[] = {
    HARNESS_TEST(command_decode_reads_back_what_the_builder_wrote),
    HARNESS_TEST(command_decode_every_cut_is_refused),
    HARNESS_TEST(command_decode_a_length_past_the_end_is_refused_at_its_op),
    HARNESS_TEST(command_decode_padding_is_fewer_than_8_zeros),
    HARNESS_TEST(command_decode_conditions_come_first),
    HARNESS_TEST(command_decode_reserved_keys_are_refused),
    HARNESS_TEST(command_decode_bad_heads_and_ops_are_refused),
    HARNESS_TEST(command_decode_each_version_reads_its_own_header),
    HARNESS_TEST(command_decode_the_writes_fit_one_kv_write),
};
const harness_suite command_decode_suite = HARNESS_SUITE("command_decode", tests);
