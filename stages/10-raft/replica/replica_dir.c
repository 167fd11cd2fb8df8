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

char *replica_dir_engine(const char *dir, int gen)
{
    return io_join(dir, engine_names[gen != 0]);
}

int replica_dir_read(const char *dir, int *gen)
{
    *gen = -1;
    char *path = io_join(dir, REPLICA_FILE);
    if (path == NULL)
        return KV_ERR_NOMEM;
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
    char line[16];
    int n = snprintf(line, sizeof line, "%s\n", engine_names[gen != 0]);
    return io_replace(dir, REPLICA_FILE, line, (size_t)n, NULL);
}

int replica_dir_hold(const char *dir, int gen)
{
    int named = -1, rc = replica_dir_read(dir, &named);
    return rc != KV_OK ? rc : named == gen ? io_sync_dir(dir) : replica_dir_write(dir, gen);
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
        char *file = io_join(path, names[i]);
        rc = file != NULL ? io_unlink(file) : KV_ERR_NOMEM;
        free(file);
    }
    io_list_free(names, n);
    return rc == KV_OK ? io_sync_dir(path) : rc;
}
