/*
 * main.c: stage 02's own tests, build/02-hash/stagetest: what the shared
 * suites (tests/) cannot see through kv.h alone.  The hash table and hint
 * files are tested directly; segment roll-over, recovery of segments, and
 * merge (space reclaimed, iterators across a merge, a failure at every I/O
 * call of a merge) through kv.h and the files on disk.
 * Usage: stagetest [NAME-FILTER]
 */
#include "../../../tests/harness.h"

extern const harness_suite hash_index_suite;
extern const harness_suite hint_suite;
extern const harness_suite segment_suite;
extern const harness_suite merge_suite;

int main(int argc, char **argv)
{
    static const harness_suite *const suites[] = {
        &hash_index_suite, &hint_suite, &segment_suite, &merge_suite,
    };
    return harness_main(argc, argv, suites, sizeof suites / sizeof suites[0]);
}
