/*
 * hash_tools.c: kv_check and kv_dump for stage 02, over a closed directory
 * of segments and hint files.  Each segment is listed or dumped through
 * record_io.h (stage 02: common/log_report.c, as stage 01's data.log is),
 * and then judged exactly as kv_open judges it (recover_judge,
 * hash_recover.h), so that check says what open will do: keep it, cut its
 * torn tail, or refuse the database.  Each hint file must describe its
 * segment exactly.  Leftovers of an interrupted merge (.tmp files, a hint
 * without its segment) are reported but are not damage: kv_open removes
 * them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "db_identity.h"
#include "error.h"
#include "escape.h"
#include "hash_db.h"
#include "hash_recover.h"
#include "hint.h"
#include "hint_verify.h"
#include "io.h"
#include "log_report.h"
#include "offline.h"
#include "record_io.h"
#include "segment.h"

#define TOOLS_SHOW_BYTES 48

/* The directory's files, sorted by name (so segments by id). */
typedef struct tools_dir {
    const char *dir;
    char **names;
    size_t n;
} tools_dir;

/* The directory's files, once it is known to be this stage's (another
 * stage's database: nothing here can judge its files): KV_OK, or
 * KV_ERR_CORRUPT for a damaged IDENTITY (the tool goes on), or an error
 * (nothing to free). */
static int tools_open_dir(const char *call, const char *dir, kv_line_fn line, void *ctx,
                          tools_dir *d)
{
    memset(d, 0, sizeof *d);
    d->dir = dir;
    int rc = offline_dir_check(call, dir);
    int status = rc == KV_OK ? db_identity_check(dir, kv_stage(), HASH_DB_FORMAT, line, ctx)
                             : rc;
    if (status != KV_OK && status != KV_ERR_CORRUPT)
        return status;
    rc = io_list(dir, &d->names, &d->n);
    return rc != KV_OK ? rc : status;
}

static int tools_has_log(const tools_dir *d, uint32_t id)
{
    for (size_t i = 0; i < d->n; i++) {
        uint32_t other = 0;
        if (segment_parse_name(d->names[i], &other) == SEGMENT_FILE_LOG && other == id)
            return 1;
    }
    return 0;
}

/* Checks one hint against its segment. */
static int tools_check_hint(const tools_dir *d, const char *name, uint32_t id, kv_line_fn line,
                            void *ctx)
{
    char seg_name[SEGMENT_NAME_MAX];
    segment_name(seg_name, id, SEGMENT_SUFFIX);
    if (!tools_has_log(d, id)) {
        log_report_line(line, ctx, "%s: a hint without its segment, left by an interrupted "
                        "merge; kv_open removes it", name);
        return KV_OK;
    }
    char *hint_path = io_join(d->dir, name), *seg_path = io_join(d->dir, seg_name);
    io_file *seg = NULL;
    uint64_t entries = 0;
    int rc = hint_path && seg_path ? io_open(seg_path, IO_READ, &seg) : KV_ERR_NOMEM;
    if (rc == KV_OK)
        rc = hint_verify(hint_path, id, seg, &entries);
    if (rc == KV_OK)
        log_report_line(line, ctx, "%s: %llu entries, all match %s: ok", name,
                        (unsigned long long)entries, seg_name);
    else
        log_report_line(line, ctx, "%s: DAMAGED: %s; kv repair removes it, so that kv_open "
                        "reads %s instead", name, kv_errmsg(), seg_name);
    io_close(seg);
    free(hint_path);
    free(seg_path);
    return rc;
}

static int tools_ignore_entry(void *ctx, const uint8_t *key, size_t klen, uint64_t offset,
                              uint32_t size)
{
    (void)ctx, (void)key, (void)klen, (void)offset, (void)size;
    return 0;
}

static int tools_ignore_op(void *ctx, const record_op *op)
{
    (void)ctx, (void)op;
    return 0;
}

/* 1 if kv_open indexes segment `id` (of `size` bytes, open as f) from its
 * hint instead of reading it, as recover_segments decides. */
static int tools_from_hint(const tools_dir *d, uint32_t id, io_file *f, uint64_t size)
{
    char name[SEGMENT_NAME_MAX];
    segment_name(name, id, SEGMENT_HINT_SUFFIX);
    int found = 0;
    for (size_t i = 0; i < d->n && !found; i++)
        found = strcmp(d->names[i], name) == 0;
    if (!found || segment_check_header(f, size) != KV_OK)
        return 0;
    char *path = io_join(d->dir, name);
    int ok = path != NULL && hint_load(path, id, size, tools_ignore_entry, NULL, NULL) == KV_OK;
    free(path);
    return ok;
}

