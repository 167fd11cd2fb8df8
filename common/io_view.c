/*
 * io_view.c: an io_file over a mapping of another (io_view.h).
 */
#include "io_view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kv.h"

typedef struct io_view {
    io_file base;           /* first: an io_view is an io_file */
    io_file *of;            /* the file mapped (not owned) */
    const uint8_t *p;       /* its n bytes, mapped */
    uint64_t n;
} io_view;

static long view_read_at(io_file *f, uint64_t off, void *buf, size_t n)
{
    const io_view *v = (const io_view *)f;
    if (off >= v->n)
        return 0; /* the file ended there when it was mapped */
    size_t k = n < v->n - off ? n : (size_t)(v->n - off);
    memcpy(buf, v->p + off, k);
    return (long)k;
}

static int view_size(io_file *f, uint64_t *size)
{
    *size = ((const io_view *)f)->n;
    return 0;
}

static int view_close(io_file *f)
{
    io_view *v = (io_view *)f;
    io_unmap(v->of, v->p, v->n);
    free(v->base.path);
    free(v);
    return 0;
}

/* What a view does not do. */
static long view_append(io_file *f, const struct iovec *iov, int iovcnt)
{
    (void)f, (void)iov, (void)iovcnt;
    return -EBADF;
}
static int view_sync(io_file *f) { (void)f; return -EBADF; }
static int view_truncate(io_file *f, uint64_t size) { (void)f, (void)size; return -EBADF; }

static const io_ops io_view_ops = {
    .name = "view",
    .append = view_append,
    .read_at = view_read_at,
    .sync = view_sync,
    .truncate = view_truncate,
    .size = view_size,
    .close = view_close,
};

int io_view_open(io_file *f, io_file **view)
{
    *view = NULL;
    const void *p = NULL;
    uint64_t n = 0;
    int rc = io_map(f, &p, &n);
    if (rc != KV_OK || p == NULL)
        return rc;
    io_view *v = calloc(1, sizeof *v);
    char *path = strdup(io_path(f));
    if (v == NULL || path == NULL) {
        free(v);
        free(path);
        io_unmap(f, p, n);
        return kv_error(KV_ERR_NOMEM, "%s: no memory for a view of it", io_path(f));
    }
    v->base.ops = &io_view_ops;
    v->base.path = path;
    v->base.end = n;
    v->of = f;
    v->p = p;
    v->n = n;
    *view = &v->base;
    return KV_OK;
}
