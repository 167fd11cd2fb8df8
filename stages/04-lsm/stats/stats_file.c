/*
 * stats_file.c: DIR/STATS, the counters kept across sessions
 * (stats_file.h has the byte table and the invariants).
 */
#include "stats_file.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "file_header.h"
#include "io.h"
#include "log_report.h"
#include "offline.h"

#define STATS_FILE_VERSION 1u
#define STATS_FILE_COUNT_AT FILE_HEADER_SIZE
#define STATS_FILE_FIRST_AT (FILE_HEADER_SIZE + 4u)
#define STATS_FILE_BYTES_MAX                                                                \
    (STATS_FILE_FIRST_AT + STATS_FILE_MAX * (1u + STATS_FILE_NAME_MAX + 8u) + 4u)

static int stats_name_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_';
}

void stats_counters_add(stats_counters *s, uint64_t *value, const char *fmt, ...)
{
    if (s->n >= STATS_FILE_MAX)
        return; /* stats_file_encode's count check says so */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->c[s->n].name, sizeof s->c[s->n].name, fmt, ap);
    va_end(ap);
    s->c[s->n].value = value;
    s->n++;
}

/* A binding's name is one the decoder accepts, and not bound before. */
static int stats_binding_ok(const stats_counters *s, size_t i)
{
    size_t len = strlen(s->c[i].name);
    if (len == 0 || len > STATS_FILE_NAME_MAX)
        return 0;
    for (size_t k = 0; k < len; k++)
        if (!stats_name_char((uint8_t)s->c[i].name[k]))
            return 0;
    for (size_t j = 0; j < i; j++)
        if (strcmp(s->c[j].name, s->c[i].name) == 0)
            return 0;
    return 1;
}

int stats_file_encode(const stats_counters *s, uint8_t **out, size_t *n)
{
    *out = NULL;
    if (s->n >= STATS_FILE_MAX)
        return kv_error(KV_ERR_INVALID, "STATS: more than %d counters bound", STATS_FILE_MAX - 1);
    /* Each value is read once: the size and the bytes agree even while
     * another thread counts. */
    uint64_t value[STATS_FILE_MAX];
    size_t size = STATS_FILE_FIRST_AT + 4, count = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!stats_binding_ok(s, i))
            return kv_error(KV_ERR_INVALID, "STATS: counter \"%s\" has a bad or repeated name",
                            s->c[i].name);
        value[i] = __atomic_load_n(s->c[i].value, __ATOMIC_RELAXED);
        if (value[i] != 0) {
            size += 1 + strlen(s->c[i].name) + 8;
            count++;
        }
    }
    uint8_t *p = malloc(size);
    if (p == NULL)
        return kv_error(KV_ERR_NOMEM, "STATS: out of memory");
    file_header_encode(p, FILE_MAGIC_STA04, STATS_FILE_VERSION);
    coding_put_u32(p + STATS_FILE_COUNT_AT, (uint32_t)count);
    size_t at = STATS_FILE_FIRST_AT;
    for (size_t i = 0; i < s->n; i++) {
        if (value[i] == 0)
            continue; /* SF3: a counter not named is zero */
        size_t len = strlen(s->c[i].name);
        p[at++] = (uint8_t)len;
        memcpy(p + at, s->c[i].name, len);
        at += len;
        coding_put_u64(p + at, value[i]);
        at += 8;
    }
    coding_put_u32(p + at, crc32c_value(p + STATS_FILE_COUNT_AT, at - STATS_FILE_COUNT_AT));
    *out = p;
    *n = size;
    return KV_OK;
}

/* ---- reading ---------------------------------------------------------------- */

