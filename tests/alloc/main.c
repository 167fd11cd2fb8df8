/*
 * main.c: build/<flavour>/<stage>/alloctest, allocation failures on every
 * path through kv.h (alloc_test.c), one allocation at a time.  The binary
 * is linked with the allocation wrappers of alloc_wrap.h, and runs each
 * test in a process of its own, so that a crash fails one test, not all.
 * `make test` runs it under ASan and UBSan (build/asan/).
 * Usage: alloctest [NAME-FILTER]
 */
#include "../harness.h"

extern const harness_suite alloc_suite;

int main(int argc, char **argv)
{
    static const harness_suite *const suites[] = {&alloc_suite};
    harness_fork_each_test();
    return harness_main(argc, argv, suites, sizeof suites / sizeof suites[0]);
}
