/*
 * peer_frame_test.c: libraft's messages checked before libraft reads them
 * (peer_frame.h).  Messages of every type, built here as libraft's
 * src/uv_encoding.c writes them, pass byte for byte, whole or a byte at a
 * time; each break of the layout, and each of F1-F4, is refused with the
 * message named; nothing of a refused message's header is handed on; a
 * vote's disrupt-leader flag passes only when the policy allows it (F5),
 * and a notice reaches the policy, not the stream (F6).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "coding.h"
#include "kv.h"
#include "peer_frame.h"

#define SENDER 7u

typedef struct msg {
    uint8_t b[16384];
    size_t len;
} msg;

typedef struct sink {
    uint8_t b[32768];
    size_t len;
} sink;

static void sink_emit(void *arg, const uint8_t *p, size_t n)
{
    sink *s = arg;
    if (s->len + n <= sizeof s->b)
        memcpy(s->b + s->len, p, n);
    s->len += n;
}

static void put64(msg *m, uint64_t v)
{
    coding_put_u64(m->b + m->len, v);
    m->len += 8;
}

static void preamble(msg *m, uint64_t type, uint64_t hlen)
{
    m->len = 0;
    put64(m, type);
    put64(m, hlen);
}

/* A configuration of n servers (ids 1..n, "127.0.0.1:710X", voters). */
static size_t conf_bytes(uint8_t *out, unsigned n)
{
    size_t at = 0;
    out[at++] = 1;
    coding_put_u64(out + at, n);
    at += 8;
    for (unsigned i = 1; i <= n; i++) {
        coding_put_u64(out + at, i);
        at += 8;
        at += (size_t)sprintf((char *)out + at, "127.0.0.1:710%u", i) + 1;
        out[at++] = 1;
    }
    while (at % 8 != 0)
        out[at++] = 0xaa; /* libraft leaves its padding as raft_malloc gave it */
    return at;
}

/* AppendEntries: term 5, previous index 10 term 4, commit 9, entries of
 * the given types and lengths, all of term 5, then their payloads. */
static void append_entries(msg *m, unsigned n, const uint8_t *types, const uint32_t *lens)
{
    preamble(m, 1, 48 + 16 * (uint64_t)n);
    put64(m, 5);
    put64(m, 10);
    put64(m, 4);
    put64(m, 9);
    put64(m, n);
    for (unsigned i = 0; i < n; i++) {
        put64(m, 5);
        m->b[m->len] = types[i];
        memset(m->b + m->len + 1, 0x55, 3);
        coding_put_u32(m->b + m->len + 4, lens[i]);
        m->len += 8;
    }
    put64(m, 0x5555555555555555ull); /* the header's unused last 8 bytes */
    for (unsigned i = 0; i < n; i++) {
        if (types[i] == 3) {
            m->len += conf_bytes(m->b + m->len, 3);
        } else {
            memset(m->b + m->len, 'a' + (int)i, lens[i]);
            m->len += lens[i];
        }
    }
}

static void request_vote(msg *m, uint64_t term, uint64_t candidate)
{
    preamble(m, 3, 40);
    put64(m, term);
    put64(m, candidate);
    put64(m, 12);
    put64(m, term > 0 ? term - 1 : 0);
    put64(m, 2); /* pre-vote */
}

static void install_snapshot(msg *m, uint64_t data_len)
{
    uint8_t conf[256];
    size_t c = conf_bytes(conf, 3);
    preamble(m, 5, 56 + c);
    put64(m, 6);
    put64(m, 40);
    put64(m, 5);
    put64(m, 1);
    put64(m, c);
    memcpy(m->b + m->len, conf, c);
    m->len += c;
    put64(m, data_len);
    put64(m, 0);
    memset(m->b + m->len, 's', data_len);
    m->len += data_len;
}

static void fixed(msg *m, uint64_t type, uint64_t a, uint64_t b, uint64_t c)
{
    preamble(m, type, 24);
    put64(m, a);
    put64(m, b);
    put64(m, c);
}

static const peer_frame_limits limits = {.max_entry = 1024, .max_message = 8192};

/* The policy of the tests that give one: the member's term is 10, a
 * transfer to `transferee` is under way, and notices are kept. */
typedef struct test_policy {
    uint64_t transferee;
    peer_notice got[4];
    uint64_t from[4];
    int notices;
} test_policy;

static uint64_t policy_term(void *arg)
{
    (void)arg;
    return 10;
}

static int policy_may_disrupt(void *arg, uint64_t candidate, uint64_t term)
{
    test_policy *t = arg;
    return candidate == t->transferee && term == 11;
}

