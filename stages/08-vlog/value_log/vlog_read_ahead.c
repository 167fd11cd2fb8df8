/*
 * vlog_read_ahead.c: many values read together (value_store_load_many,
 * for kv_multi_get) or told ahead (value_store_read_ahead, for a scan's
 * window: stage 04's lsm_iter_ahead.c).  A scan walks keys in order, and
 * their values are wherever the logs took them: one read per value, each
 * waiting for the one before, is the cost WiscKey's range queries pay, and
 * its answer is to ask for the next values together so that the device
 * works on them at once.
 *
 * Two ways, by how the store reads a file (file_cache.h):
 *   - a mapped file: in a long batch every value's pages are asked for
 *     first (posix_madvise, WILLNEED: the kernel starts those reads and
 *     does not wait).  Then load_many copies and checks each value, by
 *     then mostly read; read_ahead stops there, its file kept held in the
 *     value's buffer: each value is copied and checked when the scan asks
 *     for it (value_store_load, through that file), so a scan copies no
 *     value it does not return, and a key-only scan none at all (the
 *     window lets go of the files of those never asked for:
 *     value_store_let_go);
 *   - a file read with calls: every range is one request of one
 *     io_read_batch, one submission where io_uring is there (io.h), read
 *     now by both (alone later, each would wait for its own call).
 * Each value read is checked as value_store_load checks it, with the same
 * errors, and a value that fails fails alone (its rcs[i]).  A first
 * reading skips this file.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "value_log.h"

/* A batch this long asks the kernel for its mapped values' pages: a call
 * per value, which a value in the page cache does not need (it costs as
 * much as the copy), and one on a cold disk does (the reads go on
 * together).  A shorter batch, a seek's first steps, only copies. */
#define VLOG_ADVISE_MIN 16

/* Asks the kernel for [off, off + n) of the mapping at map. */
static void vlog_will_need(const uint8_t *map, uint64_t off, size_t n)
{
#ifdef POSIX_MADV_WILLNEED
    long page = sysconf(_SC_PAGESIZE);
    uint64_t p = page > 0 ? (uint64_t)page : 4096;
    uint64_t from = off / p * p;
    (void)posix_madvise((void *)(map + from), (size_t)(off + n - from), POSIX_MADV_WILLNEED);
#else
    (void)map, (void)off, (void)n;
#endif
}

size_t value_store_value_size(value_store *vs, const uint8_t *where, size_t wlen)
{
    (void)vs;
    vlog_where w;
    const char *why = NULL;
    return vlog_where_decode(where, wlen, &w, &why) == 0 ? w.len : 0;
}

typedef struct ahead_read {
    vlog_where w;
    file_cache_handle *h;
    const uint8_t *map;     /* the file's mapping, or NULL: read with a call */
    uint64_t map_len;
} ahead_read;

/* n values read together (defer_mapped 0), or, with defer_mapped, only
 * the pages of those in mapped files asked for (value_store_read_ahead). */
