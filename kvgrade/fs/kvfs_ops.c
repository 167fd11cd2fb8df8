/*
 * kvfs_ops.c: the FUSE low-level operations of kvgrade-fs, each over the
 * tree of kvfs.h, and the gate (kvfs_server.h) that counts, freezes and
 * drops the operations that change it.
 *
 * The kernel caches nothing of ours for long: entries and attributes time
 * out at once (every path walk asks again, so a name a cut removed is
 * gone), and a file's page cache is dropped at each open (no keep_cache),
 * so a program started after a cut reads what the cut left.  Writes are
 * not cached (no writeback cache): each write(2) arrives here before it
 * returns, so "current" is what the program wrote.  Locks (flock, fcntl)
 * are left to the kernel, which keeps them locally for this mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/statvfs.h>

#include "kvfs_server.h"

static kvfs_server *ops_server(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

/* The gate: 1 if the operation may run now; 0 if it was held or answered
 * (EIO while draining). */
static int ops_gate(fuse_req_t req, const char *what, int is_sync)
{
    kvfs_server *s = ops_server(req);
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    if (ctx->pid == 0)
        return 1; /* the kernel writing back pages: no process asked */
    if (s->state == KVFS_DRAINING) {
        fuse_reply_err(req, EIO);
        return 0;
    }
    if (s->state == KVFS_RUN) {
        s->ops++;
        s->syncs += is_sync != 0;
        if (s->freeze_at == 0 || s->ops < s->freeze_at)
            return 1;
        s->state = KVFS_FROZEN;
        s->freeze_at = 0;
        s->frozen_op = what;
        s->tell_frozen = 1;
    }
    if (s->nheld == s->held_cap) {
        size_t cap = s->held_cap == 0 ? 16 : s->held_cap * 2;
        fuse_req_t *grown = realloc(s->held, cap * sizeof *grown);
        if (grown == NULL) {
            fuse_reply_err(req, EIO);
            return 0;
        }
        s->held = grown;
        s->held_cap = cap;
    }
    s->held[s->nheld++] = req;
    return 0;
}

size_t kvfs_drop_held(kvfs_server *s)
{
    size_t n = s->nheld;
    for (size_t i = 0; i < n; i++)
        fuse_reply_err(s->held[i], EIO);
    s->nheld = 0;
    return n;
}

static void ops_entry(fuse_req_t req, kvfs_node *n)
{
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.ino = n->ino;
    kvfs_stat(n, &e.attr);
    e.attr_timeout = 0;
    e.entry_timeout = 0;
    n->nlookup++;
    if (fuse_reply_entry(req, &e) != 0)
        n->nlookup--;
}

/* The node of a handle opened since the last cut, or NULL after an EIO. */
static kvfs_node *ops_handle(fuse_req_t req, fuse_ino_t ino, const struct fuse_file_info *fi)
{
    kvfs_server *s = ops_server(req);
    kvfs_node *n = kvfs_get(&s->fs, ino);
    if (n == NULL || (fi != NULL && fi->fh != s->fs.generation)) {
        fuse_reply_err(req, n == NULL ? ENOENT : EIO);
        return NULL;
    }
    return n;
}

static void ops_init(void *userdata, struct fuse_conn_info *conn)
{
    (void)userdata;
    conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
}

static void ops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    kvfs_node *n;
    int rc = kvfs_lookup(&ops_server(req)->fs, parent, name, &n);
    if (rc != 0)
        fuse_reply_err(req, -rc);
    else
        ops_entry(req, n);
}

static void ops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    kvfs_forget(&ops_server(req)->fs, ino, nlookup);
    fuse_reply_none(req);
}

static void ops_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    for (size_t i = 0; i < count; i++)
        kvfs_forget(&ops_server(req)->fs, forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

static void ops_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)fi;
    kvfs_node *n = kvfs_get(&ops_server(req)->fs, ino);
    if (n == NULL) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    struct stat st;
    kvfs_stat(n, &st);
    fuse_reply_attr(req, &st, 0);
}

static void ops_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                        struct fuse_file_info *fi)
{
    kvfs_server *s = ops_server(req);
    kvfs_node *n = ops_handle(req, ino, fi);
    if (n == NULL)
        return;
    if (to_set & FUSE_SET_ATTR_SIZE) {
        if (!ops_gate(req, "truncate", 0))
            return;
        int rc = kvfs_truncate(&s->fs, n, (uint64_t)attr->st_size);
        if (rc != 0) {
            fuse_reply_err(req, -rc);
            return;
        }
    }
    if (to_set & FUSE_SET_ATTR_MODE)
        n->mode = (n->mode & S_IFMT) | (attr->st_mode & 07777);
    if (to_set & FUSE_SET_ATTR_MTIME)
        n->mtime = attr->st_mtim;
    struct stat st;
    kvfs_stat(n, &st);
    fuse_reply_attr(req, &st, 0);
}

