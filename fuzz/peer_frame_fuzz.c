/*
 * peer_frame_fuzz.c: fuzz harness for stage 10's message checker
 * (stages/10-raft/peer/peer_frame.h), which every byte a peer sends a
 * member passes before libraft reads it.  It needs no engine: the
 * Makefile builds it once, under the name "replica".
 *
 * The input is a stream of libraft messages, fed to the checker whole,
 * then again in pieces whose sizes the input's own bytes choose.  The
 * harness aborts unless: a refusal is KV_ERR_CORRUPT naming the message
 * by its number; what the checker hands on is a prefix of the input
 * (it never invents or reorders a byte); both feedings end the same
 * way, having handed on the same bytes; and what it handed on, read
 * again here message by message (peer_frame_fuzz_model, written from
 * peer_frame.h's table, not from the checker), keeps the table's layout
 * and F2 to F4: each header it passed has its type's length, a vote
 * asked for the sender, entries of at most max_entry bytes and terms at
 * most the message's, a configuration (a snapshot's, or a configuration
 * entry's) as the table lays it out, and a message of at most
 * max_message bytes; and after every piece the checker takes (no policy),
 * peer_frame_at_boundary must say whether the stream fed so far ends
 * between two messages, as the table's lengths say of the bytes handed
 * on (peer_frame_fuzz_ends).  Once more, whole, as a member's own
 * outgoing stream is checked (sender 0: no F2), with a policy that
 * answers nothing (no term, no transfer, no notice taken) and limits of
 * 1 MiB an entry and 4 MiB a message: it checks less, so it hands on at
 * least what the first feeding did, all of it if that one took the
 * stream.  Then the same twice more with a policy (a member at term
 * 1000, a transfer to the sender under way in term 1001 only, notices
 * taken): the same verdict and the same bytes handed on either way, only
 * notices that decode reach the policy, and what is handed on keeps the
 * layout, F1 and F7 (no term more than PEER_TERM_WINDOW above 1000 but a
 * pre-vote's: the rest lowered or lifted), F5 (no vote's disrupt-leader
 * flag left set but in term 1001) and F6 (no notice handed on).  And a
 * notice made of the input's first bytes by peer_notice_encode, fed with
 * a policy that keeps it: it arrives as it was sent, or is refused (a
 * kind or target out of range), never handed on.  And the input as a
 * configuration: peer_conf_check takes it exactly when the table's layout
 * does (peer_frame_fuzz_conf).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "kv.h"
#include "peer_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct sink {
    uint8_t *p;
    size_t len, cap;
} sink;

static void sink_emit(void *arg, const uint8_t *p, size_t n)
{
    sink *s = arg;
    if (s->len + n > s->cap)
        abort(); /* more out than in */
    memcpy(s->p + s->len, p, n);
    s->len += n;
}

/* The checker's limits, and the sender the connection proved. */
static const peer_frame_limits peer_frame_fuzz_lim = {.max_entry = 4096, .max_message = 1 << 16};
#define PEER_FRAME_FUZZ_SENDER 7u
/* The term in which the policy says a transfer to the sender is under way. */
#define PEER_FRAME_FUZZ_TRANSFER_TERM 1001u

static void peer_frame_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "peer_frame fuzz invariant broken: %s\n", what);
        abort();
    }
}

/* A configuration as peer_frame.h's table lays it out: version 1, N
 * servers, each an id (not 0), an address of 1..255 bytes and its NUL, a
 * role 0..2; padded to a multiple of 8 (libraft reads no padding byte);
 * at most PEER_MAX_CONF bytes. */
static int peer_frame_fuzz_conf(const uint8_t *p, size_t len)
{
    if (len < 9 || len % 8 != 0 || len > PEER_MAX_CONF || p[0] != 1)
        return 0;
    uint64_t n = coding_get_u64(p + 1);
    size_t at = 9;
    for (uint64_t i = 0; i < n; i++) {
        if (len - at < 11 || coding_get_u64(p + at) == 0)
            return 0;
        at += 8;
        size_t a = 0;
        while (at + a < len && p[at + a] != 0)
            a++;
        if (a == 0 || a > 255 || at + a + 1 >= len || p[at + a + 1] > 2)
            return 0;
        at += a + 2;
    }
    return n > 0 && (at + 7) / 8 * 8 == len;
}

/* Reads the bytes the checker handed on, message by message, and checks
 * each header it passed (the last message may be cut short: the checker
 * hands on a payload as it comes).  With a policy (F1, F5, F7): no term
 * above max_term but a pre-vote's (libraft takes no term from one), and
 * no vote's disrupt-leader flag set. */
