/*
 * main.c: stage 03's own tests, build/03-wal/stagetest: the write-ahead
 * log's writer and reader on bytes in memory (fragments across blocks, the
 * trailer, zero and torn tails, damage and resync), the group-commit queue
 * on its own (wal_queue_test.c), durability across power loss whatever
 * earlier opens did (wal_durability_test.c), and through kv.h what
 * the shared suites cannot see: a failed fsync is final, group commit
 * shares fsyncs, a batch is never half applied, strict and tolerant
 * recovery, unsynced damage cut as a prefix, and kv_repair.
 * Usage: stagetest [NAME-FILTER]
 */
#include "../../../tests/harness.h"

extern const harness_suite wal_format_suite;
extern const harness_suite wal_db_suite;
extern const harness_suite wal_queue_suite;
extern const harness_suite wal_durability_suite;

int main(int argc, char **argv)
{
    static const harness_suite *const suites[] = {&wal_format_suite, &wal_queue_suite,
                                                  &wal_durability_suite, &wal_db_suite};
    return harness_main(argc, argv, suites, sizeof suites / sizeof suites[0]);
}
