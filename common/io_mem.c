/*
 * io_mem.c: files in memory behind io_ops (see io_mem.h).
 *
 * The table is an array of entries, a path each, with the file's bytes (a
 * node, shared with the handles open on it) or none for a directory.  A
 * harness's database holds a handful of files, so every lookup is a walk
 * of the array.  Paths are compared as given, with repeated and trailing
 * slashes taken out; "/" and "." always exist.
 */
#include "io_mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A file's bytes; refs counts the table's link and the open handles. */
typedef struct mem_node {
    uint8_t *p;
    size_t len, cap;
    int refs;
    int locks, exclusive; /* the locks held on it, and whether one is exclusive */
} mem_node;

typedef struct mem_entry {
    char *path;
    mem_node *node; /* NULL: a directory */
} mem_entry;

typedef struct mem_file {
    io_file base;
    mem_node *node;
} mem_file;

typedef struct mem_lock {
    io_lock base;
    mem_node *node;
    int exclusive;
} mem_lock;

static pthread_mutex_t mem_mu = PTHREAD_MUTEX_INITIALIZER;
static mem_entry *mem_v;
static size_t mem_n, mem_cap;

/* ---- the table (REQUIRES: mem_mu held) ----------------------------------- */

/* path with repeated and trailing slashes taken out, or NULL. */
static char *mem_clean(const char *path)
{
    size_t n = strlen(path);
    char *c = malloc(n + 1), *o = c;
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (path[i] != '/' || o == c || o[-1] != '/')
            *o++ = path[i];
    if (o - c > 1 && o[-1] == '/')
        o--;
    *o = '\0';
    return c;
}

static mem_entry *mem_find(const char *clean)
{
    for (size_t i = 0; i < mem_n; i++)
        if (strcmp(mem_v[i].path, clean) == 0)
            return &mem_v[i];
    return NULL;
}

/* The directory that holds clean: its path's length ("" is ".", and the
 * root holds "/x"). */
static size_t mem_parent_len(const char *clean)
{
    const char *slash = strrchr(clean, '/');
    if (slash == NULL)
        return 0;
    return slash == clean ? 1 : (size_t)(slash - clean);
}

static int mem_is_dir_n(const char *path, size_t n)
{
    if (n == 0 || (n == 1 && (path[0] == '/' || path[0] == '.')))
        return 1;
    for (size_t i = 0; i < mem_n; i++)
        if (mem_v[i].node == NULL && strlen(mem_v[i].path) == n &&
            memcmp(mem_v[i].path, path, n) == 0)
            return 1;
    return 0;
}

static int mem_parent_exists(const char *clean)
{
    return mem_is_dir_n(clean, mem_parent_len(clean));
}

static void mem_node_unref(mem_node *node)
{
    if (--node->refs == 0) {
        free(node->p);
        free(node);
    }
}

/* Adds an entry (taking clean); 0 or -ENOMEM. */
static int mem_add(char *clean, mem_node *node)
{
    if (mem_n == mem_cap) {
        size_t cap = mem_cap ? 2 * mem_cap : 16;
        mem_entry *v = realloc(mem_v, cap * sizeof *v);
        if (v == NULL)
            return -ENOMEM;
        mem_v = v;
        mem_cap = cap;
    }
    mem_v[mem_n++] = (mem_entry){clean, node};
    return 0;
}

static void mem_remove(mem_entry *e)
{
    free(e->path);
    if (e->node != NULL)
        mem_node_unref(e->node);
    *e = mem_v[--mem_n];
}

static int mem_reserve(mem_node *node, size_t len)
{
    if (len <= node->cap)
        return 0;
    size_t cap = node->cap ? node->cap : 256;
    while (cap < len)
        cap *= 2;
    uint8_t *p = realloc(node->p, cap);
    if (p == NULL)
        return -ENOMEM;
    node->p = p;
    node->cap = cap;
    return 0;
}

/* A new file at clean (taking clean), its node in *node; 0 or -errno. */
static int mem_create(char *clean, mem_node **node)
{
    mem_node *nd = calloc(1, sizeof *nd);
    if (nd == NULL) {
        free(clean);
        return -ENOMEM;
    }
    nd->refs = 1;
    if (mem_add(clean, nd) != 0) {
        free(clean);
        free(nd);
        return -ENOMEM;
    }
    *node = nd;
    return 0;
}

/* ---- files ------------------------------------------------------------- */

