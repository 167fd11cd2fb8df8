/*
 * identity_test.c: what says which stage wrote a directory and what a file
 * is (common/db_identity.h, common/file_header.h): exact bytes, every kind
 * of damage refused with its offset, and kv_open's four rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "db_identity.h"
#include "error.h"
#include "file_header.h"
#include "io.h"
#include "kv.h"

static void identity_line_has_documented_bytes(void)
{
    char line[DB_IDENTITY_MAX];
    size_t n = db_identity_encode(line, "03-wal", 1);
    const char *want = "kvstages stage=03-wal format=1 crc32c=";
    CHECK(n == strlen(want) + 9);
    CHECK(memcmp(line, want, strlen(want)) == 0);
    CHECK(line[n - 1] == '\n');
    db_identity id;
    const char *why = NULL;
    size_t bad = 0;
    CHECK_EQ(db_identity_decode((const uint8_t *)line, (const uint8_t *)line + n, &id, &why,
                                &bad), 0);
    CHECK(strcmp(id.stage, "03-wal") == 0);
    CHECK_EQ(id.format, 1);
}

/* Every byte flipped and every cut is refused: no damage reads as another
 * stage or format. */
static void identity_refuses_every_flip_and_cut(void)
{
    char line[DB_IDENTITY_MAX];
    size_t n = db_identity_encode(line, "02-hash", 7);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            char copy[DB_IDENTITY_MAX];
            memcpy(copy, line, n);
            copy[i] ^= (char)(1 << bit);
            db_identity id;
            const char *why = NULL;
            size_t bad = 0;
            harness_context("byte %zu bit %d", i, bit);
            CHECK(db_identity_decode((const uint8_t *)copy, (const uint8_t *)copy + n, &id,
                                     &why, &bad) != 0);
            CHECK(why != NULL && bad <= n);
        }
        db_identity id;
        const char *why = NULL;
        size_t bad = 0;
        harness_context("cut at %zu", i);
        CHECK(db_identity_decode((const uint8_t *)line, (const uint8_t *)line + i, &id, &why,
                                 &bad) != 0);
    }
}

static void identity_longest_stage_name_fits(void)
{
    char stage[DB_STAGE_NAME_MAX + 2];
    memset(stage, 'a', DB_STAGE_NAME_MAX);
    stage[DB_STAGE_NAME_MAX] = '\0';
    char line[DB_IDENTITY_MAX];
    size_t n = db_identity_encode(line, stage, 4294967295u);
    db_identity id;
    const char *why = NULL;
    size_t bad = 0;
    CHECK_EQ(db_identity_decode((const uint8_t *)line, (const uint8_t *)line + n, &id, &why,
                                &bad), 0);
    CHECK_EQ(id.format, 4294967295u);
    /* One character longer is refused. */
    char longer[200];
    int m = snprintf(longer, sizeof longer, "kvstages stage=%sa format=1 crc32c=00000000\n",
                     stage);
    CHECK(db_identity_decode((const uint8_t *)longer, (const uint8_t *)longer + m, &id, &why,
                             &bad) != 0);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(p, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

static void identity_open_follows_its_rules(void)
{
    const char *dir = harness_tmpdir();
    kv_options opt, ro;
    kv_options_init(&opt);
    kv_options_init(&ro);
    ro.read_only = 1;
    int found = 1;
    db_identity id;
    /* Rule 3: an empty directory; read-only writes nothing. */
    CHECK_KV(db_identity_open(dir, "02-hash", 1, &ro), KV_OK);
    CHECK_KV(db_identity_read(dir, &id, &found), KV_OK);
    CHECK_EQ(found, 0);
    CHECK_KV(db_identity_open(dir, "02-hash", 1, &opt), KV_OK);
    CHECK_KV(db_identity_read(dir, &id, &found), KV_OK);
    CHECK_EQ(found, 1);
    /* Rule 1, then rule 2 for another stage and another format. */
    CHECK_KV(db_identity_open(dir, "02-hash", 1, &opt), KV_OK);
    CHECK_KV(db_identity_open(dir, "03-wal", 1, &ro), KV_ERR_INVALID);
    CHECK(strstr(kv_errmsg(), "stage 02-hash") && strstr(kv_errmsg(), "stage 03-wal") &&
          strstr(kv_errmsg(), "export"));
    CHECK_KV(db_identity_open(dir, "02-hash", 2, &opt), KV_ERR_INVALID);
    /* Damage is corruption, naming the file. */
    write_file(harness_join(dir, DB_IDENTITY_FILE), "kvstages stage=02-hash\n", 23);
    CHECK_KV(db_identity_open(dir, "02-hash", 1, &opt), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), DB_IDENTITY_FILE) && strstr(kv_errmsg(), "offset 22"));
    /* Rule 4: files but no IDENTITY. */
    const char *other = harness_tmpdir();
    write_file(harness_join(other, "data.log"), "x", 1);
    CHECK_KV(db_identity_open(other, "01-log", 1, &opt), KV_ERR_INVALID);
    CHECK(strstr(kv_errmsg(), "data.log") != NULL);
    CHECK_KV(db_identity_read(other, &id, &found), KV_OK);
    CHECK_EQ(found, 0);
    /* A leftover IDENTITY.tmp of an interrupted creation does not count. */
    const char *third = harness_tmpdir();
    write_file(harness_join(third, DB_IDENTITY_TMP), "kvst", 4);
    CHECK_KV(db_identity_open(third, "01-log", 1, &opt), KV_OK);
    CHECK_KV(db_identity_read(third, &id, &found), KV_OK);
    CHECK(found == 1 && strcmp(id.stage, "01-log") == 0);
}

