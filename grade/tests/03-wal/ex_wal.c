/*
 * ex_wal.c: the helpers of ex_wal.h.
 */
#include "ex_wal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coding.h"
#include "crc32c.h"
#include "exercise.h"
#include "file_header.h"
#include "io.h"

#define BLOCK 32768u
#define HEADER 7u

void ex_wal_fragment(uint8_t *dst, const void *data, uint32_t len, int type)
{
    coding_put_u16(dst + 4, (uint16_t)len);
    dst[6] = (uint8_t)type;
    if (len)
        memmove(dst + HEADER, data, len);
    coding_put_u32(dst, crc32c_value(dst + 4, 3 + len));
}

size_t ex_wal_frame(uint8_t *dst, uint64_t at, const void *p, size_t len)
{
    const uint8_t *data = p;
    uint8_t *q = dst;
    int first = 1;
    for (;;) {
        size_t left = BLOCK - at % BLOCK;
        if (left < HEADER) {
            memset(q, 0, left);
            q += left;
            at += left;
            left = BLOCK;
        }
        size_t n = len < left - HEADER ? len : left - HEADER;
        int last = n == len;
        int type = first && last ? 1 : first ? 2 : last ? 4 : 3;
        ex_wal_fragment(q, data, (uint32_t)n, type);
        q += HEADER + n;
        at += HEADER + n;
        data += n;
        len -= n;
        first = 0;
        if (last)
            return (size_t)(q - dst);
    }
}

size_t ex_wal_put(uint8_t *dst, const char *key, const char *val)
{
    uint8_t *p = dst;
    size_t kl = strlen(key), vl = strlen(val);
    *p++ = 1; /* count */
    *p++ = 1; /* put */
    p = coding_put_varint32(p, (uint32_t)kl);
    p = coding_put_varint32(p, (uint32_t)vl);
    memcpy(p, key, kl);
    memcpy(p + kl, val, vl);
    return (size_t)(p + kl + vl - dst);
}

size_t ex_wal_marker(uint8_t *dst, uint64_t synced_to)
{
    dst[0] = 0;
    coding_put_u64(dst + 1, synced_to);
    return 9;
}

void ex_seg_init(ex_seg *s)
{
    s->cap = 1 << 16;
    s->b = malloc(s->cap);
    EX_CHECK(s->b != NULL, "out of memory");
    file_header_encode(s->b, FILE_MAGIC_WAL03, 1);
    s->n = FILE_HEADER_SIZE;
}

void ex_seg_free(ex_seg *s)
{
    free(s->b);
    s->b = NULL;
    s->n = s->cap = 0;
}

uint64_t ex_seg_add(ex_seg *s, const void *payload, size_t len)
{
    size_t need = s->n + len + 64 + 7 * (len / 32000 + 2);
    if (need > s->cap) {
        while (s->cap < need)
            s->cap *= 2;
        s->b = realloc(s->b, s->cap);
        EX_CHECK(s->b != NULL, "out of memory");
    }
    uint64_t at = s->n;
    s->n += ex_wal_frame(s->b + s->n, s->n, payload, len);
    return at;
}

const char *ex_seg_write(const ex_seg *s)
{
    return ex_write_file("0000000001.log", s->b, s->n);
}

/* ---- the tracing backend ------------------------------------------------------ */

static const io_ops *trace_base;
static io_ops trace_ops;
static int trace_ms;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static char trace_buf[4096];
static size_t trace_len;

static void trace_note(char c)
{
    pthread_mutex_lock(&trace_lock);
    if (trace_len + 1 < sizeof trace_buf) {
        trace_buf[trace_len++] = c;
        trace_buf[trace_len] = '\0';
    }
    pthread_mutex_unlock(&trace_lock);
}

static long trace_append(io_file *f, const struct iovec *iov, int n)
{
    trace_note('A');
    return trace_base->append(f, iov, n);
}

static int trace_sync(io_file *f)
{
    if (trace_ms > 0) {
        struct timespec ts = {0, (long)trace_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    trace_note('S');
    return trace_base->sync(f);
}

static int trace_sync_dir(const char *dir, int *opened)
{
    trace_note('D');
    return trace_base->sync_dir(dir, opened);
}

static int trace_open(const char *path, int flags, io_file **f)
{
    int rc = trace_base->open(path, flags, f);
    if (rc == 0)
        (*f)->ops = &trace_ops;
    return rc;
}

void ex_trace_install(int ms)
{
    trace_ms = ms;
    trace_len = 0;
    trace_buf[0] = '\0';
    trace_base = io_get_ops();
    trace_ops = *trace_base;
    trace_ops.open = trace_open;
    trace_ops.append = trace_append;
    trace_ops.sync = trace_sync;
    trace_ops.sync_dir = trace_sync_dir;
    trace_ops.map = NULL; /* every append through append() */
    io_set_ops(&trace_ops);
}

void ex_trace_uninstall(void) { io_set_ops(trace_base); }

const char *ex_trace_events(void) { return trace_buf; }