static void policy_notice(void *arg, uint64_t sender, const peer_notice *n)
{
    test_policy *t = arg;
    if (t->notices < 4) {
        t->from[t->notices] = sender;
        t->got[t->notices++] = *n;
    }
}

static test_policy the_policy;
static const peer_frame_policy policy = {&the_policy, policy_term, policy_may_disrupt,
                                         policy_notice};
static const peer_frame_policy *use_policy; /* feed's, NULL: none */

/* Feeds m whole (step 0) or step bytes at a time; the status. */
static int feed(const msg *m, size_t step, sink *out)
{
    peer_frame f;
    peer_frame_init(&f, &limits, SENDER, use_policy);
    out->len = 0;
    int rc = KV_OK;
    for (size_t at = 0; at < m->len && rc == KV_OK;) {
        size_t n = step == 0 || step > m->len - at ? m->len - at : step;
        rc = peer_frame_feed(&f, m->b + at, n, sink_emit, out);
        at += n;
    }
    peer_frame_free(&f);
    return rc;
}

static void every_message_passes_byte_for_byte(void)
{
    msg ms[8];
    size_t n = 0;
    const uint8_t types[] = {1, 2, 3, 1};
    const uint32_t lens[] = {16, 8, 88, 24}; /* 88: conf_bytes of three servers */
    append_entries(&ms[n++], 4, types, lens);
    append_entries(&ms[n++], 0, NULL, NULL); /* a heartbeat */
    request_vote(&ms[n++], 6, SENDER);
    fixed(&ms[n++], 2, 5, 0, 14);  /* AppendEntries result */
    fixed(&ms[n++], 4, 6, 1, 1);   /* RequestVote result, a pre-vote granted */
    fixed(&ms[n++], 6, 6, 12, 5);  /* TimeoutNow */
    install_snapshot(&ms[n++], 100);
    for (size_t i = 0; i < n; i++) {
        sink out;
        for (size_t step = 0; step <= 3; step += 1) {
            CHECK_MSG(feed(&ms[i], step == 2 ? 7 : step, &out) == KV_OK,
                      "message %zu (type %llu) passes, fed %zu bytes at a time: %s", i,
                      (unsigned long long)coding_get_u64(ms[i].b), step, kv_errmsg());
            CHECK_MSG(out.len == ms[i].len && memcmp(out.b, ms[i].b, out.len) == 0,
                      "message %zu is handed on byte for byte (%zu of %zu bytes)", i, out.len,
                      ms[i].len);
        }
    }
    /* Several in a row, on one stream. */
    msg all = {.len = 0};
    for (size_t i = 0; i < n; i++) {
        memcpy(all.b + all.len, ms[i].b, ms[i].len);
        all.len += ms[i].len;
    }
    sink out;
    CHECK_KV(feed(&all, 5, &out), KV_OK);
    CHECK_MSG(out.len == all.len && memcmp(out.b, all.b, all.len) == 0,
              "seven messages in a row pass byte for byte");
}

/* m is refused, naming `what`, and nothing of it past `passed` bytes was
 * handed on (the header is held until it is checked). */
static void refused(const msg *m, const char *what, size_t passed)
{
    sink out;
    for (size_t step = 0; step <= 1; step++) {
        CHECK_MSG(feed(m, step, &out) == KV_ERR_CORRUPT, "%s: refused", what);
        CHECK_MSG(strstr(kv_errmsg(), "message 1 from member 7") != NULL,
                  "%s: the refusal names the message and its sender (%s)", what, kv_errmsg());
        CHECK_MSG(out.len <= passed, "%s: %zu bytes were handed on, at most %zu", what, out.len,
                  passed);
    }
}

