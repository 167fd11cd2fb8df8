/*
 * wal_repair.c: kv_repair for stage 03.  Over a closed database of this
 * stage (its IDENTITY says so: another stage's files, or a directory whose
 * IDENTITY is damaged, are never touched; it takes the lock, so an open one
 * is KV_ERR_BUSY), every segment with damage is
 * rewritten: each intact record, whole (a batch stays a batch), in order,
 * framed anew into <id>.log.tmp, which is synced, renamed over <id>.log,
 * and the directory synced.  The segment's hint, whose offsets no longer
 * hold, is removed.  Each rewritten file gets a line saying which byte
 * ranges were lost and why.  A crash in the middle leaves either the old
 * file or the new one (plus a .tmp that kv_open removes).  Then every hint
 * that does not describe its segment record by record (hint_verify.h:
 * kv_open would trust its keys) is removed, and the directory synced, so
 * that kv_open reads the segment instead.  A closed segment (one before
 * the last holding records) whose records are all intact but which does
 * not end with its seal is rewritten too, sealed: kv_open refuses it as
 * cut short after it was closed (hash_recover.h), so it is damage to mend.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_dir.h"
#include "db_identity.h"
#include "hash_db.h"
#include "hash_recover.h"
#include "hint_verify.h"
#include "error.h"
#include "log_report.h"
#include "offline.h"
#include "record_io.h"
#include "segment.h"
#include "wal_batch.h"
#include "wal_tools.h"
#include "wal_writer.h"

static int repair_ignore_op(void *ctx, const record_op *op)
{
    (void)ctx, (void)op;
    return 0;
}

typedef struct repair_out {
    io_file *file;
    uint64_t at, records;
} repair_out;

static int repair_copy(void *ctx, const wal_walk_item *it, const wal_reader *r)
{
    repair_out *o = ctx;
    if (it->kind != WAL_WALK_RECORD)
        return KV_OK; /* old markers name old offsets: one new one ends the file */
    const uint8_t *rec = r->rec;
    size_t len = r->rec_len;
    int rc = wal_append(o->file, o->at, &rec, &len, 1, &o->at);
    o->records += rc == KV_OK;
    return rc;
}

/* Rewrites DIR/name without its damaged regions dl. */
static int repair_file(const char *dir, const char *name, uint32_t id,
                       const wal_damage_list *dl, kv_line_fn line, void *ctx, uint64_t *lost)
{
    char tmp_name[SEGMENT_NAME_MAX], hint_name[SEGMENT_NAME_MAX];
    segment_name(tmp_name, id, SEGMENT_SUFFIX SEGMENT_TMP_SUFFIX);
    segment_name(hint_name, id, SEGMENT_HINT_SUFFIX);
    char *path = io_join(dir, name), *tmp = io_join(dir, tmp_name);
    char *hint = io_join(dir, hint_name);
    repair_out o = {0};
    uint64_t size = 0;
    int rc = path && tmp && hint ? io_open(tmp, IO_WRITE | IO_CREATE | IO_TRUNC, &o.file)
                                 : KV_ERR_NOMEM;
    if (rc == KV_OK && (rc = segment_write_header(o.file)) == KV_OK) /* a fresh header */
        o.at = SEGMENT_START;
    if (rc == KV_OK)
        rc = wal_walk(path, repair_copy, &o, &size);
    uint64_t kept = o.at;
    if (rc == KV_OK && kept > SEGMENT_START) {
        /* Written before the sync, but the file has no name until after
         * it, so the marker is true by the time anyone can read it. */
        uint8_t marker[WAL_SEAL_SIZE];
        const uint8_t *rec = marker;
        size_t len = wal_marker_encode(marker, kept, 1); /* a seal */
        rc = wal_append(o.file, o.at, &rec, &len, 1, &o.at);
    }
    if (rc == KV_OK)
        rc = io_sync(o.file);
    int crc = io_close(o.file);
    if (rc == KV_OK)
        rc = crc;
    int exists = 0;
    if (rc == KV_OK && (rc = io_exists(hint, &exists)) == KV_OK && exists)
        rc = io_unlink(hint);
    if (rc == KV_OK)
        rc = io_rename(tmp, path);
    if (rc == KV_OK)
        rc = io_sync_dir(dir);
    if (rc == KV_OK) {
        uint64_t bytes = 0;
        for (size_t i = 0; i < dl->n; i++)
            bytes += dl->v[i].end - dl->v[i].offset;
        *lost += bytes;
        log_report_line(line, ctx, "%s: repaired: kept %llu intact records (%llu bytes, was "
                        "%llu); lost %llu bytes in %zu damaged regions%s%s", name,
                        (unsigned long long)o.records, (unsigned long long)kept,
                        (unsigned long long)size, (unsigned long long)bytes, dl->n,
                        dl->n ? ":" : " (a closed segment without its seal, now sealed)",
                        exists ? " (its hint file was removed)" : "");
        for (size_t i = 0; i < dl->n; i++)
            log_report_line(line, ctx, "%s:   offset %llu: %llu bytes lost: %s", name,
                            (unsigned long long)dl->v[i].offset,
                            (unsigned long long)(dl->v[i].end - dl->v[i].offset),
                            dl->v[i].why);
    } else if (tmp) {
        io_unlink(tmp);
    }
    free(path);
    free(tmp);
    free(hint);
    return rc;
}