/* One counter at *at: its name (NUL-terminated into name) and value. */
static int stats_decode_counter(const char *path, const uint8_t *p, size_t end, size_t *at,
                                char name[STATS_FILE_NAME_MAX + 1], uint64_t *value)
{
    size_t start = *at;
    if (start + 1 > end)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu: the counters end before the count "
                        "says they do", path, start);
    size_t len = p[start];
    if (len == 0 || len > STATS_FILE_NAME_MAX)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu: a counter's name of %zu bytes (1 to "
                        "%d)", path, start, len, STATS_FILE_NAME_MAX);
    if (start + 1 + len + 8 > end)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu: a counter of %zu bytes runs past the "
                        "end of the counters (offset %zu)", path, start, 1 + len + 8, end);
    for (size_t k = 0; k < len; k++) {
        if (!stats_name_char(p[start + 1 + k]))
            return kv_error(KV_ERR_CORRUPT, "%s: offset %zu: byte 0x%02x in a counter's "
                            "name (names are made of a-z, 0-9, '.' and '_')", path,
                            start + 1 + k, p[start + 1 + k]);
        name[k] = (char)p[start + 1 + k];
    }
    name[len] = '\0';
    *value = coding_get_u64(p + start + 1 + len);
    *at = start + 1 + len + 8;
    return KV_OK;
}

int stats_file_decode(const char *path, const uint8_t *p, size_t n, stats_file_each *each,
                      void *ctx)
{
    int rc = file_header_check(path, p, n, FILE_MAGIC_STA04, STATS_FILE_VERSION);
    if (rc != KV_OK)
        return rc;
    if (n < STATS_FILE_FIRST_AT + 4)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu: %zu bytes, too short for a count and "
                        "a checksum (%u bytes at least)", path, n, n, STATS_FILE_FIRST_AT + 4);
    size_t end = n - 4;
    uint32_t want = coding_get_u32(p + end);
    uint32_t got = crc32c_value(p + STATS_FILE_COUNT_AT, end - STATS_FILE_COUNT_AT);
    if (want != got)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %zu: checksum %08" PRIx32 ", but bytes "
                        "%u to %zu give %08" PRIx32 ": the file was damaged or cut short",
                        path, end, want, STATS_FILE_COUNT_AT, end, got);
    uint32_t count = coding_get_u32(p + STATS_FILE_COUNT_AT);
    if (count > STATS_FILE_MAX)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %u: a count of %" PRIu32 " counters "
                        "(%d at most)", path, STATS_FILE_COUNT_AT, count, STATS_FILE_MAX);
    /* The names seen so far, to find one twice (SF3). */
    char (*seen)[STATS_FILE_NAME_MAX + 1] = count ? malloc(count * sizeof *seen) : NULL;
    if (count && seen == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: out of memory", path);
    size_t at = STATS_FILE_FIRST_AT;
    for (uint32_t i = 0; i < count && rc == KV_OK; i++) {
        size_t counter_at = at;
        uint64_t value = 0;
        rc = stats_decode_counter(path, p, end, &at, seen[i], &value);
        for (uint32_t j = 0; j < i && rc == KV_OK; j++)
            if (strcmp(seen[j], seen[i]) == 0)
                rc = kv_error(KV_ERR_CORRUPT, "%s: offset %zu: counter \"%s\" a second time",
                              path, counter_at, seen[i]);
        if (rc == KV_OK && each != NULL)
            each(ctx, seen[i], value, counter_at);
    }
    free(seen);
    if (rc == KV_OK && at != end)
        rc = kv_error(KV_ERR_CORRUPT, "%s: offset %zu: %zu bytes after the %" PRIu32
                      " counters the count names, before the checksum", path, at, end - at,
                      count);
    return rc;
}

/* Reads the whole file at path into *buf (*n bytes): KV_OK, or *found = 0. */
static int stats_file_read(const char *path, uint8_t **buf, size_t *n, int *found)
{
    *buf = NULL;
    *n = 0;
    int exists = 0;
    int rc = io_exists(path, &exists);
    *found = exists;
    if (rc != KV_OK || !exists)
        return rc;
    io_file *f = NULL;
    uint64_t size = 0;
    if ((rc = io_open(path, IO_READ, &f)) == KV_OK && (rc = io_size(f, &size)) == KV_OK) {
        if (size > STATS_FILE_BYTES_MAX)
            rc = kv_error(KV_ERR_CORRUPT, "%s: offset %u: %" PRIu64 " bytes, more than %u "
                          "counters can take", path, (unsigned)STATS_FILE_BYTES_MAX, size,
                          STATS_FILE_MAX);
        else if ((*buf = malloc(size ? size : 1)) == NULL)
            rc = kv_error(KV_ERR_NOMEM, "%s: out of memory", path);
        else
            rc = io_read_at(f, 0, *buf, (size_t)size, n);
    }
    io_close(f);
    return rc;
}

