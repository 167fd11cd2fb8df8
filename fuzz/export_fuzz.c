/*
 * export_fuzz.c: fuzz harness for the export stream (tools/kv_export.h),
 * the format `kv DIR export` writes and `kv DIR import` reads.
 *
 * The input is read twice: as it is, and with every checksum made right
 * (export_fuzz_fix walks the byte table: the header's, each chunk
 * header's, and the body's of each records chunk whose body fits), so
 * that a mutation of a length, a count or a key reaches the check behind
 * the checksum.  Each reading decodes the input as a stream with the
 * bounded decoders, the way import does: header, then chunk by chunk,
 * each body checked before its records are used.  Every error offset must
 * lie inside the bytes given.  A header that decodes is the one
 * export_header_encode writes (the format has one spelling).  Each chunk
 * that checks is encoded again from its records; when the whole input is
 * a valid stream, the encoding must be the input, byte for byte (the
 * decoder accepts exactly what the encoder writes).  A checked chunk's
 * body handed over one byte short, or as the end chunk's, is refused; an
 * end chunk has no bytes after its header.  A valid stream is then put,
 * chunk by chunk with kv_write, into a fresh database of the stage this
 * harness is linked with, in memory (common/io_mem.h), and a scan must
 * give back exactly the stream's records, in order: every valid stream
 * when KV_FUZZ_ENGINE=all (the replay drivers set it, so `make test`
 * imports every seed), else one input in sixteen by its crc32c, the rule
 * of fuzz_dbfile_sampled (fuzz/fuzz_dbfile.h: an engine's open costs a
 * millisecond, the decoders microseconds).  A crash, a sanitizer report
 * or a broken property fails the run.
 *
 * The mutator (LLVMFuzzerCustomMutator) reads the stream's records by the
 * byte table and, one time in two, changes the records rather than the
 * bytes: a key's or a value's bytes (libFuzzer's mutation of them alone),
 * a record doubled, dropped or swapped with the next, a key made its
 * predecessor's, a chunk split or joined, the end chunk's count off by
 * one or the end chunk left out; then it writes the stream again, every
 * length and checksum right but what it changed on purpose.  The other
 * times, libFuzzer's own mutations of the bytes.
 *
 * Built for each stage (the format is the same; the database under it is
 * not), replayed by `make test` on fuzz/regressions/export/ and the seeds
 * `make fuzz-seeds` writes (build/fuzz/seeds/S-export,
 * scripts/fuzz_seeds_fields.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "io.h"
#include "io_mem.h"
#include "kv.h"
#include "../tools/kv_export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) __attribute__((weak));

#define EXPORT_FUZZ_DIR "/kvfuzz/import"

static void fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "export fuzz: invariant broken: %s (%s)\n", what, kv_errmsg());
        abort();
    }
}

/* 1 if this input goes through the engine: fuzz_dbfile_sampled's rule
 * (that file is not linked here). */
static int export_fuzz_sampled(const uint8_t *data, size_t size)
{
    static int every = -1;
    if (every < 0) {
        const char *e = getenv("KV_FUZZ_ENGINE");
        every = e != NULL && strcmp(e, "all") == 0;
    }
    return every || crc32c_value(data, size) % 16 == 0;
}

/* Puts the valid stream's chunks into a fresh database in memory, one
 * kv_write each, and checks that a scan returns the records, in order. */
static void fuzz_import(const uint8_t *data, size_t size, uint64_t total)
{
    const io_ops *prev = io_set_ops(&io_mem_ops);
    io_mem_reset();
    fuzz_check(io_mkdir("/kvfuzz") == KV_OK, "mkdir");
    kv_db *db = NULL;
    kv_batch *b = NULL;
    fuzz_check(kv_open(EXPORT_FUZZ_DIR, NULL, &db) == KV_OK, "kv_open");
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
    io_mem_reset();
    io_set_ops(prev);
}

/* The stream decoded as import decodes it, with the checks above. */
static void export_fuzz_stream(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *limit = data + size;
    export_error e;
    if (export_header_decode(p, limit, &e) != 0) {
        fuzz_check(e.at <= size, "header error offset inside the input");
        return;
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
            fuzz_check(export_chunk_rest(&c) == 0, "no bytes follow an end chunk's header");
            /* Bytes after it are no body of it. */
            fuzz_check(export_body_check(p + EXPORT_CHUNK_HEADER_SIZE, limit, &c, NULL, 0, &e) ==
                           -1, "an end chunk has no body to check");
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
        fuzz_check(export_body_check(body, body + rest - 1, &c, prev, prev_len, &e) == -1 &&
                       e.at <= rest, "a body one byte short is refused");
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
        if (export_fuzz_sampled(data, size))
            fuzz_import(data, size, total);
    }
    free(again);
}

