/*
 * hash_default_test.c: this stage's default for kv_options.block_hash_index
 * (table_context.c): every data block of a new table ends in a hash index
 * unless the options say KV_NO_BLOCK_HASH, in tables of version 1 and of
 * partitions alike, and every get answers the same either way.
 * (stages/05-blocks/tests/block_hash_index_test.c holds the option's rules,
 * stages/05-blocks/tests/block_hash_test.c the block's.)
 */
#include <stdio.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "kv.h"

#define HX_KEYS 600

typedef struct hx_blocks {
    int blocks, hashed;
} hx_blocks;

static void hx_count_line(void *ctx, const char *line)
{
    hx_blocks *c = ctx;
    if (strncmp(line, "block ", 6) == 0) {
        c->blocks++;
        c->hashed += strstr(line, ", a hash index of ") != NULL;
    }
}

static void every_block_has_an_index_by_default(void)
{
    int settings[] = {0, 1, KV_NO_BLOCK_HASH};
    for (int partitions = 0; partitions < 2; partitions++) {
        for (size_t s = 0; s < 3; s++) {
            harness_context("partitions %d, block_hash_index %d", partitions, settings[s]);
            const char *dir = harness_join(harness_tmpdir(), "db");
            kv_options opt;
            kv_options_init(&opt);
            opt.block_hash_index = settings[s];
            opt.table_partitions = partitions ? KV_PARTITIONS : 0;
            opt.block_bytes = 512;
            opt.record_cache_percent = KV_NO_RECORD_CACHE;
            kv_db *db = OPEN(dir, &opt);
            char k[32], v[64];
            for (int i = 0; i < HX_KEYS; i += 2) {
                snprintf(k, sizeof k, "key%05d", i);
                int vl = snprintf(v, sizeof v, "the value of key %d", i);
                PUT(db, k, strlen(k), v, (size_t)vl);
            }
            CHECK_KV(kv_flush(db), KV_OK);
            for (int i = 0; i < HX_KEYS; i++) {
                snprintf(k, sizeof k, "key%05d", i);
                int vl = snprintf(v, sizeof v, "the value of key %d", i);
                if (i % 2 == 0)
                    EXPECT(db, k, strlen(k), v, (size_t)vl);
                else
                    ABSENT(db, k, strlen(k));
            }
            CLOSE(db);
            hx_blocks c = {0};
            CHECK_KV(kv_dump(dir, hx_count_line, &c), KV_OK);
            CHECK(c.blocks > 10);
            CHECK_EQ(c.hashed, settings[s] == KV_NO_BLOCK_HASH ? 0 : c.blocks);
        }
    }
}

static const harness_test tests[] = {
    HARNESS_TEST(every_block_has_an_index_by_default),
};
const harness_suite hash_default_suite = HARNESS_SUITE("hash_default", tests);
