/*
 * io_sim.c: the power-loss simulator (see io_sim.h for the model).
 *
 * Two halves.  The backend half passes each call to the wrapped backend
 * and, under one mutex, appends what a mutating call did to the journal:
 * files are followed by inode number (a rename moves the name, not the
 * data), directories by id (0 is the root).  The crash half replays a
 * prefix of the journal in three passes: find each file's last sync and
 * each directory's last sync; replay the names, keeping synced changes and
 * choosing the fate of unsynced ones (rule 2, 3); replay the data of every
 * file the same way (rule 1); then write what survived into a directory.
 */
#include "io_sim.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "io.h"
#include "kv.h"

typedef struct sim_entry {
    int kind;
    uint32_t ino;      /* CREATE, APPEND, TRUNCATE, SYNC */
    uint32_t dir;      /* whose names change (RENAME: of `from`); SYNC_DIR: the one synced */
    uint32_t dir2;     /* RENAME: the directory of `to`; MKDIR: the new directory's id */
    char *path;        /* relative to root; RENAME: from */
    char *path2;       /* RENAME: to */
    uint64_t off;      /* APPEND: where the bytes land; TRUNCATE: the new size */
    uint64_t len;      /* APPEND */
    uint8_t *data;     /* APPEND */
} sim_entry;

typedef struct sim_name {
    char *path;
    uint32_t ino;
} sim_name;

typedef struct sim_names {
    sim_name *v;
    size_t n, cap;
} sim_names;

typedef struct sim_file {
    io_file base;
    io_file *inner;
    uint32_t ino; /* 0: not under root, not recorded */
} sim_file;

static struct {
    pthread_mutex_t mu;
    const io_ops *inner, *saved;
    char *root;
    size_t rootlen;
    sim_entry *e;
    size_t n, cap;
    sim_names live;       /* the names as they are now: path -> inode */
    sim_names locks;      /* the lock files taken (io_ops.lock), which are not
                             journaled: their unlink is not either */
    char **dirs;          /* directory id -> relative path ("" = root) */
    uint32_t *dir_parent;
    size_t ndirs, capdirs;
    uint64_t *size;       /* inode -> current size */
    uint32_t nino, capino;
    long untracked;
} sim = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const io_ops sim_ops;

/* ---- small helpers ---------------------------------------------------- */

static int sim_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    void *q = realloc(*p, ncap * elem);
    if (q == NULL)
        return -ENOMEM;
    memset((char *)q + *cap * elem, 0, (ncap - *cap) * elem);
    *p = q;
    *cap = ncap;
    return 0;
}

static uint64_t sim_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t sim_hash(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* The path relative to root, or NULL if path is not under root. */
static const char *sim_rel(const char *path)
{
    if (sim.root == NULL || strncmp(path, sim.root, sim.rootlen) != 0)
        return NULL;
    if (path[sim.rootlen] == '\0')
        return "";
    return path[sim.rootlen] == '/' ? path + sim.rootlen + 1 : NULL;
}

static long sim_dir_find(const char *rel, size_t len)
{
    for (size_t i = 0; i < sim.ndirs; i++)
        if (strlen(sim.dirs[i]) == len && memcmp(sim.dirs[i], rel, len) == 0)
            return (long)i;
    return -1;
}

/* The id of the directory holding rel, or -1 if the journal does not know it. */
static long sim_parent(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    return sim_dir_find(rel, slash ? (size_t)(slash - rel) : 0);
}

static sim_name *sim_names_find(sim_names *t, const char *path)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].path, path) == 0)
            return &t->v[i];
    return NULL;
}

static void sim_names_remove(sim_names *t, const char *path)
{
    sim_name *x = sim_names_find(t, path);
    if (x == NULL)
        return;
    free(x->path);
    *x = t->v[--t->n];
}

static int sim_names_set(sim_names *t, const char *path, uint32_t ino)
{
    sim_name *x = sim_names_find(t, path);
    if (x != NULL) {
        x->ino = ino;
        return 0;
    }
    char *copy = strdup(path);
    if (copy == NULL || sim_grow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v) < 0) {
        free(copy);
        return -ENOMEM;
    }
    t->v[t->n].path = copy;
    t->v[t->n].ino = ino;
    t->n++;
    return 0;
}

