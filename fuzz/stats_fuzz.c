/*
 * stats_fuzz.c: fuzz harness for DIR/STATS, the totals kept across
 * sessions (stages/04-lsm/stats/stats_file.h).
 *
 * The input is a STATS file's bytes.  The harness checks:
 *   - stats_file_decode returns KV_OK or KV_ERR_CORRUPT, nothing else, and
 *     hands out only names of 1 to STATS_FILE_NAME_MAX bytes of a-z, 0-9,
 *     '.' and '_', at offsets inside the input, none twice;
 *   - on KV_OK the format has one spelling: the counters it handed out,
 *     bound and encoded again, give back exactly the input's bytes (when
 *     none is zero: a writer leaves zeros out);
 *   - the file in a database directory (fuzz_dbfile.h): whatever it holds,
 *     kv_open, kv_check and kv_dump neither crash nor hang (a damaged
 *     STATS never stops kv_open: stats_file.h SF2).
 * A broken promise aborts (this is a test program).
 *
 * It is stage 04's entry in FUZZ_04-lsm (stages/04-lsm/stage.mk): `make
 * fuzz-smoke` runs it, `make fuzz STAGE=04-lsm TARGET=stats` is an AFL++
 * campaign, and `make test` replays its seeds (docs/fuzzing.md).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_dbfile.h"
#include "kv.h"
#include "stats_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct stats_fuzz_ctx {
    size_t size, zeros;
    stats_counters s;
    uint64_t values[STATS_FILE_MAX];
} stats_fuzz_ctx;

static void stats_fuzz_counter(void *ctx, const char *name, uint64_t value, size_t offset)
{
    stats_fuzz_ctx *c = ctx;
    size_t len = strlen(name);
    if (len == 0 || len > STATS_FILE_NAME_MAX || offset >= c->size || c->s.n >= STATS_FILE_MAX)
        abort();
    for (size_t i = 0; i < len; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '.' || name[i] == '_'))
            abort();
    for (size_t i = 0; i < c->s.n; i++)
        if (strcmp(c->s.c[i].name, name) == 0)
            abort();
    c->zeros += value == 0;
    c->values[c->s.n] = value;
    stats_counters_add(&c->s, &c->values[c->s.n], "%s", name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stats_fuzz_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return 0;
    c->size = size;
    int rc = stats_file_decode("STATS", data, size, stats_fuzz_counter, c);
    if (rc != KV_OK && rc != KV_ERR_CORRUPT)
        abort();
    if (rc == KV_OK && c->zeros == 0) {
        uint8_t *again = NULL;
        size_t n = 0;
        if (stats_file_encode(&c->s, &again, &n) != KV_OK || n != size ||
            memcmp(again, data, size) != 0)
            abort();
        free(again);
    }
    free(c);
    fuzz_dbfile_run("STATS", data, size);
    return 0;
}
