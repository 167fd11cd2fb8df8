/*
 * io_mount.c: the table of open databases' directories and their backends
 * (see io_mount.h).
 */
#include "io_mount.h"
#ifndef __EMSCRIPTEN__
#include "io_posix_file.h"
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "io_ring.h"
#include "kv.h"

struct io_mount {
    char *dir;            /* without trailing slashes ("/" stays "/") */
    size_t len;
    const io_ops *ops;    /* io_ring_ops() or &io_posix_ops */
    char why[240];        /* with POSIX's: why ("asked: ...", "fallback: ...") */
    int attached;
    io_mount *next;
};

static pthread_mutex_t mount_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t mount_once = PTHREAD_ONCE_INIT;
static io_mount *mounts;

/* A fork while another thread holds the lock would leave the child's copy
 * locked for good: the fork waits for it (M3: it is held briefly). */
static void mount_fork_prepare(void) { pthread_mutex_lock(&mount_lock); }
static void mount_fork_done(void) { pthread_mutex_unlock(&mount_lock); }
static void mount_init_once(void)
{
    pthread_atfork(mount_fork_prepare, mount_fork_done, mount_fork_done);
}

/* dir's length without trailing slashes (but "/" keeps its one). */
static size_t mount_dir_len(const char *dir)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    return len;
}

/* KV_IO's value as a KV_IO_*, or -1 if it is none. */
static int mount_parse_env(const char *env)
{
    if (strcmp(env, "auto") == 0)
        return KV_IO_AUTO;
    if (strcmp(env, "posix") == 0)
        return KV_IO_POSIX;
    if (strcmp(env, "uring") == 0)
        return KV_IO_URING;
    return -1;
}

int io_mount_new(const char *dir, int asked, const char *env, io_mount **out)
{
    *out = NULL;
    if (asked != KV_IO_AUTO && asked != KV_IO_POSIX && asked != KV_IO_URING)
        return kv_error(KV_ERR_INVALID, "kv_open %s: kv_options.io is %d (want KV_IO_AUTO, "
                        "KV_IO_POSIX or KV_IO_URING)", dir, asked);
    const char *by = "kv_options.io";
    char by_env[32];
    if (env != NULL && env[0] != '\0') {
        if ((asked = mount_parse_env(env)) < 0)
            return kv_error(KV_ERR_INVALID, "kv_open %s: the environment variable KV_IO is "
                            "'%.40s' (want auto, posix or uring)", dir, env);
        snprintf(by_env, sizeof by_env, "KV_IO=%s", env);
        by = by_env;
    }
    pthread_once(&mount_once, mount_init_once);
    io_mount *m = calloc(1, sizeof *m);
    size_t len = mount_dir_len(dir);
    if (m == NULL || (m->dir = strndup(dir, len)) == NULL) {
        free(m);
        return kv_error(KV_ERR_NOMEM, "kv_open %s: out of memory", dir);
    }
    m->len = len;
    m->ops = &io_posix_ops;
    char refused[200];
    if (asked == KV_IO_POSIX) {
        snprintf(m->why, sizeof m->why, "asked: %s", by);
    } else if (io_ring_usable(refused, sizeof refused)) {
        m->ops = io_ring_ops();
    } else if (asked == KV_IO_URING) {
        io_mount_free(m);
        return kv_error(KV_ERR_IO, "kv_open %s: io_uring asked for (%s) and refused: %s", dir,
                        by, refused);
    } else {
        snprintf(m->why, sizeof m->why, "fallback: %s", refused);
    }
    *out = m;
    return KV_OK;
}

void io_mount_attach(io_mount *m)
{
    pthread_mutex_lock(&mount_lock);
    m->next = mounts;
    mounts = m;
    m->attached = 1;
    pthread_mutex_unlock(&mount_lock);
}

void io_mount_free(io_mount *m)
{
    if (m == NULL)
        return;
    if (m->attached) {
        pthread_mutex_lock(&mount_lock);
        for (io_mount **p = &mounts; *p != NULL; p = &(*p)->next)
            if (*p == m) {
                *p = m->next;
                break;
            }
        pthread_mutex_unlock(&mount_lock);
    }
    free(m->dir);
    free(m);
}

/* io_mount_describe of a mount's backend and reason. */
static void mount_describe(const io_ops *ops, const char *why, char *buf, size_t n)
{
    char refused[200];
    if (ops != &io_posix_ops && !io_ring_usable(refused, sizeof refused))
        snprintf(buf, n, "posix (fallback: %s)", refused); /* M1 */
    else if (ops != &io_posix_ops)
        snprintf(buf, n, "uring");
    else
        snprintf(buf, n, "posix (%s)", why);
}

void io_mount_describe(const io_mount *m, char *buf, size_t n)
{
    mount_describe(m->ops, m->why, buf, n);
}

int io_mount_describe_dir(const char *dir, char *buf, size_t n)
{
    size_t len = mount_dir_len(dir);
    const io_ops *ops = NULL;
    char why[sizeof ((io_mount *)0)->why];
    pthread_mutex_lock(&mount_lock);
    for (const io_mount *m = mounts; m != NULL && ops == NULL; m = m->next)
        if (m->len == len && memcmp(m->dir, dir, len) == 0) {
            ops = m->ops;
            memcpy(why, m->why, sizeof why);
        }
    pthread_mutex_unlock(&mount_lock);
    if (ops != NULL)
        mount_describe(ops, why, buf, n);
    return ops != NULL;
}

/* Whether path is inside m's directory. */
static int mount_holds(const io_mount *m, const char *path)
{
    if (strncmp(path, m->dir, m->len) != 0)
        return 0;
    return path[m->len] == '/' || (m->len == 1 && m->dir[0] == '/' && path[1] != '\0');
}

/* The backend of a file in no open database's directory: KV_IO's choice,
 * else io_uring where it works.  It never fails: a KV_IO that names no
 * backend, or io_uring refused, is the POSIX calls here, and kv_open is
 * where such a choice is refused out loud. */
static const io_ops *mount_unmounted_ops(void)
{
    const char *env = getenv("KV_IO");
    char why[8];
    if (env != NULL && strcmp(env, "posix") == 0)
        return &io_posix_ops;
    return io_ring_usable(why, sizeof why) ? io_ring_ops() : &io_posix_ops;
}

int io_mount_open(const char *path, int flags, io_file **f)
{
    const io_ops *ops = NULL;
    size_t best = 0;
    pthread_once(&mount_once, mount_init_once);
    pthread_mutex_lock(&mount_lock);
    for (const io_mount *m = mounts; m != NULL; m = m->next)
        if (m->len >= best && mount_holds(m, path)) {
            ops = m->ops;
            best = m->len;
        }
    pthread_mutex_unlock(&mount_lock);
    if (ops == NULL)
        ops = mount_unmounted_ops();
    return ops->open(path, flags, f);
}

#ifndef __EMSCRIPTEN__ /* (a WebAssembly build's is io_posix_wasm.c's) */
/* The table in place at start (io.h): POSIX's calls, except that a file is
 * opened by the backend its database chose (io_mount.h), whose table the
 * file then carries; so these entries serve only files opened through a
 * copy of this table (a test's wrapper: they are POSIX's files then, or
 * io_uring's, whose single calls are POSIX's too). */
const io_ops io_default_ops = {
    .name = "default",
    .open = io_mount_open,
    IO_POSIX_FILE_OPS,
};
#endif