static void sim_names_free(sim_names *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].path);
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* ---- recording -------------------------------------------------------- */

/* Appends an entry; takes ownership of nothing (strings are copied). */
static int sim_record(int kind, uint32_t ino, uint32_t dir, uint32_t dir2, const char *path,
                      const char *path2, uint64_t off)
{
    if (sim_grow((void **)&sim.e, &sim.cap, sim.n + 1, sizeof *sim.e) < 0)
        return -ENOMEM;
    sim_entry *x = &sim.e[sim.n];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->ino = ino;
    x->dir = dir;
    x->dir2 = dir2;
    x->off = off;
    if ((path && (x->path = strdup(path)) == NULL) ||
        (path2 && (x->path2 = strdup(path2)) == NULL)) {
        free(x->path);
        return -ENOMEM;
    }
    sim.n++;
    return 0;
}

static uint32_t sim_new_ino(void)
{
    size_t cap = sim.capino;
    if (sim_grow((void **)&sim.size, &cap, (size_t)sim.nino + 1, sizeof *sim.size) < 0)
        return 0;
    sim.capino = (uint32_t)cap;
    sim.size[sim.nino] = 0;
    return sim.nino++;
}

static int sim_open(const char *path, int flags, io_file **out)
{
    sim_file *f = calloc(1, sizeof *f);
    char *copy = strdup(path);
    if (f == NULL || copy == NULL) {
        free(f);
        free(copy);
        return -ENOMEM;
    }
    pthread_mutex_lock(&sim.mu);
    const char *rel = sim_rel(path);
    sim_name *known = rel ? sim_names_find(&sim.live, rel) : NULL;
    int rc = sim.inner->open(path, flags, &f->inner);
    if (rc == 0 && rel != NULL) {
        long dir = sim_parent(rel);
        if (known != NULL) {
            f->ino = known->ino;
            if (flags & IO_TRUNC) {
                rc = sim_record(IO_SIM_TRUNCATE, f->ino, 0, 0, NULL, NULL, 0);
                sim.size[f->ino] = 0;
            }
        } else if ((flags & IO_CREATE) && dir >= 0) {
            /* Not known and now open: this call created it. */
            f->ino = sim_new_ino();
            if (f->ino == 0 || sim_names_set(&sim.live, rel, f->ino) < 0)
                rc = -ENOMEM;
            else
                rc = sim_record(IO_SIM_CREATE, f->ino, (uint32_t)dir, 0, rel, NULL, 0);
        } else {
            sim.untracked++;
        }
    }
    pthread_mutex_unlock(&sim.mu);
    if (rc < 0) {
        if (f->inner)
            f->inner->ops->close(f->inner);
        free(f);
        free(copy);
        return rc;
    }
    f->base.ops = &sim_ops;
    f->base.path = copy;
    *out = &f->base;
    return 0;
}

static long sim_append(io_file *file, const struct iovec *iov, int iovcnt)
{
    sim_file *f = (sim_file *)file;
    pthread_mutex_lock(&sim.mu);
    long n = f->inner->ops->append(f->inner, iov, iovcnt);
    if (n > 0 && f->ino != 0) {
        uint8_t *data = malloc((size_t)n);
        if (data == NULL || sim_record(IO_SIM_APPEND, f->ino, 0, 0, NULL, NULL,
                                       sim.size[f->ino]) < 0) {
            free(data);
            sim.untracked++; /* the journal is now wrong; say so */
        } else {
            size_t done = 0;
            for (int i = 0; i < iovcnt && done < (size_t)n; i++) {
                size_t take = iov[i].iov_len < (size_t)n - done ? iov[i].iov_len : (size_t)n - done;
                if (take > 0) /* an empty buffer may have a NULL base */
                    memcpy(data + done, iov[i].iov_base, take);
                done += take;
            }
            sim.e[sim.n - 1].data = data;
            sim.e[sim.n - 1].len = (uint64_t)n;
            sim.size[f->ino] += (uint64_t)n;
        }
    }
    pthread_mutex_unlock(&sim.mu);
    return n;
}