/* Reports what kv_open will do with one segment (the verdict it acts on,
 * hash_recover.h); `listed` is what the listing of its records found.
 * Returns KV_OK, KV_CHECK_WILL_CUT, KV_ERR_CORRUPT or an I/O error. */
static int tools_verdict(const tools_dir *d, const char *name, uint32_t id, int closed,
                         int last, int listed, kv_line_fn line, void *ctx)
{
    char *path = io_join(d->dir, name);
    io_file *f = NULL;
    int rc = path ? io_open(path, IO_READ, &f) : KV_ERR_NOMEM;
    free(path);
    if (rc != KV_OK)
        return rc;
    uint64_t size = f->end;
    if (closed && tools_from_hint(d, id, f, size)) {
        io_close(f);
        if (listed != KV_ERR_CORRUPT)
            return KV_OK;
        log_report_line(line, ctx, "%s: kv_open indexes this segment from its hint without "
                        "reading it: the damage above shows when a record in it is read, and "
                        "kv_compact fails on it", name);
        return KV_ERR_CORRUPT;
    }
    record_damage dmg;
    rc = record_replay(f, size, tools_ignore_op, NULL, &dmg);
    io_close(f);
    if (rc != KV_OK && rc != RECORD_DAMAGED)
        return rc;
    recover_verdict v;
    recover_judge(size, rc, &dmg, last, 0, &v);
    if (v.action == RECOVER_KEEP)
        return listed;
    if (v.action == RECOVER_CUT) {
        log_report_line(line, ctx, "%s: %s", name, v.text);
        return offline_worse(listed, KV_CHECK_WILL_CUT);
    }
    log_report_line(line, ctx, "%s: CORRUPT: kv_open refuses the database: %s", name, v.text);
    return KV_ERR_CORRUPT;
}

int kv_check(const char *dir, kv_line_fn line, void *ctx)
{
    tools_dir d;
    offline_status st = {.rc = tools_open_dir("kv_check", dir, line, ctx, &d)};
    if (st.rc != KV_OK && st.rc != KV_ERR_CORRUPT)
        return st.rc;
    /* The segments' sizes, in id order, for the torn-tail rule. */
    uint64_t *sizes = calloc(d.n + 1, sizeof *sizes);
    size_t nlogs = 0;
    int rc = sizes != NULL ? KV_OK : kv_error(KV_ERR_NOMEM, "kv_check %s: out of memory", dir);
    for (size_t i = 0; rc == KV_OK && i < d.n; i++) {
        uint32_t id = 0;
        char *path = NULL;
        io_file *f = NULL;
        if (segment_parse_name(d.names[i], &id) != SEGMENT_FILE_LOG)
            continue;
        rc = (path = io_join(dir, d.names[i])) != NULL ? io_open(path, IO_READ, &f)
                                                        : KV_ERR_NOMEM;
        if (rc == KV_OK)
            sizes[nlogs] = f->end;
        nlogs++;
        io_close(f);
        free(path);
    }
    if (rc != KV_OK) {
        /* Without every size, which segment is the last one is unknown. */
        free(sizes);
        io_list_free(d.names, d.n);
        return rc;
    }
    size_t last = recover_last(sizes, nlogs), k = 0;
    free(sizes);
    uint64_t bytes = 0, records = 0, hints = 0;
    for (size_t i = 0; i < d.n; i++) {
        const char *name = d.names[i];
        uint32_t id = 0;
        int kind = segment_parse_name(name, &id);
        if (kind == SEGMENT_FILE_LOG) {
            char *path = io_join(dir, name);
            log_report_totals t = {0};
            int rc = path ? record_check_file(path, name, line, ctx, &t) : KV_ERR_NOMEM;
            free(path);
            if (rc == KV_OK || rc == KV_ERR_CORRUPT)
                rc = tools_verdict(&d, name, id, k + 1 < nlogs, k >= last, rc, line, ctx);
            offline_status_add(&st, rc);
            k++;
            bytes += t.bytes;
            records += t.records;
        } else if (kind == SEGMENT_FILE_HINT) {
            hints++;
            offline_status_add(&st, tools_check_hint(&d, name, id, line, ctx));
        } else if (kind == SEGMENT_FILE_TMP) {
            log_report_line(line, ctx, "%s: an unfinished file of an interrupted merge; "
                            "kv_open removes it", name);
        } else if (strcmp(name, "LOCK") != 0 && strcmp(name, DB_IDENTITY_FILE) != 0) {
            log_report_line(line, ctx, "%s: not a file of stage %s; ignored", name,
                            kv_stage());
        }
    }
    if (nlogs == 0)
        log_report_line(line, ctx, "%s: no segment files: an empty database", dir);
    log_report_line(line, ctx, "total: %llu segments, %llu bytes, %llu records, %llu hints: %s",
                    (unsigned long long)nlogs, (unsigned long long)bytes,
                    (unsigned long long)records, (unsigned long long)hints,
                    offline_verdict(st.rc));
    io_list_free(d.names, d.n);
    return offline_status_end(dir, &st);
}

