/*
 * peer_frame.c: libraft's message stream checked before libraft reads it
 * (peer_frame.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "error.h"
#include "kv.h"
#include "peer_frame.h"

enum {
    T_APPEND = 1, T_APPEND_RESULT, T_VOTE, T_VOTE_RESULT, T_SNAPSHOT, T_TIMEOUT_NOW,
    T_NOTICE = PEER_FRAME_NOTICE
};
enum { E_COMMAND = 1, E_BARRIER = 2, E_CHANGE = 3 };

static const char *const type_name[] = {
    "", "AppendEntries", "AppendEntries result", "RequestVote", "RequestVote result",
    "InstallSnapshot", "TimeoutNow"};

void peer_frame_init(peer_frame *f, const peer_frame_limits *lim, uint64_t sender,
                     const peer_frame_policy *policy)
{
    memset(f, 0, sizeof *f);
    f->lim = *lim;
    f->sender = sender;
    f->policy = policy;
    f->held_want = PEER_FRAME_PREAMBLE;
}

void peer_notice_encode(const peer_notice *n, uint8_t out[PEER_NOTICE_BYTES])
{
    coding_put_u64(out, PEER_FRAME_NOTICE);
    coding_put_u64(out + 8, PEER_NOTICE_HEADER);
    coding_put_u64(out + 16, n->kind);
    coding_put_u64(out + 24, n->term);
    coding_put_u64(out + 32, n->target);
    coding_put_u64(out + 40, 0);
}

int peer_frame_at_boundary(const peer_frame *f)
{
    return !f->in_payload && f->held_len == 0;
}

static void frame_reset(peer_frame *f)
{
    free(f->entry_len);
    free(f->entry_type);
    f->entry_len = NULL;
    f->entry_type = NULL;
    f->n_entries = f->entry_at = f->entry_left = f->snapshot_left = f->skip_left = 0;
    f->in_payload = 0;
    f->lifting = 0;
    f->held_len = 0;
    f->held_want = PEER_FRAME_PREAMBLE;
}

void peer_frame_free(peer_frame *f)
{
    frame_reset(f);
    free(f->held);
    f->held = NULL;
    f->held_cap = 0;
}

/* A refusal naming the message (its number on this connection, its type). */
__attribute__((format(printf, 2, 3))) static int frame_bad(const peer_frame *f,
                                                           const char *fmt, ...)
{
    char said[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(said, sizeof said, fmt, ap);
    va_end(ap);
    return kv_error(KV_ERR_CORRUPT, "message %llu from member %llu (%s): %s",
                    (unsigned long long)f->messages + 1, (unsigned long long)f->sender,
                    f->type >= 1 && f->type <= 6 ? type_name[f->type]
                    : f->type == T_NOTICE        ? "a notice"
                                                 : "no such type",
                    said);
}

int peer_conf_check(const uint8_t *p, size_t len)
{
    if (len < 9 || len % 8 != 0 || len > PEER_MAX_CONF)
        return kv_error(KV_ERR_CORRUPT, "configuration of %zu bytes (9..%u, a multiple of 8)",
                        len, PEER_MAX_CONF);
    if (p[0] != 1)
        return kv_error(KV_ERR_CORRUPT, "configuration: offset 0: version %u, not 1", p[0]);
    uint64_t n = coding_get_u64(p + 1);
    if (n == 0 || n > (len - 9) / 11)
        return kv_error(KV_ERR_CORRUPT, "configuration: offset 1: %llu servers in %zu bytes",
                        (unsigned long long)n, len);
    size_t at = 9;
    for (uint64_t i = 0; i < n; i++) {
        if (len - at < 8 + 2 + 1)
            return kv_error(KV_ERR_CORRUPT, "configuration: offset %zu: server %llu cut short",
                            at, (unsigned long long)i + 1);
        if (coding_get_u64(p + at) == 0)
            return kv_error(KV_ERR_CORRUPT, "configuration: offset %zu: server id 0", at);
        at += 8;
        const uint8_t *nul = memchr(p + at, 0, len - at);
        if (nul == NULL || nul == p + at || (size_t)(nul - (p + at)) > 255)
            return kv_error(KV_ERR_CORRUPT, "configuration: offset %zu: no address of 1..255 "
                            "bytes ended by a NUL", at);
        at = (size_t)(nul - p) + 1;
        if (at == len || p[at] > 2)
            return kv_error(KV_ERR_CORRUPT, "configuration: offset %zu: no role 0..2", at);
        at++;
    }
    if (((at + 7) & ~(size_t)7) != len)
        return kv_error(KV_ERR_CORRUPT, "configuration: %zu bytes after its last server at "
                        "offset %zu, beyond its padding", len - at, at);
    return KV_OK;
}

#define U(x) ((unsigned long long)(x))

/* The preamble is here: checks its type and the header length it gives. */
static int frame_preamble(peer_frame *f)
{
    f->type = coding_get_u64(f->held);
    uint64_t h = coding_get_u64(f->held + 8);
    int notice = f->type == T_NOTICE && f->policy != NULL && f->policy->notice != NULL;
    if ((f->type < T_APPEND || f->type > T_TIMEOUT_NOW) && !notice)
        return frame_bad(f, "type %llu (1..6%s)", U(f->type), f->policy != NULL ? ", 100" : "");
    uint64_t want = f->type == T_VOTE ? 40 : f->type == T_NOTICE ? PEER_NOTICE_HEADER : 24;
    if (f->type == T_APPEND) {
        if (h < 48 || (h - 48) % 16 != 0 || h > f->lim.max_message)
            return frame_bad(f, "a header of %llu bytes (48 + 16 per entry, at most the "
                             "message's %llu)", U(h), U(f->lim.max_message));
    } else if (f->type == T_SNAPSHOT) {
        if (h < 56 + 16 || h - 56 > PEER_MAX_CONF || (h - 56) % 8 != 0)
            return frame_bad(f, "a header of %llu bytes (56 + a configuration of 16..%u)", U(h),
                             PEER_MAX_CONF);
    } else if (h != want) {
        return frame_bad(f, "a header of %llu bytes, not %llu", U(h), U(want));
    }
    f->held_want = PEER_FRAME_PREAMBLE + (size_t)h;
    return KV_OK;
}

/* The AppendEntries header is here: its entries and their lengths. */
static int frame_append(peer_frame *f, const uint8_t *h, uint64_t hlen, uint64_t term)
{
    uint64_t prev_term = coding_get_u64(h + 16), n = coding_get_u64(h + 32);
    if (prev_term > term)
        return frame_bad(f, "previous term %llu above its term %llu", U(prev_term), U(term));
    if (n != (hlen - 48) / 16)
        return frame_bad(f, "%llu entries, but its header holds %llu", U(n), U((hlen - 48) / 16));
    if (n > 0) {
        f->entry_len = malloc(n * sizeof *f->entry_len);
        f->entry_type = malloc(n);
        if (f->entry_len == NULL || f->entry_type == NULL)
            return kv_error(KV_ERR_NOMEM, "out of memory for %llu entries' lengths", U(n));
    }
    uint64_t total = hlen, last = prev_term;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *e = h + 40 + 16 * i;
        uint64_t et = coding_get_u64(e);
        uint32_t len = coding_get_u32(e + 12);
        if (et > term || et < last) /* F4, and terms never fall along a log */
            return frame_bad(f, "entry %llu's term %llu is above the message's or below the "
                             "entry before it", U(i + 1), U(et));
        last = et;
        if (e[8] < E_COMMAND || e[8] > E_CHANGE)
            return frame_bad(f, "entry %llu of type %u (1..3)", U(i + 1), e[8]);
        if (len > f->lim.max_entry) /* F3 */
            return frame_bad(f, "entry %llu of %u bytes, over the limit of %llu", U(i + 1), len,
                             U(f->lim.max_entry));
        if (len % 8 != 0 || (e[8] == E_CHANGE && (len == 0 || len > PEER_MAX_CONF)))
            return frame_bad(f, "entry %llu of %u bytes (a multiple of 8; a configuration "
                             "8..%u)", U(i + 1), len, PEER_MAX_CONF);
        f->entry_len[i] = len;
        f->entry_type[i] = e[8];
        total += len;
        if (total > f->lim.max_message) /* F3 */
            return frame_bad(f, "over %llu bytes, the limit of a message, by entry %llu",
                             U(f->lim.max_message), U(i + 1));
    }
    f->n_entries = n;
    return KV_OK;
}

