/*
 * stats_fuzz.c: fuzz harness for DIR/STATS, the totals kept across
 * sessions (stages/04-lsm/stats/stats_file.h; the same file in stages
 * 04-07).
 *
 * The input is a STATS file's bytes.  It is decoded as it is and with its
 * checksums made right (fuzz_formats.h: the file header's and the one
 * over the counters), so that mutations reach the counters.  Each time the
 * harness reads the file itself by the byte table and checks:
 *   - stats_file_decode returns KV_OK exactly for a file the table allows
 *     (header, checksum, a count of at most 256, counters of 1 to 47 bytes
 *     of a-z, 0-9, '.' and '_' with 8-byte values, none twice, ending where
 *     the checksum starts), KV_ERR_CORRUPT for any other, and hands out the
 *     table's counters in order (name, value, offset), none past the
 *     damage;
 *   - a file that decodes is the one its counters encode to, byte for
 *     byte (when none is zero: a writer leaves zeros out);
 *   - stats_file_load of the file in a directory in memory (beside the
 *     same bytes as STATS.tmp, which it removes) answers as the decoder,
 *     and sets exactly the values it handed out;
 * then, for one input in sixteen (fuzz_dbfile_sampled), the repaired file in
 * a database directory through the whole engine (fuzz_dbfile.h): whatever
 * it holds, kv_open, kv_check and kv_dump neither crash nor hang (a
 * damaged STATS never stops kv_open: stats_file.h SF2), and what kv_close
 * writes opens again; rarer, beside STATS.tmp and as STATS.tmp alone, and
 * the engine's tools with I/O calls failing (fuzz_faults.h; see
 * stats_fuzz_engine).  A broken promise aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "fuzz_faults.h"
#include "fuzz_formats.h"
#include "fuzz_dbfile.h"
#include "kv.h"
#include "stats_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void stats_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "stats fuzz invariant broken: %s\n", what);
        abort();
    }
}

/* The file as the byte table reads it. */
typedef struct stats_fuzz_model {
    int valid;
    size_t n;                      /* counters read before any damage */
    size_t at[STATS_FILE_MAX];     /* each one's offset */
} stats_fuzz_model;

static int stats_fuzz_name_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
}

static void stats_fuzz_model_read(const uint8_t *p, size_t n, stats_fuzz_model *m)
{
    m->valid = 0;
    m->n = 0;
    if (n < 24 || memcmp(p, "KVS04STA", 8) != 0 || coding_get_u32(p + 8) != 1 ||
        coding_get_u32(p + 12) != crc32c_value(p, 12))
        return;
    size_t end = n - 4;
    if (coding_get_u32(p + end) != crc32c_value(p + 16, end - 16))
        return;
    uint32_t count = coding_get_u32(p + 16);
    if (count > STATS_FILE_MAX)
        return;
    size_t at = 20;
    for (uint32_t i = 0; i < count; i++) {
        if (at >= end)
            return;
        size_t len = p[at];
        if (len == 0 || len > STATS_FILE_NAME_MAX || at + 1 + len + 8 > end)
            return;
        for (size_t k = 0; k < len; k++)
            if (!stats_fuzz_name_char(p[at + 1 + k]))
                return;
        for (size_t j = 0; j < m->n; j++)
            if (p[m->at[j]] == len && memcmp(p + m->at[j] + 1, p + at + 1, len) == 0)
                return;
        m->at[m->n++] = at;
        at += 1 + len + 8;
    }
    m->valid = at == end;
}

typedef struct stats_fuzz_ctx {
    const uint8_t *p;
    const stats_fuzz_model *m;
    size_t zeros, i;
    stats_counters s;
    uint64_t values[STATS_FILE_MAX];
} stats_fuzz_ctx;

static void stats_fuzz_counter(void *ctx, const char *name, uint64_t value, size_t offset)
{
    stats_fuzz_ctx *c = ctx;
    stats_fuzz_check(c->i < c->m->n, "a counter handed out past the damage");
    size_t at = c->m->at[c->i], len = c->p[at];
    stats_fuzz_check(offset == at && strlen(name) == len && memcmp(name, c->p + at + 1, len) == 0 &&
                         value == coding_get_u64(c->p + at + 1 + len),
                     "a counter is the one the byte table reads there");
    c->zeros += value == 0;
    c->values[c->i] = value;
    stats_counters_add(&c->s, &c->values[c->i], "%s", name);
    c->i++;
}

/* stats_file_load from a directory in memory holding the file as STATS
 * and as STATS.tmp (a save that did not finish), with the counters the
 * decoder handed out bound: the decoder's answer, every value it handed
 * out (none set from a file it refuses), STATS.tmp removed (it may
 * write). */
