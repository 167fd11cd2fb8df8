/*
 * findings_fuzz.c: a harness that misbehaves on purpose, so that the fuzzing
 * scripts can be shown to count what is not a crash.  It reads no format:
 * its input's first byte says which finding to make, the way a planted bug
 * in a decoder would make it (tests/fuzz_findings_test.sh runs it under
 * scripts/fuzz_smoke.sh and its replay driver, once per kind):
 *
 *   'S'  a slow unit: sleeps 1.2 s, past KV_FUZZ_SLOW_S (1 s), short of
 *        the timeout; what a loop bounded by a length the input claims
 *        costs at a few kilobytes.
 *   'T'  a timeout: runs until the process is stopped (libFuzzer's or the
 *        replay driver's -timeout), as a loop whose bound never comes.
 *   'O'  out of memory: allocates and touches 1 MiB blocks (each under
 *        the malloc limit) as fast as it can up to 1 GiB, then holds them
 *        until the resident-memory limit stops it (checked once a second,
 *        by libFuzzer's watchdog and the replay driver's alarm): a growth
 *        with no bound.
 *   'M'  a runaway allocation: malloc of the size in the next 4 bytes
 *        (little-endian), as a decoder that trusts a raw size would; the
 *        memory is neither touched nor kept, so only the malloc limit can
 *        see it.
 *   anything else: returns at once.
 * With KV_FINDINGS_NONE=1 in the environment every input returns at once:
 * the control, which the same runs must pass (without it, libFuzzer would
 * soon mutate a harmless seed into 'M' and a large size).
 *
 * A mutated input keeps its first byte most of the time, so libFuzzer makes
 * the finding again from the seed as well as on the seed itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the allocations go, so that the compiler keeps them. */
static void *volatile findings_sink;

static void findings_sleep_ms(long ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0)
        ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int none = -1;
    if (none < 0)
        none = getenv("KV_FINDINGS_NONE") != NULL;
    if (size == 0 || none)
        return 0;
    switch (data[0]) {
    case 'S':
        findings_sleep_ms(1200);
        break;
    case 'T':
        for (;;)
            findings_sleep_ms(100);
    case 'O':
        for (size_t total = 0; total < ((size_t)1 << 30); total += (size_t)1 << 20) {
            void **block = malloc((size_t)1 << 20);
            if (block == NULL)
                break;
            memset(block, 0x5a, (size_t)1 << 20);
            *block = findings_sink; /* a chain, so nothing leaks unreachable */
            findings_sink = block;
        }
        for (;;)
            findings_sleep_ms(100);
    case 'M':
        if (size >= 5) {
            size_t n = (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 |
                       (size_t)data[4] << 24;
            void *p = malloc(n);
            findings_sink = p;
            free(p);
            findings_sink = NULL;
        }
        break;
    default:
        break;
    }
    return 0;
}
