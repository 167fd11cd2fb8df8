/*
 * values_default_test.c: this stage's default for kv_options.compression
 * (table_context.c): each value of a new table's data blocks compressed
 * alone, where that saves an eighth of it (stage 05's block_value.h), the
 * keys, restart array and hash index left raw, in tables of version 1 and
 * of partitions alike, read back by gets and iterators.  Tables of every
 * kind of compression read together, a compaction rewrites them in cells,
 * and a cell damaged behind a checksum made right fails its get by file
 * and offset (its neighbours still read), fails kv check, and is lost
 * by kv repair, which leaves a database that checks clean.  (The cells' own rules are
 * stages/05-blocks/tests/block_value_test.c's.)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/harness.h"
#include "../../../tests/testdb.h"
#include "coding.h"
#include "crc32c.h"
#include "kv.h"

#define VD_KEYS 600

/* The value of key i: every third one repeats a short pattern (lz4 makes
 * it much smaller), the others bytes of a hash (lz4 cannot). */
static size_t vd_value(int i, char *v, size_t cap)
{
    size_t n = 40 + (size_t)(i % 7) * 30;
    if (n > cap)
        n = cap;
    uint32_t x = 2654435761u * (uint32_t)(i + 1);
    for (size_t j = 0; j < n; j++) {
        if (i % 3 == 0)
            v[j] = (char)('a' + (j % 5));
        else {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            v[j] = (char)(x >> 24);
        }
    }
    return n;
}

/* Key i is written in round (i / 2) % 3 if it is even; never if odd. */
static int vd_written(int i, int rounds)
{
    return i % 2 == 0 && (i / 2) % 3 < rounds;
}

/* Round `round` of the keys below `to`. */
static void vd_put_round(kv_db *db, int to, int round)
{
    char k[32], v[512];
    for (int i = 0; i < to; i += 2) {
        if ((i / 2) % 3 != round)
            continue;
        snprintf(k, sizeof k, "key%05d", i);
        PUT(db, k, strlen(k), v, vd_value(i, v, sizeof v));
    }
}

/* Every key below `to` written in the first `rounds` rounds, and no other. */
static void vd_expect_all(kv_db *db, int to, int rounds)
{
    char k[32], v[512];
    for (int i = 0; i < to; i++) {
        snprintf(k, sizeof k, "key%05d", i);
        if (vd_written(i, rounds))
            EXPECT(db, k, strlen(k), v, vd_value(i, v, sizeof v));
        else
            ABSENT(db, k, strlen(k));
    }
    /* An iterator reads the same values, in order. */
    kv_iter *it = NULL;
    CHECK_KV(kv_iter_new(db, &it), KV_OK);
    int i = 0;
    for (kv_iter_seek(it, NULL, 0); kv_iter_valid(it); kv_iter_next(it), i++) {
        while (i < to && !vd_written(i, rounds))
            i++;
        size_t kl, vl;
        const void *key = kv_iter_key(it, &kl), *val = kv_iter_value(it, &vl);
        snprintf(k, sizeof k, "key%05d", i);
        size_t n = vd_value(i, v, sizeof v);
        CHECK_MSG(kl == strlen(k) && memcmp(key, k, kl) == 0, "the iterator's key %d", i);
        CHECK_MSG(vl == n && memcmp(val, v, n) == 0, "the iterator's value of key %d", i);
    }
    CHECK_KV(kv_iter_status(it), KV_OK);
    while (i < to && !vd_written(i, rounds))
        i++;
    CHECK_EQ(i, to);
    kv_iter_free(it);
}

typedef struct vd_blocks {
    int blocks, cells, whole_lz4, packed, as_is;
} vd_blocks;

static void vd_count_line(void *ctx, const char *line)
{
    vd_blocks *c = ctx;
    if (strncmp(line, "block ", 6) == 0) {
        c->blocks++;
        c->cells += strstr(line, ", raw, values lz4 one by one,") != NULL;
        c->whole_lz4 += strstr(line, " bytes stored, lz4,") != NULL;
    }
    c->packed += strstr(line, " (lz4 in ") != NULL;
    c->as_is += strstr(line, " (as it is in ") != NULL;
}

static void vd_options(kv_options *opt, int compression)
{
    kv_options_init(opt);
    opt->compression = compression;
    opt->block_bytes = 512;
    opt->record_cache_percent = KV_NO_RECORD_CACHE;
}

static void values_are_compressed_one_by_one_by_default(void)
{
    int settings[] = {KV_COMPRESSION_DEFAULT, KV_COMPRESSION_LZ4_VALUES, KV_COMPRESSION_LZ4,
                      KV_COMPRESSION_NONE};
    for (int partitions = 0; partitions < 2; partitions++) {
        for (size_t s = 0; s < sizeof settings / sizeof settings[0]; s++) {
            harness_context("partitions %d, compression %d", partitions, settings[s]);
            const char *dir = harness_join(harness_tmpdir(), "db");
            kv_options opt;
            vd_options(&opt, settings[s]);
            opt.table_partitions = partitions ? KV_PARTITIONS : 0;
            kv_db *db = OPEN(dir, &opt);
            for (int round = 0; round < 3; round++)
                vd_put_round(db, VD_KEYS, round);
            CHECK_KV(kv_flush(db), KV_OK);
            vd_expect_all(db, VD_KEYS, 3);
            CLOSE(db);
            vd_blocks c = {0};
            CHECK_KV(kv_dump(dir, vd_count_line, &c), KV_OK);
            CHECK(c.blocks > 10);
            int cells = settings[s] == KV_COMPRESSION_DEFAULT ||
                        settings[s] == KV_COMPRESSION_LZ4_VALUES;
            CHECK_EQ(c.cells, cells ? c.blocks : 0);
            /* A third of the values repeat a pattern: those are packed,
             * the others kept as they are. */
            CHECK_EQ(c.packed, cells ? VD_KEYS / 2 / 3 : 0);
            CHECK_EQ(c.as_is, cells ? VD_KEYS / 2 - VD_KEYS / 2 / 3 : 0);
            if (settings[s] == KV_COMPRESSION_LZ4)
                CHECK(c.whole_lz4 > 0);
            CHECK_KV(kv_check(dir, NULL, NULL), KV_OK);
        }
    }
}