static void stats_fuzz_load(const uint8_t *p, size_t n, const stats_fuzz_ctx *c, int valid)
{
    fuzz_dbfile files[2] = {{"STATS", p, n}, {"STATS.tmp", p, n}};
    fuzz_faults_place(files, 2);
    stats_counters *s = calloc(1, sizeof *s);
    uint64_t *values = calloc(STATS_FILE_MAX, sizeof *values);
    stats_fuzz_check(s != NULL && values != NULL, "calloc");
    for (size_t i = 0; i < c->i; i++)
        stats_counters_add(s, &values[i], "%s", c->s.c[i].name);
    int found = 0;
    int rc = stats_file_load(FUZZ_DBFILE_DIR, s, 1, &found);
    stats_fuzz_check(rc == (valid ? KV_OK : KV_ERR_CORRUPT) && found,
                     "stats_file_load answers as stats_file_decode");
    for (size_t i = 0; i < c->i; i++)
        stats_fuzz_check(values[i] == (valid ? c->values[i] : 0),
                         "stats_file_load sets the values decoded, and only from a whole file");
    stats_fuzz_check(!fuzz_dbfile_exists("STATS.tmp"), "stats_file_load removes STATS.tmp");
    free(values);
    free(s);
    fuzz_dbfile_mem_done();
}

static void stats_fuzz_decode(const uint8_t *p, size_t n)
{
    stats_fuzz_ctx *c = calloc(1, sizeof *c);
    stats_fuzz_model *m = malloc(sizeof *m);
    stats_fuzz_check(c != NULL && m != NULL, "malloc");
    stats_fuzz_model_read(p, n, m);
    c->p = p;
    c->m = m;
    int rc = stats_file_decode("STATS", p, n, stats_fuzz_counter, c);
    stats_fuzz_check(rc == (m->valid ? KV_OK : KV_ERR_CORRUPT),
                     "stats_file_decode accepts exactly the files the byte table allows");
    if (rc == KV_OK) {
        stats_fuzz_check(c->i == m->n, "every counter handed out");
        /* (The encoder takes fewer than STATS_FILE_MAX counters: the
         * largest count the decoder takes, no writer writes.) */
        if (c->zeros == 0 && c->i < STATS_FILE_MAX) {
            uint8_t *again = NULL;
            size_t len = 0;
            stats_fuzz_check(stats_file_encode(&c->s, &again, &len) == KV_OK && len == n &&
                                 memcmp(again, p, n) == 0,
                             "a file that decodes encodes to its own bytes");
            free(again);
        }
    }
    stats_fuzz_load(p, n, c, rc == KV_OK);
    free(m);
    free(c);
}

/* The repaired file in a database directory through the whole engine
 * (fuzz_dbfile.h): as STATS; for one input in FUZZ_DBFILE_SAMPLE * 4,
 * beside the same bytes as STATS.tmp (a save that did not finish, which an
 * open that may write removes and a read-only one leaves), then as
 * STATS.tmp alone; for one in FUZZ_DBFILE_SAMPLE * 64, kv check, kv dump,
 * kv_inspect, kv_repair and an open with a quarter of their I/O calls
 * failing in turn (fuzz_faults.h).  Every input of a replay takes all of
 * them. */
static void stats_fuzz_engine(const uint8_t *data, const uint8_t *fixed, size_t size)
{
    fuzz_dbfile_run("STATS", fixed, size);
    fuzz_dbfile_repair("STATS", fixed, size);
    if (!fuzz_dbfile_sampled_rarely(data, size, 4))
        return;
    fuzz_dbfile two[2] = {{"STATS", fixed, size}, {"STATS.tmp", fixed, size}};
    for (size_t from = 0; from < 2; from++)
        if (fuzz_dbfile_run_files(two + from, 2 - from))
            stats_fuzz_check(!fuzz_dbfile_exists("STATS.tmp"), "an open that may write "
                             "removes STATS.tmp");
    if (!fuzz_dbfile_sampled_rarely(data, size, 64))
        return;
    uint32_t seed = crc32c_value(data, size);
    fuzz_faults_tools(two, 2, seed);
    fuzz_faults_repair(two, 1, seed);
    fuzz_faults_open(two, 2, seed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stats_fuzz_decode(data, size);
    uint8_t *fixed = malloc(size ? size : 1);
    stats_fuzz_check(fixed != NULL, "malloc");
    memcpy(fixed, data, size);
    fuzz_fix_body_crc(fixed, size);
    if (memcmp(fixed, data, size) != 0)
        stats_fuzz_decode(fixed, size);
    if (fuzz_dbfile_sampled(data, size))
        stats_fuzz_engine(data, fixed, size);
    free(fixed);
    fuzz_dbfile_mem_done();
    return 0;
}
