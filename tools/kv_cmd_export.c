/*
 * kv_cmd_export.c: `kv DIR export [FILE]` and `kv DIR import [FILE]`, the
 * way a database moves from one stage to another (every stage refuses the
 * others' directories).  The stream's format is in kv_export.h.
 *
 * export writes every key and value of one kv_iter snapshot, in key order,
 * to FILE (or standard output, which must not be a terminal), in chunks of
 * about EXPORT_CHUNK_TARGET bytes.  A one-shot export opens the database
 * read-only.  If writing fails, FILE is removed.
 *
 * import reads a stream from FILE (or standard input) and applies each
 * chunk with one kv_write, after checking the whole chunk: an atomic batch.
 * So a stream cut short or damaged imports every chunk before the damage
 * and nothing of the chunk it is in, and the message names the byte offset
 * and what was imported.  Import only puts: a key in the stream replaces
 * the same key's value in a database that is not empty, and keys not in
 * the stream stay.  Importing the same stream twice gives the same
 * database, so a good copy of a stream completes an import that stopped.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "coding.h"
#include "kv_export.h"
#include "kv_tool.h"

/* ---- export ---- */

typedef struct exporter {
    FILE *out;
    uint8_t *body;
    size_t len, cap;
    uint64_t count;   /* records in the open chunk */
    uint64_t total;   /* records written, all chunks */
    uint64_t chunks;
    uint64_t bytes;   /* stream bytes written */
} exporter;

static int exporter_put(exporter *x, const void *p, size_t n)
{
    if (n > 0 && fwrite(p, 1, n, x->out) != n)
        return -1;
    x->bytes += n;
    return 0;
}

/* Writes the open chunk, if it holds any record. */
static int exporter_flush(exporter *x)
{
    if (x->count == 0)
        return 0;
    uint8_t head[EXPORT_CHUNK_HEADER_SIZE], crc[EXPORT_CRC_SIZE];
    export_chunk_encode(head, EXPORT_CHUNK_RECORDS, x->count, (uint32_t)x->len);
    coding_put_u32(crc, crc32c_value(x->body, x->len));
    if (exporter_put(x, head, sizeof head) != 0 || exporter_put(x, x->body, x->len) != 0 ||
        exporter_put(x, crc, sizeof crc) != 0)
        return -1;
    x->total += x->count;
    x->chunks++;
    x->count = 0;
    x->len = 0;
    return 0;
}

/* Adds a record to the open chunk, closing the chunk once it is big
 * enough.  0; -1 on a write error; -2 out of memory. */
static int exporter_add(exporter *x, const void *key, size_t klen, const void *val,
                        size_t vlen)
{
    size_t need = export_record_size(klen, vlen);
    if (x->len + need > x->cap) {
        size_t cap = x->cap ? x->cap : 64 * 1024;
        while (cap < x->len + need)
            cap *= 2;
        uint8_t *grown = realloc(x->body, cap);
        if (grown == NULL)
            return -2;
        x->body = grown;
        x->cap = cap;
    }
    export_record_encode(x->body + x->len, key, klen, val, vlen);
    x->len += need;
    x->count++;
    return x->len >= EXPORT_CHUNK_TARGET ? exporter_flush(x) : 0;
}

/* Writes the whole stream from a snapshot of t->db.  EXIT_OK, or
 * EXIT_ERROR with a message (errno is kept for a write error). */
