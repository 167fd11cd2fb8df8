/*
 * io_posix_wasm.c: io_posix.c's counterpart in a WebAssembly build (make
 * wasm, docs/lab.md): the same table, io_posix_ops, over the POSIX calls
 * emscripten's C library emulates on its own file system (in memory, the
 * browser's or node's: MEMFS).  The Makefile builds it instead of
 * io_posix.c for the wasm targets; a native build compiles it to nothing.
 *
 * What differs from io_posix.c, and why:
 *   - No mappings, no holes, no write-behind (map, data_after and
 *     write_behind are NULL, which io.h allows): MEMFS keeps a file as one
 *     array, and IO_GROW's reason (a system call per append) does not
 *     exist when a "system call" is a function call.  IO_GROW files are
 *     appended to with writev like any other.
 *   - There is no device under MEMFS: a sync hands the file's bytes (a
 *     directory's sync, its names) to the page's durable copy, if the page
 *     keeps one ("what a sync makes durable", below), and else has nothing
 *     to wait for.
 *   - Locks: emscripten's flock() grants every request, so the locks are
 *     kept here, in one list for the process (a wasm module is one
 *     process): a second exclusive kv_open of a directory is refused with
 *     KV_ERR_BUSY as it is natively.  Paths are compared as given; the
 *     engines always name a lock by its database's directory joined with
 *     the same file name.
 */
#ifdef __EMSCRIPTEN__

#include "io.h"

#include <dirent.h>
#include <emscripten.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct wasm_file {
    io_file base;
    int fd;
} wasm_file;

static int wasm_open(const char *path, int flags, io_file **out)
{
    int oflags = O_CLOEXEC;
    oflags |= (flags & IO_WRITE) ? (O_RDWR | O_APPEND) : O_RDONLY;
    if (flags & IO_CREATE)
        oflags |= O_CREAT;
    if (flags & IO_EXCL)
        oflags |= O_EXCL;
    if (flags & IO_TRUNC)
        oflags |= O_TRUNC;
    wasm_file *f = calloc(1, sizeof *f);
    char *copy = strdup(path);
    if (f == NULL || copy == NULL) {
        free(f);
        free(copy);
        return -ENOMEM;
    }
    int fd = open(path, oflags, (flags & IO_PRIVATE) ? 0600 : 0644);
    if (fd < 0) {
        int err = errno;
        free(f);
        free(copy);
        return -err;
    }
    f->base.ops = &io_posix_ops;
    f->base.path = copy;
    f->fd = fd;
    *out = &f->base;
    return 0;
}

static long wasm_append(io_file *file, const struct iovec *iov, int iovcnt)
{
    ssize_t n = writev(((wasm_file *)file)->fd, iov, iovcnt);
    return n < 0 ? -errno : (long)n;
}

static long wasm_read_at(io_file *file, uint64_t off, void *buf, size_t n)
{
    ssize_t r = pread(((wasm_file *)file)->fd, buf, n, (off_t)off);
    return r < 0 ? -errno : (long)r;
}

/* ---- what a sync makes durable ----------------------------------------------
 *
 * The lab page keeps a durable copy of each database beside the one in
 * memory (web/src/durable.js, in the browser's storage): what a power cut
 * would leave, so that reloading the page, or its `powercut` command, is
 * one.  These calls tell it what each operation made durable, choosing
 * among what POSIX allows a power cut to leave the outcome that loses the
 * most: a file's bytes are durable as of its last sync only; a name the
 * directory has is durable once the directory is synced (a name created
 * and not yet synced is lost, with its bytes); a rename or unlink is
 * durable at once.  The page says no when its storage refuses the bytes
 * (full): the sync fails with EIO, which the engine reports as it would a
 * disk's.  Without
 * the page (node, the tests) there is no durable copy and they do nothing.
 */
EM_JS(int, wasm_durable_sync, (int fd), {
    if (!Module.kvDurable) return 0;
    var node = FS.getStream(fd).node;
    var path = FS.getPath(node);
    if (FS.analyzePath(path).object !== node) return 0; /* unlinked: nothing to keep */
    return Module.kvDurable.file(path, FS.readFile(path)) ? 0 : 1;
});
EM_JS(int, wasm_durable_dir, (const char *dir), {
    return !Module.kvDurable || Module.kvDurable.dir(UTF8ToString(dir)) ? 0 : 1;
});
EM_JS(void, wasm_durable_rename, (const char *from, const char *to), {
    if (Module.kvDurable) Module.kvDurable.rename(UTF8ToString(from), UTF8ToString(to));
});
EM_JS(void, wasm_durable_unlink, (const char *path), {
    if (Module.kvDurable) Module.kvDurable.unlink(UTF8ToString(path));
});

static int wasm_sync(io_file *file)
{
    return wasm_durable_sync(((wasm_file *)file)->fd) ? -EIO : 0;
}