static void peer_frame_fuzz_model(const uint8_t *p, size_t len, uint64_t max_term,
                                  int policy)
{
    size_t at = 0;
    while (at < len) {
        peer_frame_fuzz_check(len - at >= PEER_FRAME_PREAMBLE, "a preamble is handed on whole");
        uint64_t type = coding_get_u64(p + at), hlen = coding_get_u64(p + at + 8);
        at += PEER_FRAME_PREAMBLE;
        peer_frame_fuzz_check(type >= 1 && type <= 6, "a message's type is 1..6");
        peer_frame_fuzz_check(hlen <= len - at, "a header is handed on whole");
        const uint8_t *h = p + at;
        at += (size_t)hlen;
        uint64_t term = hlen >= 8 ? coding_get_u64(h) : 0;
        int pre_vote = type == 3 && hlen == 40 && (coding_get_u64(h + 32) & 2) != 0;
        peer_frame_fuzz_check(hlen >= 24 && (term <= max_term || pre_vote), "F1, F7: a term at "
                              "most PEER_TERM_WINDOW above the member's, but in a pre-vote");
        uint64_t payload = 0;
        size_t conf_from = 0, conf_len = 0; /* a configuration entry in the payload */
        switch (type) {
        case 1: {
            peer_frame_fuzz_check(hlen >= 48 && (hlen - 48) % 16 == 0 &&
                                  coding_get_u64(h + 32) == (hlen - 48) / 16 &&
                                  coding_get_u64(h + 16) <= term,
                                  "AppendEntries: 48 + 16 n bytes of header, n entries");
            uint64_t n = (hlen - 48) / 16, last = coding_get_u64(h + 16);
            for (uint64_t i = 0; i < n; i++) {
                const uint8_t *e = h + 40 + 16 * i;
                uint64_t et = coding_get_u64(e);
                uint32_t elen = coding_get_u32(e + 12);
                peer_frame_fuzz_check(et <= term && et >= last, "F4: an entry's term at most "
                                      "its message's, never below the entry before it");
                last = et;
                peer_frame_fuzz_check(e[8] >= 1 && e[8] <= 3 && elen % 8 == 0 &&
                                      elen <= peer_frame_fuzz_lim.max_entry,
                                      "F3: an entry of a type 1..3, a multiple of 8 bytes, "
                                      "at most max_entry");
                if (e[8] == 3 && conf_len == 0) {
                    conf_from = (size_t)payload;
                    conf_len = elen;
                }
                payload += elen;
            }
            break;
        }
        case 2:
        case 6:
            peer_frame_fuzz_check(hlen == 24 && (type == 2 || coding_get_u64(h + 16) <= term),
                                  "a result or TimeoutNow: 24 bytes of header");
            break;
        case 3:
            peer_frame_fuzz_check(hlen == 40 && coding_get_u64(h + 8) == PEER_FRAME_FUZZ_SENDER &&
                                  coding_get_u64(h + 24) <= term && coding_get_u64(h + 32) <= 3,
                                  "F2: RequestVote asks for the sender; 40 bytes of header");
            peer_frame_fuzz_check(!policy || (coding_get_u64(h + 32) & 1) == 0 ||
                                      term == PEER_FRAME_FUZZ_TRANSFER_TERM,
                                  "F5: no disrupt-leader flag passes while no transfer is "
                                  "under way");
            break;
        case 4:
            peer_frame_fuzz_check(hlen == 24 && coding_get_u64(h + 8) <= 1 &&
                                  coding_get_u64(h + 16) <= 1,
                                  "RequestVote result: 24 bytes of header");
            break;
        case 5: {
            uint64_t c = hlen >= 56 ? coding_get_u64(h + 32) : UINT64_MAX;
            peer_frame_fuzz_check(c == hlen - 56 && peer_frame_fuzz_conf(h + 40, (size_t)c) &&
                                  coding_get_u64(h + 16) <= term,
                                  "InstallSnapshot: a configuration as the table lays it out");
            payload = coding_get_u64(h + 40 + c);
            break;
        }
        }
        peer_frame_fuzz_check(payload <= peer_frame_fuzz_lim.max_message - hlen,
                              "F3: a message of at most max_message bytes");
        if (conf_len > 0 && len - at > conf_from)
            peer_frame_fuzz_check(len - at - conf_from >= conf_len &&
                                  peer_frame_fuzz_conf(p + at + conf_from, conf_len),
                                  "a configuration entry is handed on whole, and holds one");
        at += payload < len - at ? (size_t)payload : len - at;
    }
}