/* Makes every checksum of p[0, n) right, walking the byte table: the
 * header's (of bytes 0..11), then each chunk header's (of its bytes
 * 0..12) and, for a records chunk whose body and checksum fit, the
 * body's; the walk stops at an end chunk, another type, or a body that
 * does not fit. */
static void export_fuzz_fix(uint8_t *p, size_t n)
{
    if (n < EXPORT_HEADER_SIZE)
        return;
    coding_put_u32(p + 12, crc32c_value(p, 12));
    size_t at = EXPORT_HEADER_SIZE;
    while (n - at >= EXPORT_CHUNK_HEADER_SIZE) {
        uint8_t *h = p + at;
        coding_put_u32(h + 13, crc32c_value(h, 13));
        uint64_t body = coding_get_u32(h + 9);
        if (h[0] != EXPORT_CHUNK_RECORDS || body + 4 > n - at - EXPORT_CHUNK_HEADER_SIZE)
            return;
        coding_put_u32(h + EXPORT_CHUNK_HEADER_SIZE + body,
                       crc32c_value(h + EXPORT_CHUNK_HEADER_SIZE, (size_t)body));
        at += EXPORT_CHUNK_HEADER_SIZE + (size_t)body + 4;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    export_fuzz_stream(data, size);
    if (size < EXPORT_HEADER_SIZE)
        return 0;
    uint8_t *fixed = malloc(size);
    fuzz_check(fixed != NULL, "malloc");
    memcpy(fixed, data, size);
    export_fuzz_fix(fixed, size);
    if (memcmp(fixed, data, size) != 0)
        export_fuzz_stream(fixed, size);
    free(fixed);
    return 0;
}

/* ---- the mutator ---------------------------------------------------------- */

/* A record as the byte table reads it, and whether a chunk starts at it. */
typedef struct export_fuzz_rec {
    const uint8_t *key, *val;
    size_t klen, vlen;
    int chunk;
} export_fuzz_rec;

/* The records of the stream p[0, n) as far as its lengths hold (at most
 * max), and its end chunk: *ended, *end_count. */
static size_t export_fuzz_records(const uint8_t *p, size_t n, export_fuzz_rec *r, size_t max,
                                  int *ended, uint64_t *end_count)
{
    size_t k = 0, at = EXPORT_HEADER_SIZE;
    *ended = 0;
    *end_count = 0;
    while (n >= at && n - at >= EXPORT_CHUNK_HEADER_SIZE && k < max) {
        const uint8_t *h = p + at;
        if (h[0] == EXPORT_CHUNK_END) {
            *ended = 1;
            *end_count = coding_get_u64(h + 1);
            break;
        }
        uint64_t body = coding_get_u32(h + 9);
        if (h[0] != EXPORT_CHUNK_RECORDS || body > n - at - EXPORT_CHUNK_HEADER_SIZE)
            break;
        const uint8_t *q = h + EXPORT_CHUNK_HEADER_SIZE, *end = q + body;
        int first = 1;
        while (end - q >= 8 && k < max) {
            uint64_t kl = coding_get_u32(q), vl = coding_get_u32(q + 4);
            if (kl + vl > (uint64_t)(end - q - 8))
                break;
            r[k++] = (export_fuzz_rec){q + 8, q + 8 + kl, (size_t)kl, (size_t)vl, first};
            first = 0;
            q += 8 + kl + vl;
        }
        at += EXPORT_CHUNK_HEADER_SIZE + (size_t)body + 4;
    }
    return k;
}

/* The stream of records r[0, k), a chunk starting at each one so marked
 * (and at the first), then, if ended, an end chunk saying end_count,
 * into out[0, cap): its length, or 0 if it does not fit. */
static size_t export_fuzz_write(uint8_t *out, size_t cap, const export_fuzz_rec *r, size_t k,
                                int ended, uint64_t end_count)
{
    size_t need = EXPORT_HEADER_SIZE + EXPORT_CHUNK_HEADER_SIZE;
    for (size_t i = 0; i < k; i++)
        need += export_record_size(r[i].klen, r[i].vlen) +
                (i == 0 || r[i].chunk ? EXPORT_CHUNK_HEADER_SIZE + EXPORT_CRC_SIZE : 0);
    if (need > cap)
        return 0;
    export_header_encode(out);
    size_t n = EXPORT_HEADER_SIZE;
    for (size_t i = 0; i < k;) {
        size_t j = i, body = 0;
        uint8_t *head = out + n, *w = head + EXPORT_CHUNK_HEADER_SIZE;
        do {
            w = export_record_encode(w, r[j].key, r[j].klen, r[j].val, r[j].vlen);
            body += export_record_size(r[j].klen, r[j].vlen);
            j++;
        } while (j < k && !r[j].chunk);
        export_chunk_encode(head, EXPORT_CHUNK_RECORDS, j - i, (uint32_t)body);
        coding_put_u32(w, crc32c_value(head + EXPORT_CHUNK_HEADER_SIZE, body));
        n += EXPORT_CHUNK_HEADER_SIZE + body + EXPORT_CRC_SIZE;
        i = j;
    }
    if (ended) {
        export_chunk_encode(out + n, EXPORT_CHUNK_END, end_count, 0);
        n += EXPORT_CHUNK_HEADER_SIZE;
    }
    return n;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    if (LLVMFuzzerMutate == NULL)
        return size;
    if (seed % 2 == 0 || size < EXPORT_HEADER_SIZE)
        return LLVMFuzzerMutate(data, size, max_size);
    seed /= 2;
    /* Room kept from call to call: the records, a copy of the input they
     * point into, the stream written again, a key or value mutated. */
    static export_fuzz_rec *r;
    static uint8_t *copy, *out, *bytes;
    static size_t room;
    size_t max = size / 8 + 2;
    if (room < max_size) {
        free(r);
        free(copy);
        free(out);
        free(bytes);
        room = max_size;
        r = malloc((room / 8 + 2) * sizeof *r);
        copy = malloc(room);
        out = malloc(room);
        bytes = malloc(room);
        if (r == NULL || copy == NULL || out == NULL || bytes == NULL)
            abort();
    }
    memcpy(copy, data, size); /* the records point into it */
    int ended;
    uint64_t end_count;
    size_t k = export_fuzz_records(copy, size, r, max - 1, &ended, &end_count);
    if (k == 0) { /* a first record to work on */
        r[0] = (export_fuzz_rec){(const uint8_t *)"k", (const uint8_t *)"v", 1, 1, 1};
        k = 1;
    }
    size_t i = (seed / 8) % k;
    int count_kept = 0;
    switch (seed % 8) {
    case 0:   /* a key's bytes, mutated alone */
    case 1: { /* a value's */
        int key = seed % 8 == 0;
        size_t len = key ? r[i].klen : r[i].vlen, room = max_size / 2;
        if (len > room)
            break;
        memcpy(bytes, key ? r[i].key : r[i].val, len);
        len = LLVMFuzzerMutate(bytes, len, room);
        if (key) {
            r[i].key = bytes;
            r[i].klen = len;
        } else {
            r[i].val = bytes;
            r[i].vlen = len;
        }
        break;
    }
    case 2: /* doubled */
        memmove(r + i + 1, r + i, (k - i) * sizeof *r);
        r[i + 1].chunk = (seed / 64) % 2;
        k++;
        break;
    case 3: /* dropped */
        if (k > 1) {
            int chunk = r[i].chunk;
            memmove(r + i, r + i + 1, (k - i - 1) * sizeof *r);
            k--;
            if (i < k)
                r[i].chunk |= chunk;
        }
        break;
    case 4: /* swapped with the next */
        if (i + 1 < k) {
            export_fuzz_rec t = r[i];
            r[i] = r[i + 1];
            r[i + 1] = t;
            r[i + 1].chunk = r[i].chunk;
            r[i].chunk = t.chunk;
        }
        break;
    case 5: /* its key made its predecessor's, or a prefix of it */
        if (i > 0) {
            r[i].key = r[i - 1].key;
            r[i].klen = r[i - 1].klen - ((seed / 64) % 2 && r[i - 1].klen > 1);
        }
        break;
    case 6: /* a chunk starts here, or no longer does */
        r[i].chunk = !r[i].chunk;
        break;
    default: /* the end chunk's count off by one, or no end chunk */
        count_kept = 1;
        if ((seed / 64) % 3 == 0)
            ended = !ended;
        else
            end_count = k + ((seed / 64) % 3 == 1 ? 1 : (uint64_t)-1);
        break;
    }
    if (!count_kept) {
        ended = 1;
        end_count = k;
    }
    size_t n = export_fuzz_write(out, max_size, r, k, ended, end_count);
    if (n > 0)
        memcpy(data, out, n);
    return n > 0 ? n : LLVMFuzzerMutate(data, size, max_size);
}
