/*
 * segment.c: segment names, reference-counted segment handles and sorted
 * tables of them (see segment.h).
 */
#include "segment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "file_start.h"
#include "io_view.h"
#include "kv.h"
#include "record_io.h"

#define SEGMENT_ID_DIGITS 10

static int segment_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int segment_parse_name(const char *name, uint32_t *id)
{
    if (segment_ends_with(name, SEGMENT_TMP_SUFFIX))
        return SEGMENT_FILE_TMP;
    uint64_t v = 0;
    int i;
    for (i = 0; i < SEGMENT_ID_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return SEGMENT_FILE_OTHER;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    if (v == 0 || v > UINT32_MAX)
        return SEGMENT_FILE_OTHER;
    int kind = strcmp(name + i, SEGMENT_SUFFIX) == 0        ? SEGMENT_FILE_LOG
               : strcmp(name + i, SEGMENT_HINT_SUFFIX) == 0 ? SEGMENT_FILE_HINT
                                                            : SEGMENT_FILE_OTHER;
    if (kind != SEGMENT_FILE_OTHER)
        *id = (uint32_t)v;
    return kind;
}

void segment_name(char *buf, uint32_t id, const char *suffix)
{
    snprintf(buf, SEGMENT_NAME_MAX, "%010u%s", id, suffix);
}

int segment_open(const char *dir, uint32_t id, int flags, segment **out)
{
    char name[SEGMENT_NAME_MAX];
    segment_name(name, id, SEGMENT_SUFFIX);
    segment *s = calloc(1, sizeof *s);
    char *path = io_join(dir, name);
    if (s == NULL || path == NULL || (s->name = strdup(name)) == NULL) {
        free(path);
        if (s)
            free(s->name);
        free(s);
        return kv_error(KV_ERR_NOMEM, "open segment %s/%s: out of memory", dir, name);
    }
    int rc = io_open(path, flags, &s->file);
    free(path);
    if (rc != KV_OK) {
        free(s->name);
        free(s);
        return rc;
    }
    s->id = id;
    s->size = s->file->end;
    s->refs = 1;
    *out = s;
    return KV_OK;
}

int segment_create(const char *dir, uint32_t id, segment **out)
{
    int rc = segment_open(dir, id, IO_WRITE | IO_CREATE | IO_TRUNC, out);
    if (rc == KV_OK && (rc = segment_restart(*out)) != KV_OK) {
        segment_unref(*out);
        *out = NULL;
    }
    return rc;
}

int segment_write_header(io_file *f)
{
    return file_start_write(f, record_file_magic, RECORD_FILE_VERSION);
}

int segment_check_header(io_file *f, uint64_t size)
{
    file_start fs;
    int rc = file_start_read(f, size, record_file_magic, RECORD_FILE_VERSION, &fs);
    if (rc == KV_OK && fs.state != FILE_START_OK)
        rc = kv_error(KV_ERR_CORRUPT, "%s", fs.state == FILE_START_EMPTY
                      ? "a segment of 0 bytes, without its header" : fs.why);
    return rc;
}

int segment_restart(segment *s)
{
    int rc = s->size > 0 ? io_truncate(s->file, 0) : KV_OK;
    if (rc == KV_OK)
        rc = segment_write_header(s->file);
    if (rc == KV_OK)
        rc = io_sync(s->file);
    if (rc == KV_OK) {
        s->size = SEGMENT_START;
        s->live_bytes = SEGMENT_START; /* a header is never garbage */
    }
    return rc;
}

void segment_ref(segment *s) { __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED); }

void segment_unref(segment *s)
{
    if (s == NULL || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    io_close(s->view); /* before the file it maps */
    io_close(s->file); /* read-only use by now: a close error loses nothing */
    free(s->name);
    free(s);
}

void segment_settle(segment *s)
{
    __atomic_store_n(&s->settled, 1, __ATOMIC_RELEASE);
}

io_file *segment_reader(segment *s)
{
    io_file *v = __atomic_load_n(&s->view, __ATOMIC_ACQUIRE);
    if (v != NULL)
        return v;
    if (!__atomic_load_n(&s->settled, __ATOMIC_ACQUIRE) ||
        __atomic_exchange_n(&s->view_tried, 1, __ATOMIC_ACQ_REL))
        return s->file; /* still written to, or asked for already */
    /* One thread gets here per segment.  No view (a backend that cannot
     * map, or no memory) only costs the system call it would save. */
    if (io_view_open(s->file, &v) != KV_OK || v == NULL) {
        kv_error_clear();
        return s->file;
    }
    __atomic_store_n(&s->view, v, __ATOMIC_RELEASE);
    return v;
}

/* Index of the first segment with id >= `id`. */
static size_t segment_table_lower(const segment_table *t, uint32_t id)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->v[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

segment *segment_table_find(const segment_table *t, uint32_t id)
{
    size_t i = segment_table_lower(t, id);
    return i < t->n && t->v[i]->id == id ? t->v[i] : NULL;
}

int segment_table_reserve(segment_table *t, size_t more)
{
    if (t->n + more <= t->cap)
        return KV_OK;
    size_t cap = t->cap ? t->cap : 16;
    while (cap < t->n + more)
        cap *= 2;
    segment **v = realloc(t->v, cap * sizeof *v);
    if (v == NULL)
        return kv_error(KV_ERR_NOMEM, "segment table: no memory for %zu segments", cap);
    t->v = v;
    t->cap = cap;
    return KV_OK;
}

void segment_table_insert(segment_table *t, segment *s)
{
    size_t i = segment_table_lower(t, s->id);
    memmove(t->v + i + 1, t->v + i, (t->n - i) * sizeof *t->v);
    t->v[i] = s;
    t->n++;
}

segment *segment_table_remove(segment_table *t, uint32_t id)
{
    size_t i = segment_table_lower(t, id);
    if (i == t->n || t->v[i]->id != id)
        return NULL;
    segment *s = t->v[i];
    memmove(t->v + i, t->v + i + 1, (t->n - i - 1) * sizeof *t->v);
    t->n--;
    return s;
}

void segment_table_clear(segment_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        segment_unref(t->v[i]);
    free(t->v);
    memset(t, 0, sizeof *t);
}