/* Whether the bytes handed on, p[0, len), end between two messages, by
 * the table's lengths alone: each message is its preamble, the header's
 * length it gives, then the payload its header gives (AppendEntries: its
 * entries' lengths; InstallSnapshot: the size after its configuration;
 * the others: none).  *done is where the messages known whole end: the
 * walk goes on from there (p only grows between calls).  Bytes the
 * table cannot lay out end no message (peer_frame_fuzz_model, at the
 * end, says why). */
static int peer_frame_fuzz_ends(const uint8_t *p, size_t len, size_t *done)
{
    while (*done < len) {
        size_t at = *done;
        if (len - at < PEER_FRAME_PREAMBLE)
            return 0;
        uint64_t type = coding_get_u64(p + at), hlen = coding_get_u64(p + at + 8);
        at += PEER_FRAME_PREAMBLE;
        if (hlen > len - at)
            return 0;
        const uint8_t *h = p + at;
        at += (size_t)hlen;
        uint64_t payload = 0;
        if (type == 1 && hlen >= 48) {
            for (uint64_t i = 0; i < (hlen - 48) / 16; i++)
                payload += coding_get_u32(h + 40 + 16 * i + 12);
        } else if (type == 5 && hlen >= 48) {
            uint64_t c = coding_get_u64(h + 32);
            if (c > hlen - 48)
                return 0;
            payload = coding_get_u64(h + 40 + c);
        }
        if (payload > len - at)
            return 0;
        *done = at + (size_t)payload;
    }
    return 1;
}

/* The policy: a member at term 1000, a transfer of leadership to the
 * sender under way in term 1001 only (PEER_FRAME_FUZZ_TRANSFER_TERM: F5
 * clears every other disrupt-leader flag), notices taken (F6). */
static uint64_t fuzz_term(void *arg)
{
    (void)arg;
    return 1000;
}

static int fuzz_may_disrupt(void *arg, uint64_t candidate, uint64_t term)
{
    (void)arg;
    return candidate == PEER_FRAME_FUZZ_SENDER && term == PEER_FRAME_FUZZ_TRANSFER_TERM;
}

static void fuzz_notice(void *arg, uint64_t sender, const peer_notice *n)
{
    (void)arg;
    if (sender != PEER_FRAME_FUZZ_SENDER || n->kind < PEER_NOTICE_TRANSFER ||
        n->kind > PEER_NOTICE_HEARD)
        abort(); /* only a notice that decodes, from the connection's member */
}

static const peer_frame_policy fuzz_policy = {NULL, fuzz_term, fuzz_may_disrupt, fuzz_notice};
/* A policy that answers nothing: no term (no F1, F7), no transfer (F5
 * leaves the flags), no notice taken (F6: one is refused). */
static const peer_frame_policy fuzz_policy_empty = {NULL, NULL, NULL, NULL};

/* Feeds the input, whole or in pieces, to a checker of the sender and
 * the limits of the harness; feed_as those of the caller's. */
static int feed_as(const uint8_t *data, size_t size, int pieces, sink *out,
                   const peer_frame_policy *policy, const peer_frame_limits *lim,
                   uint64_t sender)
{
    peer_frame f;
    peer_frame_init(&f, lim, sender, policy);
    int rc = KV_OK;
    size_t at = 0, done = 0;
    while (at < size && rc == KV_OK) {
        size_t n = pieces ? (size_t)(1 + data[at] % 13) : size - at;
        if (n > size - at)
            n = size - at;
        rc = peer_frame_feed(&f, data + at, n, sink_emit, out);
        at += n;
        /* Without a policy every byte is handed on or held: at a
         * boundary exactly when all of them were, ending a message. */
        if (rc == KV_OK && (policy == NULL || policy == &fuzz_policy_empty) &&
            peer_frame_at_boundary(&f) != (out->len == at &&
                                           peer_frame_fuzz_ends(out->p, out->len, &done)))
            abort();
    }
    peer_frame_free(&f);
    if (rc != KV_OK && (rc != KV_ERR_CORRUPT || strstr(kv_errmsg(), "message ") == NULL))
        abort(); /* a refusal says which message */
    return rc;
}

static int feed(const uint8_t *data, size_t size, int pieces, sink *out,
                const peer_frame_policy *policy)
{
    return feed_as(data, size, pieces, out, policy, &peer_frame_fuzz_lim, PEER_FRAME_FUZZ_SENDER);
}