static void each_break_of_the_layout_is_refused(void)
{
    msg m;
    fixed(&m, 7, 1, 1, 1);
    refused(&m, "a type 7", 0);
    fixed(&m, 0, 1, 1, 1);
    refused(&m, "a type 0", 0);
    fixed(&m, 2, 1, 1, 1);
    coding_put_u64(m.b + 8, 16); /* a result's header cut to 16 */
    refused(&m, "a 16-byte AppendEntries result", 0);
    request_vote(&m, 6, SENDER);
    coding_put_u64(m.b + 8, 32); /* the legacy 32-byte vote */
    refused(&m, "a 32-byte RequestVote", 0);
    const uint8_t types[] = {1, 1};
    const uint32_t lens[] = {8, 8};
    append_entries(&m, 2, types, lens);
    coding_put_u64(m.b + 16 + 32, 5); /* five entries said, two held */
    refused(&m, "an entry count larger than the header holds", 0);
    append_entries(&m, 2, types, lens);
    coding_put_u64(m.b + 8, 48 + 16 * 2 + 4); /* a header length not 48 + 16 n */
    refused(&m, "a header length between entries", 0);
    append_entries(&m, 2, types, lens);
    m.b[16 + 40 + 16 + 8] = 9; /* the second entry's type */
    refused(&m, "an entry of type 9", 0);
    append_entries(&m, 2, types, lens);
    coding_put_u32(m.b + 16 + 40 + 12, 12); /* 12 bytes: not a multiple of 8 */
    refused(&m, "an entry of 12 bytes", 0);
    const uint8_t conf_type[] = {3};
    const uint32_t conf_len[] = {64};
    append_entries(&m, 1, conf_type, conf_len);
    size_t header = 16 + 48 + 16;
    m.b[header] = 2; /* the configuration's version */
    refused(&m, "a configuration entry of version 2", header);
    append_entries(&m, 1, conf_type, conf_len);
    coding_put_u64(m.b + header + 1, 1000); /* 1000 servers in 64 bytes */
    refused(&m, "a configuration claiming 1000 servers", header);
    append_entries(&m, 1, conf_type, conf_len);
    memset(m.b + header + 9 + 8, 'x', 64 - 17); /* an address with no NUL */
    refused(&m, "a configuration address with no end", header);
    install_snapshot(&m, 16);
    m.b[16 + 40] = 0; /* its configuration's version */
    refused(&m, "a snapshot whose configuration is version 0", 0);
    install_snapshot(&m, 16);
    coding_put_u64(m.b + 16 + 32, 8); /* a configuration length the header does not hold */
    refused(&m, "a snapshot's configuration length that does not fit", 0);
    uint8_t ok[8] = {0};
    CHECK_MSG(peer_conf_check(ok, 8) == KV_ERR_CORRUPT, "8 bytes are no configuration");
}