static int export_stream(tool *t, exporter *x, const char *name)
{
    uint8_t head[EXPORT_HEADER_SIZE], end[EXPORT_CHUNK_HEADER_SIZE];
    kv_iter *it = NULL;
    int st = kv_iter_new(t->db, &it);
    if (st != KV_OK)
        return tool_fail_status(st);
    int rc = EXIT_OK, w = 0;
    export_header_encode(head);
    if (exporter_put(x, head, sizeof head) != 0)
        w = -1;
    for (kv_iter_seek_first(it); w == 0 && kv_iter_valid(it); kv_iter_next(it)) {
        size_t klen, vlen;
        const void *key = kv_iter_key(it, &klen);
        const void *val = kv_iter_value(it, &vlen);
        if (val == NULL)
            break; /* kv_iter_status says why */
        w = exporter_add(x, key, klen, val, vlen);
    }
    if (w == 0 && (st = kv_iter_status(it)) != KV_OK)
        rc = tool_fail_status(st);
    kv_iter_free(it);
    if (rc == EXIT_OK && w == 0 && (w = exporter_flush(x)) == 0) {
        export_chunk_encode(end, EXPORT_CHUNK_END, x->total, 0);
        w = exporter_put(x, end, sizeof end);
    }
    if (w == 0 && fflush(x->out) != 0)
        w = -1;
    if (w == -2)
        rc = tool_fail("export: out of memory");
    else if (w != 0)
        rc = tool_fail("export: writing %s: %s", name, strerror(errno));
    return rc;
}