static long sim_read_at(io_file *file, uint64_t off, void *buf, size_t n)
{
    sim_file *f = (sim_file *)file;
    return f->inner->ops->read_at(f->inner, off, buf, n);
}

static io_file *sim_inner(io_file *file) { return ((sim_file *)file)->inner; }

/* Reads change nothing on disk: the batch goes to the wrapped backend whole. */
static void sim_read_batch(io_read_req *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        r[i].res = IO_READ_PENDING;
    io_read_batch_inner(r, n, sim_inner);
}

static int sim_sync(io_file *file)
{
    sim_file *f = (sim_file *)file;
    pthread_mutex_lock(&sim.mu);
    int rc = f->inner->ops->sync(f->inner);
    if (rc == 0 && f->ino != 0)
        rc = sim_record(IO_SIM_SYNC, f->ino, 0, 0, NULL, NULL, 0);
    pthread_mutex_unlock(&sim.mu);
    return rc;
}

static int sim_truncate(io_file *file, uint64_t size)
{
    sim_file *f = (sim_file *)file;
    pthread_mutex_lock(&sim.mu);
    int rc = f->inner->ops->truncate(f->inner, size);
    if (rc == 0 && f->ino != 0) {
        rc = sim_record(IO_SIM_TRUNCATE, f->ino, 0, 0, NULL, NULL, size);
        sim.size[f->ino] = size;
    }
    pthread_mutex_unlock(&sim.mu);
    return rc;
}

static int sim_size(io_file *file, uint64_t *size)
{
    sim_file *f = (sim_file *)file;
    return f->inner->ops->size(f->inner, size);
}

static int sim_close(io_file *file)
{
    sim_file *f = (sim_file *)file;
    int rc = f->inner->ops->close(f->inner);
    free(f->base.path);
    free(f);
    return rc;
}

static int sim_sync_dir(const char *dir, int *opened)
{
    pthread_mutex_lock(&sim.mu);
    int rc = sim.inner->sync_dir(dir, opened);
    const char *rel = sim_rel(dir);
    if (rc == 0 && rel != NULL) {
        long id = sim_dir_find(rel, strlen(rel));
        if (id < 0)
            sim.untracked++;
        else
            rc = sim_record(IO_SIM_SYNC_DIR, 0, (uint32_t)id, 0, rel, NULL, 0);
    }
    pthread_mutex_unlock(&sim.mu);
    return rc;
}

static int sim_rename(const char *from, const char *to)
{
    pthread_mutex_lock(&sim.mu);
    int rc = sim.inner->rename(from, to);
    const char *rf = sim_rel(from), *rt = sim_rel(to);
    if (rc == 0 && (rf != NULL || rt != NULL)) {
        sim_name *x = rf ? sim_names_find(&sim.live, rf) : NULL;
        long df = rf ? sim_parent(rf) : -1, dt = rt ? sim_parent(rt) : -1;
        if (x == NULL || df < 0 || dt < 0) {
            sim.untracked++;
        } else {
            uint32_t ino = x->ino;
            sim_names_remove(&sim.live, rf);
            rc = sim_names_set(&sim.live, rt, ino);
            if (rc == 0)
                rc = sim_record(IO_SIM_RENAME, ino, (uint32_t)df, (uint32_t)dt, rf, rt, 0);
        }
    }
    pthread_mutex_unlock(&sim.mu);
    return rc;
}

static int sim_unlink(const char *path)
{
    pthread_mutex_lock(&sim.mu);
    int rc = sim.inner->unlink(path);
    const char *rel = sim_rel(path);
    if (rc == 0 && rel != NULL) {
        long dir = sim_parent(rel);
        if (sim_names_find(&sim.live, rel) == NULL && sim_names_find(&sim.locks, rel) != NULL) {
            sim_names_remove(&sim.locks, rel); /* a lock file: in no crash state */
        } else if (sim_names_find(&sim.live, rel) == NULL || dir < 0) {
            sim.untracked++;
        } else {
            sim_names_remove(&sim.live, rel);
            rc = sim_record(IO_SIM_UNLINK, 0, (uint32_t)dir, 0, rel, NULL, 0);
        }
    }
    pthread_mutex_unlock(&sim.mu);
    return rc;
}