static int frame_snapshot(peer_frame *f, const uint8_t *h, uint64_t hlen, uint64_t term)
{
    uint64_t c = coding_get_u64(h + 32);
    if (coding_get_u64(h + 16) > term)
        return frame_bad(f, "last term %llu above its term %llu", U(coding_get_u64(h + 16)),
                         U(term));
    if (c != hlen - 56)
        return frame_bad(f, "a configuration of %llu bytes in a header that holds %llu", U(c),
                         U(hlen - 56));
    if (peer_conf_check(h + 40, (size_t)c) != KV_OK)
        return kv_error(KV_ERR_CORRUPT, "message %llu from member %llu (InstallSnapshot): %s",
                        U(f->messages + 1), U(f->sender), kv_errmsg());
    f->snapshot_left = coding_get_u64(h + 40 + c);
    if (f->snapshot_left > f->lim.max_message - hlen) /* F3 */
        return frame_bad(f, "a snapshot of %llu bytes, over the message limit of %llu",
                         U(f->snapshot_left), U(f->lim.max_message));
    return KV_OK;
}

/* F5: a vote's disrupt-leader flag (bit 0 of the flags at p) is cleared
 * unless the policy says a transfer to its candidate is under way. */
static void frame_vote_flags(peer_frame *f, uint8_t *p, uint64_t term)
{
    uint64_t flags = coding_get_u64(p);
    if (!(flags & 1) || f->policy == NULL || f->policy->may_disrupt == NULL)
        return;
    if (f->policy->may_disrupt(f->policy->arg, f->sender, term))
        return;
    coding_put_u64(p, flags & ~(uint64_t)1);
    f->disrupt_cleared++;
}

