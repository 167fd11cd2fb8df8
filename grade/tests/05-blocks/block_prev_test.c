/*
 * block_prev_test.c: exercise block_prev, block_iter_prev
 * (stages/05-blocks/blocks/block.c): the entry before, found from the restart
 * point before it, since entries can only be decoded forward.
 */
#include <stdio.h>
#include <string.h>

#include "block.h"
#include "ex_block.h"
#include "exercise.h"
#include "kv.h"

enum { N = 50 };
static uint8_t keys[N][EX_KEY_MAX];
static size_t lens[N];
static uint8_t contents[64 * N + 16];

static void prev_walk(int interval)
{
    for (int i = 0; i < N; i++)
        lens[i] = ex_ikey(keys[i], i);
    size_t size = ex_block(contents, keys, lens, N, interval, NULL);
    block b;
    EX_CHECK(block_init(&b, contents, size) == NULL, "test setup");
    block_iter it;
    memset(&it, 0, sizeof it);
    block_iter_init(&it, &b, 8);
    block_iter_seek_last(&it);
    for (int i = N - 1; i >= 0; i--) {
        harness_context("walking back with block_iter_prev, restart point every %d: at entry "
                        "%d", interval, i);
        EX_CHECK(it.valid && it.key_len == lens[i] && memcmp(it.key, keys[i], lens[i]) == 0,
                 "a backward walk shows every entry in reverse: entry %d (interval %d)", i,
                 interval);
        char v[16];
        snprintf(v, sizeof v, "v%d", i);
        EX_CHECK(it.value_len == strlen(v) && memcmp(it.value, v, it.value_len) == 0,
                 "with its value");
        block_iter_prev(&it);
    }
    EX_CHECK(!it.valid && it.status == KV_OK, "prev from the first entry: not valid, status "
             "KV_OK (interval %d)", interval);
    block_iter_free(&it);
}

static void block_prev_walks_back_interval_16(void) { prev_walk(16); }
static void block_prev_walks_back_interval_1(void) { prev_walk(1); }
static void block_prev_walks_back_interval_4(void) { prev_walk(4); }
static void block_prev_walks_back_one_restart(void) { prev_walk(N); }

static void block_prev_and_next_mix(void)
{
    for (int i = 0; i < N; i++)
        lens[i] = ex_ikey(keys[i], i);
    size_t size = ex_block(contents, keys, lens, N, 5, NULL);
    block b;
    block_init(&b, contents, size);
    block_iter it;
    memset(&it, 0, sizeof it);
    block_iter_init(&it, &b, 8);
    block_iter_seek_first(&it);
    int at = 0;
    static const int moves[] = {1, 1, 1, 1, 1, 1, -1, 1, -1, -1, -1, 1, 1, 1, 1, 1, -1, -1};
    for (size_t m = 0; m < sizeof moves / sizeof moves[0]; m++) {
        if (moves[m] > 0)
            block_iter_next(&it);
        else
            block_iter_prev(&it);
        at += moves[m];
        EX_CHECK(it.valid && memcmp(it.key, keys[at], lens[at]) == 0,
                 "next and prev mix freely: after move %zu the iterator is at entry %d", m, at);
    }
    block_iter_free(&it);
}

static const harness_test block_prev_tests[] = {
    HARNESS_TEST(block_prev_walks_back_interval_16),
    HARNESS_TEST(block_prev_walks_back_interval_1),
    HARNESS_TEST(block_prev_walks_back_interval_4),
    HARNESS_TEST(block_prev_walks_back_one_restart),
    HARNESS_TEST(block_prev_and_next_mix),
};
const harness_suite block_prev_suite = HARNESS_SUITE("block_prev", block_prev_tests);