static void the_rules_f1_to_f4_are_refused(void)
{
    msg m;
    sink out;
    use_policy = &policy; /* the member's term is 10 */
    const uint32_t one[] = {8};
    const uint8_t command[] = {1};
    /* F7: a leader's message far above is lifted: a vote of its sender at
     * 10 + PEER_TERM_WINDOW with an empty log is handed on instead, its
     * payload skipped; the message after it passes as it is. */
    const uint64_t lift_term = 10 + PEER_TERM_WINDOW;
    for (int kind = 0; kind < 4; kind++) {
        const char *what = kind == 0 ? "an AppendEntries" : kind == 1 ? "an InstallSnapshot"
                         : kind == 2 ? "a TimeoutNow" : "a vote whose log's last term is above";
        if (kind == 0) {
            append_entries(&m, 1, command, one);
            coding_put_u64(m.b + 16, lift_term + 1);
            coding_put_u64(m.b + 16 + 40, lift_term + 1); /* its entry's term */
        } else if (kind == 1) {
            install_snapshot(&m, 16);
            coding_put_u64(m.b + 16, UINT64_MAX);
        } else if (kind == 2) {
            fixed(&m, 6, UINT64_MAX, 5, 4);
        } else {
            request_vote(&m, lift_term + 2, SENDER); /* its last term, lift_term + 1 */
            coding_put_u64(m.b + 16 + 32, 0);         /* not a pre-vote */
        }
        size_t first = m.len;
        msg after;
        fixed(&after, 2, 10, 0, 3);
        memcpy(m.b + m.len, after.b, after.len);
        m.len += after.len;
        for (size_t step = 0; step <= 1; step++) {
            CHECK_MSG(feed(&m, step, &out) == KV_OK, "F7: %s far above passes, lifted (%s)",
                      what, kv_errmsg());
            CHECK_MSG(out.len == 56 + after.len && coding_get_u64(out.b) == 3 &&
                          coding_get_u64(out.b + 8) == 40 &&
                          coding_get_u64(out.b + 16) == lift_term &&
                          coding_get_u64(out.b + 24) == SENDER &&
                          coding_get_u64(out.b + 32) == 0 && coding_get_u64(out.b + 40) == 0 &&
                          coding_get_u64(out.b + 48) == 0,
                      "F7: %s becomes a vote of its sender at 10 + PEER_TERM_WINDOW, an empty "
                      "log, no flags (%zu bytes handed on)", what, out.len);
            CHECK_MSG(memcmp(out.b + 56, after.b, after.len) == 0,
                      "F7: after %s (%zu bytes), the next message passes whole", what, first);
        }
    }
    append_entries(&m, 1, command, one);
    coding_put_u64(m.b + 16, lift_term);
    coding_put_u64(m.b + 16 + 40, lift_term);
    CHECK_MSG(feed(&m, 0, &out) == KV_OK && out.len == m.len &&
                  memcmp(out.b, m.b, m.len) == 0,
              "F1: an AppendEntries exactly PEER_TERM_WINDOW above passes as it is (%s)",
              kv_errmsg());
    request_vote(&m, lift_term, SENDER);
    CHECK_MSG(feed(&m, 0, &out) == KV_OK && coding_get_u64(out.b + 16) == lift_term,
              "F1: a vote exactly PEER_TERM_WINDOW above passes as it is (%s)", kv_errmsg());
    request_vote(&m, UINT64_MAX, SENDER); /* flags 2: a pre-vote */
    CHECK_MSG(feed(&m, 0, &out) == KV_OK && out.len == m.len &&
                  memcmp(out.b, m.b, m.len) == 0,
              "F7: a pre-vote passes as it is, whatever its term (libraft takes none from it)");
    /* F7: votes and answers above the window are handed on, lowered to
     * the member's term plus the window, whole but for the term. */
    const uint64_t far[] = {lift_term + 1, 1ull << 48, UINT64_MAX};
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
        for (uint64_t type = 2; type <= 4; type++) {
            if (type == 3) {
                request_vote(&m, far[i], SENDER);
                coding_put_u64(m.b + 16 + 24, 4); /* its log's last term */
                coding_put_u64(m.b + 16 + 32, 0); /* not a pre-vote */
            } else {
                fixed(&m, type, far[i], type == 4 ? 1 : 0, type == 4 ? 0 : 3);
            }
            for (size_t step = 0; step <= 1; step++) {
                CHECK_MSG(feed(&m, step, &out) == KV_OK, "F7: a message of type %llu and term "
                          "%llu passes (%s)", (unsigned long long)type,
                          (unsigned long long)far[i], kv_errmsg());
                CHECK_MSG(out.len == m.len && coding_get_u64(out.b + 16) == lift_term,
                          "F7: its term is lowered to 10 + PEER_TERM_WINDOW (%llu)",
                          (unsigned long long)coding_get_u64(out.b + 16));
                CHECK_MSG(memcmp(out.b, m.b, 16) == 0 &&
                              memcmp(out.b + 24, m.b + 24, m.len - 24) == 0,
                          "F7: nothing else of it changes");
            }
        }
    }
    use_policy = NULL;
    request_vote(&m, 1ull << 48, SENDER);
    CHECK_MSG(feed(&m, 0, &out) == KV_OK, "F1: without a policy, no term is refused as such "
              "(no absolute bound)");
    request_vote(&m, 6, SENDER + 1);
    refused(&m, "F2: a vote asked for another member than the sender", 0);
    const uint8_t types[] = {1};
    const uint32_t big[] = {1032};
    append_entries(&m, 1, types, big);
    m.len = 16 + 48 + 16; /* only the header: refused before the payload comes */
    refused(&m, "F3: an entry over max_entry, from its header", 0);
    uint32_t lens[8];
    uint8_t many[8];
    for (int i = 0; i < 8; i++)
        lens[i] = 1024, many[i] = 1;
    append_entries(&m, 8, many, lens); /* 8 KiB of entries + header > 8192 */
    m.len = 16 + 48 + 16 * 8;
    refused(&m, "F3: a message over max_message, from its header", 0);
    msg s;
    install_snapshot(&s, 16);
    uint64_t c = coding_get_u64(s.b + 16 + 32);
    coding_put_u64(s.b + 16 + 40 + c, 1u << 20); /* a 1 MiB snapshot said */
    s.len = 16 + 56 + c;
    refused(&s, "F3: a snapshot over max_message, from its header", 0);
    const uint32_t small[] = {8};
    append_entries(&m, 1, types, small);
    coding_put_u64(m.b + 16 + 40, 6); /* an entry of term 6 in a message of term 5 */
    refused(&m, "F4: an entry whose term is above its message's", 0);
    append_entries(&m, 1, types, small);
    coding_put_u64(m.b + 16 + 40, 3); /* below the previous entry's term, 4 */
    refused(&m, "an entry whose term is below the entry before it", 0);
}

/* F5: the disrupt-leader flag of a vote passes only for the candidate
 * of a transfer the policy knows of, at the next term; otherwise the
 * vote passes with the flag cleared (and nothing else changed). */
