/*
 * kvfs_record.c: the recording of kvgrade-fs (kvfs.h, "The recording"):
 * every durable state the tree passes through while it is on, kept as a
 * base (the durable tree when it began) and the list of changes each sync
 * made, so that kvgrade can later make any of them the file system again
 * and start the engine on it: a power cut at that moment, tried after the
 * fact.  Under the model of kvfs.h the durable state changes only at a
 * sync (of a file: its bytes and size; of a directory: its entries), so
 * the images are every state a power cut during the recording can leave,
 * each once.
 *
 * A file's change keeps only the bytes its sync copied (the dirty range),
 * so a log appended and synced N times costs its length, not N copies.
 * Loading image i replays the base and the first i changes into a shadow
 * of the tree (by inode number: numbers are never reused, kvfs.h), makes
 * the shadow the durable state of every inode (bringing back inodes freed
 * since, under their old numbers), and cuts.  Loading it torn
 * (kvfs_tear) applies the next event, a file's sync, only in part: the
 * state a power cut leaves when the writes that sync was to make durable
 * reached the disk partly (a prefix of them, or all but one sector).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvfs.h"

static void event_free(kvfs_event *e)
{
    free(e->bytes.p);
    free(e->path);
    kvfs_entries_free(&e->ents);
    free(e->modes);
    memset(e, 0, sizeof *e);
}

static void record_clear(kvfs_record *r)
{
    for (size_t i = 0; i < r->nbase; i++)
        event_free(&r->base[i]);
    for (size_t i = 0; i < r->nev; i++)
        event_free(&r->ev[i]);
    free(r->base);
    free(r->ev);
    kvfs_journal_free(&r->journal);
    memset(r, 0, sizeof *r);
}

static void record_free(kvfs *fs)
{
    if (fs->rec == NULL)
        return;
    record_clear(fs->rec);
    free(fs->rec);
    fs->rec = NULL;
}

/* A new event at the end of list (*list, *n, *cap); NULL if out of memory. */
static kvfs_event *record_push(kvfs_event **list, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t grown_cap = *cap == 0 ? 64 : *cap * 2;
        kvfs_event *grown = realloc(*list, grown_cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        *list = grown;
        *cap = grown_cap;
    }
    kvfs_event *e = &(*list)[(*n)++];
    memset(e, 0, sizeof *e);
    return e;
}

/* The durable path of inode ino below directory dir ("a/b"), into
 * path[0..cap); 1 if found. */
static int record_path_below(kvfs *fs, const kvfs_node *dir, uint64_t ino, char *path,
                             size_t at, size_t cap, int depth)
{
    for (size_t i = 0; i < dir->dur_ents.n && depth < 32; i++) {
        const kvfs_entry *en = &dir->dur_ents.e[i];
        size_t len = strlen(en->name);
        if (at + len + 2 > cap)
            continue;
        memcpy(path + at, en->name, len + 1);
        if (en->ino == ino)
            return 1;
        const kvfs_node *c = kvfs_get(fs, en->ino);
        if (c != NULL && S_ISDIR(c->mode)) {
            path[at + len] = '/';
            if (record_path_below(fs, c, ino, path, at + len + 1, cap, depth + 1))
                return 1;
        }
    }
    return 0;
}

/* A file's durable bytes [lo, hi) and length, as event e. */
static int record_file_event(kvfs *fs, kvfs_event *e, const kvfs_node *n, size_t lo, size_t hi)
{
    e->kind = 'f';
    e->ino = n->ino;
    e->mode = n->mode;
    e->len = n->dur.len;
    e->old_len = n->dur.len;
    char path[4096];
    const kvfs_node *root = kvfs_get(fs, 1);
    if (n->dur_links > 0 && root != NULL && record_path_below(fs, root, n->ino, path, 0, sizeof path, 0) &&
        (e->path = strdup(path)) == NULL)
        return -ENOMEM;
    if (hi > n->dur.len)
        hi = n->dur.len;
    e->lo = lo < hi ? lo : 0;
    size_t count = lo < hi ? hi - lo : 0;
    if (count > 0) {
        if (kvfs_bytes_resize(&e->bytes, count) != 0)
            return -ENOMEM;
        memcpy(e->bytes.p, n->dur.p + lo, count);
    }
    return 0;
}

/* A directory's durable entries, and the mode of each entry's inode. */
static int record_dir_event(kvfs *fs, kvfs_event *e, const kvfs_node *dir)
{
    e->kind = 'd';
    e->ino = dir->ino;
    e->mode = dir->mode;
    if (kvfs_entries_copy(&e->ents, &dir->dur_ents) != 0)
        return -ENOMEM;
    e->modes = calloc(dir->dur_ents.n + 1, sizeof *e->modes);
    if (e->modes == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < dir->dur_ents.n; i++) {
        const kvfs_node *c = kvfs_get(fs, dir->dur_ents.e[i].ino);
        e->modes[i] = c != NULL ? c->mode : (S_IFREG | 0644);
    }
    return 0;
}

