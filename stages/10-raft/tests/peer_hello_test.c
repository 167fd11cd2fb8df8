/*
 * peer_hello_test.c: a connection's opening, hello, probe answer and
 * confirm messages (peer_hello.h): each encodes and decodes back; each
 * byte the encoder fixes, changed, is refused with its offset named; a
 * hello of the wrong length is refused.
 */
#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "kv.h"
#include "peer_hello.h"

static void the_opening_decodes_back_and_each_break_is_refused(void)
{
    peer_opening o = {.mode = PEER_MODE_TLS, .id = 300}, back;
    uint8_t b[PEER_OPENING];
    peer_opening_encode(&o, b);
    CHECK_KV(peer_opening_decode(b, &back), KV_OK);
    CHECK_MSG(back.mode == PEER_MODE_TLS && back.id == 300, "the opening reads back");
    const struct {
        size_t at;
        uint8_t to;
        const char *says;
    } breaks[] = {{0, 'K', "offset 0"}, {5, 'R', "offset 0"}, {6, 2, "offset 6"},
                  {7, 2, "offset 7"}};
    for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++) {
        uint8_t bad[PEER_OPENING];
        memcpy(bad, b, sizeof bad);
        bad[breaks[i].at] = breaks[i].to;
        CHECK_MSG(peer_opening_decode(bad, &back) == KV_ERR_CORRUPT &&
                      strstr(kv_errmsg(), breaks[i].says) != NULL,
                  "byte %zu changed is refused, naming %s (%s)", breaks[i].at, breaks[i].says,
                  kv_errmsg());
    }
    o.id = 0;
    peer_opening_encode(&o, b);
    CHECK_MSG(peer_opening_decode(b, &back) == KV_ERR_CORRUPT &&
                  strstr(kv_errmsg(), "offset 8") != NULL,
              "member id 0 is refused (%s)", kv_errmsg());
}

static void the_hello_decodes_back_and_each_break_is_refused(void)
{
    peer_hello h = {.kind = PEER_KIND_PROBE}, back;
    strcpy(h.addr, "10.0.0.1:7101");
    uint8_t b[PEER_HELLO_HEAD + PEER_ADDR_MAX];
    size_t n = peer_hello_encode(&h, b, sizeof b);
    CHECK_MSG(n == PEER_HELLO_HEAD + 13 && peer_hello_length(b) == n,
              "the hello is its head and its address (%zu bytes)", n);
    CHECK_KV(peer_hello_decode(b, n, &back), KV_OK);
    CHECK_MSG(back.kind == PEER_KIND_PROBE && strcmp(back.addr, h.addr) == 0,
              "the hello reads back");
    CHECK_MSG(peer_hello_encode(&h, b, 10) == 0, "a hello that does not fit is not encoded");
    peer_hello empty = {.kind = PEER_KIND_RAFT};
    CHECK_MSG(peer_hello_encode(&empty, b, sizeof b) == 0, "nor one without an address");
    n = peer_hello_encode(&h, b, sizeof b);
    for (size_t cut = 0; cut < n; cut++)
        CHECK_MSG(peer_hello_decode(b, cut, &back) == KV_ERR_CORRUPT,
                  "a hello cut to %zu bytes is refused", cut);
    const struct {
        size_t at;
        uint8_t to;
        const char *says;
    } breaks[] = {{0, 4, "offset 0"}, {0, 0, "offset 0"}, {1, 1, "offset 1"}, {2, 0, "offset 2"},
                  {4, ' ', "offset 4"}, {10, 0x80, "offset 10"}};
    for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++) {
        uint8_t bad[sizeof b];
        memcpy(bad, b, n);
        bad[breaks[i].at] = breaks[i].to;
        if (breaks[i].at == 2)
            bad[3] = 0; /* an address length of 0 */
        CHECK_MSG(peer_hello_decode(bad, n, &back) == KV_ERR_CORRUPT &&
                      strstr(kv_errmsg(), breaks[i].says) != NULL,
                  "byte %zu changed is refused, naming %s (%s)", breaks[i].at, breaks[i].says,
                  kv_errmsg());
        if (breaks[i].at < PEER_HELLO_HEAD)
            CHECK_MSG(peer_hello_length(bad) == 0, "and its head says no length");
    }
    CHECK_MSG(peer_hello_decode(b, n + 1, &back) == KV_ERR_CORRUPT,
              "a byte past its address is refused");
}

