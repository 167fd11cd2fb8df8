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
 * (it never invents or reorders a byte); and both feedings end the same
 * way, having handed on the same bytes.  Then the same twice more with
 * a policy (a member at term 1000, no transfer under way, notices taken):
 * the same verdict and the same bytes handed on either way, and only
 * notices that decode reach the policy.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

static uint64_t fuzz_term(void *arg)
{
    (void)arg;
    return 1000;
}

static int fuzz_may_disrupt(void *arg, uint64_t candidate, uint64_t term)
{
    (void)arg;
    (void)candidate;
    (void)term;
    return 0;
}

static void fuzz_notice(void *arg, uint64_t sender, const peer_notice *n)
{
    (void)arg;
    if (sender != 7 || n->kind < PEER_NOTICE_TRANSFER || n->kind > PEER_NOTICE_HEARD)
        abort(); /* only a notice that decodes, from the connection's member */
}

static const peer_frame_policy fuzz_policy = {NULL, fuzz_term, fuzz_may_disrupt, fuzz_notice};

static int feed(const uint8_t *data, size_t size, int pieces, sink *out,
                const peer_frame_policy *policy)
{
    static const peer_frame_limits lim = {.max_entry = 4096, .max_message = 1 << 16};
    peer_frame f;
    peer_frame_init(&f, &lim, 7, policy);
    int rc = KV_OK;
    size_t at = 0;
    while (at < size && rc == KV_OK) {
        size_t n = pieces ? (size_t)(1 + data[at] % 13) : size - at;
        if (n > size - at)
            n = size - at;
        rc = peer_frame_feed(&f, data + at, n, sink_emit, out);
        at += n;
    }
    peer_frame_free(&f);
    if (rc != KV_OK && (rc != KV_ERR_CORRUPT || strstr(kv_errmsg(), "message ") == NULL))
        abort(); /* a refusal says which message */
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sink whole = {malloc(size + 1), 0, size}, pieces = {malloc(size + 1), 0, size};
    if (whole.p == NULL || pieces.p == NULL)
        abort();
    int a = feed(data, size, 0, &whole, NULL), b = feed(data, size, 1, &pieces, NULL);
    if (memcmp(whole.p, data, whole.len) != 0 || memcmp(pieces.p, data, pieces.len) != 0)
        abort(); /* only the input's bytes, in its order */
    if (a != b || (a == KV_OK && whole.len != pieces.len))
        abort(); /* the same verdict however the bytes arrive */
    whole.len = pieces.len = 0;
    a = feed(data, size, 0, &whole, &fuzz_policy);
    b = feed(data, size, 1, &pieces, &fuzz_policy);
    if (a != b || whole.len != pieces.len || memcmp(whole.p, pieces.p, whole.len) != 0)
        abort(); /* with a policy too: one verdict, the same bytes */
    free(whole.p);
    free(pieces.p);
    return 0;
}
