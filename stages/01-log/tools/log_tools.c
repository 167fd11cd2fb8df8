/*
 * log_tools.c: kv_check and kv_dump for stage 01, whose only file is
 * data.log.  The listing is common/log_report.c's; what kv_open will do is
 * the verdict kv_open itself acts on (log_verdict.c).
 */
#include <stdlib.h>

#include "db_identity.h"
#include "error.h"
#include "file_header.h"
#include "io.h"
#include "log_db.h"
#include "log_report.h"
#include "offline.h"

/* Finds DIR/data.log; *path is NULL (and KV_OK) if the directory has none. */
static int log_tools_path(const char *call, const char *dir, char **path)
{
    int rc = offline_dir_check(call, dir);
    if (rc != KV_OK)
        return rc;
    int exists = 0;
    if ((*path = io_join(dir, LOG_FILE_NAME)) == NULL)
        return KV_ERR_NOMEM;
    if ((rc = io_exists(*path, &exists)) != KV_OK || !exists) {
        free(*path);
        *path = NULL;
    }
    return rc;
}

/* Reports what kv_open will do with data.log (log_verdict.c); returns
 * KV_OK, KV_CHECK_WILL_CUT, KV_ERR_CORRUPT or an I/O error. */
static int log_tools_verdict(const char *path, kv_line_fn line, void *ctx)
{
    io_file *f = NULL;
    uint64_t size = 0;
    log_verdict v;
    int rc = io_open(path, IO_READ, &f);
    if (rc == KV_OK && (rc = io_size(f, &size)) == KV_OK)
        rc = log_verdict_judge(f, size, 0, &v);
    io_close(f);
    if (rc != KV_OK)
        return rc;
    if (v.action == LOG_VERDICT_KEEP)
        return KV_OK;
    char text[900];
    log_verdict_text(&v, 0, text, sizeof text);
    if (v.action == LOG_VERDICT_CUT) {
        log_report_line(line, ctx, "%s: %s", LOG_FILE_NAME, text);
        return KV_CHECK_WILL_CUT;
    }
    log_report_line(line, ctx, "%s: CORRUPT: kv_open refuses the database: %s", LOG_FILE_NAME,
                    text);
    return kv_error(KV_ERR_CORRUPT, "%s: kv_open refuses it (kv check says why)", path);
}

int kv_check(const char *dir, kv_line_fn line, void *ctx)
{
    char *path = NULL;
    int rc = log_tools_path("kv_check", dir, &path);
    if (rc != KV_OK)
        return rc;
    /* Another stage's database: nothing here can judge its files. */
    int identity = db_identity_check(dir, kv_stage(), LOG_DB_FORMAT, line, ctx);
    if (identity != KV_OK && identity != KV_ERR_CORRUPT) {
        free(path);
        return identity;
    }
    if (path == NULL) {
        log_report_line(line, ctx, "%s: no %s: an empty database", dir, LOG_FILE_NAME);
        rc = KV_OK;
    } else {
        /* Every damaged region, then what kv_open will do about the first. */
        rc = log_report_check(path, LOG_FILE_NAME, FILE_MAGIC_LOG01, LOG_DB_FORMAT, line, ctx,
                              NULL);
        if (rc == KV_OK || rc == KV_ERR_CORRUPT)
            rc = log_tools_verdict(path, line, ctx);
        free(path);
    }
    if ((rc == KV_OK || rc == KV_CHECK_WILL_CUT) && identity != KV_OK)
        rc = kv_error(identity, "%s: %s is damaged (kv check says how)", dir,
                      DB_IDENTITY_FILE);
    return rc;
}

/* A log of records has no framing below its records. */
int kv_dump_with(const char *dir, unsigned flags, kv_line_fn line, void *ctx)
{
    (void)flags;
    return kv_dump(dir, line, ctx);
}

int kv_dump(const char *dir, kv_line_fn line, void *ctx)
{
    char *path = NULL;
    int rc = log_tools_path("kv_dump", dir, &path);
    if (rc != KV_OK)
        return rc;
    rc = db_identity_check(dir, kv_stage(), LOG_DB_FORMAT, line, ctx);
    if (rc != KV_OK && rc != KV_ERR_CORRUPT) {
        free(path);
        return rc;
    }
    if (path == NULL) {
        log_report_line(line, ctx, "# %s: no %s: an empty database", dir, LOG_FILE_NAME);
        return KV_OK;
    }
    rc = log_report_dump(path, LOG_FILE_NAME, FILE_MAGIC_LOG01, LOG_DB_FORMAT, line, ctx);
    free(path);
    return rc;
}
