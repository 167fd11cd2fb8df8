/*
 * batchlog.c: the engine of batchlog.h: a sorted map in memory, the log
 * on disk, and the loop that answers what has arrived as one batch (its
 * writes appended as a record each, one fsync, then every reply).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batchlog.h"

#define HEAD 20 /* hcrc, len, bcrc, start */

/* ---- bytes ------------------------------------------------------------- */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

/* Room for `more` bytes after the n held. */
static void buf_reserve(buf *b, size_t more)
{
    if (b->n + more <= b->cap)
        return;
    b->cap = 2 * (b->n + more) + 256;
    b->p = realloc(b->p, b->cap);
    if (b->p == NULL) {
        fputs("batchlog: out of memory\n", stderr);
        exit(2);
    }
}

static void buf_add(buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n > 0)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void buf_u32(buf *b, uint32_t v)
{
    unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24)};
    buf_add(b, le, 4);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    static uint32_t table[256];
    if (table[1] == 0)
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* ---- the map: keys in unsigned byte order, a prefix first --------------- */

typedef struct entry {
    unsigned char *k, *v;
    size_t kn, vn;
} entry;

static entry *map;
static size_t map_n, map_cap;

static int key_cmp(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c != 0 ? c : an < bn ? -1 : an > bn;
}

/* The index of the first key >= k; *found if it is k. */
static size_t map_find(const unsigned char *k, size_t kn, int *found)
{
    size_t lo = 0, hi = map_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp(map[mid].k, map[mid].kn, k, kn) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < map_n && key_cmp(map[lo].k, map[lo].kn, k, kn) == 0;
    return lo;
}

static unsigned char *copy_of(const unsigned char *p, size_t n)
{
    unsigned char *c = malloc(n + 1);
    if (c == NULL) {
        fputs("batchlog: out of memory\n", stderr);
        exit(2);
    }
    if (n > 0)
        memcpy(c, p, n);
    return c;
}

static void map_set(const unsigned char *k, size_t kn, const unsigned char *v, size_t vn)
{
    int found;
    size_t i = map_find(k, kn, &found);
    if (found) {
        free(map[i].v);
        map[i].v = copy_of(v, vn);
        map[i].vn = vn;
        return;
    }
    if (map_n == map_cap) {
        map_cap = map_cap ? 2 * map_cap : 64;
        map = realloc(map, map_cap * sizeof *map);
        if (map == NULL) {
            fputs("batchlog: out of memory\n", stderr);
            exit(2);
        }
    }
    memmove(map + i + 1, map + i, (map_n - i) * sizeof *map);
    map[i] = (entry){copy_of(k, kn), copy_of(v, vn), kn, vn};
    map_n++;
}

static int map_del(const unsigned char *k, size_t kn)
{
    int found;
    size_t i = map_find(k, kn, &found);
    if (!found)
        return 0;
    free(map[i].k);
    free(map[i].v);
    memmove(map + i, map + i + 1, (map_n - i - 1) * sizeof *map);
    map_n--;
    return 1;
}

/* ---- records ------------------------------------------------------------- */

int batchlog_whole(const unsigned char *log, size_t len, size_t pos, uint64_t *start)
{
    if (pos > len || len - pos < HEAD || crc32_of(log + pos + 4, HEAD - 4) != get_u32(log + pos))
        return 0;
    uint32_t n = get_u32(log + pos + 4);
    if (len - pos - HEAD < n || crc32_of(log + pos + HEAD, n) != get_u32(log + pos + 8))
        return 0;
    if (start != NULL)
        *start = (uint64_t)get_u32(log + pos + 12) | (uint64_t)get_u32(log + pos + 16) << 32;
    return 1;
}

/* One record of body (ops) whose sync began at start. */
static void record_add(buf *out, const buf *body, uint64_t start)
{
    buf head = {0};
    buf_u32(&head, (uint32_t)body->n);
    buf_u32(&head, crc32_of(body->p, body->n));
    buf_u32(&head, (uint32_t)start);
    buf_u32(&head, (uint32_t)(start >> 32));
    buf_u32(out, crc32_of(head.p, head.n));
    buf_add(out, head.p, head.n);
    buf_add(out, body->p, body->n);
    free(head.p);
}

static void op_add(buf *body, char op, const unsigned char *k, size_t kn, const unsigned char *v,
                   size_t vn)
{
    unsigned char c = (unsigned char)op;
    buf_add(body, &c, 1);
    buf_u32(body, (uint32_t)kn);
    buf_u32(body, (uint32_t)vn);
    buf_add(body, k, kn);
    buf_add(body, v, vn);
}

