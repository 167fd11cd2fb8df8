/*
 * stage_util.c: the helpers of stage_util.h.
 */
#include "stage_util.h"
#include "log_record.h"
#include "segment.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../tests/harness.h"

kv_options stage_options(size_t segment_bytes)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.segment_bytes = segment_bytes;
    return opt;
}

static int stage_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int stage_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dir ending in suffix, sorted; *n of them.  Caller frees. */
static char **stage_list(const char *dir, const char *suffix, size_t *n)
{
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "opendir %s", dir);
    char **names = NULL;
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !stage_ends_with(e->d_name, suffix))
            continue;
        names = realloc(names, (count + 1) * sizeof *names);
        CHECK(names != NULL);
        names[count++] = strdup(e->d_name);
    }
    closedir(d);
    if (count > 1)
        qsort(names, count, sizeof *names, stage_name_cmp);
    *n = count;
    return names;
}

static void stage_list_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

size_t stage_count_files(const char *dir, const char *suffix)
{
    size_t n = 0;
    char **names = stage_list(dir, suffix, &n);
    stage_list_free(names, n);
    return n;
}

const char *stage_nth_file(const char *dir, const char *suffix, size_t i)
{
    size_t n = 0;
    char **names = stage_list(dir, suffix, &n);
    if (i >= n) {
        stage_list_free(names, n);
        harness_fail(__FILE__, __LINE__, "%s has %zu files ending in %s, not %zu", dir, n,
                     suffix, i + 1);
    }
    const char *path = harness_join(dir, names[i]);
    stage_list_free(names, n);
    return path;
}

void stage_empty_dir(const char *dir)
{
    size_t n = 0;
    char **names = stage_list(dir, "", &n);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        CHECK_MSG(remove(path) == 0, "remove %s", path);
    }
    stage_list_free(names, n);
}

long long stage_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

uint64_t stage_suffix_bytes(const char *dir, const char *suffix)
{
    size_t n = 0;
    char **names = stage_list(dir, suffix, &n);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        total += (uint64_t)stage_file_size(path);
    }
    stage_list_free(names, n);
    return total;
}

void stage_flip_byte(const char *path, long long off)
{
    FILE *f = fopen(path, "r+b");
    CHECK_MSG(f != NULL, "open %s", path);
    CHECK(fseek(f, off, SEEK_SET) == 0);
    int c = fgetc(f);
    CHECK(c != EOF);
    CHECK(fseek(f, off, SEEK_SET) == 0);
    fputc(c ^ 0xff, f);
    fclose(f);
}

void stage_append(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "ab");
    CHECK_MSG(f != NULL, "open %s", path);
    CHECK(fwrite(p, 1, n, f) == n);
    fclose(f);
}

void stage_truncate(const char *path, long long size)
{
    CHECK_MSG(truncate(path, size) == 0, "truncate %s", path);
}

void stage_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK_MSG(f != NULL, "create %s", path);
    CHECK(fwrite(p, 1, n, f) == n);
    fclose(f);
}

double stage_stat(kv_db *db, const char *name)
{
    char *text = NULL;
    CHECK_KV(kv_stats(db, &text), KV_OK);
    size_t nl = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
            double v = strtod(p + nl + 1, NULL);
            kv_free(text);
            return v;
        }
    }
    kv_free(text);
    harness_fail(__FILE__, __LINE__, "kv_stats has no line \"%s: ...\"", name);
}

int stage_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

void stage_key(char key[17], unsigned i)
{
    snprintf(key, 17, "key-%012u", i);
}

void stage_value(char *val, size_t vlen, unsigned i, unsigned round)
{
    for (size_t j = 0; j < vlen; j++)
        val[j] = (char)('a' + (i * 7 + round * 13 + j) % 26);
}

uint64_t stage_header_bytes(const char *dir)
{
    return (uint64_t)stage_count_files(dir, ".log") * SEGMENT_START;
}

uint64_t stage_seal_bytes(const char *dir)
{
    size_t logs = stage_count_files(dir, ".log");
    return logs > 0 ? (uint64_t)(logs - 1) * LOG_RECORD_SEAL_SIZE : 0;
}
