/*
 * main.c: stage 04's own tests, build/04-lsm/stagetest: each building
 * block of the LSM tree on its own: internal keys, the arena, the skiplist
 * (with one writer racing readers), the memtable, the merging iterator and
 * the user's view, and table format v1 (built, read, damaged).
 * Usage: stagetest [NAME-FILTER]
 */
#include "../../../tests/harness.h"

extern const harness_suite internal_key_suite;
extern const harness_suite arena_suite;
extern const harness_suite skiplist_suite;
extern const harness_suite memtable_suite;
extern const harness_suite table_suite;
extern const harness_suite table_fault_suite;
extern const harness_suite merge_iter_suite;
extern const harness_suite user_iter_suite;
extern const harness_suite lsm_recover_suite;
extern const harness_suite lsm_log_suite;

int main(int argc, char **argv)
{
    static const harness_suite *const suites[] = {
        &internal_key_suite, &arena_suite, &skiplist_suite, &memtable_suite, &table_suite, &table_fault_suite,
        &merge_iter_suite, &user_iter_suite, &lsm_recover_suite, &lsm_log_suite,
    };
    return harness_main(argc, argv, suites, sizeof suites / sizeof suites[0]);
}
