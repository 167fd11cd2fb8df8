/*
 * gc_rule_test.c: exercise gc_rule, vlog_garbage and vlog_worth_collecting
 * (stages/08-vlog/value_log/vlog_rule.c): a file's garbage, and whether
 * emptying it is worth its writes.  Pure functions of a file's counts:
 * the tests set the counts of a vlog_file and ask.
 */
#include <stdint.h>
#include <string.h>

#include "exercise.h"
#include "value_log.h"

static vlog_file rule_file(uint64_t bytes, uint64_t value_bytes, uint64_t live_bytes)
{
    vlog_file f;
    memset(&f, 0, sizeof f);
    f.start = 1;
    f.state = VLOG_LIVE;
    f.adopted = 1;
    f.counted = 1;
    f.bytes = bytes;
    f.value_bytes = value_bytes;
    f.live_bytes = live_bytes;
    return f;
}

static void gc_rule_garbage_is_value_bytes_not_live(void)
{
    EX_RULE_BEGIN(1, "garbage is value bytes less live bytes");
    vlog_file f = rule_file(50000, 40000, 15000);
    harness_context("vlog_garbage of a file of 50000 bytes, 40000 value bytes, 15000 live: garbage "
                    "is value bytes less live bytes; headers and keys are not garbage");
    uint64_t g = vlog_garbage(&f);
    EX_CHECK(g == 25000, "a file of 40000 value bytes, 15000 of them live, has 25000 bytes of "
             "garbage: its value bytes less its live bytes; headers and keys are not garbage "
             "(got %llu)", (unsigned long long)g);
    f = rule_file(50000, 40000, 40000);
    harness_context("vlog_garbage of a file of 50000 bytes, 40000 value bytes, all live: no "
                    "garbage");
    g = vlog_garbage(&f);
    EX_CHECK(g == 0, "a file whose value bytes are all live has no garbage (got %llu)",
             (unsigned long long)g);
}

static void gc_rule_a_dead_file_is_garbage_whole(void)
{
    EX_RULE_BEGIN(1, "nothing live: the whole file is garbage");
    vlog_file f = rule_file(50000, 2000, 0);
    harness_context("vlog_garbage of a file of 50000 bytes, 2000 value bytes, nothing live: a dead "
                    "file is garbage whole, the larger of its size and its value bytes");
    uint64_t g = vlog_garbage(&f);
    EX_CHECK(g == 50000, "a file of 50000 bytes, 2000 of them value bytes, nothing in it is "
             "live: all of it is garbage, its size (the larger of its size and its value "
             "bytes), since emptying it writes nothing and frees the whole file (got %llu)",
             (unsigned long long)g);
    f = rule_file(0, 3000, 0);
    harness_context("vlog_garbage of a file of size 0 (not known yet), 3000 value bytes, nothing "
                    "live: the larger, its value bytes");
    g = vlog_garbage(&f);
    EX_CHECK(g == 3000, "nothing in it is live and its size is not known yet (0), its value "
             "bytes 3000: its garbage is its value bytes, the larger (got %llu)",
             (unsigned long long)g);
}

static void gc_rule_worth_from_gc_percent(void)
{
    EX_RULE_BEGIN(2, "worth it once garbage * 100 >= gc_percent * value bytes");
    /* 50 of 100 value bytes garbage: exactly gc_percent 50. */
    vlog_file f = rule_file(200, 100, 50);
    harness_context("vlog_worth_collecting of 100 value bytes, 50 live, gc_percent 50: worth it "
                    "when garbage * 100 >= gc_percent * value bytes");
    EX_CHECK(vlog_worth_collecting(&f, 50), "garbage exactly gc_percent (50 of 100 value bytes, "
             "gc_percent 50) is worth emptying: garbage * 100 >= gc_percent * value bytes");
    f = rule_file(200, 100, 51);
    harness_context("vlog_worth_collecting of 100 value bytes, 51 live, gc_percent 50: one byte "
                    "under, not worth it");
    EX_CHECK(!vlog_worth_collecting(&f, 50), "garbage one byte under gc_percent (49 of 100 value "
             "bytes, gc_percent 50) is not worth emptying: it would write more than it frees");
    f = rule_file(200, 100, 75);
    harness_context("vlog_worth_collecting of 100 value bytes, 75 live, at gc_percent 25 then 26: "
                    "the rule reads the gc_percent it is given");
    EX_CHECK(vlog_worth_collecting(&f, 25), "25 of 100 value bytes garbage is worth emptying at "
             "gc_percent 25 (the rule reads the option it is given)");
    EX_CHECK(!vlog_worth_collecting(&f, 26), "25 of 100 value bytes garbage is not worth emptying "
             "at gc_percent 26");
}

