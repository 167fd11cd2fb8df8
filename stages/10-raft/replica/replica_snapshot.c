/*
 * replica_snapshot.c: a replica's snapshot taken and restored
 * (replica.h), in the format of snapshot_format.h.  The records are the
 * engine's contents at one kv_snapshot, read twice (once to size the
 * buffer, once to fill it), so the buffer is the only copy in memory.
 */
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "replica.h"
#include "replica_dir.h"
#include "snapshot_format.h"

/* Records per kv_write of a restore, and their bytes, about. */
#define RESTORE_BATCH_OPS 4096u
#define RESTORE_BATCH_BYTES (8u << 20)

/* One pass over the engine at snap: with out NULL, counts the records and
 * their bytes; else writes them at out. */
static int snapshot_walk(kv_db *db, const kv_snapshot *snap, uint8_t *out, uint64_t *count,
                         uint64_t *bytes)
{
    kv_iter *it = NULL;
    int rc = kv_iter_new_at(db, snap, &it);
    *count = *bytes = 0;
    for (kv_iter_seek_first(it); rc == KV_OK && kv_iter_valid(it); kv_iter_next(it)) {
        size_t klen, vlen;
        const void *k = kv_iter_key(it, &klen);
        const void *v = kv_iter_value(it, &vlen);
        if (command_key_reserved(k, klen) && !command_key_member(k, klen))
            continue; /* the applied index: the header carries it */
        if (out != NULL) {
            uint8_t *p = out + *bytes;
            coding_put_u32(p, (uint32_t)klen);
            coding_put_u32(p + 4, (uint32_t)vlen);
            memcpy(p + 8, k, klen);
            if (vlen > 0)
                memcpy(p + 8 + klen, v, vlen);
        }
        *count += 1;
        *bytes += 8 + klen + vlen;
    }
    if (rc == KV_OK)
        rc = kv_iter_status(it);
    kv_iter_free(it);
    return rc;
}

struct replica_snap {
    kv_db *db;
    const kv_snapshot *snap;
    uint64_t index;
};

int replica_snapshot_begin(replica *r, replica_snap **out, uint64_t *index)
{
    replica_snap *s = calloc(1, sizeof *s);
    if (s == NULL)
        return kv_error(KV_ERR_NOMEM, "replica_snapshot_begin: out of memory");
    s->db = r->db;
    int rc = kv_snapshot_new(r->db, &s->snap);
    if (rc == KV_OK)
        rc = replica_applied_read(r->db, s->snap, &s->index);
    if (rc != KV_OK) {
        replica_snapshot_end(s);
        return rc;
    }
    *index = s->index;
    *out = s;
    return KV_OK;
}

int replica_snapshot_encode(replica_snap *s, void *(*alloc)(size_t), void (*release)(void *),
                            void **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    uint64_t count = 0, bytes = 0, again = 0;
    int rc = snapshot_walk(s->db, s->snap, NULL, &count, &bytes);
    uint8_t *out = NULL;
    size_t total = SNAPSHOT_HEADER + (size_t)bytes + 4;
    if (rc == KV_OK && (out = alloc(total)) == NULL)
        rc = kv_error(KV_ERR_NOMEM, "replica_snapshot: %zu bytes", total);
    if (rc == KV_OK)
        rc = snapshot_walk(s->db, s->snap, out + SNAPSHOT_HEADER, &count, &again);
    if (rc != KV_OK) {
        if (out != NULL)
            release(out);
        return rc;
    }
    memcpy(out, SNAPSHOT_MAGIC, 8);
    coding_put_u64(out + 8, s->index);
    coding_put_u64(out + 16, count);
    coding_put_u32(out + total - 4, crc32c_value(out, total - 4));
    *buf = out;
    *len = total;
    return KV_OK;
}

void replica_snapshot_end(replica_snap *s)
{
    if (s != NULL && s->snap != NULL)
        kv_snapshot_free(s->db, s->snap);
    free(s);
}

int replica_snapshot(replica *r, void *(*alloc)(size_t), void (*release)(void *), void **buf,
                     size_t *len, uint64_t *index)
{
    replica_snap *s = NULL;
    *buf = NULL;
    *len = 0;
    int rc = replica_snapshot_begin(r, &s, index);
    if (rc == KV_OK)
        rc = replica_snapshot_encode(s, alloc, release, buf, len);
    replica_snapshot_end(s);
    return rc;
}

/* Loads a checked snapshot into the empty engine db, the applied index
 * last (each kv_write synced: db was opened with sync). */
static int snapshot_load(kv_db *db, const uint8_t *p, uint64_t count, uint64_t index)
{
    kv_batch *b = NULL;
    int rc = kv_batch_new(&b);
    size_t at = SNAPSHOT_HEADER, ops = 0, bytes = 0;
    for (uint64_t i = 0; rc == KV_OK && i < count; i++) {
        size_t klen = coding_get_u32(p + at), vlen = coding_get_u32(p + at + 4);
        if (ops > 0 && (ops >= RESTORE_BATCH_OPS || bytes + klen + vlen > RESTORE_BATCH_BYTES)) {
            rc = kv_write(db, b);
            kv_batch_clear(b);
            ops = bytes = 0;
        }
        if (rc == KV_OK)
            rc = kv_batch_put(b, p + at + 8, klen, p + at + 8 + klen, vlen);
        ops++;
        bytes += klen + vlen;
        at += 8 + klen + vlen;
    }
    if (rc == KV_OK && ops > 0)
        rc = kv_write(db, b);
    kv_batch_clear(b);
    uint8_t applied[8];
    coding_put_u64(applied, index);
    if (rc == KV_OK)
        rc = kv_batch_put(b, REPLICA_APPLIED_KEY, REPLICA_APPLIED_KEY_LEN, applied, 8);
    if (rc == KV_OK)
        rc = kv_write(db, b);
    kv_batch_free(b);
    return rc;
}

int replica_restore(replica *r, const void *buf, size_t len)
{
    uint64_t index = 0, count = 0;
    int rc = snapshot_check(buf, len, &index, &count);
    if (rc != KV_OK || index <= r->applied)
        return rc; /* corrupt, or the engine is already as new (replica.h) */
    if ((rc = replica_dir_hold(r->dir, r->gen)) != KV_OK)
        return rc;
    int other = !r->gen;
    char *path = replica_dir_engine(r->dir, other);
    if (path == NULL)
        return kv_error(KV_ERR_NOMEM, "replica_restore: out of memory");
    kv_options opt = r->opt;
    opt.sync = 1;
    kv_db *fresh = NULL;
    if ((rc = replica_dir_clear(path)) == KV_OK && (rc = kv_open(path, &opt, &fresh)) == KV_OK) {
        rc = snapshot_load(fresh, buf, count, index);
        int crc = kv_close(fresh);
        fresh = NULL;
        if (rc == KV_OK)
            rc = crc;
    }
    /* The new engine is whole and durable: open it with the replica's own
     * options, then switch (the commit point), then let the old one go. */
    if (rc == KV_OK)
        rc = kv_open(path, &r->opt, &fresh);
    if (rc == KV_OK && (rc = replica_dir_write(r->dir, other)) != KV_OK) {
        kv_close(fresh);
        fresh = NULL;
    }
    free(path);
    if (rc != KV_OK)
        return rc;
    kv_db *old = r->db;
    r->db = fresh;
    r->gen = other;
    r->applied = index;
    kv_close(old);
    char *old_path = replica_dir_engine(r->dir, !other);
    if (old_path != NULL)
        replica_dir_clear(old_path); /* leftovers: the next restore clears them anyway */
    free(old_path);
    return KV_OK;
}