static int mem_open_locked(const char *path, int flags, io_file **out)
{
    char *clean = mem_clean(path);
    if (clean == NULL)
        return -ENOMEM;
    mem_entry *e = mem_find(clean);
    mem_node *node;
    if (e != NULL) {
        free(clean);
        if (e->node == NULL)
            return -EISDIR;
        if ((flags & IO_CREATE) && (flags & IO_EXCL))
            return -EEXIST;
        node = e->node;
        if (flags & IO_TRUNC)
            node->len = 0;
    } else {
        if (!(flags & IO_CREATE) || !mem_parent_exists(clean)) {
            free(clean);
            return -ENOENT;
        }
        int rc = mem_create(clean, &node);
        if (rc != 0)
            return rc;
    }
    mem_file *f = calloc(1, sizeof *f);
    char *copy = strdup(path);
    if (f == NULL || copy == NULL) {
        free(f);
        free(copy);
        return -ENOMEM;
    }
    node->refs++;
    f->base.ops = &io_mem_ops;
    f->base.path = copy;
    f->node = node;
    *out = &f->base;
    return 0;
}

static int mem_open(const char *path, int flags, io_file **out)
{
    pthread_mutex_lock(&mem_mu);
    int rc = mem_open_locked(path, flags, out);
    pthread_mutex_unlock(&mem_mu);
    return rc;
}

static long mem_append(io_file *file, const struct iovec *iov, int iovcnt)
{
    mem_node *node = ((mem_file *)file)->node;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    pthread_mutex_lock(&mem_mu);
    long rc = mem_reserve(node, node->len + total);
    if (rc == 0) {
        for (int i = 0; i < iovcnt; i++) {
            if (iov[i].iov_len > 0)
                memcpy(node->p + node->len, iov[i].iov_base, iov[i].iov_len);
            node->len += iov[i].iov_len;
        }
        rc = (long)total;
    }
    pthread_mutex_unlock(&mem_mu);
    return rc;
}

static long mem_read_at(io_file *file, uint64_t off, void *buf, size_t n)
{
    mem_node *node = ((mem_file *)file)->node;
    pthread_mutex_lock(&mem_mu);
    size_t got = 0;
    if (off < node->len) {
        got = node->len - (size_t)off < n ? node->len - (size_t)off : n;
        memcpy(buf, node->p + off, got);
    }
    pthread_mutex_unlock(&mem_mu);
    return (long)got;
}

static int mem_sync(io_file *file)
{
    (void)file;
    return 0;
}

static int mem_truncate(io_file *file, uint64_t size)
{
    mem_node *node = ((mem_file *)file)->node;
    if (size > SIZE_MAX / 2)
        return -EFBIG;
    pthread_mutex_lock(&mem_mu);
    int rc = mem_reserve(node, (size_t)size);
    if (rc == 0) {
        if (size > node->len)
            memset(node->p + node->len, 0, (size_t)size - node->len);
        node->len = (size_t)size;
    }
    pthread_mutex_unlock(&mem_mu);
    return rc;
}

static int mem_size(io_file *file, uint64_t *size)
{
    pthread_mutex_lock(&mem_mu);
    *size = ((mem_file *)file)->node->len;
    pthread_mutex_unlock(&mem_mu);
    return 0;
}

static int mem_close(io_file *file)
{
    mem_file *f = (mem_file *)file;
    pthread_mutex_lock(&mem_mu);
    mem_node_unref(f->node);
    pthread_mutex_unlock(&mem_mu);
    free(f->base.path);
    free(f);
    return 0;
}

/* A copy of the file's bytes in an allocation of exactly `size` bytes: a
 * read past it is AddressSanitizer's to report. */
static int mem_map(io_file *file, uint64_t size, const void **addr)
{
    mem_node *node = ((mem_file *)file)->node;
    if (size > SIZE_MAX / 2)
        return -EFBIG;
    uint8_t *copy = malloc((size_t)size);
    if (copy == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&mem_mu);
    size_t n = node->len < size ? node->len : (size_t)size;
    memcpy(copy, node->p, n);
    pthread_mutex_unlock(&mem_mu);
    memset(copy + n, 0, (size_t)size - n);
    *addr = copy;
    return 0;
}

static int mem_unmap(const void *addr, uint64_t size)
{
    (void)size;
    free((void *)addr);
    return 0;
}

/* ---- names --------------------------------------------------------------- */