/* A record's ops applied to the map; -1 if they do not tile its body. */
static int record_apply(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (n - i < 9)
            return -1;
        uint32_t kn = get_u32(p + i + 1), vn = get_u32(p + i + 5);
        if (n - i - 9 < (size_t)kn + vn)
            return -1;
        const unsigned char *k = p + i + 9;
        if (p[i] == 'S')
            map_set(k, kn, k + kn, vn);
        else
            map_del(k, kn);
        i += 9 + (size_t)kn + vn;
    }
    return 0;
}

/* ---- the steps ------------------------------------------------------------- */

static int step_sync_file(int fd)
{
    return fsync(fd);
}

static int step_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int step_append(const batchlog_steps *st, int fd, const unsigned char *bytes, size_t len)
{
    return write_all(fd, bytes, len) == 0 ? st->sync_file(fd) : -1;
}

static int step_torn(const unsigned char *log, size_t len, size_t bad)
{
    uint64_t start;
    for (size_t q = bad + 1; q + HEAD <= len; q++)
        if (batchlog_whole(log, len, q, &start) && start > bad)
            return 0; /* a sync that began after the damage completed */
    return 1;
}

static int step_cut(const batchlog_steps *st, int fd, size_t good)
{
    return ftruncate(fd, (off_t)good) == 0 ? st->sync_file(fd) : -1;
}

const batchlog_steps batchlog_correct = {step_sync_file, step_sync_dir, step_append, step_torn,
                                         step_cut};

/* ---- opening ------------------------------------------------------------- */

static int log_failed(const char *path, const char *doing)
{
    fprintf(stderr, "batchlog: %s %s: %s\n", doing, path, strerror(errno));
    return -1;
}

/* The log opened, replayed into the map, its torn tail cut off: the
 * descriptor, or -1 (refused or failed: said on standard error). */
static int log_open(const char *dir, const batchlog_steps *st)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data.log", dir);
    int fd = open(path, O_RDWR | O_APPEND);
    if (fd < 0 && errno == ENOENT) {
        int made = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (made < 0 || close(made) != 0 || st->sync_dir(dir) != 0)
            return log_failed(path, "cannot create");
        fd = open(path, O_RDWR | O_APPEND);
    }
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0)
        return log_failed(path, "cannot open");
    size_t len = (size_t)sb.st_size, pos = 0;
    unsigned char *log = malloc(len + 1);
    if (log == NULL || pread(fd, log, len, 0) != (ssize_t)len) {
        free(log);
        return log_failed(path, "cannot read");
    }
    while (pos < len) {
        if (!batchlog_whole(log, len, pos, NULL)) {
            if (!st->torn(log, len, pos)) {
                fprintf(stderr, "data.log: a bad record at byte %zu, before a sync that "
                                "completed: damage to durable bytes\n", pos);
                free(log);
                return -1;
            }
            break; /* the last sync's writes, torn by a power cut: never acknowledged */
        }
        uint32_t n = get_u32(log + pos + 4);
        if (record_apply(log + pos + HEAD, n) != 0) {
            fprintf(stderr, "data.log: the record at byte %zu has ops that do not fit it\n", pos);
            free(log);
            return -1;
        }
        pos += HEAD + n;
    }
    free(log);
    return st->cut(st, fd, pos) == 0 ? fd : log_failed(path, "cannot cut the torn tail off");
}

/* ---- requests ---------------------------------------------------------------- */

typedef struct req {
    size_t argc;
    const unsigned char *arg[64];
    size_t len[64];
} req;

#define MORE (-1) /* the bytes end before the request does */
#define BAD (-2)  /* not a request */

/* A number ended by \r\n at p: its value and *end past it, MORE or BAD. */
static long parse_num(const unsigned char *p, const unsigned char *limit, const unsigned char **end)
{
    long v = 0;
    const unsigned char *q = p;
    while (q < limit && *q >= '0' && *q <= '9' && v < 100000000)
        v = v * 10 + (*q++ - '0');
    if (limit - q < 2)
        return MORE;
    if (q == p || q[0] != '\r' || q[1] != '\n')
        return BAD;
    *end = q + 2;
    return v;
}

/* A whole request at [p, limit): its length, 0 if more must come, -1 if
 * it is not a request. */
static long req_parse(const unsigned char *p, const unsigned char *limit, req *r)
{
    const unsigned char *q;
    if (p == limit)
        return 0;
    if (*p != '*')
        return -1;
    long argc = parse_num(p + 1, limit, &q);
    if (argc == MORE)
        return 0;
    if (argc == BAD || argc == 0 || argc > 64)
        return -1;
    r->argc = (size_t)argc;
    for (size_t i = 0; i < r->argc; i++) {
        if (q == limit)
            return 0;
        if (*q != '$')
            return -1;
        long n = parse_num(q + 1, limit, &q);
        if (n < 0)
            return n == MORE ? 0 : -1;
        if (limit - q < n + 2)
            return 0;
        r->arg[i] = q;
        r->len[i] = (size_t)n;
        q += n + 2;
    }
    return (long)(q - p);
}

