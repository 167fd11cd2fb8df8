/*
 * db_identity.c: the IDENTITY file of a database directory (db_identity.h).
 */
#include "db_identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "io.h"

#define DB_IDENTITY_PREFIX "kvstages stage="
#define DB_IDENTITY_FORMAT " format="
#define DB_IDENTITY_CRC " crc32c="

size_t db_identity_encode(char out[DB_IDENTITY_MAX], const char *stage, uint32_t format)
{
    int n = snprintf(out, DB_IDENTITY_MAX, DB_IDENTITY_PREFIX "%s" DB_IDENTITY_FORMAT "%u",
                     stage, format);
    uint32_t crc = crc32c_value(out, (size_t)n);
    n += snprintf(out + n, DB_IDENTITY_MAX - (size_t)n, DB_IDENTITY_CRC "%08x\n", crc);
    return (size_t)n;
}

/* Matches the literal s at *p; advances past it. */
static int db_identity_literal(const uint8_t **p, const uint8_t *limit, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++, (*p)++)
        if (*p >= limit || **p != (uint8_t)s[i])
            return -1;
    return 0;
}

int db_identity_decode(const uint8_t *p, const uint8_t *limit, db_identity *id,
                       const char **why, size_t *bad_at)
{
    const uint8_t *start = p;
    memset(id, 0, sizeof *id);
    if (db_identity_literal(&p, limit, DB_IDENTITY_PREFIX) != 0) {
        *why = "does not start with \"" DB_IDENTITY_PREFIX "\"";
        goto bad;
    }
    size_t n = 0;
    while (p < limit && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || *p == '-')) {
        if (n == DB_STAGE_NAME_MAX) {
            *why = "stage name longer than 31 characters";
            goto bad;
        }
        id->stage[n++] = (char)*p++;
    }
    if (n == 0) {
        *why = "no stage name (a stage name is made of 0-9, a-z and -)";
        goto bad;
    }
    if (db_identity_literal(&p, limit, DB_IDENTITY_FORMAT) != 0) {
        *why = "stage name not followed by \"" DB_IDENTITY_FORMAT "\"";
        goto bad;
    }
    uint64_t format = 0;
    const uint8_t *digits = p;
    while (p < limit && *p >= '0' && *p <= '9' && p - digits < 10)
        format = format * 10 + (uint64_t)(*p++ - '0');
    if (p == digits || *digits == '0' || format > UINT32_MAX) {
        p = digits;
        *why = "format is not a number from 1 to 4294967295";
        goto bad;
    }
    id->format = (uint32_t)format;
    size_t covered = (size_t)(p - start);
    if (db_identity_literal(&p, limit, DB_IDENTITY_CRC) != 0) {
        *why = "format not followed by \"" DB_IDENTITY_CRC "\"";
        goto bad;
    }
    uint32_t crc = 0;
    for (int i = 0; i < 8; i++, p++) {
        if (p >= limit || !((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
            *why = "crc32c is not eight lower-case hex digits";
            goto bad;
        }
        crc = crc << 4 | (uint32_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
    }
    if (p >= limit || *p != '\n' || p + 1 != limit) {
        *why = "the line does not end right after the crc32c";
        goto bad;
    }
    if (crc != crc32c_value(start, covered)) {
        p = start;
        *why = "crc32c does not match the line";
        goto bad;
    }
    return 0;
bad:
    *bad_at = (size_t)(p - start);
    return -1;
}

int db_identity_read(const char *dir, db_identity *id, int *found)
{
    *found = 0;
    char *path = io_join(dir, DB_IDENTITY_FILE);
    if (path == NULL)
        return KV_ERR_NOMEM;
    int exists = 0;
    int rc = io_exists(path, &exists);
    if (rc != KV_OK || !exists) {
        free(path);
        return rc;
    }
    io_file *f = NULL;
    uint64_t size = 0;
    uint8_t buf[DB_IDENTITY_MAX];
    size_t got = 0;
    if ((rc = io_open(path, IO_READ, &f)) == KV_OK && (rc = io_size(f, &size)) == KV_OK) {
        if (size > DB_IDENTITY_MAX)
            rc = kv_error(KV_ERR_CORRUPT, "%s: offset %u: %llu bytes, longer than any valid "
                          "identity line (%u bytes at most)", path, DB_IDENTITY_MAX,
                          (unsigned long long)size, DB_IDENTITY_MAX);
        else
            rc = io_read_at(f, 0, buf, (size_t)size, &got);
    }
    io_close(f);
    if (rc == KV_OK) {
        const char *why = NULL;
        size_t bad_at = 0;
        if (db_identity_decode(buf, buf + got, id, &why, &bad_at) != 0)
            rc = kv_error(KV_ERR_CORRUPT, "%s: offset %zu: not a valid identity line: %s",
                          path, bad_at, why);
        else
            *found = 1;
    }
    free(path);
    return rc;
}

/* Files of the directory other than LOCK and IDENTITY.tmp: *first gets the
 * first one's name (a fresh allocation) or NULL if there is none. */
static int db_identity_first_file(const char *dir, char **first)
{
    char **names = NULL;
    size_t count = 0;
    *first = NULL;
    int rc = io_list(dir, &names, &count);
    if (rc != KV_OK)
        return rc;
    for (size_t i = 0; i < count && *first == NULL; i++) {
        if (strcmp(names[i], "LOCK") == 0 || strcmp(names[i], DB_IDENTITY_TMP) == 0)
            continue;
        if ((*first = strdup(names[i])) == NULL)
            rc = kv_error(KV_ERR_NOMEM, "%s: out of memory", dir);
    }
    io_list_free(names, count);
    return rc;
}

static int db_identity_mismatch(const char *call, const char *dir, const db_identity *id,
                                const char *stage, uint32_t format)
{
    if (strcmp(id->stage, stage) != 0)
        return kv_error(KV_ERR_INVALID,
                        "%s %s: this database was written by stage %s (format %u), and "
                        "this is stage %s, which cannot read it; nothing was changed.  "
                        "To carry its data across: build/%s/kv %s export FILE, then "
                        "build/%s/kv NEWDIR import FILE",
                        call, dir, id->stage, id->format, stage, id->stage, dir, stage);
    return kv_error(KV_ERR_INVALID,
                    "%s %s: this database is in format %u of stage %s, and this build "
                    "reads format %u; nothing was changed.  Export it with the build that "
                    "wrote it (kv DIR export FILE) and import it here (kv NEWDIR import FILE)",
                    call, dir, id->format, id->stage, format);
}

static int db_identity_foreign(const char *call, const char *dir, const char *first,
                               const char *stage)
{
    return kv_error(KV_ERR_INVALID,
                    "%s %s: the directory holds files (%s, ...) but no " DB_IDENTITY_FILE
                    " file: it is not a database of this project, or one written before "
                    "databases recorded which stage wrote them, and stage %s cannot tell "
                    "what its files hold; nothing was changed.  Use an empty or new "
                    "directory",
                    call, dir, first, stage);
}

/* Rule 3: IDENTITY.tmp, synced, renamed, directory synced. */
static int db_identity_create(const char *dir, const char *stage, uint32_t format)
{
    char line[DB_IDENTITY_MAX];
    size_t n = db_identity_encode(line, stage, format);
    char *tmp = io_join(dir, DB_IDENTITY_TMP);
    char *path = io_join(dir, DB_IDENTITY_FILE);
    io_file *f = NULL;
    int rc = tmp && path ? KV_OK : KV_ERR_NOMEM;
    if (rc == KV_OK)
        rc = io_open(tmp, IO_WRITE | IO_CREATE | IO_TRUNC, &f);
    if (rc == KV_OK && (rc = io_append_bytes(f, line, n)) == KV_OK)
        rc = io_sync(f);
    int crc = io_close(f);
    if (rc == KV_OK)
        rc = crc;
    if (rc == KV_OK && (rc = io_rename(tmp, path)) == KV_OK)
        rc = io_sync_dir(dir);
    if (rc != KV_OK)
        kv_error_append(" (kv_open %s: writing its " DB_IDENTITY_FILE " file)", dir);
    free(tmp);
    free(path);
    return rc;
}

int db_identity_open(const char *dir, const char *stage, uint32_t format,
                     const kv_options *opt)
{
    db_identity id;
    int found = 0;
    int rc = db_identity_read(dir, &id, &found);
    if (rc != KV_OK)
        return rc;
    if (found)
        return strcmp(id.stage, stage) == 0 && id.format == format
                   ? KV_OK
                   : db_identity_mismatch("kv_open", dir, &id, stage, format);
    char *first = NULL;
    if ((rc = db_identity_first_file(dir, &first)) != KV_OK)
        return rc;
    if (first != NULL) {
        rc = db_identity_foreign("kv_open", dir, first, stage);
        free(first);
        return rc;
    }
    return opt->read_only ? KV_OK : db_identity_create(dir, stage, format);
}

int db_identity_check(const char *dir, const char *stage, uint32_t format, kv_line_fn line,
                      void *ctx)
{
    db_identity id;
    int found = 0;
    char text[512];
    int rc = db_identity_read(dir, &id, &found);
    if (rc == KV_OK && found) {
        rc = strcmp(id.stage, stage) == 0 && id.format == format
                 ? KV_OK
                 : db_identity_mismatch("kv check", dir, &id, stage, format);
        if (rc == KV_OK)
            snprintf(text, sizeof text, DB_IDENTITY_FILE ": stage %s, format %u: ok",
                     id.stage, id.format);
    } else if (rc == KV_OK) {
        char *first = NULL;
        if ((rc = db_identity_first_file(dir, &first)) == KV_OK && first != NULL) {
            rc = db_identity_foreign("kv check", dir, first, stage);
            free(first);
        } else if (rc == KV_OK) {
            snprintf(text, sizeof text,
                     DB_IDENTITY_FILE ": none, and no other file: an empty database");
        }
    }
    if (rc != KV_OK)
        snprintf(text, sizeof text, "%s", kv_errmsg());
    if (line)
        line(ctx, text);
    return rc;
}