static void a_disrupting_vote_passes_only_during_its_transfer(void)
{
    msg m;
    sink out;
    use_policy = &policy;
    the_policy.transferee = SENDER;
    request_vote(&m, 11, SENDER);
    coding_put_u64(m.b + 16 + 32, 1); /* disrupt leader, not a pre-vote */
    CHECK_KV(feed(&m, 3, &out), KV_OK);
    CHECK_MSG(out.len == m.len && memcmp(out.b, m.b, m.len) == 0,
              "the transferee's vote at the next term keeps its flag");
    request_vote(&m, 12, SENDER);
    coding_put_u64(m.b + 16 + 32, 1);
    CHECK_KV(feed(&m, 0, &out), KV_OK);
    CHECK_MSG(out.len == m.len && coding_get_u64(out.b + 16 + 32) == 0 &&
              memcmp(out.b, m.b, 16 + 32) == 0,
              "a vote two terms on loses its flag, nothing else (flags %llu)",
              (unsigned long long)coding_get_u64(out.b + 16 + 32));
    the_policy.transferee = SENDER + 1;
    request_vote(&m, 11, SENDER);
    coding_put_u64(m.b + 16 + 32, 3); /* disrupt and pre-vote */
    CHECK_KV(feed(&m, 1, &out), KV_OK);
    CHECK_MSG(coding_get_u64(out.b + 16 + 32) == 2, "a vote of another member than the "
              "transferee keeps its pre-vote bit and loses the other (flags %llu)",
              (unsigned long long)coding_get_u64(out.b + 16 + 32));
    use_policy = NULL;
    CHECK_KV(feed(&m, 0, &out), KV_OK);
    CHECK_MSG(coding_get_u64(out.b + 16 + 32) == 3, "without a policy, flags pass");
}

/* F6: a notice between two messages reaches the policy, not the stream;
 * without a policy, or broken, it is refused; feed_one stops at each
 * message's end. */
static void a_notice_reaches_the_policy_not_libraft(void)
{
    msg a, b, all = {.len = 0};
    fixed(&a, 2, 5, 0, 14);
    peer_notice n = {PEER_NOTICE_TRANSFER, 10, 3};
    peer_notice_encode(&n, b.b);
    b.len = PEER_NOTICE_BYTES;
    memcpy(all.b, a.b, a.len);
    memcpy(all.b + a.len, b.b, b.len);
    memcpy(all.b + a.len + b.len, a.b, a.len);
    all.len = 2 * a.len + b.len;
    sink out;
    use_policy = &policy;
    the_policy.notices = 0;
    CHECK_KV(feed(&all, 5, &out), KV_OK);
    CHECK_MSG(out.len == 2 * a.len && memcmp(out.b, a.b, a.len) == 0 &&
              memcmp(out.b + a.len, a.b, a.len) == 0,
              "the messages around the notice pass, the notice does not (%zu bytes)", out.len);
    CHECK_MSG(the_policy.notices == 1 && the_policy.from[0] == SENDER &&
              the_policy.got[0].kind == n.kind && the_policy.got[0].term == 10 &&
              the_policy.got[0].target == 3, "the policy got the notice, from its sender");
    b.b[16] = 9; /* kind 9 */
    refused(&b, "a notice of kind 9", 0);
    peer_notice_encode(&n, b.b);
    coding_put_u64(b.b + 40, 1);
    refused(&b, "a notice whose reserved field is not 0", 0);
    use_policy = NULL;
    peer_notice_encode(&n, b.b);
    refused(&b, "a notice to a checker without a policy", 0);

    peer_frame f;
    peer_frame_init(&f, &limits, SENDER, NULL);
    size_t used = 0;
    out.len = 0;
    CHECK_KV(peer_frame_feed_one(&f, all.b, 5, sink_emit, &out, &used), KV_OK);
    CHECK_MSG(used == 5 && !peer_frame_at_boundary(&f), "5 bytes: inside the first message");
    CHECK_KV(peer_frame_feed_one(&f, all.b + 5, all.len - 5, sink_emit, &out, &used), KV_OK);
    CHECK_MSG(used == a.len - 5 && peer_frame_at_boundary(&f),
              "feed_one stops at the first message's end (took %zu)", used);
    peer_frame_free(&f);
}

static const harness_test tests[] = {
    HARNESS_TEST(every_message_passes_byte_for_byte),
    HARNESS_TEST(each_break_of_the_layout_is_refused),
    HARNESS_TEST(the_rules_f1_to_f4_are_refused),
    HARNESS_TEST(a_disrupting_vote_passes_only_during_its_transfer),
    HARNESS_TEST(a_notice_reaches_the_policy_not_libraft),
};
const harness_suite peer_frame_suite = HARNESS_SUITE("peer_frame", tests);
