/*
 * main.c: build/<stage>/stagetest, the unit tests of every file a stage
 * links: its own (stages/<stage>/tests/) and those of the earlier stages'
 * files it reuses, as its stage.mk lists them in TESTS_<stage>.  Each
 * NAME_test.c listed there defines NAME_suite; the Makefile passes the
 * names as KV_STAGE_SUITES, "X(name) X(name) ...", and this file makes the
 * table of suites from it.
 * Usage: stagetest [NAME-FILTER]
 */
#include "../harness.h"

#ifndef KV_STAGE_SUITES
#error "KV_STAGE_SUITES is set by the Makefile from TESTS_<stage> in stage.mk"
#endif

#define X(name) extern const harness_suite name##_suite;
KV_STAGE_SUITES
#undef X

int main(int argc, char **argv)
{
    static const harness_suite *const suites[] = {
#define X(name) &name##_suite,
        KV_STAGE_SUITES
#undef X
    };
    return harness_main(argc, argv, suites, sizeof suites / sizeof suites[0]);
}