/* F6: a notice, checked and handed to the policy (never to libraft). */
static int frame_notice(peer_frame *f, const uint8_t *h)
{
    peer_notice n = {coding_get_u64(h), coding_get_u64(h + 8), coding_get_u64(h + 16)};
    if (n.kind < PEER_NOTICE_TRANSFER || n.kind > PEER_NOTICE_HEARD || n.target == 0 ||
        coding_get_u64(h + 24) != 0)
        return frame_bad(f, "kind %llu, target %llu or reserved %llu out of range", U(n.kind),
                         U(n.target), U(coding_get_u64(h + 24)));
    f->policy->notice(f->policy->arg, f->sender, &n);
    return KV_OK;
}

/* F7: in place of a message too far above, a vote of its sender at
 * `term` asking nothing (an empty log, no flags): its only sure effect on
 * a member without a leader is to give it that term. */
static void frame_lift(peer_frame *f, uint64_t term)
{
    coding_put_u64(f->lift, T_VOTE);
    coding_put_u64(f->lift + 8, 40);
    coding_put_u64(f->lift + 16, term);
    coding_put_u64(f->lift + 24, f->sender);
    coding_put_u64(f->lift + 32, 0);
    coding_put_u64(f->lift + 40, 0);
    coding_put_u64(f->lift + 48, 0);
    f->lifting = 1;
    f->terms_lowered++;
}

/* F7: the message's term, in the held header, lowered to `term`. */
static void frame_lower(peer_frame *f, uint64_t term)
{
    coding_put_u64(f->held + PEER_FRAME_PREAMBLE, term);
    f->terms_lowered++;
}