static void tables_of_every_compression_read_together(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    int kinds[] = {KV_COMPRESSION_LZ4, KV_COMPRESSION_NONE, KV_COMPRESSION_DEFAULT};
    for (int k = 0; k < 3; k++) {
        harness_context("the table of compression %d", kinds[k]);
        kv_options opt;
        vd_options(&opt, kinds[k]);
        kv_db *db = OPEN(dir, &opt);
        vd_put_round(db, VD_KEYS, k);
        CHECK_KV(kv_flush(db), KV_OK);
        vd_expect_all(db, VD_KEYS, k + 1);
        CLOSE(db);
    }
    harness_context("after a compaction");
    kv_options opt;
    vd_options(&opt, KV_COMPRESSION_DEFAULT);
    kv_db *db = OPEN(dir, &opt);
    CHECK_KV(kv_compact(db), KV_OK);
    vd_expect_all(db, VD_KEYS, 3);
    CLOSE(db);
    vd_blocks c = {0};
    CHECK_KV(kv_dump(dir, vd_count_line, &c), KV_OK);
    CHECK(c.blocks > 10);
    CHECK_EQ(c.cells, c.blocks);
    CHECK_KV(kv_check(dir, NULL, NULL), KV_OK);
}

/* The path of the one table file of the database in dir. */
static const char *vd_table(const char *dir)
{
    static char path[1024];
    path[0] = 0;
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".tbl") == 0) {
            CHECK_MSG(path[0] == 0, "one table in %s", dir);
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    CHECK_MSG(path[0] != 0, "a table in %s", dir);
    return path;
}

static void a_damaged_cell_fails_its_get_by_file_and_offset(void)
{
    const char *dir = harness_join(harness_tmpdir(), "db");
    kv_options opt;
    vd_options(&opt, KV_COMPRESSION_DEFAULT);
    opt.block_bytes = 4096;
    kv_db *db = OPEN(dir, &opt);
    char v[300];
    memset(v, 'x', sizeof v);
    PUT(db, S("apple"), v, sizeof v);
    PUT(db, S("banana"), S("yellow"));
    CHECK_KV(kv_flush(db), KV_OK);
    CLOSE(db);
    /* The table's one data block is [16, D), its trailer the last 9
     * bytes; the cell of 300 bytes starts with its length, ac 02. */
    const char *path = vd_table(dir);
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    uint8_t buf[8192];
    size_t got = fread(buf, 1, sizeof buf, f);
    CHECK(got > 64 && got < sizeof buf);
    uint64_t d = coding_get_u64(buf + got - 48);
    CHECK(d > 16 + 9 && d < got);
    size_t at = 0;
    for (size_t i = 16; i + 1 < d - 9 && at == 0; i++)
        if (buf[i] == 0xac && buf[i + 1] == 0x02)
            at = i;
    CHECK(at != 0);
    buf[at] = 0xad; /* 301: lz4 gives 300 */
    uint8_t *tr = buf + d - 9;
    coding_put_u32(tr + 5, crc32c_extend(crc32c_value(buf + 16, (size_t)(d - 9 - 16)), tr, 5));
    CHECK(fseek(f, 0, SEEK_SET) == 0);
    CHECK_EQ(fwrite(buf, 1, got, f), got);
    fclose(f);
    db = OPEN(dir, &opt);
    void *out = NULL;
    size_t outlen;
    CHECK_KV(kv_get(db, S("apple"), &out, &outlen), KV_ERR_CORRUPT);
    kv_free(out);
    CHECK_MSG(strstr(kv_errmsg(), path) != NULL && strstr(kv_errmsg(), "offset 16") != NULL &&
                  strstr(kv_errmsg(), "cell") != NULL,
              "the error names the file, the block and the cell: %s", kv_errmsg());
    EXPECT(db, S("banana"), S("yellow"));
    CLOSE(db);
    CHECK_KV(kv_check(dir, NULL, NULL), KV_ERR_CORRUPT);
    /* kv repair keeps the block's entries up to the damaged cell: none
     * here, apple's is the first. */
    CHECK_KV(kv_repair(dir, NULL, NULL), KV_OK);
    CHECK_KV(kv_check(dir, NULL, NULL), KV_OK);
    db = OPEN(dir, &opt);
    ABSENT(db, S("apple"));
    CLOSE(db);
}

static const harness_test tests[] = {
    HARNESS_TEST(values_are_compressed_one_by_one_by_default),
    HARNESS_TEST(tables_of_every_compression_read_together),
    HARNESS_TEST(a_damaged_cell_fails_its_get_by_file_and_offset),
};
const harness_suite values_default_suite = HARNESS_SUITE("values_default", tests);