/* A segment whose file header is wrong is damaged at offset 0: its
 * records are kept, behind a fresh header. */
static int repair_header_damage(const char *path, wal_damage_list *dl)
{
    io_file *f = NULL;
    int rc = io_open(path, IO_READ, &f);
    uint64_t size = rc == KV_OK ? f->end : 0;
    int bad = rc == KV_OK && size > 0 && segment_check_header(f, size) != KV_OK;
    io_close(f);
    if (rc != KV_OK || !bad)
        return rc;
    wal_walk_item *v = realloc(dl->v, (dl->n + 1) * sizeof *v);
    if (v == NULL)
        return kv_error(KV_ERR_NOMEM, "kv_repair %s: out of memory", path);
    memmove(v + 1, v, dl->n * sizeof *v);
    v[0] = (wal_walk_item){.kind = WAL_WALK_DAMAGE, .offset = 0,
                           .end = size < SEGMENT_START ? size : SEGMENT_START,
                           .why = "a damaged file header"};
    dl->v = v;
    dl->n++;
    dl->cap = dl->n;
    return KV_OK;
}

/* 1 in *unsealed if the closed segment at path, with no damaged region,
 * does not end with its seal (what kv_open refuses, hash_recover.h). */
static int repair_unsealed(const char *path, int *unsealed)
{
    io_file *f = NULL;
    *unsealed = 0;
    int rc = io_open(path, IO_READ, &f);
    if (rc != KV_OK)
        return rc;
    record_damage dmg;
    uint64_t size = f->end;
    rc = record_replay(f, size, repair_ignore_op, NULL, &dmg);
    io_close(f);
    if (rc != KV_OK && rc != RECORD_DAMAGED)
        return rc;
    recover_verdict v;
    recover_judge(size, rc, &dmg, 0, 1, &v);
    *unsealed = v.action != RECOVER_KEEP;
    return KV_OK;
}

/* Removes names[i], a hint, if its segment is there and it does not
 * describe it (*removed counts it).  KV_OK or an I/O error. */
static int repair_hint(const char *dir, const char *name, uint32_t id, kv_line_fn line,
                       void *ctx, size_t *removed)
{
    char seg_name[SEGMENT_NAME_MAX];
    segment_name(seg_name, id, SEGMENT_SUFFIX);
    char *path = io_join(dir, name), *seg_path = io_join(dir, seg_name);
    int exists = 0;
    int rc = path && seg_path ? io_exists(seg_path, &exists) : KV_ERR_NOMEM;
    io_file *seg = NULL;
    if (rc == KV_OK && exists && (rc = io_open(seg_path, IO_READ, &seg)) == KV_OK &&
        (rc = hint_verify(path, id, seg, NULL)) == KV_ERR_CORRUPT) {
        log_report_line(line, ctx, "repair: %s removed (%s): kv_open reads %s instead", name,
                        kv_errmsg(), seg_name);
        if ((rc = io_unlink(path)) == KV_OK)
            (*removed)++;
    }
    io_close(seg);
    free(path);
    free(seg_path);
    return rc;
}

