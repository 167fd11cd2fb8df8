/*
 * value_threshold.c: linked into stage 08's test binaries (kvtest,
 * crashtest, racetest, alloctest; stages/08-vlog/stage.mk) with
 * -Wl,--wrap=kv_open, so that the whole shared harness also runs with its
 * values in the value log: KV_TEST_VALUE_THRESHOLD=N sets
 * kv_options.value_threshold to N in every kv_open whose options leave it
 * at 0 (the default), 1 putting every non-empty value in the log.  Unset,
 * kv_open is called as it was.  The harness's values are a few bytes, so
 * with the default threshold (512) they would all stay in the tables.
 * Stage 09's the same way with KV_TEST_TABLE_PARTITIONS=1: its tables
 * written as tables of partitions (kv_options.table_partitions =
 * KV_PARTITIONS; stage 08 ignores the option).
 */
#include <stdlib.h>
#include <string.h>

#include "kv.h"

int __real_kv_open(const char *dir, const kv_options *opt, kv_db **db);
int __wrap_kv_open(const char *dir, const kv_options *opt, kv_db **db);

int __wrap_kv_open(const char *dir, const kv_options *opt, kv_db **db)
{
    const char *n = getenv("KV_TEST_VALUE_THRESHOLD");
    const char *p = getenv("KV_TEST_TABLE_PARTITIONS");
    int threshold = n != NULL && *n != '\0', parts = p != NULL && strcmp(p, "1") == 0;
    if (!threshold && !parts)
        return __real_kv_open(dir, opt, db);
    kv_options o;
    if (opt != NULL)
        o = *opt;
    else
        kv_options_init(&o);
    if (threshold && o.value_threshold == 0)
        o.value_threshold = (size_t)strtoull(n, NULL, 10);
    if (parts && o.table_partitions == 0)
        o.table_partitions = KV_PARTITIONS;
    return __real_kv_open(dir, &o, db);
}