static void ops_make(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                     struct fuse_file_info *fi)
{
    kvfs_server *s = ops_server(req);
    if (!S_ISREG(mode) && !S_ISDIR(mode)) {
        fuse_reply_err(req, EPERM); /* no devices, fifos or sockets here */
        return;
    }
    if (!ops_gate(req, S_ISDIR(mode) ? "mkdir" : "create", 0))
        return;
    kvfs_node *n;
    int rc = kvfs_create(&s->fs, parent, name, mode, &n);
    if (rc != 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    if (fi == NULL) {
        ops_entry(req, n);
        return;
    }
    struct fuse_entry_param e;
    memset(&e, 0, sizeof e);
    e.ino = n->ino;
    kvfs_stat(n, &e.attr);
    fi->fh = s->fs.generation;
    fi->keep_cache = 0;
    n->nlookup++;
    n->opens++;
    if (fuse_reply_create(req, &e, fi) != 0) {
        n->nlookup--;
        kvfs_closed(&s->fs, n);
    }
}

static void ops_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      dev_t rdev)
{
    (void)rdev;
    ops_make(req, parent, name, mode, NULL);
}

static void ops_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    ops_make(req, parent, name, S_IFDIR | (mode & 07777), NULL);
}

static void ops_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                       struct fuse_file_info *fi)
{
    ops_make(req, parent, name, S_IFREG | (mode & 07777), fi);
}

static void ops_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    if (ops_gate(req, "unlink", 0))
        fuse_reply_err(req, -kvfs_unlink(&ops_server(req)->fs, parent, name));
}

static void ops_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    if (ops_gate(req, "rmdir", 0))
        fuse_reply_err(req, -kvfs_rmdir(&ops_server(req)->fs, parent, name));
}

static void ops_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                       const char *newname, unsigned int flags)
{
    if (flags & ~(unsigned)RENAME_NOREPLACE) {
        fuse_reply_err(req, EINVAL); /* RENAME_EXCHANGE, RENAME_WHITEOUT */
        return;
    }
    if (ops_gate(req, "rename", 0))
        fuse_reply_err(req, -kvfs_rename(&ops_server(req)->fs, parent, name, newparent, newname,
                                         (flags & RENAME_NOREPLACE) != 0));
}

static void ops_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    if (!ops_gate(req, "link", 0))
        return;
    kvfs_server *s = ops_server(req);
    int rc = kvfs_link(&s->fs, ino, newparent, newname);
    if (rc != 0)
        fuse_reply_err(req, -rc);
    else
        ops_entry(req, kvfs_get(&s->fs, ino));
}

static void ops_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    kvfs_server *s = ops_server(req);
    kvfs_node *n = kvfs_get(&s->fs, ino);
    if (n == NULL) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    /* open(O_TRUNC) of a file that exists: libfuse asks the kernel for
     * atomic O_TRUNC, so no setattr comes: the open itself truncates. */
    if ((fi->flags & O_TRUNC) && S_ISREG(n->mode) && (fi->flags & O_ACCMODE) != O_RDONLY) {
        if (!ops_gate(req, "truncate", 0))
            return;
        int rc = kvfs_truncate(&s->fs, n, 0);
        if (rc != 0) {
            fuse_reply_err(req, -rc);
            return;
        }
    }
    fi->fh = s->fs.generation;
    fi->keep_cache = 0;
    n->opens++;
    if (fuse_reply_open(req, fi) != 0)
        kvfs_closed(&s->fs, n);
}

static void ops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    kvfs_node *n = ops_handle(req, ino, fi);
    if (n == NULL)
        return;
    if (off < 0 || (uint64_t)off >= n->cur.len) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    size_t left = n->cur.len - (size_t)off;
    fuse_reply_buf(req, (const char *)n->cur.p + off, left < size ? left : size);
}

static void ops_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
    kvfs_node *n = ops_handle(req, ino, fi);
    if (n == NULL || !ops_gate(req, "write", 0))
        return;
    int rc = off < 0 ? -EINVAL : kvfs_write(&ops_server(req)->fs, n, buf, size, (uint64_t)off);
    if (rc != 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_write(req, size);
}

static void ops_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino, (void)fi;
    fuse_reply_err(req, 0); /* close(2) promises nothing about durability */
}