static int mem_sync_dir(const char *dir, int *opened)
{
    char *clean = mem_clean(dir);
    if (clean == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&mem_mu);
    int rc = mem_is_dir_n(clean, strlen(clean)) ? 0 : -ENOENT;
    pthread_mutex_unlock(&mem_mu);
    free(clean);
    if (rc == 0)
        *opened = 1;
    return rc;
}

static int mem_rename(const char *from, const char *to)
{
    char *a = mem_clean(from), *b = mem_clean(to);
    int rc = a == NULL || b == NULL ? -ENOMEM : 0;
    pthread_mutex_lock(&mem_mu);
    mem_entry *e = rc == 0 ? mem_find(a) : NULL;
    if (rc == 0 && e == NULL)
        rc = -ENOENT;
    else if (rc == 0 && e->node == NULL)
        rc = -EINVAL; /* (no directory is renamed here) */
    else if (rc == 0 && !mem_parent_exists(b))
        rc = -ENOENT;
    if (rc == 0 && strcmp(a, b) != 0) {
        mem_entry *old = mem_find(b);
        if (old != NULL && old->node == NULL) {
            rc = -EISDIR;
        } else {
            if (old != NULL) {
                mem_remove(old); /* moves the last entry into old's place */
                e = mem_find(a);
            }
            free(e->path);
            e->path = b;
            b = NULL;
        }
    }
    pthread_mutex_unlock(&mem_mu);
    free(a);
    free(b);
    return rc;
}

static int mem_unlink(const char *path)
{
    char *clean = mem_clean(path);
    if (clean == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&mem_mu);
    mem_entry *e = mem_find(clean);
    int rc = e == NULL ? -ENOENT : e->node == NULL ? -EISDIR : 0;
    if (rc == 0)
        mem_remove(e);
    pthread_mutex_unlock(&mem_mu);
    free(clean);
    return rc;
}

/* Makes the directory; with parents, every missing one above it too. */
static int mem_mkdir_locked(char *clean, int parents)
{
    if (mem_is_dir_n(clean, strlen(clean))) {
        free(clean);
        return -EEXIST;
    }
    if (mem_find(clean) != NULL) {
        free(clean);
        return -EEXIST; /* a file of that name */
    }
    size_t up = mem_parent_len(clean);
    if (!mem_is_dir_n(clean, up)) {
        char *parent = parents ? strndup(clean, up) : NULL;
        int rc = !parents ? -ENOENT : parent == NULL ? -ENOMEM : mem_mkdir_locked(parent, 1);
        if (rc != 0 && rc != -EEXIST) {
            free(clean);
            return rc;
        }
    }
    int rc = mem_add(clean, NULL);
    if (rc != 0)
        free(clean);
    return rc;
}

static int mem_mkdir(const char *path)
{
    char *clean = mem_clean(path);
    if (clean == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&mem_mu);
    int rc = mem_mkdir_locked(clean, 0);
    pthread_mutex_unlock(&mem_mu);
    return rc;
}

static int mem_exists(const char *path)
{
    char *clean = mem_clean(path);
    if (clean == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&mem_mu);
    int rc = mem_find(clean) != NULL || mem_is_dir_n(clean, strlen(clean));
    pthread_mutex_unlock(&mem_mu);
    free(clean);
    return rc;
}

static int mem_list(const char *dir, char ***names_out, size_t *count_out)
{
    char *clean = mem_clean(dir);
    if (clean == NULL)
        return -ENOMEM;
    size_t dl = strlen(clean);
    char **names = NULL;
    size_t count = 0;
    int rc = 0;
    pthread_mutex_lock(&mem_mu);
    mem_entry *self = mem_find(clean);
    if (self != NULL && self->node != NULL)
        rc = -ENOTDIR;
    else if (!mem_is_dir_n(clean, dl))
        rc = -ENOENT;
    else if (mem_n > 0 && (names = malloc(mem_n * sizeof *names)) == NULL)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < mem_n; i++) {
        const char *p = mem_v[i].path;
        size_t up = mem_parent_len(p);
        int inside = up == dl && memcmp(p, clean, dl) == 0 && strcmp(p, clean) != 0;
        if (dl == 0 && up == 0 && p[0] != '/')
            inside = 1; /* a relative name in "." */
        if (!inside)
            continue;
        const char *name = p + up + (p[up] == '/');
        if ((names[count] = strdup(name)) == NULL)
            rc = -ENOMEM;
        else
            count++;
    }
    pthread_mutex_unlock(&mem_mu);
    free(clean);
    if (rc != 0) {
        io_list_free(names, count);
        return rc;
    }
    *names_out = names;
    *count_out = count;
    return 0;
}