/* The whole header is here: checks it. */
static int frame_header(peer_frame *f)
{
    const uint8_t *h = f->held + PEER_FRAME_PREAMBLE;
    uint64_t hlen = f->held_len - PEER_FRAME_PREAMBLE, term = coding_get_u64(h);
    if (f->type == T_NOTICE)
        return frame_notice(f, h);
    /* F1: far above the member's term (own + the window cannot wrap then:
     * own < term - the window). */
    int far = 0;
    uint64_t lowered = 0;
    if (f->policy != NULL && f->policy->term != NULL) {
        uint64_t own = f->policy->term(f->policy->arg);
        far = term > own && term - own > PEER_TERM_WINDOW;
        lowered = own + PEER_TERM_WINDOW;
    }
    int rc = KV_OK;
    switch (f->type) {
    case T_APPEND:
        rc = frame_append(f, h, hlen, term);
        break;
    case T_SNAPSHOT:
        rc = frame_snapshot(f, h, hlen, term);
        break;
    case T_VOTE:
        if (f->sender != 0 && coding_get_u64(h + 8) != f->sender) /* F2 */
            return frame_bad(f, "a vote asked for member %llu, not for the sender",
                             U(coding_get_u64(h + 8)));
        if (coding_get_u64(h + 24) > term || coding_get_u64(h + 32) > 3)
            return frame_bad(f, "last term %llu or flags %llu out of range",
                             U(coding_get_u64(h + 24)), U(coding_get_u64(h + 32)));
        /* F7: a pre-vote (flags bit 1) changes no term: it passes as it
         * is; a vote whose log's last term fits under the lowered term is
         * lowered; another is lifted. */
        if (far && !(coding_get_u64(h + 32) & 2)) {
            if (coding_get_u64(h + 24) > lowered) {
                frame_lift(f, lowered);
                return KV_OK;
            }
            frame_lower(f, lowered);
            term = lowered;
        }
        frame_vote_flags(f, f->held + PEER_FRAME_PREAMBLE + 32, term);
        return KV_OK;
    case T_VOTE_RESULT:
        if (coding_get_u64(h + 8) > 1 || coding_get_u64(h + 16) > 1)
            return frame_bad(f, "granted %llu or flags %llu out of range",
                             U(coding_get_u64(h + 8)), U(coding_get_u64(h + 16)));
        if (far)
            frame_lower(f, lowered);
        return KV_OK;
    case T_TIMEOUT_NOW:
        if (coding_get_u64(h + 16) > term)
            return frame_bad(f, "last term %llu above its term %llu", U(coding_get_u64(h + 16)),
                             U(term));
        break;
    default: /* T_APPEND_RESULT: any index is an answer */
        if (far)
            frame_lower(f, lowered);
        return KV_OK;
    }
    /* A leader's message (F1): far above, never handed on, but lifted. */
    if (rc == KV_OK && far)
        frame_lift(f, lowered);
    return rc;
}

/* Keeps in f->held up to the bytes held_want asks for; *took says how
 * many of p[0..n) it kept. */
static int frame_hold(peer_frame *f, const uint8_t *p, size_t n, size_t *took)
{
    size_t take = f->held_want - f->held_len < n ? f->held_want - f->held_len : n;
    if (f->held_len + take > f->held_cap) {
        size_t cap = f->held_cap != 0 ? f->held_cap : 64;
        while (cap < f->held_len + take)
            cap *= 2;
        uint8_t *grown = realloc(f->held, cap);
        if (grown == NULL)
            return kv_error(KV_ERR_NOMEM, "out of memory for %zu bytes of a peer's message",
                            cap);
        f->held = grown;
        f->held_cap = cap;
    }
    memcpy(f->held + f->held_len, p, take);
    f->held_len += take;
    *took = take;
    return KV_OK;
}

/* Moves to the next entry of the payload with bytes, or ends the message. */
static void frame_next_entry(peer_frame *f)
{
    while (f->entry_at < f->n_entries && f->entry_len[f->entry_at] == 0)
        f->entry_at++;
    if (f->entry_at == f->n_entries) {
        f->messages++;
        frame_reset(f);
        return;
    }
    f->entry_left = f->entry_len[f->entry_at];
}