static int wasm_truncate(io_file *file, uint64_t size)
{
    return ftruncate(((wasm_file *)file)->fd, (off_t)size) < 0 ? -errno : 0;
}

static int wasm_size(io_file *file, uint64_t *size)
{
    struct stat st;
    if (fstat(((wasm_file *)file)->fd, &st) < 0)
        return -errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

static int wasm_close(io_file *file)
{
    wasm_file *f = (wasm_file *)file;
    int rc = close(f->fd) < 0 ? -errno : 0;
    free(f->base.path);
    free(f);
    return rc;
}

static int wasm_sync_dir(const char *dir, int *opened)
{
    struct stat st;
    if (stat(dir, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    *opened = 1;
    return wasm_durable_dir(dir) ? -EIO : 0;
}

static int wasm_rename(const char *from, const char *to)
{
    if (rename(from, to) < 0)
        return -errno;
    wasm_durable_rename(from, to);
    return 0;
}

static int wasm_unlink(const char *path)
{
    if (unlink(path) < 0)
        return -errno;
    wasm_durable_unlink(path);
    return 0;
}

static int wasm_mkdir(const char *path)
{
    return mkdir(path, 0755) < 0 ? -errno : 0;
}

static int wasm_exists(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return 1;
    return errno == ENOENT ? 0 : -errno;
}

static int wasm_list(const char *dir, char ***names_out, size_t *count_out)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    char **names = NULL;
    size_t count = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **grown = realloc(names, ncap * sizeof *names);
            if (grown == NULL) {
                rc = -ENOMEM;
                break;
            }
            names = grown;
            cap = ncap;
        }
        if ((names[count] = strdup(e->d_name)) == NULL) {
            rc = -ENOMEM;
            break;
        }
        count++;
    }
    closedir(d);
    if (rc < 0) {
        io_list_free(names, count);
        return rc;
    }
    *names_out = names;
    *count_out = count;
    return 0;
}

/* ---- locks: one list for the process -------------------------------------- */

typedef struct wasm_lock {
    io_lock base;
    int exclusive;
    struct wasm_lock *next;
} wasm_lock;

static pthread_mutex_t wasm_locks_mutex = PTHREAD_MUTEX_INITIALIZER;
static wasm_lock *wasm_locks;

static int wasm_lock_take(const char *path, int exclusive, io_lock **out)
{
    /* The lock file exists, as natively (kv check lists what is there). */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 && !exclusive && (errno == EACCES || errno == EROFS))
        fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    close(fd);
    wasm_lock *l = calloc(1, sizeof *l);
    char *copy = strdup(path);
    if (l == NULL || copy == NULL) {
        free(l);
        free(copy);
        return -ENOMEM;
    }
    pthread_mutex_lock(&wasm_locks_mutex);
    for (const wasm_lock *h = wasm_locks; h != NULL; h = h->next) {
        if (strcmp(h->base.path, path) == 0 && (exclusive || h->exclusive)) {
            pthread_mutex_unlock(&wasm_locks_mutex);
            free(l);
            free(copy);
            return -EWOULDBLOCK;
        }
    }
    l->base.ops = &io_posix_ops;
    l->base.path = copy;
    l->exclusive = exclusive;
    l->next = wasm_locks;
    wasm_locks = l;
    pthread_mutex_unlock(&wasm_locks_mutex);
    *out = &l->base;
    return 0;
}

static int wasm_unlock(io_lock *lock)
{
    wasm_lock *l = (wasm_lock *)lock;
    pthread_mutex_lock(&wasm_locks_mutex);
    for (wasm_lock **p = &wasm_locks; *p != NULL; p = &(*p)->next) {
        if (*p == l) {
            *p = l->next;
            break;
        }
    }
    pthread_mutex_unlock(&wasm_locks_mutex);
    free(l->base.path);
    free(l);
    return 0;
}

/* Every entry but the name (io_default_ops below shares them). */
#define WASM_OPS                                                               \
    .open = wasm_open, .append = wasm_append, .read_at = wasm_read_at,         \
    .sync = wasm_sync, .truncate = wasm_truncate, .size = wasm_size,           \
    .close = wasm_close, .sync_dir = wasm_sync_dir, .rename = wasm_rename,     \
    .unlink = wasm_unlink, .mkdir = wasm_mkdir, .exists = wasm_exists,         \
    .list = wasm_list, .lock = wasm_lock_take, .unlock = wasm_unlock

const io_ops io_posix_ops = {
    .name = "posix (emscripten)",
    WASM_OPS,
};

/* The table in place at start (io.h).  Natively it opens each file with
 * the backend its database chose (io_mount.h); here there is only this
 * one (no io_uring in a WebAssembly build: io_ring.c), so it is this. */
const io_ops io_default_ops = {
    .name = "default",
    WASM_OPS,
};

#endif /* __EMSCRIPTEN__ */