typedef struct tools_dump_ctx {
    kv_line_fn line;
    void *ctx;
    uint64_t pos;   /* offset of the next entry in the hint file */
} tools_dump_ctx;

static int tools_dump_entry(void *ctx, const uint8_t *key, size_t klen, uint64_t offset,
                            uint32_t size)
{
    tools_dump_ctx *c = ctx;
    char shown[4 * TOOLS_SHOW_BYTES + 8];
    escape_bytes(shown, sizeof shown, key, klen, TOOLS_SHOW_BYTES);
    log_report_line(c->line, c->ctx, "%10llu  key_len=%zu  record_size=%u  (record_offset=%llu)"
                    "  key=\"%s\"", (unsigned long long)c->pos, klen, size,
                    (unsigned long long)offset, shown);
    c->pos += (uint64_t)coding_varint_length(klen) + (uint64_t)coding_varint_length(size) + klen;
    return 0;
}

static int tools_dump_hint(const char *dir, const char *name, uint32_t id, kv_line_fn line,
                           void *ctx)
{
    char seg_name[SEGMENT_NAME_MAX];
    segment_name(seg_name, id, SEGMENT_SUFFIX);
    char *hint_path = io_join(dir, name), *seg_path = io_join(dir, seg_name);
    io_file *seg = NULL;
    int rc = hint_path && seg_path ? KV_OK : KV_ERR_NOMEM;
    int exists = 0;
    uint64_t seg_bytes = 0;
    if (rc == KV_OK && (rc = io_exists(seg_path, &exists)) == KV_OK && exists &&
        (rc = io_open(seg_path, IO_READ, &seg)) == KV_OK)
        seg_bytes = seg->end;
    io_close(seg);
    log_report_line(line, ctx, "# %s: hint entries: offset, key_len, record_size, "
                    "record_offset in %s (implied), key (see docs/02-hash.md)", name, seg_name);
    tools_dump_ctx c = {.line = line, .ctx = ctx, .pos = HINT_HEADER};
    if (rc == KV_OK && !exists)
        log_report_line(line, ctx, "# %s: %s does not exist: a leftover hint", name, seg_name);
    else if (rc == KV_OK)
        rc = hint_load(hint_path, id, seg_bytes, tools_dump_entry, &c, NULL);
    if (rc != KV_OK && rc != KV_ERR_NOMEM)
        log_report_line(line, ctx, "# %s: cannot dump: %s", name, kv_errmsg());
    free(hint_path);
    free(seg_path);
    return rc;
}

int kv_dump(const char *dir, kv_line_fn line, void *ctx)
{
    return kv_dump_with(dir, 0, line, ctx);
}

int kv_dump_with(const char *dir, unsigned flags, kv_line_fn line, void *ctx)
{
    tools_dir d;
    offline_status st = {.rc = tools_open_dir("kv_dump", dir, line, ctx, &d)};
    if (st.rc != KV_OK && st.rc != KV_ERR_CORRUPT)
        return st.rc;
    size_t segments = 0;
    for (size_t i = 0; i < d.n; i++) {
        uint32_t id = 0;
        int kind = segment_parse_name(d.names[i], &id);
        char *path = NULL;
        if (kind == SEGMENT_FILE_LOG) {
            segments++;
            path = io_join(dir, d.names[i]);
            int rc = path ? record_dump_file(path, d.names[i], flags, line, ctx) : KV_ERR_NOMEM;
            offline_status_add(&st, rc);
        } else if (kind == SEGMENT_FILE_HINT) {
            offline_status_add(&st, tools_dump_hint(dir, d.names[i], id, line, ctx));
        }
        free(path);
    }
    if (segments == 0)
        log_report_line(line, ctx, "# %s: no segment files: an empty database", dir);
    io_list_free(d.names, d.n);
    return offline_status_end(NULL, &st);
}
