/*
 * main.c: build/tsan/<stage>/racetest, the suites that run threads
 * (tests/concurrency.c, concurrency_snapshot.c and stress.c), built with
 * ThreadSanitizer (`make test` builds and runs it for every stage).  The
 * tests check what they check in every build; here, in addition,
 * ThreadSanitizer reports every data race and lock-order inversion it
 * sees, and tests/run.sh counts any report as a failure (TSAN_OPTIONS sets
 * exitcode=66).
 * Usage: racetest [NAME-FILTER]
 */
#include "../harness.h"

extern const harness_suite concurrency_suite;
extern const harness_suite concurrency_snapshot_suite;
extern const harness_suite stress_suite;

int main(int argc, char **argv)
{
    static const harness_suite *const suites[] = {&concurrency_suite,
                                                  &concurrency_snapshot_suite, &stress_suite};
    return harness_main(argc, argv, suites, sizeof suites / sizeof suites[0]);
}
