/*
 * exercise_main.c: build/STAGE/exercisetest, the unit tests of a stage's
 * exercises (grade/tests/STAGE/NAME_test.c, each defining NAME_suite; the
 * Makefile passes the names as KV_EXERCISE_SUITES, "X(name) X(name) ...",
 * in the order of the files' names).  `make grade` runs it once per
 * exercise with the filter "NAME/".  Each test runs in a process of its
 * own, so a stub or a crash fails one test only, and on the allocator of
 * exercise_alloc.c, which fails a test that ends holding a block it
 * allocated; a test that crashes says where (exercise_crash.c).
 * Usage: exercisetest [NAME-FILTER]
 */
#include "exercise.h"
#include "harness.h"

#ifndef KV_EXERCISE_SUITES
#error "KV_EXERCISE_SUITES is set by the Makefile (grade/grade.mk)"
#endif

#define X(name) extern const harness_suite name##_suite;
KV_EXERCISE_SUITES
#undef X

/* As each test starts (in its own process): its exercise known (its
 * suite), its allocations counted, its bounds set (exercise_bound.c). */
static void exercise_test_begin(const char *full_name)
{
    ex_test_begin(full_name);
    ex_bound_arm();
    ex_alloc_begin();
}

int main(int argc, char **argv)
{
    static const harness_suite *const suites[] = {
#define X(name) &name##_suite,
        KV_EXERCISE_SUITES
#undef X
    };
    harness_fork_each_test();
    ex_crash_install();
    harness_test_hooks(exercise_test_begin, ex_alloc_end);
    return harness_main(argc, argv, suites, sizeof suites / sizeof suites[0]);
}
