/*
 * peer_hello.c: a connection's opening, hello, probe answer and confirm
 * messages, encoded and checked (peer_hello.h).
 */
#include <string.h>

#include "coding.h"
#include "error.h"
#include "kv.h"
#include "peer_hello.h"

static const char peer_magic[6] = {'k', 'v', 'p', 'e', 'e', 'r'};

static int hello_kind_known(unsigned kind)
{
    return kind == PEER_KIND_RAFT || kind == PEER_KIND_PROBE || kind == PEER_KIND_CONFIRM;
}

void peer_opening_encode(const peer_opening *o, uint8_t out[PEER_OPENING])
{
    memcpy(out, peer_magic, sizeof peer_magic);
    out[6] = PEER_VERSION;
    out[7] = (uint8_t)o->mode;
    coding_put_u64(out + 8, o->id);
}

int peer_opening_decode(const uint8_t p[PEER_OPENING], peer_opening *o)
{
    if (memcmp(p, peer_magic, sizeof peer_magic) != 0)
        return kv_error(KV_ERR_CORRUPT, "peer opening: offset 0: not \"kvpeer\" (a member's "
                        "Raft port speaks only to members)");
    if (p[6] != PEER_VERSION)
        return kv_error(KV_ERR_CORRUPT, "peer opening: offset 6: version %u, this member "
                        "speaks %u", p[6], PEER_VERSION);
    if (p[7] != PEER_MODE_PLAIN && p[7] != PEER_MODE_TLS)
        return kv_error(KV_ERR_CORRUPT, "peer opening: offset 7: mode %u (0 plain, 1 TLS)",
                        p[7]);
    o->mode = p[7];
    o->id = coding_get_u64(p + 8);
    if (o->id == 0)
        return kv_error(KV_ERR_CORRUPT, "peer opening: offset 8: member id 0");
    return KV_OK;
}

size_t peer_hello_encode(const peer_hello *h, uint8_t *out, size_t cap)
{
    size_t a = strlen(h->addr);
    if (a == 0 || a > PEER_ADDR_MAX || cap < PEER_HELLO_HEAD + a)
        return 0;
    out[0] = (uint8_t)h->kind;
    out[1] = 0;
    coding_put_u16(out + 2, (uint16_t)a);
    memcpy(out + PEER_HELLO_HEAD, h->addr, a);
    return PEER_HELLO_HEAD + a;
}

size_t peer_hello_length(const uint8_t p[PEER_HELLO_HEAD])
{
    size_t a = coding_get_u16(p + 2);
    if (!hello_kind_known(p[0]) || p[1] != 0 || a == 0 ||
        a > PEER_ADDR_MAX)
        return 0;
    return PEER_HELLO_HEAD + a;
}

int peer_hello_decode(const uint8_t *p, size_t len, peer_hello *h)
{
    if (len < PEER_HELLO_HEAD)
        return kv_error(KV_ERR_CORRUPT, "peer hello: %zu bytes, shorter than its %u-byte head",
                        len, PEER_HELLO_HEAD);
    if (!hello_kind_known(p[0]))
        return kv_error(KV_ERR_CORRUPT, "peer hello: offset 0: kind %u (1 Raft, 2 probe, 3 "
                        "confirm)", p[0]);
    if (p[1] != 0)
        return kv_error(KV_ERR_CORRUPT, "peer hello: offset 1: %u, not the reserved 0", p[1]);
    size_t a = coding_get_u16(p + 2);
    if (a == 0 || a > PEER_ADDR_MAX)
        return kv_error(KV_ERR_CORRUPT, "peer hello: offset 2: address length %zu (1..%u)", a,
                        PEER_ADDR_MAX);
    if (len != PEER_HELLO_HEAD + a)
        return kv_error(KV_ERR_CORRUPT, "peer hello: %zu bytes, its head says %zu", len,
                        PEER_HELLO_HEAD + a);
    for (size_t i = 0; i < a; i++)
        if (p[PEER_HELLO_HEAD + i] < 33 || p[PEER_HELLO_HEAD + i] > 126)
            return kv_error(KV_ERR_CORRUPT, "peer hello: offset %zu: byte %u in the address "
                            "(printable ASCII only)", PEER_HELLO_HEAD + i, p[PEER_HELLO_HEAD + i]);
    h->kind = p[0];
    memcpy(h->addr, p + PEER_HELLO_HEAD, a);
    h->addr[a] = '\0';
    return KV_OK;
}

void peer_answer_encode(const peer_answer *a, uint8_t out[PEER_ANSWER])
{
    memset(out, 0, PEER_ANSWER);
    out[0] = (uint8_t)(a->has_log != 0);
    out[1] = (uint8_t)a->role;
    coding_put_u64(out + 8, a->last_index);
    coding_put_u64(out + 16, a->term);
}

int peer_answer_decode(const uint8_t p[PEER_ANSWER], peer_answer *a)
{
    if (p[0] > 1)
        return kv_error(KV_ERR_CORRUPT, "peer answer: offset 0: %u (0 or 1)", p[0]);
    if (p[1] > 2 && p[1] != PEER_ROLE_NONE)
        return kv_error(KV_ERR_CORRUPT, "peer answer: offset 1: role %u (0, 1, 2 or 255)", p[1]);
    for (int i = 2; i < 8; i++)
        if (p[i] != 0)
            return kv_error(KV_ERR_CORRUPT, "peer answer: offset %d: %u, not the reserved 0", i,
                            p[i]);
    a->has_log = p[0];
    a->role = p[1];
    a->last_index = coding_get_u64(p + 8);
    a->term = coding_get_u64(p + 16);
    return KV_OK;
}

void peer_confirm_encode(const peer_confirm_msg *c, uint8_t out[PEER_CONFIRM])
{
    memset(out, 0, PEER_CONFIRM);
    out[0] = (uint8_t)c->kind;
    coding_put_u64(out + 8, c->round);
    coding_put_u64(out + 16, c->term);
}

int peer_confirm_decode(const uint8_t p[PEER_CONFIRM], peer_confirm_msg *c)
{
    if (p[0] != PEER_CONFIRM_ASK && p[0] != PEER_CONFIRM_ANSWER)
        return kv_error(KV_ERR_CORRUPT, "peer confirm: offset 0: kind %u (1 ask, 2 answer)",
                        p[0]);
    for (int i = 1; i < 8; i++)
        if (p[i] != 0)
            return kv_error(KV_ERR_CORRUPT, "peer confirm: offset %d: %u, not the reserved 0", i,
                            p[i]);
    uint64_t round = coding_get_u64(p + 8), term = coding_get_u64(p + 16);
    if (round == 0)
        return kv_error(KV_ERR_CORRUPT, "peer confirm: offset 8: round 0 (rounds count from 1)");
    if (p[0] == PEER_CONFIRM_ASK && term == 0)
        return kv_error(KV_ERR_CORRUPT, "peer confirm: offset 16: an ask in term 0 (a leader's "
                        "term is 1 or more)");
    c->kind = p[0];
    c->round = round;
    c->term = term;
    return KV_OK;
}