/* The file's value for each bound counter, set only once all decoded. */
typedef struct stats_load_ctx {
    const stats_counters *s;
    uint64_t value[STATS_FILE_MAX];
} stats_load_ctx;

static void stats_load_one(void *ctx, const char *name, uint64_t value, size_t offset)
{
    (void)offset;
    stats_load_ctx *c = ctx;
    for (size_t i = 0; i < c->s->n; i++)
        if (strcmp(c->s->c[i].name, name) == 0)
            c->value[i] = value;
}

int stats_file_load_listed(const char *dir, const stats_counters *s, int listed,
                           int tmp_listed, int writable, int *found)
{
    *found = 0;
    if (!listed && !(tmp_listed && writable))
        return KV_OK;
    char *path = io_join(dir, STATS_FILE_NAME);
    char *tmp = io_join(dir, STATS_FILE_TMP);
    stats_load_ctx *c = calloc(1, sizeof *c);
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = path && tmp && c ? KV_OK : kv_error(KV_ERR_NOMEM, "%s: out of memory", dir);
    if (rc == KV_OK && writable && tmp_listed)
        rc = io_unlink(tmp); /* SF1: a save that did not finish */
    if (rc == KV_OK && listed)
        rc = stats_file_read(path, &buf, &n, found);
    if (rc == KV_OK && *found) {
        c->s = s;
        rc = stats_file_decode(path, buf, n, stats_load_one, c);
    }
    if (rc == KV_OK && *found) /* SF3: a counter the file does not name is zero */
        for (size_t i = 0; i < s->n; i++)
            __atomic_store_n(s->c[i].value, c->value[i], __ATOMIC_RELAXED);
    free(buf);
    free(c);
    free(tmp);
    free(path);
    return rc;
}

int stats_file_load(const char *dir, const stats_counters *s, int writable, int *found)
{
    char *path = io_join(dir, STATS_FILE_NAME);
    char *tmp = io_join(dir, STATS_FILE_TMP);
    int listed = 0, tmp_listed = 0;
    int rc = path && tmp ? KV_OK : kv_error(KV_ERR_NOMEM, "%s: out of memory", dir);
    if (rc == KV_OK)
        rc = io_exists(path, &listed);
    if (rc == KV_OK)
        rc = io_exists(tmp, &tmp_listed);
    free(tmp);
    free(path);
    *found = 0;
    return rc == KV_OK ? stats_file_load_listed(dir, s, listed, tmp_listed, writable, found)
                       : rc;
}

/* ---- writing ---------------------------------------------------------------- */

int stats_file_save(const char *dir, const stats_counters *s)
{
    uint8_t *bytes = NULL;
    size_t n = 0;
    int rc = stats_file_encode(s, &bytes, &n);
    if (rc == KV_OK && (rc = io_replace(dir, STATS_FILE_NAME, bytes, n, NULL)) != KV_OK)
        kv_error_append(" (saving %s/%s)", dir, STATS_FILE_NAME);
    free(bytes);
    return rc;
}

/* ---- kv check, kv dump ------------------------------------------------------ */

typedef struct stats_report_ctx {
    kv_line_fn line;
    void *ctx;
    size_t counters;
} stats_report_ctx;

static void stats_report_count(void *ctx, const char *name, uint64_t value, size_t offset)
{
    (void)name, (void)value, (void)offset;
    ((stats_report_ctx *)ctx)->counters++;
}

static void stats_report_dump(void *ctx, const char *name, uint64_t value, size_t offset)
{
    stats_report_ctx *c = ctx;
    c->counters++;
    log_report_line(c->line, c->ctx, "%10zu  %s = %" PRIu64, offset, name, value);
}

