/*
 * peer_confirm.c: one end of a confirm link: its asks, and what it does
 * with the messages that come on it (peer_confirm.h has the rules).
 */
#include <string.h>

#include "error.h"
#include "kv.h"
#include "peer_confirm.h"
#include "peer_transport.h"

int peer_confirm_ask_on(peer_confirm_link *l, int open, uint64_t term, uint64_t round,
                        uint8_t out[PEER_CONFIRM])
{
    if (l->ask.round == round && l->ask_sent)
        return 0; /* asked this round already (K1) */
    l->ask = (peer_confirm_msg){.kind = PEER_CONFIRM_ASK, .round = round, .term = term};
    l->ask_sent = 0;
    if (!open)
        return 0; /* it goes once the link opens */
    peer_confirm_encode(&l->ask, out);
    l->ask_sent = 1;
    return 1;
}

int peer_confirm_opened(peer_confirm_link *l, uint8_t out[PEER_CONFIRM])
{
    l->in_len = 0;
    if (!l->asking || l->ask.round == 0 || l->ask_sent)
        return 0;
    peer_confirm_encode(&l->ask, out);
    l->ask_sent = 1;
    return 1;
}

/* One whole message that came on l. */
static int confirm_message(peer_confirm_link *l, const peer_config *cfg, uint64_t peer,
                           const peer_confirm_msg *msg,
                           int (*send)(void *arg, const uint8_t out[PEER_CONFIRM]), void *arg)
{
    if (l->asking) { /* K2 */
        if (msg->kind != PEER_CONFIRM_ANSWER)
            return kv_error(KV_ERR_CORRUPT, "peer confirm: an ask sent to the member that asks");
        if (msg->round > l->ask.round || (msg->round == l->ask.round && !l->ask_sent))
            return kv_error(KV_ERR_CORRUPT, "peer confirm: an answer for round %llu, not asked "
                            "(the last asked: %llu)", (unsigned long long)msg->round,
                            (unsigned long long)(l->ask_sent ? l->ask.round : l->ask.round - 1));
        if (cfg->confirmed != NULL)
            cfg->confirmed(cfg->arg, peer, msg->term, msg->round);
        return KV_OK;
    }
    if (msg->kind != PEER_CONFIRM_ASK) /* K3 */
        return kv_error(KV_ERR_CORRUPT, "peer confirm: an answer sent to the member that "
                        "answers");
    peer_confirm_msg a = {.kind = PEER_CONFIRM_ANSWER, .round = msg->round,
                          .term = cfg->term != NULL ? cfg->term(cfg->arg) : 0};
    uint8_t out[PEER_CONFIRM];
    peer_confirm_encode(&a, out);
    return send(arg, out) == 0 ? KV_OK : KV_ERR_IO;
}

int peer_confirm_feed(peer_confirm_link *l, const peer_config *cfg, uint64_t peer,
                      const uint8_t *p, size_t n,
                      int (*send)(void *arg, const uint8_t out[PEER_CONFIRM]), void *arg)
{
    while (n > 0) {
        size_t take = PEER_CONFIRM - l->in_len < n ? PEER_CONFIRM - l->in_len : n;
        memcpy(l->in + l->in_len, p, take);
        l->in_len += take;
        p += take;
        n -= take;
        if (l->in_len < PEER_CONFIRM)
            return KV_OK;
        l->in_len = 0;
        peer_confirm_msg msg;
        int rc = peer_confirm_decode(l->in, &msg);
        if (rc == KV_OK)
            rc = confirm_message(l, cfg, peer, &msg, send, arg);
        if (rc != KV_OK)
            return rc;
    }
    return KV_OK;
}

int peer_confirm_may_dial(peer_confirm_dial *dials, size_t n, uint64_t id, uint64_t now,
                          uint64_t gap)
{
    peer_confirm_dial *slot = NULL;
    for (size_t i = 0; i < n && slot == NULL; i++)
        if (dials[i].id == id)
            slot = &dials[i];
    if (slot != NULL && now - slot->ms < gap)
        return 0;
    for (size_t i = 0; i < n && slot == NULL; i++)
        if (dials[i].id == 0)
            slot = &dials[i];
    if (slot == NULL) {
        slot = &dials[0];
        for (size_t i = 1; i < n; i++)
            if (dials[i].ms < slot->ms)
                slot = &dials[i];
    }
    slot->id = id;
    slot->ms = now;
    return 1;
}