static int is(const req *r, const char *cmd, size_t argc)
{
    size_t n = strlen(cmd);
    if (r->argc != argc || r->len[0] != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((r->arg[0][i] & ~0x20) != cmd[i])
            return 0;
    return 1;
}

static void bulk(buf *out, const unsigned char *p, size_t n)
{
    char head[32];
    int hn = snprintf(head, sizeof head, "$%zu\r\n", n);
    buf_add(out, head, (size_t)hn);
    buf_add(out, p, n);
    buf_add(out, "\r\n", 2);
}

/* Answers r into out, applies its writes to the map, and adds them to
 * body (the ops of its record). */
static void answer(const req *r, buf *out, buf *body)
{
    if (is(r, "GET", 2)) {
        int found;
        size_t i = map_find(r->arg[1], r->len[1], &found);
        if (found)
            bulk(out, map[i].v, map[i].vn);
        else
            buf_add(out, "$-1\r\n", 5);
    } else if (is(r, "SET", 3) || (r->argc >= 3 && r->argc % 2 == 1 && is(r, "MSET", r->argc))) {
        for (size_t i = 1; i + 1 < r->argc; i += 2) {
            op_add(body, 'S', r->arg[i], r->len[i], r->arg[i + 1], r->len[i + 1]);
            map_set(r->arg[i], r->len[i], r->arg[i + 1], r->len[i + 1]);
        }
        buf_add(out, "+OK\r\n", 5);
    } else if (is(r, "DEL", 2)) {
        int had = map_del(r->arg[1], r->len[1]);
        if (had)
            op_add(body, 'D', r->arg[1], r->len[1], NULL, 0);
        buf_add(out, had ? ":1\r\n" : ":0\r\n", 4);
    } else if (is(r, "RANGE", 4)) {
        int found;
        size_t i = map_find(r->arg[1], r->len[1], &found), limit = 0, count = 0;
        for (size_t j = 0; j < r->len[3] && r->arg[3][j] >= '0' && r->arg[3][j] <= '9'; j++)
            limit = limit * 10 + (size_t)(r->arg[3][j] - '0');
        size_t end = i;
        while (end < map_n && count < limit &&
               (r->len[2] == 0 || key_cmp(map[end].k, map[end].kn, r->arg[2], r->len[2]) < 0))
            end++, count++;
        char head[32];
        int hn = snprintf(head, sizeof head, "*%zu\r\n", 2 * count);
        buf_add(out, head, (size_t)hn);
        for (; i < end; i++) {
            bulk(out, map[i].k, map[i].kn);
            bulk(out, map[i].v, map[i].vn);
        }
    } else {
        buf_add(out, "-ERR unknown command\r\n", 22);
    }
}

int batchlog_main(const char *dir, const batchlog_steps *st)
{
    int fd = log_open(dir, st);
    if (fd < 0)
        return 1;
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return 1;
    uint64_t size = (uint64_t)sb.st_size; /* where the next batch begins */
    buf in = {0}, out = {0}, records = {0}, body = {0};
    size_t used = 0;
    for (;;) {
        buf_reserve(&in, 65536);
        ssize_t got = read(0, in.p + in.n, in.cap - in.n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        in.n += (size_t)got;
        /* What has arrived is one batch: every whole request answered,
         * its writes a record each, one sync, then every reply. */
        req r;
        long n;
        while ((n = req_parse(in.p + used, in.p + in.n, &r)) > 0) {
            body.n = 0;
            answer(&r, &out, &body);
            if (body.n > 0)
                record_add(&records, &body, size);
            used += (size_t)n;
        }
        if (n < 0) {
            fputs("batchlog: a request is not RESP2\n", stderr);
            return 1;
        }
        if (records.n > 0) {
            if (st->append(st, fd, records.p, records.n) != 0) {
                fprintf(stderr, "batchlog: cannot write data.log: %s\n", strerror(errno));
                return 1;
            }
            size += records.n;
            records.n = 0;
        }
        if (out.n > 0 && write_all(1, out.p, out.n) != 0)
            return 1;
        out.n = 0;
        memmove(in.p, in.p + used, in.n - used);
        in.n -= used;
        used = 0;
    }
    close(fd);
    free(in.p);
    free(out.p);
    free(records.p);
    free(body.p);
    return 0;
}