static int sim_add_dir(const char *rel, uint32_t parent)
{
    size_t cap = sim.capdirs;
    if (sim_grow((void **)&sim.dirs, &sim.capdirs, sim.ndirs + 1, sizeof *sim.dirs) < 0 ||
        sim_grow((void **)&sim.dir_parent, &cap, sim.ndirs + 1, sizeof *sim.dir_parent) < 0)
        return -ENOMEM;
    if ((sim.dirs[sim.ndirs] = strdup(rel)) == NULL)
        return -ENOMEM;
    sim.dir_parent[sim.ndirs] = parent;
    sim.ndirs++;
    return 0;
}

static int sim_mkdir(const char *path)
{
    pthread_mutex_lock(&sim.mu);
    int rc = sim.inner->mkdir(path);
    const char *rel = sim_rel(path);
    if (rel != NULL && (rc == 0 || rc == -EEXIST)) {
        long parent = sim_parent(rel);
        long known = sim_dir_find(rel, strlen(rel));
        if (rc == -EEXIST || parent < 0) {
            if (known < 0)
                sim.untracked++;
        } else {
            int r = sim_add_dir(rel, (uint32_t)parent);
            if (r == 0)
                r = sim_record(IO_SIM_MKDIR, 0, (uint32_t)parent, (uint32_t)sim.ndirs - 1, rel,
                               NULL, 0);
            if (r < 0)
                rc = r;
        }
    }
    pthread_mutex_unlock(&sim.mu);
    return rc;
}

static int sim_exists(const char *path) { return sim.inner->exists(path); }

static int sim_list(const char *dir, char ***names, size_t *count)
{
    return sim.inner->list(dir, names, count);
}

static int sim_lock(const char *path, int exclusive, io_lock **lock)
{
    int rc = sim.inner->lock(path, exclusive, lock);
    const char *rel = sim_rel(path);
    if (rc == 0 && rel != NULL) {
        pthread_mutex_lock(&sim.mu);
        if (sim_names_find(&sim.live, rel) == NULL && sim_names_find(&sim.locks, rel) == NULL &&
            sim_names_set(&sim.locks, rel, 0) < 0)
            sim.untracked++;
        pthread_mutex_unlock(&sim.mu);
    }
    return rc;
}

static int sim_unlock(io_lock *lock) { return lock->ops->unlock(lock); }

static const io_ops sim_ops = {
    .name = "sim",
    .open = sim_open,
    .append = sim_append,
    .read_at = sim_read_at,
    .sync = sim_sync,
    .truncate = sim_truncate,
    .size = sim_size,
    .close = sim_close,
    .sync_dir = sim_sync_dir,
    .rename = sim_rename,
    .unlink = sim_unlink,
    .mkdir = sim_mkdir,
    .exists = sim_exists,
    .list = sim_list,
    .lock = sim_lock,
    .unlock = sim_unlock,
    .read_batch = sim_read_batch,
};

void io_sim_reset(void)
{
    for (size_t i = 0; i < sim.n; i++) {
        free(sim.e[i].path);
        free(sim.e[i].path2);
        free(sim.e[i].data);
    }
    free(sim.e);
    sim.e = NULL;
    sim.n = sim.cap = 0;
    sim_names_free(&sim.live);
    sim_names_free(&sim.locks);
    for (size_t i = 0; i < sim.ndirs; i++)
        free(sim.dirs[i]);
    free(sim.dirs);
    free(sim.dir_parent);
    sim.dirs = NULL;
    sim.dir_parent = NULL;
    sim.ndirs = sim.capdirs = 0;
    free(sim.size);
    sim.size = NULL;
    sim.nino = sim.capino = 0;
    free(sim.root);
    sim.root = NULL;
    sim.untracked = 0;
}

int io_sim_install(const char *root)
{
    io_sim_reset();
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/')
        len--;
    if ((sim.root = strndup(root, len)) == NULL || sim_add_dir("", 0) < 0 ||
        sim_new_ino() != 0 /* inode 0 means "not recorded" */) {
        io_sim_reset();
        return kv_error(KV_ERR_NOMEM, "io_sim_install %s: out of memory", root);
    }
    sim.rootlen = len;
    if (io_get_ops() != &sim_ops) {
        sim.saved = io_get_ops();
        sim.inner = sim.saved;
    }
    io_set_ops(&sim_ops);
    return KV_OK;
}