/* Reads and decodes DIR/STATS with each: KV_OK (*found says whether there is
 * one), KV_ERR_CORRUPT, or an I/O error. */
static int stats_file_report(const char *dir, stats_file_each *each, stats_report_ctx *c,
                             int *found)
{
    char *path = io_join(dir, STATS_FILE_NAME);
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = path ? stats_file_read(path, &buf, &n, found) : KV_ERR_NOMEM;
    if (rc == KV_OK && *found)
        rc = stats_file_decode(STATS_FILE_NAME, buf, n, each, c);
    free(buf);
    free(path);
    return rc;
}

int stats_file_check(const char *dir, kv_line_fn line, void *ctx)
{
    stats_report_ctx c = {.line = line, .ctx = ctx};
    int found = 0;
    int rc = stats_file_report(dir, stats_report_count, &c, &found);
    if (rc == KV_OK && found)
        log_report_line(line, ctx, "%s: %zu counters kept across sessions: ok",
                        STATS_FILE_NAME, c.counters);
    else if (rc == KV_OK)
        log_report_line(line, ctx, "%s: none: no flush or compaction counted yet (or it was "
                        "removed: kv_stats then counts from the next open)", STATS_FILE_NAME);
    else if (rc == KV_ERR_CORRUPT)
        log_report_line(line, ctx, "%s: DAMAGED: %s; kv_open ignores it and counts the totals "
                        "again from that open, kv repair sets it aside; no data is in it",
                        STATS_FILE_NAME, kv_errmsg());
    char *tmp = io_join(dir, STATS_FILE_TMP);
    int exists = 0;
    if (tmp != NULL && io_exists(tmp, &exists) == KV_OK && exists)
        log_report_line(line, ctx, "%s: an unfinished save of %s; kv_open removes it",
                        STATS_FILE_TMP, STATS_FILE_NAME);
    free(tmp);
    return rc;
}

int stats_file_dump(const char *dir, kv_line_fn line, void *ctx)
{
    stats_report_ctx c = {.line = line, .ctx = ctx};
    int found = 0;
    char *path = io_join(dir, STATS_FILE_NAME);
    int exists = 0;
    if (path != NULL && io_exists(path, &exists) == KV_OK && exists)
        log_report_line(line, ctx, "# %s: the totals kept across sessions: offset of each "
                        "counter, its name and value (see docs/formats.md)", STATS_FILE_NAME);
    free(path);
    int rc = stats_file_report(dir, stats_report_dump, &c, &found);
    if (rc != KV_OK)
        log_report_line(line, ctx, "# %s: %s", STATS_FILE_NAME, kv_errmsg());
    return rc;
}

int stats_file_repair(const char *dir, kv_line_fn line, void *ctx, int *changed)
{
    *changed = 0;
    stats_report_ctx c = {.line = line, .ctx = ctx};
    int found = 0;
    int rc = stats_file_report(dir, stats_report_count, &c, &found);
    if (rc != KV_ERR_CORRUPT)
        return rc;
    char why[512], kept[256];
    snprintf(why, sizeof why, "%s", kv_errmsg());
    char *path = io_join(dir, STATS_FILE_NAME);
    rc = path ? offline_set_aside(dir, STATS_FILE_NAME, kept, sizeof kept) : KV_ERR_NOMEM;
    if (rc == KV_OK)
        rc = io_unlink(path);
    if (rc == KV_OK && (rc = io_sync_dir(dir)) == KV_OK) {
        *changed = 1;
        log_report_line(line, ctx, "%s: damaged (%s): set aside as %s; the totals kv_stats "
                        "shows count again from the next open (no data was in it)",
                        STATS_FILE_NAME, why, kept);
    }
    free(path);
    return rc;
}

int stats_file_is_named(const char *name)
{
    return strcmp(name, STATS_FILE_NAME) == 0 || strcmp(name, STATS_FILE_TMP) == 0;
}
