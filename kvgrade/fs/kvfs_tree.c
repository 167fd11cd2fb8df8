/*
 * kvfs_tree.c: the in-memory tree of kvgrade-fs, with a current and a
 * durable state of every file and directory (kvfs.h states the model and
 * its invariants).  Nothing here knows FUSE: kvfs_ops.c calls it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvfs.h"

#define KVFS_ROOT 1

static void tree_now(struct timespec *ts)
{
    clock_gettime(CLOCK_REALTIME, ts);
}

static int bytes_reserve(kvfs_bytes *b, size_t len)
{
    if (len <= b->cap)
        return 0;
    size_t cap = b->cap < 4096 ? 4096 : b->cap;
    while (cap < len)
        cap = cap > SIZE_MAX / 2 ? len : cap * 2;
    unsigned char *p = realloc(b->p, cap);
    if (p == NULL)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Sets the length, zero-filling what grows. */
static int bytes_resize(kvfs_bytes *b, size_t len)
{
    if (bytes_reserve(b, len) != 0)
        return -ENOMEM;
    if (len > b->len)
        memset(b->p + b->len, 0, len - b->len);
    b->len = len;
    return 0;
}

static void tree_mark_dirty(kvfs_node *n, size_t lo, size_t hi)
{
    if (lo < n->dirty_lo)
        n->dirty_lo = lo;
    if (hi > n->dirty_hi)
        n->dirty_hi = hi;
}

static void tree_clean(kvfs_node *n)
{
    n->dirty_lo = SIZE_MAX;
    n->dirty_hi = 0;
}

/* Copies the dirty range of `from` into `to`, which takes from's length. */
static int tree_copy_dirty(kvfs_node *n, kvfs_bytes *to, const kvfs_bytes *from)
{
    if (bytes_resize(to, from->len) != 0)
        return -ENOMEM;
    size_t hi = n->dirty_hi < from->len ? n->dirty_hi : from->len;
    if (n->dirty_lo < hi)
        memcpy(to->p + n->dirty_lo, from->p + n->dirty_lo, hi - n->dirty_lo);
    tree_clean(n);
    return 0;
}

int kvfs_bytes_resize(kvfs_bytes *b, size_t len)
{
    return bytes_resize(b, len);
}

kvfs_node *kvfs_get(kvfs *fs, uint64_t ino)
{
    return ino >= 1 && ino < fs->nnodes ? fs->nodes[ino] : NULL;
}