static void ops_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)fi;
    kvfs_server *s = ops_server(req);
    kvfs_node *n = kvfs_get(&s->fs, ino);
    if (n != NULL)
        kvfs_closed(&s->fs, n);
    fuse_reply_err(req, 0);
}

static void ops_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    (void)datasync; /* the size is data here: fdatasync keeps it too */
    kvfs_node *n = ops_handle(req, ino, fi);
    if (n != NULL && ops_gate(req, "fsync", 1))
        fuse_reply_err(req, -kvfs_sync_file(&ops_server(req)->fs, n));
}

static void ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    kvfs_server *s = ops_server(req);
    kvfs_node *n = kvfs_get(&s->fs, ino);
    if (n == NULL || !S_ISDIR(n->mode)) {
        fuse_reply_err(req, n == NULL ? ENOENT : ENOTDIR);
        return;
    }
    fi->fh = s->fs.generation;
    n->opens++;
    if (fuse_reply_open(req, fi) != 0)
        kvfs_closed(&s->fs, n);
}

static void ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                        struct fuse_file_info *fi)
{
    (void)fi;
    kvfs_node *d = kvfs_get(&ops_server(req)->fs, ino);
    if (d == NULL) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    char *buf = malloc(size);
    if (buf == NULL) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    size_t used = 0;
    /* Offsets: 1 after ".", 2 after "..", 3 + i after entry i. */
    for (size_t i = off < 0 ? 0 : (size_t)off; i < d->cur_ents.n + 2; i++) {
        struct stat st;
        memset(&st, 0, sizeof st);
        const char *name;
        if (i < 2) {
            name = i == 0 ? "." : "..";
            st.st_ino = ino;
            st.st_mode = S_IFDIR;
        } else {
            name = d->cur_ents.e[i - 2].name;
            kvfs_node *c = kvfs_get(&ops_server(req)->fs, d->cur_ents.e[i - 2].ino);
            st.st_ino = d->cur_ents.e[i - 2].ino;
            st.st_mode = c != NULL ? c->mode : S_IFREG;
        }
        size_t need = fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)(i + 1));
        if (need > size - used)
            break;
        used += need;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
}

static void ops_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    ops_release(req, ino, fi);
}

static void ops_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    (void)datasync;
    kvfs_node *n = ops_handle(req, ino, fi);
    if (n != NULL && ops_gate(req, "fsyncdir", 1))
        fuse_reply_err(req, -kvfs_sync_dir(&ops_server(req)->fs, n));
}

static void ops_statfs(fuse_req_t req, fuse_ino_t ino)
{
    (void)ino;
    struct statvfs sv;
    memset(&sv, 0, sizeof sv);
    sv.f_bsize = sv.f_frsize = 4096;
    sv.f_blocks = sv.f_bfree = sv.f_bavail = 1u << 22; /* 16 GiB: memory, in truth */
    sv.f_files = sv.f_ffree = sv.f_favail = 1u << 20;
    sv.f_namemax = 255;
    fuse_reply_statfs(req, &sv);
}

static void ops_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                          struct fuse_file_info *fi)
{
    kvfs_node *n = ops_handle(req, ino, fi);
    if (n == NULL)
        return;
    if (mode & ~FALLOC_FL_KEEP_SIZE) {
        fuse_reply_err(req, EOPNOTSUPP);
        return;
    }
    if (offset < 0 || length <= 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    if (!ops_gate(req, "fallocate", 0))
        return;
    uint64_t end = (uint64_t)offset + (uint64_t)length;
    int rc = 0;
    if (!(mode & FALLOC_FL_KEEP_SIZE) && end > n->cur.len)
        rc = kvfs_truncate(&ops_server(req)->fs, n, end);
    fuse_reply_err(req, -rc);
}

const struct fuse_lowlevel_ops kvfs_ops = {
    .init = ops_init,
    .lookup = ops_lookup,
    .forget = ops_forget,
    .forget_multi = ops_forget_multi,
    .getattr = ops_getattr,
    .setattr = ops_setattr,
    .mknod = ops_mknod,
    .mkdir = ops_mkdir,
    .unlink = ops_unlink,
    .rmdir = ops_rmdir,
    .rename = ops_rename,
    .link = ops_link,
    .open = ops_open,
    .read = ops_read,
    .write = ops_write,
    .flush = ops_flush,
    .release = ops_release,
    .fsync = ops_fsync,
    .opendir = ops_opendir,
    .readdir = ops_readdir,
    .releasedir = ops_releasedir,
    .fsyncdir = ops_fsyncdir,
    .statfs = ops_statfs,
    .create = ops_create,
    .fallocate = ops_fallocate,
};