static int vlog_read_many(value_store *vs, size_t n, const uint8_t *const where[],
                          const size_t wlen[], value_buf bufs[], const uint8_t *vals[],
                          size_t vlens[], int rcs[], int defer_mapped)
{
    ahead_read *r = calloc(n ? n : 1, sizeof *r);
    io_read_req *reqs = calloc(n ? n : 1, sizeof *reqs);
    size_t *req_of = calloc(n ? n : 1, sizeof *req_of); /* value i's request + 1, or 0 */
    if (r == NULL || reqs == NULL || req_of == NULL) {
        free(r);
        free(reqs);
        free(req_of);
        int rc = kv_error(KV_ERR_NOMEM, "value log: out of memory to read %zu values", n);
        for (size_t i = 0; i < n; i++)
            rcs[i] = rc;
        return rc;
    }
    atomic_fetch_add_explicit(&vs->ahead_batches, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&vs->ahead_values, n, memory_order_relaxed);
    /* Each value's place, its file held, its pages asked for. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        ahead_read *a = &r[i];
        vals[i] = NULL;
        vlens[i] = 0;
        rcs[i] = vlog_where_of(where[i], wlen[i], &a->w);
        if (rcs[i] == KV_OK)
            rcs[i] = vlog_hold(vs, a->w.file, &a->h);
        if (rcs[i] != KV_OK)
            continue;
        size_t span = (size_t)vlog_span(&a->w);
        a->map = file_cache_map(a->h, &a->map_len);
        if (a->map != NULL && a->w.offset + span <= a->map_len && n >= VLOG_ADVISE_MIN)
            vlog_will_need(a->map, a->w.offset, span);
        if (a->map != NULL && defer_mapped) { /* read when it is asked for */
            value_store_let_go(vs, &bufs[i]);
            bufs[i].held = a->h; /* (through this file) */
            bufs[i].held_at = a->w.file;
            atomic_fetch_add_explicit(&vs->ahead_held, 1, memory_order_relaxed);
            a->h = NULL;
            continue;
        }
        if ((rcs[i] = vlog_buf_room(&bufs[i], a->h, &a->w)) != KV_OK)
            continue;
        if (a->map == NULL) {
            reqs[m] = (io_read_req){.f = file_cache_file(a->h), .off = a->w.offset,
                                    .buf = bufs[i].p, .len = span};
            req_of[i] = ++m;
        }
    }
    /* The ranges read with calls, in one batch. */
    if (m > 0)
        (void)io_read_batch(reqs, m); /* each request's own status below */
    int first = KV_OK;
    for (size_t i = 0; i < n; i++) {
        ahead_read *a = &r[i];
        size_t span = a->h != NULL ? (size_t)vlog_span(&a->w) : 0;
        int read = rcs[i] == KV_OK && !(a->map != NULL && defer_mapped);
        if (read && a->map != NULL) {
            size_t got = a->w.offset < a->map_len
                             ? (size_t)(a->map_len - a->w.offset < span ? a->map_len - a->w.offset
                                                                        : span)
                             : 0;
            memcpy(bufs[i].p, a->map + (a->w.offset < a->map_len ? a->w.offset : 0), got);
            if (got != span)
                rcs[i] = vlog_short(a->h, a->w.offset, span, got);
        } else if (read) {
            const io_read_req *q = &reqs[req_of[i] - 1];
            rcs[i] = io_read_req_error(q);
            if (rcs[i] == KV_OK && q->got != span)
                rcs[i] = vlog_short(a->h, a->w.offset, span, q->got);
        }
        if (read && rcs[i] == KV_OK)
            rcs[i] = vlog_value_check(vs, &a->w, &bufs[i], &vals[i]);
        if (read && rcs[i] == KV_OK)
            vlens[i] = a->w.len;
        if (a->h != NULL)
            file_cache_release(vs->fc, a->h);
        if (rcs[i] != KV_OK && first == KV_OK)
            first = rcs[i];
    }
    free(r);
    free(reqs);
    free(req_of);
    return first;
}

int value_store_load_many(value_store *vs, size_t n, const uint8_t *const where[],
                          const size_t wlen[], value_buf bufs[], const uint8_t *vals[],
                          size_t vlens[], int rcs[])
{
    return vlog_read_many(vs, n, where, wlen, bufs, vals, vlens, rcs, 0);
}

size_t value_store_ahead_min(value_store *vs)
{
    return file_cache_maps(vs->fc) ? VLOG_ADVISE_MIN : 1;
}

int value_store_read_ahead(value_store *vs, size_t n, const uint8_t *const where[],
                           const size_t wlen[], value_buf bufs[], const uint8_t *vals[],
                           size_t vlens[], int rcs[])
{
    return vlog_read_many(vs, n, where, wlen, bufs, vals, vlens, rcs, 1);
}