static int record_file(kvfs *fs, const kvfs_node *n, size_t lo, size_t hi, size_t old_len,
                       size_t torn_lo, size_t torn_hi);
static int record_dir(kvfs *fs, const kvfs_node *dir);
/* What the tree reports a sync to (kvfs_recorder, kvfs.h). */
static const kvfs_recorder record_recorder = {record_file, record_dir, record_free};

int kvfs_record_start(kvfs *fs)
{
    if (fs->rec == NULL && (fs->rec = calloc(1, sizeof *fs->rec)) == NULL)
        return -ENOMEM;
    fs->recorder = &record_recorder;
    kvfs_record *r = fs->rec;
    record_clear(r);
    for (uint64_t i = 1; i < fs->nnodes; i++) {
        const kvfs_node *n = fs->nodes[i];
        if (n == NULL || (n->dur_links == 0 && i != 1))
            continue;
        kvfs_event *e = record_push(&r->base, &r->nbase, &r->base_cap);
        if (e == NULL)
            return -ENOMEM;
        int rc = S_ISDIR(n->mode) ? record_dir_event(fs, e, n)
                                  : record_file_event(fs, e, n, 0, n->dur.len);
        if (rc != 0)
            return rc;
    }
    r->on = 1;
    return 0;
}

void kvfs_record_stop(kvfs *fs)
{
    if (fs->rec != NULL)
        fs->rec->on = 0;
}

size_t kvfs_record_images(const kvfs *fs)
{
    return fs->rec != NULL ? fs->rec->nev : 0;
}

static int record_file(kvfs *fs, const kvfs_node *n, size_t lo, size_t hi, size_t old_len,
                       size_t torn_lo, size_t torn_hi)
{
    kvfs_record *r = fs->rec;
    if (r == NULL || !r->on)
        return 0;
    r->file_syncs++;
    kvfs_event *e = record_push(&r->ev, &r->nev, &r->ev_cap);
    if (e == NULL)
        return -ENOMEM;
    int rc = record_file_event(fs, e, n, lo, hi);
    e->op = kvfs_journal_ops(fs) - 1; /* the fsync, journaled as it began */
    e->old_len = old_len;
    e->torn_lo = torn_lo;
    e->torn_hi = torn_hi;
    return rc;
}

const kvfs_event *kvfs_record_torn(const kvfs *fs, size_t image)
{
    const kvfs_record *r = fs->rec;
    if (r == NULL || image >= r->nev)
        return NULL;
    const kvfs_event *e = &r->ev[image];
    if (e->kind != 'f' || e->path == NULL || e->torn_hi <= e->torn_lo + 1 || e->len < e->old_len ||
        e->torn_lo < e->lo || e->torn_hi > e->lo + e->bytes.len)
        return NULL;
    return e;
}

static int record_dir(kvfs *fs, const kvfs_node *dir)
{
    kvfs_record *r = fs->rec;
    if (r == NULL || !r->on)
        return 0;
    r->dir_syncs++;
    kvfs_event *e = record_push(&r->ev, &r->nev, &r->ev_cap);
    if (e == NULL)
        return -ENOMEM;
    e->op = kvfs_journal_ops(fs) - 1;
    return record_dir_event(fs, e, dir);
}

/* ---- loading an image ---------------------------------------------------- */

typedef struct shadow_node {
    int present;
    mode_t mode;
    kvfs_bytes bytes;
    kvfs_entries ents;
} shadow_node;

static int shadow_apply(shadow_node *sh, uint64_t nnodes, const kvfs_event *e)
{
    if (e->ino >= nnodes)
        return -EINVAL;
    shadow_node *s = &sh[e->ino];
    s->present = 1;
    s->mode = e->mode;
    if (e->kind == 'f') {
        if (kvfs_bytes_resize(&s->bytes, e->len) != 0)
            return -ENOMEM;
        if (e->bytes.len > 0 && e->lo + e->bytes.len <= e->len)
            memcpy(s->bytes.p + e->lo, e->bytes.p, e->bytes.len);
        return 0;
    }
    kvfs_entries_free(&s->ents);
    if (kvfs_entries_copy(&s->ents, &e->ents) != 0)
        return -ENOMEM;
    for (size_t i = 0; i < e->ents.n; i++) {
        uint64_t c = e->ents.e[i].ino;
        if (c >= nnodes)
            return -EINVAL;
        if (!sh[c].present) {
            sh[c].present = 1;
            sh[c].mode = e->modes[i];
        }
    }
    return 0;
}