/* The notices a policy was handed. */
typedef struct notices_got {
    peer_notice last;
    int n;
} notices_got;

static void fuzz_notice_keep(void *arg, uint64_t sender, const peer_notice *n)
{
    notices_got *got = arg;
    if (sender != PEER_FRAME_FUZZ_SENDER)
        abort();
    got->last = *n;
    got->n++;
}

/* A notice of the input's first 24 bytes (kind: the first byte, 0..3),
 * as peer_notice_encode writes it, fed to a checker with a policy: one
 * of a kind 1..2 and a target not 0 reaches the policy, the same, and
 * nothing of it is handed on (F6), the stream then at a boundary; any
 * other is refused, and reaches nothing. */
static void peer_frame_fuzz_notice(const uint8_t *data, size_t size)
{
    if (size < 24)
        return;
    peer_notice n = {data[0] % 4, coding_get_u64(data + 8), coding_get_u64(data + 16)};
    uint8_t msg[PEER_NOTICE_BYTES];
    peer_notice_encode(&n, msg);
    notices_got got = {{0, 0, 0}, 0};
    const peer_frame_policy keep = {&got, fuzz_term, fuzz_may_disrupt, fuzz_notice_keep};
    const peer_frame_limits lim = peer_frame_fuzz_lim;
    peer_frame f;
    peer_frame_init(&f, &lim, PEER_FRAME_FUZZ_SENDER, &keep);
    uint8_t out[1];
    sink none = {out, 0, 0};
    int rc = peer_frame_feed(&f, msg, sizeof msg, sink_emit, &none);
    int at_boundary = peer_frame_at_boundary(&f);
    peer_frame_free(&f);
    int valid = n.kind >= PEER_NOTICE_TRANSFER && n.kind <= PEER_NOTICE_HEARD && n.target != 0;
    peer_frame_fuzz_check(valid ? rc == KV_OK && got.n == 1 && at_boundary &&
                                      got.last.kind == n.kind && got.last.term == n.term &&
                                      got.last.target == n.target
                                : rc == KV_ERR_CORRUPT && got.n == 0,
                          "a notice peer_notice_encode writes reaches the policy as it was, "
                          "or is refused");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if ((peer_conf_check(data, size) == KV_OK) != peer_frame_fuzz_conf(data, size))
        abort(); /* a configuration is what the table lays out */
    peer_frame_fuzz_notice(data, size);
    /* Without a policy, no more out than in; with one, a leader's message
     * lifted (F7: a vote of 56 bytes for one of 40 at least) may hand on
     * up to 16 bytes more than it took. */
    size_t cap = size + size / 40 * 16 + 16;
    sink whole = {malloc(cap + 1), 0, size}, pieces = {malloc(cap + 1), 0, size};
    if (whole.p == NULL || pieces.p == NULL)
        abort();
    int a = feed(data, size, 0, &whole, NULL), b = feed(data, size, 1, &pieces, NULL);
    if (memcmp(whole.p, data, whole.len) != 0 || memcmp(pieces.p, data, pieces.len) != 0)
        abort(); /* only the input's bytes, in its order */
    if (a != b || (a == KV_OK && whole.len != pieces.len))
        abort(); /* the same verdict however the bytes arrive */
    peer_frame_fuzz_model(whole.p, whole.len, UINT64_MAX, 0);
    /* A member's own stream, larger limits, a policy that answers
     * nothing: fewer checks, so at least as much handed on. */
    static const peer_frame_limits large = {.max_entry = 1 << 20, .max_message = 1 << 22};
    pieces.len = 0;
    int own = feed_as(data, size, 0, &pieces, &fuzz_policy_empty, &large, 0);
    if (memcmp(pieces.p, data, pieces.len) != 0 || pieces.len < whole.len ||
        (a == KV_OK && (own != KV_OK || pieces.len != whole.len)))
        abort();
    whole.len = pieces.len = 0;
    whole.cap = pieces.cap = cap;
    a = feed(data, size, 0, &whole, &fuzz_policy);
    b = feed(data, size, 1, &pieces, &fuzz_policy);
    if (a != b || whole.len != pieces.len || memcmp(whole.p, pieces.p, whole.len) != 0)
        abort(); /* with a policy too: one verdict, the same bytes */
    peer_frame_fuzz_model(whole.p, whole.len, 1000 + PEER_TERM_WINDOW, 1);
    free(whole.p);
    free(pieces.p);
    return 0;
}
