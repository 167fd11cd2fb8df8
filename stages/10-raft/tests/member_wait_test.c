/*
 * member_wait_test.c: where a member's requests wait (member_wait.h).
 * Writes: a waiter is found once by its term and serial, whatever the
 * order of the apply and libraft's callback, and serials are handed out
 * once in a life (S1, S2); a life after a restart hands out the same
 * serials again, as a clock stepped back would, and an entry of the life
 * before settles none of its writes (S1).
 * Reads: a round confirmed hands its index only to the reads whose bytes
 * came by the pass it started in; only the reads the engine has reached
 * are woken, and all of them when the term ends.
 */
#include <stdint.h>

#include "../../../tests/harness.h"
#include "member_wait.h"

/* The clients woken, in order. */
typedef struct woken {
    unsigned long long client[16];
    size_t n;
} woken;

static void wake(void *arg, unsigned long long client)
{
    woken *w = arg;
    if (w->n < 16)
        w->client[w->n] = client;
    w->n++;
}

static void a_write_is_found_once_by_its_term_and_serial(void)
{
    member_waits w;
    CHECK_EQ(member_waits_init(&w), 0);
    member_waiter *x[200];
    for (int i = 0; i < 200; i++) { /* past the first 64 buckets: they double */
        x[i] = member_wait_add(&w, 4, 1000 + (unsigned long long)i);
        CHECK(x[i] != NULL);
        CHECK_MSG(i == 0 || x[i]->serial == x[i - 1]->serial + 1,
                  "serials follow one another (S1)");
    }
    CHECK_MSG(member_wait_find(&w, 4, x[150]->serial) == x[150],
              "found and left in the map");
    CHECK_MSG(member_wait_take(&w, 5, x[150]->serial) == NULL &&
                  member_wait_find(&w, 3, x[150]->serial) == NULL,
              "the serial in another term finds none (S1)");
    CHECK_MSG(member_wait_take(&w, 4, x[150]->serial) == x[150] && x[150]->write == 1150,
              "the waiter is found by its term and serial, with its write");
    CHECK_MSG(member_wait_take(&w, 4, x[150]->serial) == NULL, "taken, it is in no map (S2)");
    CHECK_MSG(member_wait_take(&w, 4, x[199]->serial + 1) == NULL,
              "a serial never handed out finds none");
    member_wait_release(&w, x[150]); /* taken and let go of by libraft: freed */
    for (int i = 0; i < 200; i++)
        if (i != 150)
            x[i]->held = 0; /* libraft holds none of them any more */
    member_waits_free(&w);
}

/* A member's two lives: the first proposes writes in term 6 that its
 * log still holds when it stops; the second, started again (its serials
 * begin again, as they would after a clock stepped back if a clock gave
 * them), leads term 9 and proposes writes of its own; then the first
 * life's entries apply.  None of them settles a write of the second, and
 * each of the second's is settled by its own entry (S1). */
static void an_entry_from_before_a_restart_settles_no_new_write(void)
{
    member_waits w;
    uint64_t before[5];
    CHECK_EQ(member_waits_init(&w), 0);
    for (int i = 0; i < 5; i++) {
        member_waiter *x = member_wait_add(&w, 6, 100 + (unsigned long long)i);
        CHECK(x != NULL);
        before[i] = x->serial; /* the origin its entry carries: term 6 */
        x->held = 0;
    }
    member_waits_free(&w); /* the process stops; the entries stay in the log */
    CHECK_EQ(member_waits_init(&w), 0);
    member_waiter *now[5];
    int repeated = 0;
    for (int i = 0; i < 5; i++) {
        now[i] = member_wait_add(&w, 9, 200 + (unsigned long long)i);
        CHECK(now[i] != NULL);
        repeated += now[i]->serial == before[i];
    }
    CHECK_MSG(repeated == 5, "the second life hands out the first's serials again (%d of 5): "
              "the term alone tells them apart", repeated);
    for (int i = 0; i < 5; i++)
        CHECK_MSG(member_wait_take(&w, 6, before[i]) == NULL,
                  "the first life's entry %d (term 6, serial %llu) settles no write", i,
                  (unsigned long long)before[i]);
    for (int i = 0; i < 5; i++) {
        member_waiter *x = member_wait_take(&w, 9, now[i]->serial);
        CHECK_MSG(x == now[i] && x->write == 200 + (unsigned long long)i,
                  "the second life's entry %d settles its own write", i);
        member_wait_release(&w, x);
    }
    CHECK_MSG(w.n == 0, "no waiter is left");
    member_waits_free(&w);
}

static void a_confirmed_round_serves_only_the_reads_before_it(void)
{
    member_waits w;
    CHECK_EQ(member_waits_init(&w), 0);
    CHECK_MSG(!member_waits_unindexed(&w, 0), "no read waits");
    CHECK_EQ(member_wait_read(&w, 1, 10, 0), 0); /* came in pass 10 */
    CHECK_EQ(member_wait_read(&w, 2, 12, 0), 0); /* came in pass 12 */
    CHECK_MSG(member_waits_unindexed(&w, 0), "two reads wait for a round");
    member_waits_read_index(&w, 11, 40); /* a round started in pass 11, index 40, confirmed */
    CHECK_MSG(w.reads[0].index == 40 && w.reads[1].index == 0,
              "the read of pass 10 waits for index 40; the one of pass 12 came after the round "
              "started and waits for the next");
    CHECK_MSG(member_waits_unindexed(&w, 0), "one read still waits for a round");
    woken got = {0};
    member_waits_reached(&w, 39, wake, &got);
    CHECK_MSG(got.n == 0, "the engine at 39 wakes no one (woke %zu)", got.n);
    member_waits_reached(&w, 40, wake, &got);
    CHECK_MSG(got.n == 1 && got.client[0] == 1,
              "the engine at 40 wakes the read of pass 10 only");
    member_waits_reached(&w, 1000, wake, &got);
    CHECK_MSG(got.n == 1, "a read with no index is not woken by the engine going on");
    member_waits_read_index(&w, 12, 41);
    member_waits_reached(&w, 1000, wake, &got);
    CHECK_MSG(got.n == 2 && got.client[1] == 2 && w.nreads == 0 && !member_waits_unindexed(&w, 0),
              "the next round serves the read of pass 12, and the list is empty");
    member_waits_free(&w);
}

static void every_read_is_woken_when_the_term_ends(void)
{
    member_waits w;
    CHECK_EQ(member_waits_init(&w), 0);
    CHECK_EQ(member_wait_read(&w, 7, 3, 0), 0);
    CHECK_EQ(member_wait_read(&w, 8, 3, 55), 0);
    woken got = {0};
    member_waits_reached(&w, UINT64_MAX, wake, &got);
    CHECK_MSG(got.n == 2 && w.nreads == 0, "both reads woken, with an index or not (%zu)",
              got.n);
    member_waits_free(&w);
}

static const harness_test tests[] = {
    HARNESS_TEST(a_write_is_found_once_by_its_term_and_serial),
    HARNESS_TEST(an_entry_from_before_a_restart_settles_no_new_write),
    HARNESS_TEST(a_confirmed_round_serves_only_the_reads_before_it),
    HARNESS_TEST(every_read_is_woken_when_the_term_ends),
};
const harness_suite member_wait_suite = HARNESS_SUITE("member_wait", tests);
