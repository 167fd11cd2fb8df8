/*
 * file_bytes.c: a whole file in memory (file_bytes.h).
 */
#include "file_bytes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

int file_bytes_open(const char *path, file_bytes *b)
{
    memset(b, 0, sizeof *b);
    int rc = io_open(path, IO_READ, &b->f);
    uint64_t len = 0;
    if (rc == KV_OK)
        rc = io_map(b->f, &b->map, &len);
    if (rc != KV_OK)
        return rc;
    if (b->map != NULL) {
        b->p = b->map;
        b->n = len;
        return KV_OK;
    }
    if ((rc = io_size(b->f, &b->n)) != KV_OK || b->n == 0)
        return rc;
    if (b->n > SIZE_MAX || (b->owned = malloc((size_t)b->n)) == NULL)
        return kv_error(KV_ERR_NOMEM, "%s: cannot hold its %llu bytes in memory", path,
                        (unsigned long long)b->n);
    size_t got = 0;
    rc = io_read_at(b->f, 0, b->owned, (size_t)b->n, &got);
    b->n = got;
    b->p = b->owned;
    return rc;
}

void file_bytes_close(file_bytes *b)
{
    io_unmap(b->f, b->map, b->n);
    io_close(b->f);
    free(b->owned);
    memset(b, 0, sizeof *b);
}