void io_sim_uninstall(void)
{
    if (io_get_ops() == &sim_ops)
        io_set_ops(sim.saved);
}

size_t io_sim_position(void)
{
    pthread_mutex_lock(&sim.mu);
    size_t n = sim.n;
    pthread_mutex_unlock(&sim.mu);
    return n;
}

int io_sim_kind(size_t i) { return i < sim.n ? sim.e[i].kind : 0; }

void io_sim_extent(size_t i, uint64_t *off, uint64_t *len)
{
    int append = i < sim.n && sim.e[i].kind == IO_SIM_APPEND;
    *off = append ? sim.e[i].off : 0;
    *len = append ? sim.e[i].len : 0;
}

long io_sim_untracked(void) { return sim.untracked; }

const char *io_sim_describe(size_t i, char *buf, size_t n)
{
    if (i >= sim.n) {
        snprintf(buf, n, "(end of journal)");
        return buf;
    }
    const sim_entry *x = &sim.e[i];
    /* A file is named by the path it was created under. */
    const char *file = "?";
    for (size_t j = 0; j < sim.n && x->ino != 0; j++)
        if (sim.e[j].kind == IO_SIM_CREATE && sim.e[j].ino == x->ino) {
            file = sim.e[j].path;
            break;
        }
    switch (x->kind) {
    case IO_SIM_CREATE: snprintf(buf, n, "create %s", x->path); break;
    case IO_SIM_MKDIR: snprintf(buf, n, "mkdir %s", x->path); break;
    case IO_SIM_RENAME: snprintf(buf, n, "rename %s to %s", x->path, x->path2); break;
    case IO_SIM_UNLINK: snprintf(buf, n, "unlink %s", x->path); break;
    case IO_SIM_APPEND:
        snprintf(buf, n, "append %llu bytes at offset %llu to the file created as %s",
                 (unsigned long long)x->len, (unsigned long long)x->off, file);
        break;
    case IO_SIM_TRUNCATE:
        snprintf(buf, n, "truncate the file created as %s to %llu bytes", file,
                 (unsigned long long)x->off);
        break;
    case IO_SIM_SYNC: snprintf(buf, n, "fsync the file created as %s", file); break;
    case IO_SIM_SYNC_DIR:
        snprintf(buf, n, "fsync directory %s", x->path[0] ? x->path : "(root)");
        break;
    default: snprintf(buf, n, "?"); break;
    }
    return buf;
}

/* ---- crash states ------------------------------------------------------ */

typedef struct sim_bytes {
    uint8_t *p;
    size_t len, cap;
} sim_bytes;

/* Puts n bytes at off (zero-filling any gap), or garbage if rng != NULL. */
static int sim_bytes_write(sim_bytes *b, uint64_t off, const uint8_t *data, size_t n,
                           uint64_t *rng)
{
    size_t end = (size_t)off + n;
    if (sim_grow((void **)&b->p, &b->cap, end, 1) < 0)
        return -ENOMEM;
    if (b->len < off)
        memset(b->p + b->len, 0, (size_t)off - b->len);
    for (size_t i = 0; i < n; i++)
        b->p[off + i] = rng ? (uint8_t)sim_rand(rng) : data[i];
    if (end > b->len)
        b->len = end;
    return 0;
}

static int sim_bytes_resize(sim_bytes *b, uint64_t size)
{
    if (size > b->len)
        return sim_bytes_write(b, size, NULL, 0, NULL);
    b->len = (size_t)size;
    return 0;
}

static int sim_name_cmp(const void *a, const void *b)
{
    return strcmp(((const sim_name *)a)->path, ((const sim_name *)b)->path);
}

static int sim_is_name_op(int kind)
{
    return kind == IO_SIM_CREATE || kind == IO_SIM_MKDIR || kind == IO_SIM_RENAME ||
           kind == IO_SIM_UNLINK;
}

static int sim_write_file(const char *path, const sim_bytes *b)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t done = 0;
    while (done < b->len) {
        ssize_t w = write(fd, b->p + done, b->len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int err = w < 0 ? errno : EIO;
            close(fd);
            return -err;
        }
        done += (size_t)w;
    }
    return close(fd) < 0 ? -errno : 0;
}