static void file_header_has_documented_bytes(void)
{
    uint8_t h[FILE_HEADER_SIZE];
    file_header_encode(h, FILE_MAGIC_SEG02, 1);
    CHECK_MEM(h, 12, "KVS02SEG\x01\x00\x00\x00", 12);
    CHECK_KV(file_header_check("f", h, sizeof h, FILE_MAGIC_SEG02, 1), KV_OK);
}

static void file_header_names_what_a_file_is(void)
{
    uint8_t h[FILE_HEADER_SIZE];
    file_header_encode(h, FILE_MAGIC_SEG02, 1);
    CHECK_KV(file_header_check("f", h, sizeof h, FILE_MAGIC_WAL03, 1), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), "a stage-02 segment, not a stage-03 log segment") != NULL);
    CHECK_KV(file_header_check("f", h, sizeof h, FILE_MAGIC_SEG02, 2), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), "offset 8") != NULL);
    CHECK_KV(file_header_check("f", h, 15, FILE_MAGIC_SEG02, 1), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), "15 bytes") != NULL);
    for (size_t i = 0; i < FILE_HEADER_SIZE; i++) {
        uint8_t copy[FILE_HEADER_SIZE];
        memcpy(copy, h, sizeof h);
        copy[i] ^= 0x01;
        harness_context("byte %zu flipped", i);
        CHECK_KV(file_header_check("f", copy, sizeof copy, FILE_MAGIC_SEG02, 1),
                 KV_ERR_CORRUPT);
    }
    memcpy(h, "\x00\x01zzzzzz", 8);
    CHECK_KV(file_header_check("f", h, sizeof h, FILE_MAGIC_LOG01, 1), KV_ERR_CORRUPT);
    CHECK(strstr(kv_errmsg(), "unknown magic \"\\x00\\x01zzzzzz\"") != NULL);
}

static const harness_test identity_tests[] = {
    HARNESS_TEST(identity_line_has_documented_bytes),
    HARNESS_TEST(identity_refuses_every_flip_and_cut),
    HARNESS_TEST(identity_longest_stage_name_fits),
    HARNESS_TEST(identity_open_follows_its_rules),
    HARNESS_TEST(file_header_has_documented_bytes),
    HARNESS_TEST(file_header_names_what_a_file_is),
};
const harness_suite identity_suite = HARNESS_SUITE("identity", identity_tests);
