/*
 * harness_link.c: links the test harness into build/common_test, which is
 * built from the files in tests/common/ only (see tests/harness.c).
 */
#include "../harness.c"