static kvfs_node *tree_new_node(kvfs *fs, mode_t mode)
{
    if (fs->nnodes >= fs->cap) {
        uint64_t cap = fs->cap == 0 ? 64 : fs->cap * 2;
        kvfs_node **grown = realloc(fs->nodes, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        if (fs->cap == 0)
            grown[0] = NULL; /* inode 0 is no inode */
        fs->nodes = grown;
        fs->cap = cap;
    }
    kvfs_node *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->ino = fs->nnodes;
    n->mode = mode;
    tree_clean(n);
    tree_now(&n->mtime);
    n->ctime = n->mtime;
    fs->nodes[fs->nnodes++] = n;
    return n;
}

kvfs_node *kvfs_node_at(kvfs *fs, uint64_t ino, mode_t mode)
{
    if (ino < 1 || ino >= fs->nnodes)
        return NULL;
    if (fs->nodes[ino] != NULL)
        return fs->nodes[ino];
    kvfs_node *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->ino = ino;
    n->mode = mode;
    tree_clean(n);
    tree_now(&n->mtime);
    n->ctime = n->mtime;
    fs->nodes[ino] = n;
    return n;
}

int kvfs_init(kvfs *fs)
{
    memset(fs, 0, sizeof *fs);
    fs->nnodes = 1; /* inode 0 is no inode */
    return tree_new_node(fs, S_IFDIR | 0755) != NULL ? 0 : -ENOMEM;
}

static void entries_free(kvfs_entries *es)
{
    for (size_t i = 0; i < es->n; i++)
        free(es->e[i].name);
    free(es->e);
    memset(es, 0, sizeof *es);
}

static void tree_node_free(kvfs_node *n)
{
    free(n->cur.p);
    free(n->dur.p);
    entries_free(&n->cur_ents);
    entries_free(&n->dur_ents);
    free(n);
}

void kvfs_entries_free(kvfs_entries *es)
{
    entries_free(es);
}

void kvfs_free(kvfs *fs)
{
    if (fs->recorder != NULL)
        fs->recorder->free(fs);
    for (uint64_t i = 0; i < fs->nnodes; i++)
        if (fs->nodes[i] != NULL)
            tree_node_free(fs->nodes[i]);
    free(fs->nodes);
    memset(fs, 0, sizeof *fs);
}

static int tree_unused(const kvfs_node *n)
{
    return n->ino != KVFS_ROOT && n->cur_links == 0 && n->dur_links == 0 && n->nlookup == 0 &&
           n->opens == 0;
}

static void tree_unlink_entries(kvfs *fs, kvfs_node *dir);

/* Frees n if nothing refers to it any more (and what it alone kept). */
static void tree_maybe_free(kvfs *fs, kvfs_node *n)
{
    if (n == NULL || !tree_unused(n))
        return;
    fs->nodes[n->ino] = NULL;
    if (S_ISDIR(n->mode))
        tree_unlink_entries(fs, n);
    tree_node_free(n);
}

/* A freed directory's entries no longer name their inodes. */
static void tree_unlink_entries(kvfs *fs, kvfs_node *dir)
{
    for (size_t i = 0; i < dir->cur_ents.n; i++) {
        kvfs_node *c = kvfs_get(fs, dir->cur_ents.e[i].ino);
        if (c != NULL)
            c->cur_links--;
    }
    for (size_t i = 0; i < dir->dur_ents.n; i++) {
        kvfs_node *c = kvfs_get(fs, dir->dur_ents.e[i].ino);
        if (c != NULL)
            c->dur_links--;
    }
    kvfs_entries cur = dir->cur_ents, dur = dir->dur_ents;
    memset(&dir->cur_ents, 0, sizeof dir->cur_ents);
    memset(&dir->dur_ents, 0, sizeof dir->dur_ents);
    for (size_t i = 0; i < cur.n; i++)
        tree_maybe_free(fs, kvfs_get(fs, cur.e[i].ino));
    for (size_t i = 0; i < dur.n; i++)
        tree_maybe_free(fs, kvfs_get(fs, dur.e[i].ino));
    entries_free(&cur);
    entries_free(&dur);
}

static long entries_find(const kvfs_entries *es, const char *name)
{
    for (size_t i = 0; i < es->n; i++)
        if (strcmp(es->e[i].name, name) == 0)
            return (long)i;
    return -1;
}

static int entries_add(kvfs_entries *es, const char *name, uint64_t ino)
{
    if (es->n == es->cap) {
        size_t cap = es->cap == 0 ? 8 : es->cap * 2;
        kvfs_entry *grown = realloc(es->e, cap * sizeof *grown);
        if (grown == NULL)
            return -ENOMEM;
        es->e = grown;
        es->cap = cap;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return -ENOMEM;
    es->e[es->n].name = copy;
    es->e[es->n].ino = ino;
    es->n++;
    return 0;
}

int kvfs_entries_copy(kvfs_entries *to, const kvfs_entries *from)
{
    memset(to, 0, sizeof *to);
    for (size_t i = 0; i < from->n; i++)
        if (entries_add(to, from->e[i].name, from->e[i].ino) != 0) {
            entries_free(to);
            return -ENOMEM;
        }
    return 0;
}

static void entries_remove(kvfs_entries *es, size_t i)
{
    free(es->e[i].name);
    es->e[i] = es->e[--es->n];
}

/* The directory `dir`, or an error. */
static int tree_dir(kvfs *fs, uint64_t ino, kvfs_node **out)
{
    kvfs_node *d = kvfs_get(fs, ino);
    if (d == NULL)
        return -ENOENT;
    if (!S_ISDIR(d->mode))
        return -ENOTDIR;
    *out = d;
    return 0;
}

static void tree_touch(kvfs_node *n)
{
    tree_now(&n->mtime);
    n->ctime = n->mtime;
}

int kvfs_lookup(kvfs *fs, uint64_t dir, const char *name, kvfs_node **out)
{
    kvfs_node *d;
    int rc = tree_dir(fs, dir, &d);
    if (rc != 0)
        return rc;
    long i = entries_find(&d->cur_ents, name);
    if (i < 0)
        return -ENOENT;
    *out = kvfs_get(fs, d->cur_ents.e[i].ino);
    return *out != NULL ? 0 : -ENOENT;
}

int kvfs_create(kvfs *fs, uint64_t dir, const char *name, mode_t mode, kvfs_node **out)
{
    kvfs_node *d;
    int rc = tree_dir(fs, dir, &d);
    if (rc != 0)
        return rc;
    if (strlen(name) > 255)
        return -ENAMETOOLONG;
    if (entries_find(&d->cur_ents, name) >= 0)
        return -EEXIST;
    kvfs_node *n = tree_new_node(fs, mode);
    if (n == NULL)
        return -ENOMEM;
    if ((rc = entries_add(&d->cur_ents, name, n->ino)) != 0) {
        tree_maybe_free(fs, n);
        return rc;
    }
    n->cur_links++;
    d->dir_dirty = 1;
    tree_touch(d);
    if (fs->rec != NULL && fs->rec->on)
        fs->rec->creates++;
    kvfs_journal_op(fs, S_ISDIR(mode) ? 'm' : 'c', n->ino, dir, name, 0, NULL);
    *out = n;
    return 0;
}

/* Removes entry i of d's current entries. */
static void tree_drop_entry(kvfs *fs, kvfs_node *d, size_t i)
{
    kvfs_node *n = kvfs_get(fs, d->cur_ents.e[i].ino);
    entries_remove(&d->cur_ents, i);
    d->dir_dirty = 1;
    tree_touch(d);
    if (n != NULL) {
        n->cur_links--;
        n->ctime = d->mtime;
        tree_maybe_free(fs, n);
    }
}

int kvfs_unlink(kvfs *fs, uint64_t dir, const char *name)
{
    kvfs_node *d = NULL, *n;
    int rc = kvfs_lookup(fs, dir, name, &n);
    if (rc != 0)
        return rc;
    if (S_ISDIR(n->mode))
        return -EISDIR;
    tree_dir(fs, dir, &d);
    kvfs_journal_op(fs, 'u', n->ino, dir, name, 0, NULL);
    tree_drop_entry(fs, d, (size_t)entries_find(&d->cur_ents, name));
    if (fs->rec != NULL && fs->rec->on)
        fs->rec->unlinks++;
    return 0;
}

int kvfs_rmdir(kvfs *fs, uint64_t dir, const char *name)
{
    kvfs_node *d = NULL, *n;
    int rc = kvfs_lookup(fs, dir, name, &n);
    if (rc != 0)
        return rc;
    if (!S_ISDIR(n->mode))
        return -ENOTDIR;
    if (n->cur_ents.n > 0)
        return -ENOTEMPTY;
    tree_dir(fs, dir, &d);
    kvfs_journal_op(fs, 'u', n->ino, dir, name, 0, NULL);
    tree_drop_entry(fs, d, (size_t)entries_find(&d->cur_ents, name));
    return 0;
}

int kvfs_link(kvfs *fs, uint64_t ino, uint64_t dir, const char *name)
{
    kvfs_node *d, *n = kvfs_get(fs, ino);
    int rc = tree_dir(fs, dir, &d);
    if (rc != 0)
        return rc;
    if (n == NULL)
        return -ENOENT;
    if (S_ISDIR(n->mode))
        return -EPERM;
    if (entries_find(&d->cur_ents, name) >= 0)
        return -EEXIST;
    if ((rc = entries_add(&d->cur_ents, name, ino)) != 0)
        return rc;
    n->cur_links++;
    d->dir_dirty = 1;
    tree_touch(d);
    n->ctime = d->mtime;
    kvfs_journal_op(fs, 'l', ino, dir, name, 0, NULL);
    return 0;
}

int kvfs_rename(kvfs *fs, uint64_t dir, const char *name, uint64_t newdir, const char *newname,
                int noreplace)
{
    kvfs_node *d, *nd, *src;
    int rc;
    if ((rc = tree_dir(fs, dir, &d)) != 0 || (rc = tree_dir(fs, newdir, &nd)) != 0)
        return rc;
    if (strlen(newname) > 255)
        return -ENAMETOOLONG;
    long si = entries_find(&d->cur_ents, name);
    if (si < 0 || (src = kvfs_get(fs, d->cur_ents.e[si].ino)) == NULL)
        return -ENOENT;
    long ti = entries_find(&nd->cur_ents, newname);
    if (ti >= 0) {
        kvfs_node *dst = kvfs_get(fs, nd->cur_ents.e[ti].ino);
        if (noreplace)
            return -EEXIST;
        if (dst == src)
            return 0; /* two names of one file: rename(2) does nothing */
        if (dst != NULL && S_ISDIR(dst->mode) && !S_ISDIR(src->mode))
            return -EISDIR;
        if (dst != NULL && !S_ISDIR(dst->mode) && S_ISDIR(src->mode))
            return -ENOTDIR;
        if (dst != NULL && S_ISDIR(dst->mode) && dst->cur_ents.n > 0)
            return -ENOTEMPTY;
    }
    /* Add the new name first (it may fail), then drop the old ones. */
    src->nlookup++; /* held while its names change */
    if ((rc = entries_add(&nd->cur_ents, newname, src->ino)) != 0) {
        src->nlookup--;
        return rc;
    }
    src->cur_links++;
    nd->dir_dirty = 1;
    tree_touch(nd);
    if (ti >= 0)
        tree_drop_entry(fs, nd, (size_t)ti);
    tree_drop_entry(fs, d, (size_t)entries_find(&d->cur_ents, name));
    src->nlookup--;
    src->ctime = nd->mtime;
    if (fs->rec != NULL && fs->rec->on)
        fs->rec->renames++;
    kvfs_journal_op(fs, 'r', src->ino, dir, name, newdir, newname);
    return 0;
}

long kvfs_read(kvfs_node *n, void *buf, size_t size, uint64_t off)
{
    if (S_ISDIR(n->mode))
        return -EISDIR;
    if (off >= n->cur.len)
        return 0;
    size_t len = n->cur.len - (size_t)off < size ? n->cur.len - (size_t)off : size;
    memcpy(buf, n->cur.p + off, len);
    return (long)len;
}

int kvfs_write(kvfs *fs, kvfs_node *n, const void *buf, size_t size, uint64_t off)
{
    if (S_ISDIR(n->mode))
        return -EISDIR;
    if (off > SIZE_MAX - size)
        return -EFBIG;
    size_t end = (size_t)off + size, old = n->cur.len;
    if (end > old) {
        if (bytes_resize(&n->cur, end) != 0)
            return -ENOMEM;
        fs->bytes += end - old;
    }
    memcpy(n->cur.p + off, buf, size);
    tree_mark_dirty(n, (size_t)off < old ? (size_t)off : old, end);
    tree_touch(n);
    kvfs_journal_write(fs, n->ino, buf, size, (size_t)off);
    return 0;
}

int kvfs_truncate(kvfs *fs, kvfs_node *n, uint64_t size)
{
    if (S_ISDIR(n->mode))
        return -EISDIR;
    size_t old = n->cur.len;
    if (size > SIZE_MAX / 2)
        return -EFBIG;
    if (bytes_resize(&n->cur, (size_t)size) != 0)
        return -ENOMEM;
    if (size < old)
        tree_mark_dirty(n, (size_t)size, old);
    else if (size > old)
        tree_mark_dirty(n, old, (size_t)size);
    if (size > old)
        fs->bytes += (size_t)size - old;
    tree_touch(n);
    kvfs_journal_truncate(fs, n->ino, (size_t)size);
    return 0;
}

int kvfs_sync_file(kvfs *fs, kvfs_node *n)
{
    if (S_ISDIR(n->mode))
        return kvfs_sync_dir(fs, n);
    kvfs_journal_op(fs, 'f', n->ino, 0, NULL, 0, NULL);
    if (n->dirty_lo == SIZE_MAX && n->cur.len == n->dur.len)
        return 0;
    size_t lo = n->dirty_lo, hi = n->dirty_hi < n->cur.len ? n->dirty_hi : n->cur.len;
    /* The bytes the sync changes: what a power cut during it can tear. */
    size_t old_len = n->dur.len, tlo = lo < hi ? lo : 0, thi = lo < hi ? hi : 0;
    while (tlo < thi && tlo < old_len && n->cur.p[tlo] == n->dur.p[tlo])
        tlo++;
    while (thi > tlo && n->cur.p[thi - 1] == (thi - 1 < old_len ? n->dur.p[thi - 1] : 0))
        thi--;
    int rc = tree_copy_dirty(n, &n->dur, &n->cur);
    if (rc != 0 || fs->recorder == NULL)
        return rc;
    return fs->recorder->file(fs, n, lo, hi, old_len, tlo, thi);
}

/* Copies one entry list over another, moving the link counts (dur_links
 * if durable, else cur_links) from the old targets to the new ones.  The
 * caller frees what became unused. */
static int tree_copy_entries(kvfs *fs, kvfs_entries *to, const kvfs_entries *from, int durable)
{
    kvfs_entries copy = {0};
    for (size_t i = 0; i < from->n; i++)
        if (entries_add(&copy, from->e[i].name, from->e[i].ino) != 0) {
            entries_free(&copy);
            return -ENOMEM;
        }
    for (size_t i = 0; i < to->n; i++) {
        kvfs_node *c = kvfs_get(fs, to->e[i].ino);
        if (c != NULL)
            *(durable ? &c->dur_links : &c->cur_links) -= 1;
    }
    for (size_t i = 0; i < copy.n; i++) {
        kvfs_node *c = kvfs_get(fs, copy.e[i].ino);
        if (c != NULL)
            *(durable ? &c->dur_links : &c->cur_links) += 1;
    }
    entries_free(to);
    *to = copy;
    return 0;
}

/* Frees every inode nothing refers to any more. */
static void tree_collect(kvfs *fs)
{
    for (uint64_t i = 2; i < fs->nnodes; i++)
        tree_maybe_free(fs, fs->nodes[i]);
}

int kvfs_sync_dir(kvfs *fs, kvfs_node *dir)
{
    if (!S_ISDIR(dir->mode))
        return -ENOTDIR;
    kvfs_journal_op(fs, 'd', dir->ino, 0, NULL, 0, NULL);
    if (!dir->dir_dirty)
        return 0;
    int rc = tree_copy_entries(fs, &dir->dur_ents, &dir->cur_ents, 1);
    if (rc == 0 && fs->recorder != NULL)
        rc = fs->recorder->dir(fs, dir);
    if (rc == 0) {
        dir->dir_dirty = 0;
        tree_collect(fs);
    }
    return rc;
}

int kvfs_cut(kvfs *fs)
{
    for (uint64_t i = 1; i < fs->nnodes; i++) {
        kvfs_node *n = fs->nodes[i];
        if (n == NULL)
            continue;
        if (S_ISDIR(n->mode)) {
            if (n->dir_dirty && tree_copy_entries(fs, &n->cur_ents, &n->dur_ents, 0) != 0)
                return -ENOMEM;
            n->dir_dirty = 0;
        } else if (n->dirty_lo != SIZE_MAX || n->cur.len != n->dur.len) {
            if (tree_copy_dirty(n, &n->cur, &n->dur) != 0)
                return -ENOMEM;
        }
    }
    fs->generation++;
    tree_collect(fs);
    return 0;
}

void kvfs_forget(kvfs *fs, uint64_t ino, uint64_t nlookup)
{
    kvfs_node *n = kvfs_get(fs, ino);
    if (n == NULL)
        return;
    n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
    tree_maybe_free(fs, n);
}

void kvfs_closed(kvfs *fs, kvfs_node *n)
{
    if (n->opens > 0)
        n->opens--;
    tree_maybe_free(fs, n);
}

void kvfs_stat(const kvfs_node *n, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_ino = n->ino;
    st->st_mode = n->mode;
    st->st_nlink = S_ISDIR(n->mode) ? 2 : n->cur_links;
    st->st_uid = getuid();
    st->st_gid = getgid();
    st->st_size = S_ISDIR(n->mode) ? 4096 : (off_t)n->cur.len;
    st->st_blksize = 4096;
    st->st_blocks = (blkcnt_t)((n->cur.len + 511) / 512);
    st->st_mtim = n->mtime;
    st->st_ctim = n->ctime;
    st->st_atim = n->mtime;
}