/* Writes the surviving directories and files under out. */
static int sim_write_state(const char *out, const uint8_t *dir_alive, sim_names *ns,
                           const sim_bytes *content)
{
    char path[4096];
    for (size_t d = 1; d < sim.ndirs; d++) {
        if (!dir_alive[d])
            continue;
        snprintf(path, sizeof path, "%s/%s", out, sim.dirs[d]);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return -errno;
    }
    for (size_t i = 0; i < ns->n; i++) {
        snprintf(path, sizeof path, "%s/%s", out, ns->v[i].path);
        int rc = sim_write_file(path, &content[ns->v[i].ino]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The entry index of the last unsynced append before c->at, or -1. */
static long sim_last_unsynced_append(size_t at, const long *last_sync)
{
    for (size_t j = at; j-- > 0;)
        if (sim.e[j].kind == IO_SIM_APPEND && (long)j > last_sync[sim.e[j].ino])
            return (long)j;
    return -1;
}

/* How many bytes of append t a torn variant keeps; 0 = the variant does not apply. */
static uint64_t sim_torn_keep(const sim_entry *t, int torn)
{
    uint64_t keep = 0;
    if (torn == IO_SIM_TORN_1B)
        keep = 1;
    else if (torn == IO_SIM_TORN_THIRD)
        keep = t->len / 3 ? t->len / 3 : 1;
    else if (torn == IO_SIM_TORN_4K) {
        uint64_t boundary = (t->off + t->len - 1) / 4096 * 4096;
        keep = boundary > t->off ? boundary - t->off : 0;
    }
    return keep < t->len ? keep : 0;
}

/* The file of the last unsynced append before `at` and its unsynced
 * region; -1 if there is none. */
static long sim_torn_file(size_t at, uint64_t *lo, uint64_t *hi)
{
    long last = -1, synced = -1;
    for (size_t j = at; j-- > 0 && last < 0;)
        if (sim.e[j].kind == IO_SIM_APPEND)
            last = (long)j;
    if (last < 0)
        return -1;
    uint32_t ino = sim.e[last].ino;
    for (size_t j = 0; j < at; j++)
        if (sim.e[j].kind == IO_SIM_SYNC && sim.e[j].ino == ino)
            synced = (long)j;
    if (synced > last)
        return -1;
    *lo = UINT64_MAX;
    *hi = 0;
    for (size_t j = (size_t)(synced + 1); j < at; j++) {
        const sim_entry *x = &sim.e[j];
        if (x->kind != IO_SIM_APPEND || x->ino != ino || x->len == 0)
            continue;
        if (x->off < *lo)
            *lo = x->off;
        if (x->off + x->len > *hi)
            *hi = x->off + x->len;
    }
    return *hi > *lo ? (long)ino : -1;
}

int io_sim_torn_region(size_t at, uint64_t *lo, uint64_t *hi, char *path, size_t n)
{
    at = at < sim.n ? at : sim.n;
    long ino = sim_torn_file(at, lo, hi);
    if (ino < 0)
        return 0;
    const char *name = "?";
    for (size_t j = 0; j < sim.n; j++)
        if (sim.e[j].kind == IO_SIM_CREATE && sim.e[j].ino == (uint32_t)ino) {
            name = sim.e[j].path;
            break;
        }
    snprintf(path, n, "%s", name);
    return 1;
}

int io_sim_materialize(const io_sim_crash *c, const char *out, io_sim_state *st)
{
    size_t at = c->at < sim.n ? c->at : sim.n;
    uint64_t rng = c->seed * 0x2545f4914f6cdd1dull + 1;
    io_sim_state dummy;
    if (st == NULL)
        st = &dummy;
    memset(st, 0, sizeof *st);

    long *last_sync = malloc(sim.nino * sizeof *last_sync);
    long *last_sync_dir = malloc(sim.ndirs * sizeof *last_sync_dir);
    size_t *unsynced = calloc(sim.ndirs, sizeof *unsynced); /* per directory */
    size_t *cut = calloc(sim.ndirs, sizeof *cut);
    uint8_t *dir_alive = calloc(sim.ndirs, 1);
    sim_bytes *content = calloc(sim.nino, sizeof *content);
    sim_names ns = {0};
    int rc = 0;
    if (!last_sync || !last_sync_dir || !unsynced || !cut || !dir_alive || !content) {
        rc = -ENOMEM;
        goto done;
    }

    /* Pass 1: the last sync of each file and of each directory. */
    for (size_t i = 0; i < sim.nino; i++)
        last_sync[i] = -1;
    for (size_t d = 0; d < sim.ndirs; d++)
        last_sync_dir[d] = -1;
    for (size_t j = 0; j < at; j++) {
        if (sim.e[j].kind == IO_SIM_SYNC)
            last_sync[sim.e[j].ino] = (long)j;
        else if (sim.e[j].kind == IO_SIM_SYNC_DIR)
            last_sync_dir[sim.e[j].dir] = (long)j;
    }
    long torn_j = -1, torn_ino = -1;
    uint64_t torn_keep = 0, torn_lo = 0, torn_hi = 0;
    if (c->torn == IO_SIM_TORN_PREFIX || c->torn == IO_SIM_TORN_SECTOR) {
        torn_ino = sim_torn_file(at, &torn_lo, &torn_hi);
        uint64_t last = torn_hi > 0 ? (torn_hi - 1) / 512 * 512 : 0;
        int fits = c->torn == IO_SIM_TORN_PREFIX
                       ? c->torn_off > torn_lo && c->torn_off < torn_hi
                       : c->torn_off % 512 == 0 && c->torn_off < last && c->torn_off + 512 > torn_lo;
        if (torn_ino < 0 || !fits) {
            rc = IO_SIM_NO_STATE;
            goto done;
        }
    } else if (c->torn != IO_SIM_TORN_NONE) {
        torn_j = sim_last_unsynced_append(at, last_sync);
        if (torn_j < 0 || (torn_keep = sim_torn_keep(&sim.e[torn_j], c->torn)) == 0) {
            rc = IO_SIM_NO_STATE;
            goto done;
        }
    }

    /* Pass 2: names.  A change is durable once its directory (both, for a
     * rename) was synced after it; the unsynced ones of a directory survive
     * as a prefix (rule 3) whose length `names` decides. */
#define SIM_NAME_SYNCED(x, j) \
    ((long)(j) < last_sync_dir[(x)->dir] && \
     ((x)->kind != IO_SIM_RENAME || (long)(j) < last_sync_dir[(x)->dir2]))
    for (size_t j = 0; j < at; j++)
        if (sim_is_name_op(sim.e[j].kind) && !SIM_NAME_SYNCED(&sim.e[j], j))
            unsynced[sim.e[j].dir]++;
    for (size_t d = 0; d < sim.ndirs; d++) {
        st->names_unsynced += (unsigned)unsynced[d];
        cut[d] = c->names == IO_SIM_KEEP   ? unsynced[d]
                 : c->names == IO_SIM_LOSE ? 0
                                           : (size_t)(sim_rand(&rng) % (unsynced[d] + 1));
        st->names_reverted += (unsigned)(unsynced[d] - cut[d]);
        unsynced[d] = 0; /* now counts the rank while replaying */
    }
    dir_alive[0] = 1;
    for (size_t j = 0; j < at && rc == 0; j++) {
        const sim_entry *x = &sim.e[j];
        if (!sim_is_name_op(x->kind))
            continue;
        if (!SIM_NAME_SYNCED(x, j) && unsynced[x->dir]++ >= cut[x->dir])
            continue; /* reverted */
        if (x->kind == IO_SIM_CREATE) {
            rc = sim_names_set(&ns, x->path, x->ino);
        } else if (x->kind == IO_SIM_MKDIR) {
            dir_alive[x->dir2] = 1;
        } else if (x->kind == IO_SIM_UNLINK) {
            sim_names_remove(&ns, x->path);
        } else if (sim_names_find(&ns, x->path) != NULL) {
            uint32_t ino = sim_names_find(&ns, x->path)->ino;
            sim_names_remove(&ns, x->path);
            rc = sim_names_set(&ns, x->path2, ino);
        }
    }
#undef SIM_NAME_SYNCED
    /* A directory survives only with its parent; a file only with its directory. */
    for (size_t d = 1; d < sim.ndirs; d++)
        dir_alive[d] = dir_alive[d] && dir_alive[sim.dir_parent[d]];
    for (size_t i = 0; i < ns.n;) {
        long d = sim_parent(ns.v[i].path);
        if (d < 0 || !dir_alive[d])
            sim_names_remove(&ns, ns.v[i].path);
        else
            i++;
    }

    /* Pass 3: data.  Synced writes are kept; each unsynced one meets the
     * fate `data` gives it (rule 1). */
    for (size_t j = 0; j < at && rc == 0; j++) {
        const sim_entry *x = &sim.e[j];
        if (x->kind != IO_SIM_APPEND && x->kind != IO_SIM_TRUNCATE)
            continue;
        int synced = (long)j < last_sync[x->ino];
        int fate = 0; /* 0 keep, 1 drop, 2 garble */
        if (!synced) {
            st->writes_unsynced++;
            if (c->data == IO_SIM_LOSE) {
                fate = 1;
            } else if (c->data == IO_SIM_RANDOM) {
                unsigned r = (unsigned)(sim_rand(&rng) % 100);
                fate = r < 45 ? 0 : r < 85 || x->kind == IO_SIM_TRUNCATE ? 1 : 2;
            }
            st->writes_dropped += fate == 1;
            st->writes_garbled += fate == 2;
        }
        sim_bytes *b = &content[x->ino];
        if (fate == 1)
            continue;
        uint64_t keep = (long)j == torn_j ? torn_keep : x->len;
        if (!synced && (long)x->ino == torn_ino && c->torn == IO_SIM_TORN_PREFIX &&
            x->kind == IO_SIM_APPEND)
            keep = x->off >= c->torn_off ? 0 : x->off + x->len > c->torn_off ? c->torn_off - x->off
                                                                             : x->len;
        if (x->kind == IO_SIM_TRUNCATE)
            rc = sim_bytes_resize(b, x->off);
        else if (keep > 0 || keep == x->len)
            rc = sim_bytes_write(b, x->off, x->data, (size_t)keep, fate == 2 ? &rng : NULL);
    }
    if (rc == 0 && c->torn == IO_SIM_TORN_SECTOR) {
        /* The lost sector of the region reads as zeros. */
        sim_bytes *b = &content[torn_ino];
        uint64_t zlo = c->torn_off > torn_lo ? c->torn_off : torn_lo, zhi = c->torn_off + 512;
        if (zhi > b->len)
            zhi = b->len;
        if (zlo < zhi)
            memset(b->p + zlo, 0, (size_t)(zhi - zlo));
    }
    if (rc < 0)
        goto done;

    /* The state's fingerprint, then the files themselves. */
    if (ns.n > 1)
        qsort(ns.v, ns.n, sizeof *ns.v, sim_name_cmp);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t d = 0; d < sim.ndirs; d++)
        if (dir_alive[d])
            h = sim_hash(h, sim.dirs[d], strlen(sim.dirs[d]) + 1);
    for (size_t i = 0; i < ns.n; i++) {
        const sim_bytes *b = &content[ns.v[i].ino];
        h = sim_hash(h, ns.v[i].path, strlen(ns.v[i].path) + 1);
        h = sim_hash(h, &b->len, sizeof b->len);
        h = sim_hash(h, b->p, b->len);
    }
    st->hash = h;
    st->files = (unsigned)ns.n;
    if (out != NULL)
        rc = sim_write_state(out, dir_alive, &ns, content);

done:
    if (content)
        for (size_t i = 0; i < sim.nino; i++)
            free(content[i].p);
    free(content);
    sim_names_free(&ns);
    free(dir_alive);
    free(cut);
    free(unsynced);
    free(last_sync_dir);
    free(last_sync);
    if (rc == IO_SIM_NO_STATE)
        return IO_SIM_NO_STATE;
    if (rc == -ENOMEM)
        return kv_error(KV_ERR_NOMEM, "io_sim_materialize: out of memory");
    if (rc < 0)
        return kv_error(KV_ERR_IO, "io_sim_materialize into %s: %s", out ? out : "(none)",
                        strerror(-rc));
    return KV_OK;
}
