/*
 * cache_test_util.c: the helpers of cache_test_util.h.
 */
#include "cache_test_util.h"

#include <string.h>

#include "../../../tests/harness.h"
#include "../../03-wal/tests/alloc_fail.h"
#include "kv.h"

void cache_lines_add(void *lines, const char *line)
{
    char *text = ((cache_lines *)lines)->text;
    const size_t room = sizeof ((cache_lines *)lines)->text - 1;
    strncat(text, line, room - strlen(text));
    strncat(text, "\n", room - strlen(text));
}

void cache_make_fails_cleanly(cache_make_fn make, void (*destroy)(void *))
{
    if (!alloc_fail_available())
        return;
    for (long n = 1;; n++) {
        void *made = NULL;
        alloc_fail_arm(n);
        int rc = make(&made);
        long failures = alloc_fail_failures();
        alloc_fail_disarm();
        harness_context("allocation %ld failing", n);
        if (failures == 0) {
            CHECK_KV(rc, KV_OK);
            destroy(made);
            return;
        }
        CHECK_KV(rc, KV_ERR_NOMEM);
        CHECK(strstr(kv_errmsg(), "cannot allocate") != NULL);
    }
}
