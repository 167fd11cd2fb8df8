/*
 * main.c: the stage suite, build/<stage>/kvtest.  The same tests run
 * unchanged against every stage's libkv.a, through include/kv.h only.
 * Usage: kvtest [--list] [--suite NAME] [NAME-FILTER]   runs the tests
 * whose "suite/name" contains the filter (of suite NAME alone with
 * --suite; --list names the suites: the grade's suites rung runs each).  KV_TEST_SEED=N runs the model test with seed N only, and
 * KV_TEST_STEPS=N sets its number of steps per seed (see model.c).
 */
#include "harness.h"

extern const harness_suite conformance_suite;
extern const harness_suite iterator_suite;
extern const harness_suite snapshot_suite;
extern const harness_suite lifecycle_suite;
extern const harness_suite concurrency_suite;
extern const harness_suite concurrency_snapshot_suite;
extern const harness_suite stress_suite;
extern const harness_suite batch_suite;
extern const harness_suite model_suite;
extern const harness_suite fault_suite;
extern const harness_suite badfile_suite;
extern const harness_suite tools_suite;
extern const harness_suite sweep_suite;
extern const harness_suite stage_caps_suite;
extern const harness_suite inspect_suite;
extern const harness_suite inspect_race_suite;
extern const harness_suite txn_suite;
extern const harness_suite txn_model_suite;
extern const harness_suite multi_get_suite;
extern const harness_suite latency_suite;

int main(int argc, char **argv)
{
    static const harness_suite *const suites[] = {
        &stage_caps_suite, &conformance_suite, &iterator_suite,
        &snapshot_suite,   &lifecycle_suite,   &batch_suite,
        &concurrency_suite, &concurrency_snapshot_suite, &stress_suite,
        &model_suite,      &fault_suite,       &badfile_suite,
        &tools_suite,      &sweep_suite,       &inspect_suite,
        &inspect_race_suite, &txn_suite,  &txn_model_suite,
        &multi_get_suite,  &latency_suite,
    };
    return harness_main(argc, argv, suites, sizeof suites / sizeof suites[0]);
}