/* The header was handed on: the payload comes next, or the next message. */
static void frame_start_payload(peer_frame *f)
{
    f->held_len = 0;
    if (f->lifting) { /* F7: the payload is skipped */
        for (uint64_t i = 0; i < f->n_entries; i++)
            f->skip_left += f->entry_len[i];
        f->skip_left += f->type == T_SNAPSHOT ? f->snapshot_left : 0;
        if (f->skip_left > 0) {
            f->in_payload = 1;
        } else {
            f->messages++;
            frame_reset(f);
        }
    } else if (f->type == T_APPEND && f->n_entries > 0) {
        f->in_payload = 1;
        f->entry_at = 0;
        frame_next_entry(f);
    } else if (f->type == T_SNAPSHOT && f->snapshot_left > 0) {
        f->in_payload = 1;
    } else {
        f->messages++;
        frame_reset(f);
    }
}

/* Payload bytes: streamed on, but a configuration entry kept until it is
 * whole and checked.  *took says how many of p[0..n) were used. */
static int frame_payload(peer_frame *f, const uint8_t *p, size_t n, peer_frame_emit emit,
                         void *arg, size_t *took)
{
    if (f->lifting) { /* F7: skipped, not handed on */
        *took = f->skip_left < n ? (size_t)f->skip_left : n;
        f->skip_left -= *took;
        if (f->skip_left == 0) {
            f->messages++;
            frame_reset(f);
        }
        return KV_OK;
    }
    if (f->type == T_SNAPSHOT) {
        *took = f->snapshot_left < n ? (size_t)f->snapshot_left : n;
        emit(arg, p, *took);
        f->snapshot_left -= *took;
        if (f->snapshot_left == 0) {
            f->messages++;
            frame_reset(f);
        }
        return KV_OK;
    }
    if (f->entry_type[f->entry_at] != E_CHANGE) {
        *took = f->entry_left < n ? (size_t)f->entry_left : n;
        emit(arg, p, *took);
        f->entry_left -= *took;
        if (f->entry_left == 0) {
            f->entry_at++;
            frame_next_entry(f);
        }
        return KV_OK;
    }
    f->held_want = f->entry_len[f->entry_at];
    int rc = frame_hold(f, p, n, took);
    if (rc != KV_OK || f->held_len < f->held_want)
        return rc;
    if (peer_conf_check(f->held, f->held_len) != KV_OK)
        return kv_error(KV_ERR_CORRUPT, "message %llu from member %llu (AppendEntries): entry "
                        "%llu: %s", U(f->messages + 1), U(f->sender), U(f->entry_at + 1),
                        kv_errmsg());
    emit(arg, f->held, f->held_len);
    f->held_len = 0;
    f->entry_at++;
    frame_next_entry(f);
    return KV_OK;
}

int peer_frame_feed_one(peer_frame *f, const uint8_t *p, size_t n, peer_frame_emit emit,
                        void *arg, size_t *used)
{
    uint64_t before = f->messages;
    *used = 0;
    while (n > 0 && f->messages == before) {
        size_t took = 0;
        int rc;
        if (f->in_payload) {
            rc = frame_payload(f, p, n, emit, arg, &took);
        } else {
            rc = frame_hold(f, p, n, &took);
            if (rc == KV_OK && f->held_len == f->held_want) {
                if (f->held_len == PEER_FRAME_PREAMBLE) {
                    rc = frame_preamble(f);
                } else {
                    rc = frame_header(f);
                    if (rc == KV_OK) {
                        if (f->lifting) /* F7 */
                            emit(arg, f->lift, sizeof f->lift);
                        else if (f->type != T_NOTICE) /* F6: the transport's own */
                            emit(arg, f->held, f->held_len);
                        frame_start_payload(f);
                    }
                }
            }
        }
        if (rc != KV_OK)
            return rc;
        p += took;
        n -= took;
        *used += took;
    }
    return KV_OK;
}

int peer_frame_feed(peer_frame *f, const uint8_t *p, size_t n, peer_frame_emit emit, void *arg)
{
    while (n > 0) {
        size_t used = 0;
        int rc = peer_frame_feed_one(f, p, n, emit, arg, &used);
        if (rc != KV_OK)
            return rc;
        p += used;
        n -= used;
    }
    return KV_OK;
}
