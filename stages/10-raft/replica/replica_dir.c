/*
 * replica_dir.c: DIR/REPLICA and the two engines' directories
 * (replica_dir.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "io.h"
#include "replica_dir.h"

static const char *const engine_names[2] = {"data-a", "data-b"};

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *replica_dir_engine(const char *dir, int gen)
{
    return path_join(dir, engine_names[gen != 0]);
}

int replica_dir_read(const char *dir, int *gen)
{
    *gen = -1;
    char *path = path_join(dir, REPLICA_FILE);
    if (path == NULL)
        return kv_error(KV_ERR_NOMEM, "replica: out of memory");
    int exists = 0;
    int rc = io_exists(path, &exists);
    if (rc != KV_OK || !exists) {
        free(path);
        return rc;
    }
    io_file *f = NULL;
    char line[16];
    size_t got = 0;
    if ((rc = io_open(path, IO_READ, &f)) == KV_OK)
        rc = io_read_at(f, 0, line, sizeof line, &got);
    io_close(f);
    if (rc == KV_OK) {
        for (int g = 0; g < 2; g++)
            if (got == strlen(engine_names[g]) + 1 &&
                memcmp(line, engine_names[g], got - 1) == 0 && line[got - 1] == '\n')
                *gen = g;
        if (*gen < 0)
            rc = kv_error(KV_ERR_CORRUPT, "%s: offset 0: %zu bytes that name no engine "
                          "(\"data-a\\n\" or \"data-b\\n\")", path, got);
    }
    free(path);
    return rc;
}

int replica_dir_write(const char *dir, int gen)
{
    char *path = path_join(dir, REPLICA_FILE);
    char *tmp = path_join(dir, REPLICA_FILE ".tmp");
    int rc = path != NULL && tmp != NULL ? KV_OK
                                         : kv_error(KV_ERR_NOMEM, "replica: out of memory");
    io_file *f = NULL;
    char line[16];
    int n = snprintf(line, sizeof line, "%s\n", engine_names[gen != 0]);
    if (rc == KV_OK)
        rc = io_open(tmp, IO_WRITE | IO_CREATE | IO_TRUNC, &f);
    if (rc == KV_OK)
        rc = io_append_bytes(f, line, (size_t)n);
    if (rc == KV_OK)
        rc = io_sync(f);
    int crc = io_close(f);
    if (rc == KV_OK)
        rc = crc;
    if (rc == KV_OK)
        rc = io_rename(tmp, path);
    if (rc == KV_OK)
        rc = io_sync_dir(dir);
    free(path);
    free(tmp);
    return rc;
}

int replica_dir_clear(const char *path)
{
    int exists = 0;
    int rc = io_exists(path, &exists);
    if (rc != KV_OK || !exists)
        return rc;
    char **names = NULL;
    size_t n = 0;
    if ((rc = io_list(path, &names, &n)) != KV_OK)
        return rc;
    for (size_t i = 0; i < n && rc == KV_OK; i++) {
        char *file = path_join(path, names[i]);
        rc = file != NULL ? io_unlink(file) : kv_error(KV_ERR_NOMEM, "replica: out of memory");
        free(file);
    }
    io_list_free(names, n);
    return rc == KV_OK ? io_sync_dir(path) : rc;
}
