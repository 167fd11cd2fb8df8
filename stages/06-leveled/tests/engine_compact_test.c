/*
 * engine_compact_test.c: kv_compact leaves a settled database, one that
 * no background compaction changes after it: every table in one level,
 * and no level over its target (compaction_pick.h's scores all below 1).
 *
 * The case that needs care: the levels above merged into the deepest one
 * that holds a table can leave it over its target, and the background
 * thread would then move tables from it a level down, so that lookups
 * search two levels.  Here level 1's target is 16 KiB and the ratio 2, and
 * some 300 KB of values stored raw end in level 5 (its target 256 KiB)
 * and the levels above it; kv_compact must merge down to level 6.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../../tests/harness.h"
#include "../../04-lsm/tests/lsm_test_util.h"
#include "kv.h"

#define KEYS 2600

static void put_all(kv_db *db, int round)
{
    char k[16], v[128];
    for (int i = 0; i < KEYS; i++) {
        int key = (i * 7919) % KEYS; /* every key once, not in order */
        snprintf(k, sizeof k, "k%06d", key);
        snprintf(v, sizeof v, "%d-%0100d", round, key);
        CHECK_KV(kv_put(db, k, strlen(k), v, strlen(v)), KV_OK);
    }
}

/* The levels that hold tables, as a bit each; *over: the levels whose
 * score kv_stats gives as 1 or more. */
static unsigned levels_with_tables(kv_db *db, int *over)
{
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    unsigned bits = 0;
    *over = 0;
    for (int l = 0; l < 7 && text != NULL; l++) {
        char name[32];
        snprintf(name, sizeof name, "level.%d:", l);
        const char *p = strstr(text, name);
        if (p == NULL)
            continue;
        unsigned long tables = 0, bytes = 0, target = 0;
        double score = 0;
        if (sscanf(p + strlen(name), " %lu %lu %lu %lf", &tables, &bytes, &target, &score) == 4) {
            if (tables > 0)
                bits |= 1u << l;
            if (l > 0 && l < 6 && score >= 1.0)
                (*over)++;
        }
    }
    kv_free(text);
    return bits;
}

static void compact_leaves_one_level_no_background_compaction_changes(void)
{
    const char *dir = lt_dir();
    kv_options opt = {0};
    opt.create_if_missing = 1;
    opt.compression = KV_COMPRESSION_NONE; /* the sizes as written */
    opt.memtable_bytes = 16 * 1024;
    opt.l1_bytes = 16 * 1024;
    opt.level_ratio = 2;
    kv_db *db = NULL;
    CHECK_KV(kv_open(dir, &opt, &db), KV_OK);
    for (int round = 0; round < 2; round++)
        put_all(db, round);
    CHECK_KV(kv_compact(db), KV_OK);
    int over = 0;
    unsigned bits = levels_with_tables(db, &over);
    double compactions = lt_stat(db, "compact.count");
    /* Nothing left for the background thread: give it time, then see
     * that it did nothing. */
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    int over_after = 0;
    unsigned bits_after = levels_with_tables(db, &over_after);
    CHECK_MSG(bits != 0 && (bits & (bits - 1)) == 0,
              "kv_compact left tables in more than one level (levels 0x%x)", bits);
    CHECK_MSG(over == 0, "kv_compact left %d level(s) over their target", over);
    CHECK_MSG(bits_after == bits && lt_stat(db, "compact.count") == compactions,
              "the background compacted after kv_compact (levels 0x%x, then 0x%x)", bits,
              bits_after);
    char k[16], v[128];
    for (int key = 0; key < KEYS; key += 13) {
        snprintf(k, sizeof k, "k%06d", key);
        snprintf(v, sizeof v, "1-%0100d", key);
        lt_expect(db, k, v);
    }
    CHECK_KV(kv_close(db), KV_OK);
    lt_lines out = {0};
    CHECK_KV(kv_check(dir, lt_collect, &out), KV_OK);
}

static const harness_test engine_compact_tests[] = {
    HARNESS_TEST(compact_leaves_one_level_no_background_compaction_changes),
};
const harness_suite engine_compact_suite = HARNESS_SUITE("engine_compact", engine_compact_tests);