int kv_repair(const char *dir, kv_line_fn line, void *ctx)
{
    int rc = offline_dir_check("kv_repair", dir);
    /* Another stage's files, or a damaged IDENTITY: nothing is touched. */
    if (rc == KV_OK && (rc = db_identity_check(dir, kv_stage(), HASH_DB_FORMAT, NULL, NULL)) ==
                           KV_ERR_CORRUPT)
        rc = kv_error(KV_ERR_CORRUPT, "kv_repair %s: its %s file is damaged, so which stage "
                      "wrote its files cannot be known, and nothing was changed (kv check "
                      "says what is wrong with it)", dir, DB_IDENTITY_FILE);
    if (rc != KV_OK)
        return rc;
    char *lock_path = io_join(dir, DB_LOCK_FILE);
    io_lock *lock = NULL;
    rc = lock_path ? io_lock_acquire(lock_path, 1, &lock) : KV_ERR_NOMEM;
    free(lock_path);
    char **names = NULL;
    size_t n = 0, repaired = 0;
    uint64_t lost = 0;
    if (rc == KV_OK)
        rc = io_list(dir, &names, &n);
    /* The segments' sizes, in id order: those before the last holding
     * records are closed (recover_last). */
    uint64_t *sizes = rc == KV_OK ? calloc(n + 1, sizeof *sizes) : NULL;
    size_t nlogs = 0;
    if (rc == KV_OK && sizes == NULL)
        rc = kv_error(KV_ERR_NOMEM, "kv_repair %s: out of memory", dir);
    for (size_t i = 0; rc == KV_OK && i < n; i++) {
        uint32_t id = 0;
        char *path = NULL;
        if (segment_parse_name(names[i], &id) != SEGMENT_FILE_LOG)
            continue;
        io_file *f = NULL;
        rc = (path = io_join(dir, names[i])) != NULL ? io_open(path, IO_READ, &f)
                                                      : KV_ERR_NOMEM;
        if (rc == KV_OK)
            sizes[nlogs++] = f->end;
        io_close(f);
        free(path);
    }
    size_t last = rc == KV_OK ? recover_last(sizes, nlogs) : 0, k = 0;
    free(sizes);
    for (size_t i = 0; rc == KV_OK && i < n; i++) {
        uint32_t id = 0;
        if (segment_parse_name(names[i], &id) != SEGMENT_FILE_LOG)
            continue;
        int closed = k++ < last, unsealed = 0;
        char *path = io_join(dir, names[i]);
        wal_damage_list dl = {0};
        uint64_t size = 0;
        rc = path ? wal_walk_damage(path, &dl, &size) : KV_ERR_NOMEM;
        if (rc == KV_OK)
            rc = repair_header_damage(path, &dl);
        if (rc == KV_OK && dl.n == 0 && closed)
            rc = repair_unsealed(path, &unsealed);
        if (rc == KV_OK && (dl.n > 0 || unsealed)) {
            rc = repair_file(dir, names[i], id, &dl, line, ctx, &lost);
            repaired++;
        }
        free(dl.v);
        free(path);
    }
    /* Hints that do not describe their segments (those of segments just
     * rewritten are gone already). */
    size_t hints = 0;
    for (size_t i = 0; rc == KV_OK && i < n; i++) {
        uint32_t id = 0;
        int exists = 0;
        char *path = segment_parse_name(names[i], &id) == SEGMENT_FILE_HINT ? io_join(dir, names[i])
                                                                          : NULL;
        if (path != NULL && (rc = io_exists(path, &exists)) == KV_OK && exists)
            rc = repair_hint(dir, names[i], id, line, ctx, &hints);
        free(path);
    }
    if (rc == KV_OK && hints > 0)
        rc = io_sync_dir(dir);
    io_list_free(names, n);
    io_lock_release(lock);
    if (rc == KV_OK && hints > 0)
        log_report_line(line, ctx, "repair: %zu hints removed", hints);
    if (rc == KV_OK)
        log_report_line(line, ctx, "repair: %zu segments rewritten, %llu bytes lost%s",
                        repaired, (unsigned long long)lost,
                        repaired || hints ? "" : ": nothing to repair");
    return rc;
}