static int mem_lock_path(const char *path, int exclusive, io_lock **out)
{
    mem_lock *l = calloc(1, sizeof *l);
    char *copy = strdup(path);
    if (l == NULL || copy == NULL) {
        free(l);
        free(copy);
        return -ENOMEM;
    }
    io_file *f = NULL;
    pthread_mutex_lock(&mem_mu);
    /* The lock file is made if need be, as flock's open makes it. */
    int rc = mem_open_locked(path, IO_WRITE | IO_CREATE, &f);
    mem_node *node = rc == 0 ? ((mem_file *)f)->node : NULL;
    if (rc == 0 && node->locks > 0 && (exclusive || node->exclusive))
        rc = -EWOULDBLOCK;
    if (rc == 0) {
        node->locks++;
        node->exclusive |= exclusive;
        node->refs++; /* the lock's own hold on the file */
    }
    pthread_mutex_unlock(&mem_mu);
    if (f != NULL)
        mem_close(f);
    if (rc != 0) {
        free(l);
        free(copy);
        return rc;
    }
    l->base.ops = &io_mem_ops;
    l->base.path = copy;
    l->node = node;
    l->exclusive = exclusive;
    *out = &l->base;
    return 0;
}

static int mem_unlock(io_lock *lock)
{
    mem_lock *l = (mem_lock *)lock;
    pthread_mutex_lock(&mem_mu);
    if (--l->node->locks == 0)
        l->node->exclusive = 0;
    mem_node_unref(l->node);
    pthread_mutex_unlock(&mem_mu);
    free(l->base.path);
    free(l);
    return 0;
}

static int mem_space(const char *dir, uint64_t *avail, uint64_t *total)
{
    (void)dir;
    *avail = *total = UINT64_MAX / 2;
    return 0;
}

const io_ops io_mem_ops = {
    .name = "mem",
    .open = mem_open,
    .append = mem_append,
    .read_at = mem_read_at,
    .sync = mem_sync,
    .truncate = mem_truncate,
    .size = mem_size,
    .close = mem_close,
    .sync_dir = mem_sync_dir,
    .rename = mem_rename,
    .unlink = mem_unlink,
    .mkdir = mem_mkdir,
    .exists = mem_exists,
    .list = mem_list,
    .lock = mem_lock_path,
    .unlock = mem_unlock,
    .map = mem_map,
    .unmap = mem_unmap,
    .space = mem_space,
};

/* ---- for harnesses --------------------------------------------------------- */

int io_mem_put(const char *path, const void *bytes, size_t n)
{
    char *clean = mem_clean(path);
    if (clean == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&mem_mu);
    int rc = 0;
    size_t up = mem_parent_len(clean);
    if (!mem_is_dir_n(clean, up)) {
        char *parent = strndup(clean, up);
        rc = parent == NULL ? -ENOMEM : mem_mkdir_locked(parent, 1);
        rc = rc == -EEXIST ? 0 : rc;
    }
    mem_entry *e = rc == 0 ? mem_find(clean) : NULL;
    mem_node *node = NULL;
    if (rc == 0 && e != NULL && e->node == NULL)
        rc = -EISDIR;
    else if (rc == 0 && e != NULL)
        node = e->node;
    else if (rc == 0) {
        rc = mem_create(clean, &node); /* (takes clean, even on failure) */
        clean = NULL;
    }
    if (rc == 0 && (rc = mem_reserve(node, n)) == 0) {
        if (n > 0)
            memcpy(node->p, bytes, n);
        node->len = n;
    }
    pthread_mutex_unlock(&mem_mu);
    free(clean);
    return rc;
}

int io_mem_get(const char *path, const uint8_t **bytes, size_t *n)
{
    char *clean = mem_clean(path);
    if (clean == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&mem_mu);
    mem_entry *e = mem_find(clean);
    int rc = e == NULL || e->node == NULL ? -ENOENT : 0;
    if (rc == 0) {
        *bytes = e->node->p;
        *n = e->node->len;
    }
    pthread_mutex_unlock(&mem_mu);
    free(clean);
    return rc;
}

void io_mem_reset(void)
{
    pthread_mutex_lock(&mem_mu);
    while (mem_n > 0)
        mem_remove(&mem_v[mem_n - 1]);
    free(mem_v);
    mem_v = NULL;
    mem_cap = 0;
    pthread_mutex_unlock(&mem_mu);
}