/* At gc_percent exactly, for every gc_percent and sizes small and large:
 * in integers the rule is exact, where a share taken as a double lands a
 * hair under it for some (29 of 100 is 28.999...%). */
static void gc_rule_worth_at_every_gc_percent_exactly(void)
{
    EX_RULE_BEGIN(2, "worth it at gc_percent exactly, in integers");
    static const uint64_t sizes[] = {100, 700, 1000, 123456700, 100ull * 98765432109ull};
    for (int p = 1; p <= 99; p++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            uint64_t vb = sizes[i], garbage = vb / 100 * (uint64_t)p;
            vlog_file f = rule_file(vb + 4096, vb, vb - garbage);
            harness_context("vlog_worth_collecting of %llu value bytes, %llu of them garbage, "
                            "gc_percent %d", (unsigned long long)vb,
                            (unsigned long long)garbage, p);
            EX_CHECK(vlog_worth_collecting(&f, p), "%llu of %llu value bytes garbage is exactly "
                     "gc_percent %d: worth emptying (garbage * 100 >= gc_percent * value bytes, "
                     "in 64-bit integers; a share computed with a division or a double can land "
                     "under gc_percent)", (unsigned long long)garbage,
                     (unsigned long long)vb, p);
        }
}

static void gc_rule_no_overflow_on_large_files(void)
{
    EX_RULE_BEGIN(2, "computed in 64 bits without overflow");
    /* 40 GiB of value bytes: gc_percent * value bytes is past 2^32, so
     * a product taken in 32 bits wraps. */
    uint64_t vb = 40ull << 30;
    vlog_file f = rule_file(vb + 4096, vb, vb / 2);
    harness_context("vlog_worth_collecting of 40 GiB of value bytes, half live, gc_percent 50: the "
                    "products are taken in 64 bits (a 32-bit product wraps)");
    EX_CHECK(vlog_worth_collecting(&f, 50), "a 40 GiB file half garbage is worth emptying at "
             "gc_percent 50: the products are 64-bit (a 32-bit product wraps)");
    f = rule_file(vb + 4096, vb, vb / 2 + 1);
    harness_context("vlog_worth_collecting of 40 GiB of value bytes, one byte over half live, "
                    "gc_percent 50: not worth it");
    EX_CHECK(!vlog_worth_collecting(&f, 50), "a 40 GiB file a byte under half garbage is not "
             "worth emptying at gc_percent 50");
}

static void gc_rule_a_dead_file_is_always_worth_it(void)
{
    EX_RULE_BEGIN(2, "a file nothing is live in is always worth it");
    vlog_file f = rule_file(50000, 0, 0);
    harness_context("vlog_worth_collecting of a 50000-byte file, 0 value bytes, 0 live, gc_percent "
                    "100: a file nothing is live in is always worth it (no division by its 0 value "
                    "bytes)");
    EX_CHECK(vlog_worth_collecting(&f, 100), "a file nothing in it is live is worth emptying "
             "whatever gc_percent says (gc_percent 100, no value bytes counted): it frees its "
             "bytes and writes nothing");
}

static void gc_rule_one_live_byte_is_not_dead(void)
{
    EX_RULE_BEGIN(1, "one live byte is not nothing");
    /* Half garbage: a file with something live in it answers by gc_percent
     * alone, however little is live. */
    vlog_file f = rule_file(100, 2, 1);
    harness_context("vlog_worth_collecting, then vlog_garbage, of 2 value bytes, 1 live, "
                    "gc_percent 60: half garbage, not worth it; 1 byte of garbage");
    EX_CHECK(!vlog_worth_collecting(&f, 60), "a file of 2 value bytes, 1 of them live, is half "
             "garbage: not worth emptying at gc_percent 60; only a file nothing is live in "
             "(live bytes 0) is worth it whatever gc_percent says");
    uint64_t g = vlog_garbage(&f);
    EX_CHECK(g == 1, "a file of 2 value bytes, 1 of them live, has 1 byte of garbage: it is "
             "garbage whole only when nothing in it is live (got %llu)", (unsigned long long)g);
}

static const harness_test gc_rule_tests[] = {
    HARNESS_TEST(gc_rule_garbage_is_value_bytes_not_live),
    HARNESS_TEST(gc_rule_a_dead_file_is_garbage_whole),
    HARNESS_TEST(gc_rule_worth_from_gc_percent),
    HARNESS_TEST(gc_rule_worth_at_every_gc_percent_exactly),
    HARNESS_TEST(gc_rule_no_overflow_on_large_files),
    HARNESS_TEST(gc_rule_a_dead_file_is_always_worth_it),
    HARNESS_TEST(gc_rule_one_live_byte_is_not_dead),
};

const harness_suite gc_rule_suite = HARNESS_SUITE("gc_rule", gc_rule_tests);
