/*
 * export_fuzz.c: fuzz harness for the export stream (tools/kv_export.h),
 * the format `kv DIR export` writes and `kv DIR import` reads.
 *
 * The input is decoded as a stream with the bounded decoders, the way
 * import does: header, then chunk by chunk, each body checked before its
 * records are used.  Every error offset must lie inside the bytes given.
 * A header that decodes is the one export_header_encode writes (the
 * format has one spelling).  Each chunk that checks is encoded again from
 * its records; when the whole
 * input is a valid stream, the encoding must be the input, byte for byte
 * (the decoder accepts exactly what the encoder writes).  A valid stream is
 * then put, chunk by chunk with kv_write, into a fresh database of the
 * stage this harness is linked with, and a scan must give back exactly the
 * stream's records, in order.  A crash, a sanitizer report or a broken
 * property fails the run.  Built for each stage (the format is the same;
 * the database under it is not), replayed by `make test` on
 * fuzz/regressions/export/.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coding.h"
#include "crc32c.h"
#include "kv.h"
#include "../tools/kv_export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "export fuzz: invariant broken: %s (%s)\n", what, kv_errmsg());
        abort();
    }
}

static char fuzz_dir[64];

static void fuzz_dir_remove(void)
{
    DIR *d = opendir(fuzz_dir);
    char path[400];
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", fuzz_dir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(fuzz_dir);
}

/* Puts the valid stream's chunks into a fresh database, one kv_write each,
 * and checks that a scan returns the records, in order. */
static void fuzz_import(const uint8_t *data, size_t size, uint64_t total)
{
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/kv-export-fuzz.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    fuzz_check(mkdtemp(fuzz_dir) != NULL, "mkdtemp");
    kv_db *db = NULL;
    kv_batch *b = NULL;
    fuzz_check(kv_open(fuzz_dir, NULL, &db) == KV_OK, "kv_open");
    fuzz_check(kv_batch_new(&b) == KV_OK, "kv_batch_new");
    const uint8_t *p = data + EXPORT_HEADER_SIZE, *limit = data + size;
    export_chunk c;
    export_error e;
    while (export_chunk_decode(p, limit, &c, &e) == 0 && c.type == EXPORT_CHUNK_RECORDS) {
        const uint8_t *q = p + EXPORT_CHUNK_HEADER_SIZE, *end = q + c.body_len;
        kv_batch_clear(b);
        export_record r;
        for (uint64_t i = 0; i < c.count; i++) {
            fuzz_check(export_record_decode(&q, end, &r, &e) == 0, "a checked record");
            fuzz_check(kv_batch_put(b, r.key, r.klen, r.val, r.vlen) == KV_OK, "batch put");
        }
        fuzz_check(kv_write(db, b) == KV_OK, "kv_write");
        p = end + EXPORT_CRC_SIZE;
    }
    kv_iter *it = NULL;
    fuzz_check(kv_iter_new(db, &it) == KV_OK, "kv_iter_new");
    kv_iter_seek_first(it);
    uint64_t seen = 0;
    p = data + EXPORT_HEADER_SIZE;
    while (export_chunk_decode(p, limit, &c, &e) == 0 && c.type == EXPORT_CHUNK_RECORDS) {
        const uint8_t *q = p + EXPORT_CHUNK_HEADER_SIZE, *end = q + c.body_len;
        export_record r;
        for (uint64_t i = 0; i < c.count; i++, seen++) {
            fuzz_check(export_record_decode(&q, end, &r, &e) == 0, "a checked record");
            fuzz_check(kv_iter_valid(it), "scan ends before the stream");
            size_t klen, vlen;
            const void *key = kv_iter_key(it, &klen);
            const void *val = kv_iter_value(it, &vlen);
            fuzz_check(val != NULL, "kv_iter_value");
            fuzz_check(klen == r.klen && memcmp(key, r.key, klen) == 0, "scan key");
            fuzz_check(vlen == r.vlen && (vlen == 0 || memcmp(val, r.val, vlen) == 0),
                       "scan value");
            kv_iter_next(it);
        }
        p = end + EXPORT_CRC_SIZE;
    }
    fuzz_check(!kv_iter_valid(it) && kv_iter_status(it) == KV_OK, "scan holds more");
    fuzz_check(seen == total, "record count");
    kv_iter_free(it);
    kv_batch_free(b);
    fuzz_check(kv_close(db) == KV_OK, "kv_close");
    fuzz_dir_remove();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *limit = data + size;
    export_error e;
    if (export_header_decode(p, limit, &e) != 0) {
        fuzz_check(e.at <= size, "header error offset inside the input");
        return 0;
    }
    uint8_t *again = malloc(size);
    fuzz_check(again != NULL, "malloc");
    export_header_encode(again);
    fuzz_check(memcmp(again, data, EXPORT_HEADER_SIZE) == 0,
               "a header that decodes is the one export_header_encode writes");
    size_t n = EXPORT_HEADER_SIZE;
    p += EXPORT_HEADER_SIZE;
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    uint64_t total = 0;
    int valid = 0;
    for (;;) {
        export_chunk c;
        size_t left = (size_t)(limit - p);
        if (export_chunk_decode(p, limit, &c, &e) != 0) {
            fuzz_check(e.at <= left, "chunk error offset inside the input");
            break;
        }
        if (c.type == EXPORT_CHUNK_END) {
            valid = c.count == total && left == EXPORT_CHUNK_HEADER_SIZE;
            if (valid) {
                export_chunk_encode(again + n, EXPORT_CHUNK_END, total, 0);
                n += EXPORT_CHUNK_HEADER_SIZE;
            }
            break;
        }
        uint64_t rest = export_chunk_rest(&c);
        if (rest > left - EXPORT_CHUNK_HEADER_SIZE)
            break;
        const uint8_t *body = p + EXPORT_CHUNK_HEADER_SIZE, *end = body + c.body_len;
        if (export_body_check(body, body + rest, &c, prev, prev_len, &e) != 0) {
            fuzz_check(e.at <= rest, "body error offset inside the chunk");
            break;
        }
        /* Encode the chunk again from its records. */
        export_chunk_encode(again + n, EXPORT_CHUNK_RECORDS, c.count, c.body_len);
        uint8_t *w = again + n + EXPORT_CHUNK_HEADER_SIZE, *w0 = w;
        export_record r;
        for (const uint8_t *q = body; q < end;) {
            fuzz_check(export_record_decode(&q, end, &r, &e) == 0, "a checked record");
            w = export_record_encode(w, r.key, r.klen, r.val, r.vlen);
        }
        coding_put_u32(w, crc32c_value(w0, (size_t)(w - w0)));
        n += EXPORT_CHUNK_HEADER_SIZE + (size_t)rest;
        prev = r.key;
        prev_len = r.klen;
        total += c.count;
        p = body + rest;
    }
    if (valid) {
        fuzz_check(n == size && memcmp(again, data, size) == 0, "encode(decode(s)) == s");
        fuzz_import(data, size, total);
    }
    free(again);
    return 0;
}
