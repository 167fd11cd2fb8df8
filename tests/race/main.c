/*
 * main.c: build/tsan/<stage>/racetest, the suites that run threads
 * (tests/concurrency.c, concurrency_snapshot.c, stress.c, inspect_race.c,
 * txn.c, multi_get.c, latency.c, and common/histogram.h's threads:
 * tests/common/histogram_test.c; and the I/O layer's batches, io_ring_race.c),
 * built with ThreadSanitizer (`make test` builds and runs it for every stage).  The
 * tests check what they check in every build; here, in addition,
 * ThreadSanitizer reports every data race and lock-order inversion it
 * sees, and tests/run.sh counts any report as a failure (TSAN_OPTIONS sets
 * exitcode=66).
 * A stage may add one suite of its own internals (stage_race_suite), by
 * linking its object into its racetest from its stage.mk (stage 06 does:
 * stages/04-lsm/tests/lsm_version_race.c); in other stages the weak
 * symbol stays unset.
 * Usage: racetest [NAME-FILTER]
 */
#include "../harness.h"

extern const harness_suite concurrency_suite;
extern const harness_suite concurrency_snapshot_suite;
extern const harness_suite stress_suite;
extern const harness_suite inspect_race_suite;
extern const harness_suite txn_suite;
extern const harness_suite histogram_suite;
extern const harness_suite multi_get_suite;
extern const harness_suite io_ring_race_suite;
extern const harness_suite latency_suite;
extern const harness_suite stage_race_suite __attribute__((weak));

int main(int argc, char **argv)
{
    const harness_suite *suites[] = {&concurrency_suite, &concurrency_snapshot_suite,
                                     &stress_suite, &inspect_race_suite, &txn_suite,
                                     &histogram_suite, &multi_get_suite, &io_ring_race_suite,
                                     &latency_suite, &stage_race_suite};
    size_t n = sizeof suites / sizeof suites[0];
    if (suites[n - 1] == NULL)
        n--;
    return harness_main(argc, argv, suites, n);
}
