/*
 * record_lengths_test.c: exercise record_lengths, log_record_size_at
 * (common/log_record.h): the size of a record from its header's lengths,
 * and the lengths no record can have.
 */
#include <string.h>

#include "coding.h"
#include "exercise.h"
#include "kv.h"
#include "log_record.h"

static uint64_t record_lengths_of(uint32_t klen, uint32_t vfield, const char **why)
{
    uint8_t h[LOG_RECORD_HEADER] = {0};
    coding_put_u16(h + 4, (uint16_t)klen);
    coding_put_u32(h + 6, vfield);
    *why = NULL;
    harness_context("log_record_size_at(header with key_len %u, value_len 0x%08x): 10 + key_len + "
                    "value_len for a put, 10 + key_len for a delete, 18 for a seal, 0 with *why "
                    "set for lengths no record can have", (unsigned)klen, (unsigned)vfield);
    return log_record_size_at(h, why);
}

static void record_lengths_put_and_delete(void)
{
    const char *why;
    EX_CHECK(record_lengths_of(2, 3, &why) == 15,
             EX_RULE(1, "a put's size") "a put of a 2-byte key and a 3-byte value takes 10 + 2 "
             "+ 3 = 15 bytes");
    EX_CHECK(record_lengths_of(5, 0, &why) == 15,
             EX_RULE(1, "a put's size") "a put of an empty value takes 10 + key_len bytes");
    EX_CHECK(record_lengths_of(5, LOG_RECORD_TOMBSTONE, &why) == 15,
             EX_RULE(2, "a delete's size") "a delete (value_len 0xFFFFFFFF) takes 10 + key_len "
             "bytes: it has no value");
}

static void record_lengths_largest_fit_without_wrapping(void)
{
    const char *why;
    uint64_t size = record_lengths_of(KV_MAX_KEY, KV_MAX_VALUE, &why);
    EX_CHECK(size == 10 + (uint64_t)KV_MAX_KEY + KV_MAX_VALUE,
             EX_RULE(1, "a value_len of 64 MiB is a put") "the largest record, a 65,535-byte "
             "key and a 64 MiB value, takes %llu bytes: "
             "add the lengths in 64 bits, so that nothing wraps (got %llu)",
             (unsigned long long)(10 + (uint64_t)KV_MAX_KEY + KV_MAX_VALUE),
             (unsigned long long)size);
}

static void record_lengths_value_over_64_mib_is_no_record(void)
{
    const char *why;
    uint64_t size = record_lengths_of(1, KV_MAX_VALUE + 1, &why);
    EX_CHECK(size == 0,
             EX_RULE(5, "a value_len over 64 MiB") "a value_len of 64 MiB + 1 is impossible "
             "(kv.h's KV_MAX_VALUE): return 0, so "
             "that a damaged length never makes a reader allocate gigabytes");
    EX_CHECK(why != NULL && why[0] != '\0', EX_RULE(5, "a value_len over 64 MiB") "an "
             "impossible length comes with *why set");
    EX_CHECK(record_lengths_of(1, 0xFFFFFFF0u, &why) == 0,
             EX_RULE(5, "a value_len over 64 MiB") "a value_len near 4 GiB that is not the "
             "tombstone is impossible");
}

static void record_lengths_key_length_zero(void)
{
    const char *why;
    EX_CHECK(record_lengths_of(0, 3, &why) == 0,
             EX_RULE(4, "key_len 0") "key_len 0 is not a put or a delete (keys are 1 .. 65,535 "
             "bytes): return 0");
    EX_CHECK(why != NULL && why[0] != '\0', EX_RULE(4, "key_len 0") "key_len 0 comes with *why "
             "set");
    EX_CHECK(record_lengths_of(0, LOG_RECORD_TOMBSTONE, &why) == 0,
             EX_RULE(4, "key_len 0") "key_len 0 with the tombstone is no record either");
    EX_CHECK(record_lengths_of(0, LOG_RECORD_SEAL, &why) == LOG_RECORD_SEAL_SIZE,
             EX_RULE(3, "a seal") "key_len 0 with value_len 0xFFFFFFFE is a seal: 18 bytes (10 "
             "+ its 8-byte "
             "offset)");
}

static const harness_test record_lengths_tests[] = {
    HARNESS_TEST(record_lengths_put_and_delete),
    HARNESS_TEST(record_lengths_largest_fit_without_wrapping),
    HARNESS_TEST(record_lengths_value_over_64_mib_is_no_record),
    HARNESS_TEST(record_lengths_key_length_zero),
};
const harness_suite record_lengths_suite = HARNESS_SUITE("record_lengths", record_lengths_tests);