static void the_answer_decodes_back_and_each_break_is_refused(void)
{
    peer_answer a = {.has_log = 1, .role = PEER_ROLE_NONE, .last_index = 77, .term = 5}, back;
    uint8_t b[PEER_ANSWER];
    peer_answer_encode(&a, b);
    CHECK_KV(peer_answer_decode(b, &back), KV_OK);
    CHECK_MSG(back.has_log && back.role == PEER_ROLE_NONE && back.last_index == 77 &&
                  back.term == 5, "the answer reads back");
    const size_t at[] = {0, 1, 2, 7};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        uint8_t bad[PEER_ANSWER];
        memcpy(bad, b, sizeof bad);
        bad[at[i]] = at[i] == 1 ? 3 : 2;
        char want[16];
        snprintf(want, sizeof want, "offset %zu", at[i]);
        CHECK_MSG(peer_answer_decode(bad, &back) == KV_ERR_CORRUPT &&
                      strstr(kv_errmsg(), want) != NULL,
                  "byte %zu changed is refused, naming it (%s)", at[i], kv_errmsg());
    }
}

static void a_confirm_link_says_so_in_its_hello(void)
{
    peer_hello h = {.kind = PEER_KIND_CONFIRM}, back;
    strcpy(h.addr, "127.0.0.1:7102");
    uint8_t b[PEER_HELLO_HEAD + PEER_ADDR_MAX];
    size_t n = peer_hello_encode(&h, b, sizeof b);
    CHECK_KV(peer_hello_decode(b, n, &back), KV_OK);
    CHECK_MSG(back.kind == PEER_KIND_CONFIRM && b[0] == 3 && peer_hello_length(b) == n,
              "a hello of kind 3 (confirm) reads back");
}

static void confirm_messages_decode_back_and_each_break_is_refused(void)
{
    peer_confirm_msg ask = {.kind = PEER_CONFIRM_ASK, .round = 12, .term = 5}, back;
    uint8_t b[PEER_CONFIRM];
    peer_confirm_encode(&ask, b);
    CHECK_MSG(b[0] == 1 && b[8] == 12 && b[16] == 5, "an ask: kind 1, round at 8, term at 16");
    CHECK_KV(peer_confirm_decode(b, &back), KV_OK);
    CHECK_MSG(back.kind == PEER_CONFIRM_ASK && back.round == 12 && back.term == 5,
              "the ask reads back");
    peer_confirm_msg answer = {.kind = PEER_CONFIRM_ANSWER, .round = UINT64_MAX, .term = 0};
    uint8_t a[PEER_CONFIRM];
    peer_confirm_encode(&answer, a);
    CHECK_KV(peer_confirm_decode(a, &back), KV_OK);
    CHECK_MSG(back.kind == PEER_CONFIRM_ANSWER && back.round == UINT64_MAX && back.term == 0,
              "an answer of the largest round, from a member in term 0 (it joins, and has "
              "heard of no term yet), reads back");
    const struct {
        size_t at;
        uint8_t to;
        const char *says;
    } breaks[] = {{0, 0, "offset 0"}, {0, 3, "offset 0"}, {1, 1, "offset 1"}, {7, 0x80, "offset 7"}};
    for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++) {
        uint8_t bad[PEER_CONFIRM];
        memcpy(bad, b, sizeof bad);
        bad[breaks[i].at] = breaks[i].to;
        CHECK_MSG(peer_confirm_decode(bad, &back) == KV_ERR_CORRUPT &&
                      strstr(kv_errmsg(), breaks[i].says) != NULL,
                  "byte %zu changed to %u is refused, naming %s (%s)", breaks[i].at,
                  breaks[i].to, breaks[i].says, kv_errmsg());
    }
    ask.round = 0;
    peer_confirm_encode(&ask, b);
    CHECK_MSG(peer_confirm_decode(b, &back) == KV_ERR_CORRUPT &&
                  strstr(kv_errmsg(), "offset 8") != NULL,
              "round 0 is refused (%s)", kv_errmsg());
    ask.round = 1;
    ask.term = 0;
    peer_confirm_encode(&ask, b);
    CHECK_MSG(peer_confirm_decode(b, &back) == KV_ERR_CORRUPT &&
                  strstr(kv_errmsg(), "offset 16") != NULL,
              "an ask in term 0 is refused (%s)", kv_errmsg());
}

static const harness_test tests[] = {
    HARNESS_TEST(the_opening_decodes_back_and_each_break_is_refused),
    HARNESS_TEST(the_hello_decodes_back_and_each_break_is_refused),
    HARNESS_TEST(the_answer_decodes_back_and_each_break_is_refused),
    HARNESS_TEST(a_confirm_link_says_so_in_its_hello),
    HARNESS_TEST(confirm_messages_decode_back_and_each_break_is_refused),
};
const harness_suite peer_hello_suite = HARNESS_SUITE("peer_hello", tests);