/* Event e (a file's sync) applied in part, as tear says (kvfs_tear). */
static int shadow_tear(shadow_node *sh, uint64_t nnodes, const kvfs_event *e, const kvfs_tear *tear)
{
    if (e->ino >= nnodes)
        return -EINVAL;
    shadow_node *s = &sh[e->ino];
    size_t lo = e->torn_lo, hi = e->torn_hi, old = s->bytes.len;
    if (tear->kind == 'p') {
        if (tear->off <= lo || tear->off >= hi)
            return -EINVAL;
        size_t len = tear->off > old ? tear->off : old;
        if (len > e->len)
            len = e->len;
        if (kvfs_bytes_resize(&s->bytes, len) != 0)
            return -ENOMEM;
        memcpy(s->bytes.p + e->lo, e->bytes.p, tear->off - e->lo);
        s->present = 1;
        return 0;
    }
    size_t zlo = tear->off > lo ? tear->off : lo, zhi = tear->off + 512 < hi ? tear->off + 512 : hi;
    if (tear->kind != 'z' || tear->off % 512 != 0 || zlo >= zhi || zhi >= hi)
        return -EINVAL; /* a sector of the write, not its last */
    unsigned char kept[512];
    for (size_t i = zlo; i < zhi; i++)
        kept[i - zlo] = i < old ? s->bytes.p[i] : 0;
    int rc = shadow_apply(sh, nnodes, e);
    if (rc == 0)
        memcpy(s->bytes.p + zlo, kept, zhi - zlo);
    return rc;
}

/* Makes the shadow the durable state of every inode (those it names and
 * the tree freed come back under their numbers; those it does not name
 * lose their durable bytes and entries), marking everything changed so
 * that the cut copies it all. */
static int shadow_install(kvfs *fs, shadow_node *sh)
{
    for (uint64_t i = 1; i < fs->nnodes; i++) {
        kvfs_node *n = fs->nodes[i];
        if (n == NULL && sh[i].present && (n = kvfs_node_at(fs, i, sh[i].mode)) == NULL)
            return -ENOMEM;
        if (n == NULL)
            continue;
        n->dur_links = 0;
        if (S_ISDIR(n->mode)) {
            kvfs_entries_free(&n->dur_ents);
            if (sh[i].present && kvfs_entries_copy(&n->dur_ents, &sh[i].ents) != 0)
                return -ENOMEM;
            n->dir_dirty = 1;
        } else {
            size_t len = sh[i].present ? sh[i].bytes.len : 0;
            if (kvfs_bytes_resize(&n->dur, len) != 0)
                return -ENOMEM;
            if (len > 0)
                memcpy(n->dur.p, sh[i].bytes.p, len);
            n->dirty_lo = 0;
            n->dirty_hi = n->cur.len > len ? n->cur.len : len;
        }
    }
    for (uint64_t i = 1; i < fs->nnodes; i++) {
        kvfs_node *d = fs->nodes[i];
        if (d == NULL || !S_ISDIR(d->mode))
            continue;
        for (size_t j = 0; j < d->dur_ents.n; j++) {
            kvfs_node *c = kvfs_get(fs, d->dur_ents.e[j].ino);
            if (c != NULL)
                c->dur_links++;
        }
    }
    return 0;
}

int kvfs_record_load(kvfs *fs, size_t image, const kvfs_tear *tear)
{
    kvfs_record *r = fs->rec;
    if (tear != NULL && tear->kind == 0)
        tear = NULL;
    if (r == NULL || image > r->nev || (tear != NULL && kvfs_record_torn(fs, image) == NULL))
        return -EINVAL;
    r->on = 0;
    shadow_node *sh = calloc(fs->nnodes, sizeof *sh);
    if (sh == NULL)
        return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < r->nbase && rc == 0; i++)
        rc = shadow_apply(sh, fs->nnodes, &r->base[i]);
    for (size_t i = 0; i < image && rc == 0; i++)
        rc = shadow_apply(sh, fs->nnodes, &r->ev[i]);
    if (rc == 0 && tear != NULL)
        rc = shadow_tear(sh, fs->nnodes, &r->ev[image], tear);
    if (rc == 0)
        rc = shadow_install(fs, sh);
    for (uint64_t i = 0; i < fs->nnodes; i++) {
        free(sh[i].bytes.p);
        kvfs_entries_free(&sh[i].ents);
    }
    free(sh);
    if (rc == 0)
        rc = kvfs_cut(fs);
    if (rc == 0) {
        fs->bytes = 0;
        for (uint64_t i = 1; i < fs->nnodes; i++)
            if (fs->nodes[i] != NULL)
                fs->bytes += fs->nodes[i]->cur.len + fs->nodes[i]->dur.len;
    }
    return rc;
}
