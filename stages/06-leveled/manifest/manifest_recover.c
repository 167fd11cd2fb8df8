/*
 * manifest_recover.c: reading a manifest (manifest.h: manifest_scan,
 * manifest_recover, manifest_recover_mem): CURRENT, the header, each
 * record decoded and applied to a state (manifest_state.h), and THE RULE
 * FOR DAMAGE for what is not a whole record.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "current_file.h"
#include "error.h"
#include "io.h"
#include "manifest.h"

/* After damage at `bad`: a valid record further on makes it corruption. */
static int manifest_scan_past(wal_reader *r, const char *path, uint64_t bad, const char *why)
{
    int rc;
    while ((rc = wal_reader_next(r)) == WAL_READ_DAMAGE)
        ;
    if (rc == WAL_READ_RECORD)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": %s, and a valid record "
                        "follows at offset %" PRIu64 ": every record is synced before the "
                        "next is written, so a crash cannot leave this; the manifest is "
                        "damaged", path, bad, why, r->rec_start);
    return rc; /* WAL_READ_END (0, KV_OK) or an I/O error */
}

int manifest_scan(wal_reader *r, uint64_t size, const char *path, manifest_edit_fn fn,
                  void *ctx, manifest_scan_info *info)
{
    memset(info, 0, sizeof *info);
    info->end = size;
    int rc;
    while ((rc = wal_reader_next(r)) == WAL_READ_RECORD) {
        char label[600];
        snprintf(label, sizeof label, "%s: record at offset %" PRIu64, path, r->rec_start);
        version_edit e;
        if ((rc = version_edit_decode(&e, r->rec, r->rec_len, label)) != KV_OK)
            return rc;
        uint64_t at = r->rec_start;
        rc = fn != NULL ? fn(ctx, &e, at) : KV_OK;
        version_edit_free(&e);
        if (rc != KV_OK)
            return rc;
        info->records++;
    }
    if (rc != WAL_READ_DAMAGE)
        return rc; /* WAL_READ_END is KV_OK */
    uint64_t bad = r->bad_offset;
    snprintf(info->why, sizeof info->why, "%s", r->why);
    if ((rc = manifest_scan_past(r, path, bad, info->why)) != KV_OK)
        return rc;
    info->torn = 1;
    info->end = bad;
    return KV_OK;
}

/* The scan's callback: each edit into the state. */
typedef struct replay_ctx {
    manifest_state *state;
    const char *path;
} replay_ctx;

static int manifest_replay_edit(void *ctx, const version_edit *e, uint64_t offset)
{
    replay_ctx *c = ctx;
    return manifest_state_apply(c->state, e, offset, c->path);
}

/* The header [p, p + n) checked, then every record of r replayed. */
static int manifest_replay(const uint8_t *header, size_t n, wal_reader *r, uint64_t size,
                           const char *path, int strict, manifest_state *out)
{
    int rc = file_header_check(path, header, n, FILE_MAGIC_MAN06, MANIFEST_VERSION);
    if (rc != KV_OK)
        return rc;
    replay_ctx c = {out, path};
    manifest_scan_info info;
    if ((rc = manifest_scan(r, size, path, manifest_replay_edit, &c, &info)) != KV_OK)
        return rc;
    out->size = size;
    out->end = info.end;
    if (info.torn) {
        out->torn = 1;
        out->torn_bytes = size - info.end;
        snprintf(out->torn_why, sizeof out->torn_why, "%s", info.why);
        if (strict)
            return kv_error(KV_ERR_CORRUPT, "%s: offset %" PRIu64 ": torn last record of %"
                            PRIu64 " bytes (%s), and strict_recovery is set", path, info.end,
                            out->torn_bytes, info.why);
    }
    if (info.records == 0)
        return kv_error(KV_ERR_CORRUPT, "%s: offset %u: no record; a manifest starts with a "
                        "snapshot of the version%s%s", path, MANIFEST_START,
                        info.torn ? ", and here it is torn: " : "", info.torn ? info.why : "");
    return manifest_state_finish(out, path);
}

int manifest_recover_mem(const uint8_t *p, size_t n, const char *path, int strict,
                         manifest_state *out)
{
    manifest_state_init(out);
    wal_reader r;
    wal_reader_init_mem(&r, p, n < MANIFEST_START ? n : MANIFEST_START, n);
    int rc = manifest_replay(p, n, &r, n, path, strict, out);
    wal_reader_free(&r);
    return rc;
}

/* The manifest CURRENT names, open, and its size; KV_ERR_CORRUPT if it is
 * missing. */
static int manifest_open_live(const char *dir, manifest_state *out, char **path,
                              io_file **f, uint64_t *size)
{
    int rc = current_file_read(dir, &out->number);
    if (rc != KV_OK)
        return rc;
    char name[MANIFEST_NAME_MAX];
    if ((*path = io_join(dir, manifest_file_name(name, out->number))) == NULL)
        return KV_ERR_NOMEM;
    int exists = 0;
    if ((rc = io_exists(*path, &exists)) == KV_OK && !exists)
        return kv_error(KV_ERR_CORRUPT, "%s: missing, but %s/" CURRENT_FILE_NAME " names it "
                        "as the live manifest", *path, dir);
    if (rc == KV_OK)
        rc = io_open(*path, IO_READ, f);
    if (rc == KV_OK)
        rc = io_size(*f, size);
    return rc;
}

int manifest_recover(const char *dir, int strict, manifest_state *out)
{
    manifest_state_init(out);
    char *path = NULL;
    io_file *f = NULL;
    uint64_t size = 0;
    int rc = manifest_open_live(dir, out, &path, &f, &size);
    uint8_t header[FILE_HEADER_SIZE];
    size_t got = 0;
    if (rc == KV_OK)
        rc = io_read_at(f, 0, header, size < FILE_HEADER_SIZE ? (size_t)size
                                                              : FILE_HEADER_SIZE, &got);
    if (rc == KV_OK) {
        wal_reader r;
        wal_reader_init_file(&r, f, size < MANIFEST_START ? size : MANIFEST_START, size);
        rc = manifest_replay(header, got, &r, size, path, strict, out);
        wal_reader_free(&r);
    }
    io_close(f);
    free(path);
    return rc;
}