static int cmd_export(tool *t, const text_word *args, int nargs)
{
    char *path = NULL;
    if (nargs == 1 && !text_word_is(args[0], "-") && (path = tool_path(args[0])) == NULL)
        return EXIT_ERROR;
    exporter x = {0};
    if (path == NULL) {
        if (t->interactive)
            return tool_fail("export: on standard input, give a FILE to write to");
        if (isatty(STDOUT_FILENO))
            return tool_fail("export: standard output is a terminal; give a FILE, or "
                             "redirect it (kv DIR export > FILE)");
        x.out = stdout;
    } else if ((x.out = fopen(path, "wb")) == NULL) {
        int rc = tool_fail("export: %s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    const char *name = path != NULL ? path : "standard output";
    struct stat st;
    int regular = path != NULL && fstat(fileno(x.out), &st) == 0 && S_ISREG(st.st_mode);
    int rc = export_stream(t, &x, name);
    if (path != NULL) {
        if (rc == EXIT_OK && regular && fsync(fileno(x.out)) != 0)
            rc = tool_fail("export: syncing %s: %s", path, strerror(errno));
        if (fclose(x.out) != 0 && rc == EXIT_OK)
            rc = tool_fail("export: closing %s: %s", path, strerror(errno));
        if (rc != EXIT_OK && regular && remove(path) == 0)
            tool_note("export: removed the incomplete %s", path);
        else if (rc == EXIT_OK)
            printf("exported %llu record%s (%llu chunk%s, %llu bytes) from %s to %s\n",
                   (unsigned long long)x.total, tool_plural(x.total),
                   (unsigned long long)x.chunks, tool_plural(x.chunks),
                   (unsigned long long)x.bytes, t->dir, path);
    }
    free(x.body);
    free(path);
    return rc;
}

/* ---- import ---- */

typedef struct importer {
    FILE *in;
    const char *name;
    uint64_t offset;   /* bytes of the stream read so far */
    uint64_t size;     /* the file's size, or UINT64_MAX if unknown (a pipe) */
    uint8_t *buf;
    size_t cap;
    uint8_t prev[KV_MAX_KEY]; /* the last key imported */
    size_t prev_len;
    uint64_t total, chunks;
} importer;

/* Reads exactly n bytes into buf; the number read (less at end or error). */
static size_t import_read(importer *m, uint8_t *buf, size_t n)
{
    size_t got = n > 0 ? fread(buf, 1, n, m->in) : 0;
    m->offset += got;
    return got;
}

/* The message for damage at stream offset `at`, and what was imported. */
static int import_fail(const importer *m, uint64_t at, const char *what)
{
    if (m->chunks == 0)
        return tool_fail("import: %s: offset %llu: %s; nothing was imported", m->name,
                         (unsigned long long)at, what);
    return tool_fail("import: %s: offset %llu: %s; the %llu record%s of the %llu chunk%s "
                     "before it were imported (each chunk is one atomic batch), nothing "
                     "after.  Importing a good copy of the stream completes it",
                     m->name, (unsigned long long)at, what, (unsigned long long)m->total,
                     tool_plural(m->total), (unsigned long long)m->chunks,
                     tool_plural(m->chunks));
}

/* Applies one checked records chunk (its body in m->buf) as one kv_write. */
static int import_apply(tool *t, importer *m, const export_chunk *c, kv_batch *b,
                        uint64_t at)
{
    const uint8_t *p = m->buf, *end = m->buf + c->body_len;
    export_record r = {0};
    export_error e;
    kv_batch_clear(b);
    for (uint64_t i = 0; i < c->count; i++) {
        if (export_record_decode(&p, end, &r, &e) != 0)
            return import_fail(m, at, e.what); /* export_body_check passed: not reached */
        int st = kv_batch_put(b, r.key, r.klen, r.val, r.vlen);
        if (st != KV_OK)
            return tool_fail_status(st);
    }
    int st = kv_write(t->db, b);
    if (st != KV_OK)
        return tool_fail_status(st);
    memcpy(m->prev, r.key, r.klen);
    m->prev_len = r.klen;
    m->total += c->count;
    m->chunks++;
    return EXIT_OK;
}

/* Reads, checks and applies one chunk; *done is set at the end chunk. */
static int import_chunk(tool *t, importer *m, kv_batch *b, int *done)
{
    uint8_t head[EXPORT_CHUNK_HEADER_SIZE];
    uint64_t at = m->offset;
    export_chunk c;
    export_error e;
    size_t got = import_read(m, head, sizeof head);
    if (got == 0 && !ferror(m->in))
        return import_fail(m, at, "the stream ends here, without its end chunk: it was "
                           "cut short");
    if (ferror(m->in))
        return import_fail(m, m->offset, strerror(errno));
    if (export_chunk_decode(head, head + got, &c, &e) != 0)
        return import_fail(m, at + e.at, e.what);
    if (c.type == EXPORT_CHUNK_END) {
        if (c.count != m->total) {
            snprintf(e.what, sizeof e.what, "the end chunk counts %llu record%s, the stream "
                     "held %llu", (unsigned long long)c.count, tool_plural(c.count),
                     (unsigned long long)m->total);
            return import_fail(m, at + 1, e.what);
        }
        if (fgetc(m->in) != EOF)
            return import_fail(m, m->offset, "bytes after the end chunk: not one stream");
        *done = 1;
        return EXIT_OK;
    }
    uint64_t rest = export_chunk_rest(&c);
    if (m->size != UINT64_MAX && rest > m->size - m->offset) {
        uint64_t left = m->size - m->offset;
        snprintf(e.what, sizeof e.what, "this chunk's header says %llu bytes follow it, "
                 "and the file ends %llu byte%s on: the stream was cut short",
                 (unsigned long long)rest, (unsigned long long)left, tool_plural(left));
        return import_fail(m, at, e.what);
    }
    if (rest > m->cap) {
        uint8_t *grown = realloc(m->buf, rest);
        if (grown == NULL)
            return tool_fail("import: out of memory for a chunk of %llu bytes",
                             (unsigned long long)rest);
        m->buf = grown;
        m->cap = rest;
    }
    if ((got = import_read(m, m->buf, rest)) != rest) {
        if (ferror(m->in))
            return import_fail(m, m->offset, strerror(errno));
        snprintf(e.what, sizeof e.what, "this chunk's header says %llu bytes follow it, "
                 "and the stream ends %zu byte%s on: it was cut short",
                 (unsigned long long)rest, got, tool_plural(got));
        return import_fail(m, at, e.what);
    }
    uint64_t body_at = at + EXPORT_CHUNK_HEADER_SIZE;
    if (export_body_check(m->buf, m->buf + rest, &c, m->prev, m->prev_len, &e) != 0)
        return import_fail(m, body_at + e.at, e.what);
    return import_apply(t, m, &c, b, body_at);
}

/* 1 if the database holds at least one key, 0 if not, -1 on error. */
static int import_db_has_keys(tool *t)
{
    kv_iter *it = NULL;
    int st = kv_iter_new(t->db, &it);
    if (st != KV_OK) {
        tool_fail_status(st);
        return -1;
    }
    kv_iter_seek_first(it);
    int has = kv_iter_valid(it);
    if ((st = kv_iter_status(it)) != KV_OK) {
        tool_fail_status(st);
        has = -1;
    }
    kv_iter_free(it);
    return has;
}

/* Reads and checks the stream's header, then opens the database for
 * writing (only then: a missing or foreign file creates no database), then
 * imports chunk by chunk. */
static int import_stream(tool *t, importer *m)
{
    uint8_t head[EXPORT_HEADER_SIZE];
    export_error e;
    size_t got = import_read(m, head, sizeof head);
    if (ferror(m->in))
        return import_fail(m, m->offset, strerror(errno));
    if (export_header_decode(head, head + got, &e) != 0)
        return import_fail(m, e.at, e.what);
    if (tool_prepare(t, NEED_WRITE) != EXIT_OK)
        return EXIT_ERROR;
    int had_keys = import_db_has_keys(t);
    if (had_keys < 0)
        return EXIT_ERROR;
    kv_batch *b = NULL;
    int st = kv_batch_new(&b);
    if (st != KV_OK)
        return tool_fail_status(st);
    int rc = EXIT_OK, done = 0;
    while (rc == EXIT_OK && !done)
        rc = import_chunk(t, m, b, &done);
    kv_batch_free(b);
    if (rc != EXIT_OK)
        return rc;
    printf("imported %llu record%s (%llu batch%s) from %s into %s\n",
           (unsigned long long)m->total, tool_plural(m->total),
           (unsigned long long)m->chunks, m->chunks == 1 ? "" : "es", m->name, t->dir);
    if (had_keys)
        printf("%s already held keys: the stream's keys replaced their values there, and "
               "its other keys were kept\n", t->dir);
    return EXIT_OK;
}

static int cmd_import(tool *t, const text_word *args, int nargs)
{
    char *path = NULL;
    if (nargs == 1 && !text_word_is(args[0], "-") && (path = tool_path(args[0])) == NULL)
        return EXIT_ERROR;
    if (path == NULL && t->interactive)
        return tool_fail("import: on standard input, give a FILE to read from");
    if (path == NULL && isatty(STDIN_FILENO))
        return tool_fail("import: standard input is a terminal; give a FILE, or redirect "
                         "it (kv DIR import < FILE)");
    importer *m = calloc(1, sizeof *m);
    if (m == NULL) {
        free(path);
        return tool_fail("import: out of memory");
    }
    m->size = UINT64_MAX;
    m->in = path != NULL ? fopen(path, "rb") : stdin;
    m->name = path != NULL ? path : "standard input";
    int rc = EXIT_OK;
    struct stat st;
    if (m->in == NULL)
        rc = tool_fail("import: %s: %s", path, strerror(errno));
    else if (fstat(fileno(m->in), &st) == 0 && S_ISREG(st.st_mode))
        m->size = (uint64_t)st.st_size;
    if (rc == EXIT_OK)
        rc = import_stream(t, m);
    if (path != NULL && m->in != NULL)
        fclose(m->in);
    free(m->buf);
    free(m);
    free(path);
    return rc;
}

/* import opens the database itself, once the stream's header is read. */
const tool_cmd tool_cmds_export[] = {
    {"export", 0, 1, NEED_READ, cmd_export},
    {"import", 0, 1, NEED_NOTHING, cmd_import},
    {NULL, 0, 0, 0, NULL},
};
