/*
 * tableratio.c: build/05-blocks/tableratio, what lz4 saves on the tables
 * of kvbench's kind of data (docs/05-blocks-reference.md, "Measured").
 *
 *   tableratio [--keys=N] [--db=DIR]
 *
 * Writes the same N puts twice, into a database with compression = none
 * and into one with compression = lz4: 16-digit keys (2i, in random order)
 * and 100-byte values made as kvbench and db_bench make them (50 random
 * printable bytes, then the same 50 again, so a compressor can halve
 * them).  Each database is then compacted into its tables (kv_compact:
 * every write in one table), and the line printed gives both tables'
 * bytes (kv_stats' tables.bytes: whole files, with filters, indexes,
 * trailers and footers) and their ratio.  The databases go under --db
 * (default: a fresh directory in /tmp) and are removed at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_sys.h"
#include "kv.h"

#define KEY_BYTES 16
#define VALUE_BYTES 100

static _Noreturn void tr_fail(const char *what, int rc)
{
    fprintf(stderr, "tableratio: %s: %s: %s\n", what, kv_strerror(rc), kv_errmsg());
    exit(2);
}

/* The number after "name: " in kv_stats. */
static double tr_stat(kv_db *db, const char *name)
{
    char *text = NULL;
    int rc = kv_stats(db, &text);
    if (rc != KV_OK)
        tr_fail("kv_stats", rc);
    char key[128];
    snprintf(key, sizeof key, "\n%s: ", name);
    const char *at = strstr(text, key);
    double v = at ? strtod(at + strlen(key), NULL) : -1;
    kv_free(text);
    if (v < 0)
        tr_fail(name, KV_ERR_INVALID);
    return v;
}

/* Loads the N puts with this compression; the tables' bytes. */
static double tr_load(const char *dir, uint64_t n, int compression)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.compression = compression;
    kv_db *db = NULL;
    int rc = kv_open(dir, &opt, &db);
    if (rc != KV_OK)
        tr_fail("kv_open", rc);
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    if (order == NULL)
        tr_fail("out of memory", KV_ERR_NOMEM);
    bench_rng r;
    bench_rng_seed(&r, 301);
    for (uint64_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = bench_rng_below(&r, i);
        uint32_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    char key[KEY_BYTES], val[VALUE_BYTES];
    for (uint64_t i = 0; i < n; i++) {
        uint64_t k = 2 * (uint64_t)order[i];
        for (int d = KEY_BYTES - 1; d >= 0; d--, k /= 10)
            key[d] = (char)('0' + k % 10);
        for (int b = 0; b < VALUE_BYTES / 2; b++)
            val[b] = (char)(' ' + bench_rng_below(&r, 95));
        memcpy(val + VALUE_BYTES / 2, val, VALUE_BYTES / 2);
        if ((rc = kv_put(db, key, KEY_BYTES, val, VALUE_BYTES)) != KV_OK)
            tr_fail("kv_put", rc);
    }
    free(order);
    if ((rc = kv_compact(db)) != KV_OK)
        tr_fail("kv_compact", rc);
    double bytes = tr_stat(db, "tables.bytes");
    if ((rc = kv_close(db)) != KV_OK)
        tr_fail("kv_close", rc);
    return bytes;
}

int main(int argc, char **argv)
{
    uint64_t n = 200000;
    const char *base = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--keys=", 7) == 0) {
            n = strtoull(argv[i] + 7, NULL, 10);
        } else if (strncmp(argv[i], "--db=", 5) == 0) {
            base = argv[i] + 5;
        } else {
            int help = strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0;
            fprintf(help ? stdout : stderr, "usage: tableratio [--keys=N] [--db=DIR]\n");
            return help ? 0 : 2;
        }
    }
    if (n == 0 || n > UINT32_MAX) {
        fprintf(stderr, "tableratio: --keys must be 1 to %" PRIu32 "\n", UINT32_MAX);
        return 2;
    }
    char tmpl[] = "/tmp/tableratio.XXXXXX";
    char dir[4096], none[4200], lz4[4200];
    if (base != NULL) {
        snprintf(dir, sizeof dir, "%s", base);
        if (bench_mkdir(dir) != 0) {
            fprintf(stderr, "tableratio: %s\n", bench_errmsg());
            return 2;
        }
    } else if (mkdtemp(tmpl) != NULL) {
        snprintf(dir, sizeof dir, "%s", tmpl);
    } else {
        perror("tableratio: mkdtemp");
        return 2;
    }
    snprintf(none, sizeof none, "%s/none", dir);
    snprintf(lz4, sizeof lz4, "%s/lz4", dir);
    double raw = tr_load(none, n, KV_COMPRESSION_NONE);
    double packed = tr_load(lz4, n, KV_COMPRESSION_LZ4);
    printf("%" PRIu64 " keys of 16 bytes, values of 100 bytes (half compressible): tables "
           "%.0f bytes without compression, %.0f with lz4: %.1f%%\n",
           n, raw, packed, 100.0 * packed / raw);
    bench_rmtree(dir);
    return 0;
}
