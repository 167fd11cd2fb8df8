/*
 * wal_fuzz.c: fuzz harness for the write-ahead log module of stage 03
 * (stages/03-wal/wal/: the fragments of wal_format.h, the reader and its
 * resynchronisation, the batch payload, sync markers), which stages 04 to
 * 09 link unchanged.
 *
 * The input is a stage-03 segment, 0000000001.log: a 16-byte file header,
 * then 32 KiB blocks of fragments (the first block 16 bytes short).  It is
 * read as it is and with every fragment's checksum made right
 * (fuzz_formats.h), so that mutations reach the reassembly and the
 * payloads.  Each time, against the byte tables:
 *   - wal_fragment_decode at every fragment of the forward walk: OK, SHORT
 *     or BAD exactly as wal_format.h says, and the data where it says;
 *   - the reader over the bytes in memory: records and damage in file
 *     order, inside the input; its first records exactly those the
 *     fragments make (FULL, or FIRST MIDDLE* LAST: content, start, end),
 *     and the end of the log where the walk ends cleanly; the same answers
 *     read from a file (common/io_mem.h): through a 4 KiB window (as
 *     kv_get reads one record) for the bytes as they are, whole blocks at
 *     a time (as kv_open reads) for the repaired ones;
 *   - wal_resync_block from the first byte, and from just after the first
 *     damage: the first offset where a fragment with a valid checksum
 *     starts, as a byte-by-byte search finds it;
 *   - every record: wal_marker_decode, and wal_batch_decode, which accepts
 *     exactly the payloads the byte table of wal_batch.h allows and hands
 *     out their ops (keys and values read whole).
 * Then, for one input in 64 (every one in a replay; segment_fuzz.c hands
 * the engine the same file one in 16), the repaired segment through the
 * engine (fuzz_dbfile.h), and kv dump with its frames held to kv dump
 * without them (the same answer; the same lines but those about frames;
 * every fragment of a record shown with its checksum ok); rarer, the
 * segment before an empty second one, kv_repair with a hint of it beside
 * it, and the engine's tools with I/O calls failing (fuzz_faults.h; see
 * wal_fuzz_engine).
 * One mutation in four is the harness's own (LLVMFuzzerCustomMutator): a
 * fragment's length or type set at a bound, a length that ends at its
 * block's end or crosses it among them (fuzz_mutate_wal_fragment).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "file_header.h"
#include "fuzz_formats.h"
#include "fuzz_dbfile.h"
#include "fuzz_faults.h"
#include "io.h"
#include "kv.h"
#include "record_io.h"
#include "wal_batch.h"
#include "wal_format.h"
#include "wal_reader.h"
#include "wal_resync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

#define WAL_FUZZ_SEGMENT "0000000001.log"
#define WAL_FUZZ_PATH "/kvfuzz/" WAL_FUZZ_SEGMENT
#define WAL_FUZZ_MAX_STEPS 100000 /* answers compared per reading */

static void wal_fuzz_check(int ok, const char *what, uint64_t at)
{
    if (!ok) {
        fprintf(stderr, "wal fuzz invariant broken at offset %llu: %s\n",
                (unsigned long long)at, what);
        abort();
    }
}

/* ---- the byte tables --------------------------------------------------------- */

/* wal_format.h's verdict on the fragment at p, with block_left bytes left
 * in its block: WAL_FRAGMENT_OK (*len, *type), _SHORT or _BAD. */
static int wal_model_fragment(const uint8_t *p, const uint8_t *limit, uint32_t block_left,
                              uint32_t *len, int *type)
{
    if (limit - p < 7)
        return WAL_FRAGMENT_SHORT;
    static const uint8_t zeros[7];
    *len = coding_get_u16(p + 4);
    *type = p[6];
    if (memcmp(p, zeros, 7) == 0 || *type < 1 || *type > 4 || 7 + *len > block_left)
        return WAL_FRAGMENT_BAD;
    if (limit - p < 7 + (ptrdiff_t)*len)
        return WAL_FRAGMENT_SHORT;
    uint32_t crc = crc32c_extend(crc32c_value(p + 4, 3), p + 7, *len);
    return crc == coding_get_u32(p) ? WAL_FRAGMENT_OK : WAL_FRAGMENT_BAD;
}

/* A record the fragments make. */
typedef struct wal_model_rec {
    uint64_t start, end;
    size_t len;
    uint32_t crc;
} wal_model_rec;

typedef struct wal_model {
    wal_model_rec *v;
    size_t n, cap;
    int clean_end; /* the walk ended at the end of the log, between records */
} wal_model;

/* Walks the fragments from `at`, checking wal_fragment_decode at each, and
 * collects the records they make until the first that is not a fragment
 * or breaks the FULL / FIRST MIDDLE* LAST order. */
static void wal_model_walk(const uint8_t *p, size_t n, size_t at, wal_model *m)
{
    int in_rec = 0;
    wal_model_rec cur = {0};
    m->n = 0;
    m->clean_end = 0;
    for (;;) {
        uint32_t left = WAL_BLOCK_SIZE - (uint32_t)(at % WAL_BLOCK_SIZE);
        if (left < WAL_HEADER_SIZE && at + left < n) {
            at += left; /* the trailer */
            continue;
        }
        if (at >= n) {
            m->clean_end = !in_rec && at == n;
            return;
        }
        uint32_t len = 0;
        int type = 0;
        int want = wal_model_fragment(p + at, p + n, left, &len, &type);
        wal_fragment f;
        const char *why = NULL;
        int got = wal_fragment_decode(p + at, p + n, left, &f, &why);
        wal_fuzz_check(got == want, "wal_fragment_decode's verdict is the byte table's", at);
        if (got == WAL_FRAGMENT_BAD)
            wal_fuzz_check(why != NULL, "a bad fragment is named", at);
        if (got != WAL_FRAGMENT_OK)
            return;
        wal_fuzz_check(f.data == p + at + 7 && f.len == len && f.type == type,
                       "a fragment's data is where the byte table puts it", at);
        int starts = type == WAL_FULL || type == WAL_FIRST;
        if (starts == in_rec)
            return; /* a record begun twice, or a fragment without its start */
        if (starts)
            cur = (wal_model_rec){.start = at};
        in_rec = 1;
        cur.crc = crc32c_extend(cur.crc, f.data, f.len);
        cur.len += f.len;
        at += 7 + len;
        if (type == WAL_FULL || type == WAL_LAST) {
            cur.end = at;
            if (m->n == m->cap) {
                m->cap = m->cap ? 2 * m->cap : 64;
                m->v = realloc(m->v, m->cap * sizeof *m->v);
                wal_fuzz_check(m->v != NULL, "realloc", at);
            }
            m->v[m->n++] = cur;
            in_rec = 0;
        }
    }
}

/* ---- the checks ---------------------------------------------------------------- */

#define WAL_FUZZ_OPS 256

typedef struct wal_fuzz_batch {
    const fuzz_wal_op *ops;
    size_t i;
    uint64_t at;
} wal_fuzz_batch;

static int wal_fuzz_op(void *ctx, size_t i, const batch_op *op)
{
    wal_fuzz_batch *b = ctx;
    wal_fuzz_check(i == b->i, "ops in order", b->at);
    /* Every byte of the key and value is read, as the index copies them. */
    (void)crc32c_value(op->key, op->klen);
    if (!op->is_delete)
        (void)crc32c_value(op->val, op->vlen);
    if (i < WAL_FUZZ_OPS) {
        const fuzz_wal_op *m = &b->ops[i];
        wal_fuzz_check(op->is_delete == m->is_delete && op->key == m->key && op->klen == m->klen &&
                           op->vlen == (m->is_delete ? 0 : m->vlen) && op->val == m->val,
                       "an op of a batch is where the byte table puts it", b->at);
    }
    b->i++;
    return 0;
}

/* The decoders of a record's payload, on an exact-size copy of it (the
 * reader's buffer is larger: a read past the payload would stay inside). */
static void wal_fuzz_payload(const uint8_t *payload, size_t len, uint64_t at)
{
    uint8_t *rec = malloc(len);
    wal_fuzz_check(rec != NULL || len == 0, "malloc", at);
    if (len > 0)
        memcpy(rec, payload, len);
    static fuzz_wal_op ops[WAL_FUZZ_OPS];
    size_t count = 0, got = 0;
    int valid = fuzz_wal_batch_read(rec, rec + len, ops, WAL_FUZZ_OPS, &count);
    wal_fuzz_batch b = {ops, 0, at};
    const char *why = NULL;
    int rc = wal_batch_decode(rec, rec + len, wal_fuzz_op, &b, &got, &why);
    wal_fuzz_check(rc == (valid ? 0 : -1), "wal_batch_decode accepts exactly the batches of "
                   "the byte table", at);
    if (valid)
        wal_fuzz_check(got == count && b.i == count, "every op of a batch handed out", at);
    else
        wal_fuzz_check(why != NULL && b.i == 0, "no op of a refused batch, and a reason", at);
    uint64_t synced_to = 0;
    int marker = wal_marker_decode(rec, rec + len, &synced_to);
    int want = len >= 1 && rec[0] == 0 ? (len == 9 ? 1 : len == 10 && rec[9] == 1 ? 2 : 0) : 0;
    wal_fuzz_check(marker == want, "wal_marker_decode: markers and seals only", at);
    if (marker)
        wal_fuzz_check(synced_to == coding_get_u64(rec + 1), "a marker's offset", at);
    free(rec);
}

/* What a reader answered: the kind, and where. */
typedef struct wal_fuzz_answer {
    int rc;
    uint64_t a, b;
    uint32_t crc;
} wal_fuzz_answer;

static wal_fuzz_answer wal_fuzz_next(wal_reader *r)
{
    wal_fuzz_answer x = {.rc = wal_reader_next(r)};
    if (x.rc == WAL_READ_RECORD) {
        x.a = r->rec_start;
        x.b = r->rec_end;
        x.crc = crc32c_value(r->rec, r->rec_len);
    } else if (x.rc == WAL_READ_DAMAGE) {
        x.a = r->bad_offset;
    }
    return x;
}

static int wal_fuzz_same(const wal_fuzz_answer *x, const wal_fuzz_answer *y)
{
    return x->rc == y->rc && x->a == y->a && x->b == y->b && x->crc == y->crc;
}

/* The first offset of p[0, n) (at `at` of its block) where a fragment with
 * a valid checksum starts, byte by byte. */
static size_t wal_fuzz_resync_model(const uint8_t *p, size_t n, uint32_t at)
{
    for (size_t q = 0; q + 7 <= n; q++) {
        uint32_t len;
        int type;
        if (p[q + 6] >= 1 && p[q + 6] <= 4 &&
            wal_model_fragment(p + q, p + n, WAL_BLOCK_SIZE - (at + (uint32_t)q), &len, &type) ==
                WAL_FRAGMENT_OK)
            return q;
    }
    return n;
}

static void wal_fuzz_resync(const uint8_t *p, size_t n, size_t from)
{
    if (from >= n)
        return;
    size_t block_end = from - from % WAL_BLOCK_SIZE + WAL_BLOCK_SIZE;
    size_t len = (block_end < n ? block_end : n) - from;
    if (len > 8192)
        return; /* the byte-by-byte search would cost too much */
    uint32_t at = (uint32_t)(from % WAL_BLOCK_SIZE);
    wal_fuzz_check(wal_resync_block(p + from, len, at) == wal_fuzz_resync_model(p + from, len, at),
                   "wal_resync_block finds the first valid fragment", from);
}

/* One reading of the bytes (as they are, or repaired), the file read with
 * that window (0: whole blocks). */
static void wal_fuzz_read(const uint8_t *p, size_t n, size_t window, wal_model *m)
{
    size_t start = n < FILE_HEADER_SIZE ? n : FILE_HEADER_SIZE;
    wal_model_walk(p, n, start, m);

    wal_reader mem, file;
    wal_reader_init_mem(&mem, p, start, n);
    fuzz_dbfile_mem_reset();
    io_file *f;
    fuzz_dbfile_mem_file(WAL_FUZZ_PATH, p, n, &f);
    wal_reader_init_file(&file, f, start, n);
    file.window = window;
    uint64_t last = 0, first_damage = UINT64_MAX;
    size_t i = 0;
    for (int steps = 0; steps < WAL_FUZZ_MAX_STEPS; steps++) {
        wal_fuzz_answer x = wal_fuzz_next(&mem), y = wal_fuzz_next(&file);
        wal_fuzz_check(wal_fuzz_same(&x, &y), "the reader answers the same from memory and "
                       "from a file", x.a);
        if (i == m->n && m->clean_end)
            wal_fuzz_check(x.rc == WAL_READ_END, "the log ends where its fragments end", x.a);
        if (x.rc != WAL_READ_RECORD && x.rc != WAL_READ_DAMAGE) {
            wal_fuzz_check(x.rc == WAL_READ_END, "the end of the log, not an error", n);
            wal_fuzz_check(i >= m->n, "the log ends after the records the fragments make", n);
            break;
        }
        wal_fuzz_check(x.a <= n, "an answer inside the log", x.a);
        if (x.rc == WAL_READ_DAMAGE) {
            wal_fuzz_check(i >= m->n, "no damage before the records the fragments make", x.a);
            wal_fuzz_check(mem.why != NULL, "damage is named", x.a);
            if (first_damage == UINT64_MAX)
                first_damage = x.a;
            i = m->n; /* past the model's records: no more comparing */
            continue;
        }
        wal_fuzz_check(x.b <= n && x.b > x.a && x.a >= last, "records in file order, inside "
                       "the log", x.a);
        last = x.b;
        if (i < m->n) {
            const wal_model_rec *w = &m->v[i];
            wal_fuzz_check(x.a == w->start && x.b == w->end && mem.rec_len == w->len &&
                               x.crc == w->crc,
                           "a record is the one its fragments make", x.a);
        }
        i++;
        wal_fuzz_payload(mem.rec, mem.rec_len, x.a);
    }
    wal_reader_free(&mem);
    wal_reader_free(&file);
    io_close(f);
    wal_fuzz_resync(p, n, start);
    if (first_damage != UINT64_MAX)
        wal_fuzz_resync(p, n, first_damage + 1);
}

/* ---- the engine's tools over the segment --------------------------------------- */

/* A kv dump's lines: those about frames apart, the others kept in order. */
typedef struct wal_fuzz_lines {
    char *text; /* the lines not about frames, each ended by '\n' */
    size_t len, cap;
    int in_record; /* the last item was a record or a sync marker */
    size_t frames; /* lines about frames */
} wal_fuzz_lines;

/* A line KV_DUMP_FRAMES adds (wal_dump.c): a fragment, a trailer, bytes
 * between fragments, where a block begins. */
static int wal_fuzz_frame_line(const char *line)
{
    static const char pad[] = "            ";
    if (strncmp(line, pad, 12) == 0)
        return strncmp(line + 12, "frame  ", 7) == 0 || strncmp(line + 12, "trailer  ", 9) == 0 ||
               (line[12] >= '0' && line[12] <= '9');
    return strstr(line, "  ---- block ") != NULL;
}

static void wal_fuzz_line(void *ctx, const char *line)
{
    wal_fuzz_lines *l = ctx;
    if (line[0] == '#')
        return; /* the heading, which says whether frames are shown */
    if (wal_fuzz_frame_line(line)) {
        l->frames++;
        /* The reader checked every fragment of a record it returned: the
         * dump's own reading of their checksums must agree. */
        if (l->in_record && strncmp(line + 12, "frame  ", 7) == 0) {
            size_t n = strlen(line);
            wal_fuzz_check(n > 3 && strcmp(line + n - 3, " ok") == 0,
                           "a fragment of a record is dumped with its checksum ok", 0);
        }
        return;
    }
    if (strstr(line, "  record: ") != NULL || strstr(line, "  sync marker: ") != NULL)
        l->in_record = 1;
    else if (strstr(line, "  DAMAGED: ") != NULL)
        l->in_record = 0;
    size_t n = strlen(line);
    if (l->len + n + 1 > l->cap) {
        l->cap = 2 * (l->len + n + 1);
        l->text = realloc(l->text, l->cap);
        wal_fuzz_check(l->text != NULL, "realloc", 0);
    }
    memcpy(l->text + l->len, line, n);
    l->text[l->len + n] = '\n';
    l->len += n + 1;
}

/* kv_dump of the segment, with its frames and without: the same answer,
 * and the same lines but for those about frames, which a segment with a
 * record has. */
static void wal_fuzz_dump(const uint8_t *p, size_t n)
{
    fuzz_dbfile f = {WAL_FUZZ_SEGMENT, p, n};
    fuzz_faults_place(&f, 1);
    wal_fuzz_lines plain = {0}, framed = {0};
    int rc = kv_dump(FUZZ_DBFILE_DIR, wal_fuzz_line, &plain);
    int rc_framed = kv_dump_with(FUZZ_DBFILE_DIR, KV_DUMP_FRAMES, wal_fuzz_line, &framed);
    wal_fuzz_check(rc == rc_framed, "kv_dump answers the same with frames", n);
    wal_fuzz_check(plain.frames == 0, "no frames without KV_DUMP_FRAMES", n);
    wal_fuzz_check(plain.len == framed.len &&
                       (plain.len == 0 || memcmp(plain.text, framed.text, plain.len) == 0),
                   "frames only add lines to kv_dump", n);
    wal_fuzz_check(framed.frames > 0 || rc != KV_OK || n <= FILE_HEADER_SIZE,
                   "a segment's frames are dumped", n);
    free(plain.text);
    free(framed.text);
}

/* For one input in FUZZ_DBFILE_SAMPLE * 4 (the segment harness hands the
 * engine the same file already), the segment through the engine
 * (fuzz_dbfile.h) and kv dump with frames and without; for one in
 * FUZZ_DBFILE_SAMPLE * 16, the segment before an empty second one, and
 * kv_repair with a hint of it beside it; for one in FUZZ_DBFILE_SAMPLE *
 * 64, kv check, kv dump, kv_inspect, kv_repair and an open with a quarter
 * of their I/O calls failing in turn (fuzz_faults.h).  Every input of a
 * replay takes all of them. */
static void wal_fuzz_engine(const uint8_t *data, const uint8_t *fixed, size_t size)
{
    fuzz_dbfile_run(WAL_FUZZ_SEGMENT, fixed, size);
    fuzz_dbfile_repair(WAL_FUZZ_SEGMENT, fixed, size);
    wal_fuzz_dump(data, size);
    if (memcmp(fixed, data, size) != 0)
        wal_fuzz_dump(fixed, size);
    if (!fuzz_dbfile_sampled_rarely(data, size, 16))
        return;
    uint8_t header[FILE_HEADER_SIZE];
    file_header_encode(header, record_file_magic, RECORD_FILE_VERSION);
    fuzz_dbfile two[2] = {{WAL_FUZZ_SEGMENT, fixed, size}, {"0000000002.log", header, sizeof header}};
    fuzz_dbfile_run_files(two, 2);
    fuzz_dbfile_repair_files(two, 2);
    /* With a hint of segment 1 (the input's bytes, as they are: no hint
     * of the segment but by chance), which kv_repair removes, with the
     * segment's damage or as not describing it. */
    fuzz_dbfile hinted[3] = {two[0], {"0000000001.hint", data, size}, two[1]};
    fuzz_dbfile_repair_files(hinted, 3);
    if (!fuzz_dbfile_sampled_rarely(data, size, 64))
        return;
    uint32_t seed = crc32c_value(data, size);
    fuzz_faults_tools(two, 1, seed);
    fuzz_faults_repair(hinted, 3, seed);
    fuzz_faults_open(two, 2, seed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wal_model m = {0};
    wal_fuzz_read(data, size, 4096, &m);
    uint8_t *fixed = malloc(size ? size : 1);
    wal_fuzz_check(fixed != NULL, "malloc", 0);
    memcpy(fixed, data, size);
    fuzz_fix_file_header(fixed, size);
    fuzz_fix_wal_fragments(fixed, size, size < FILE_HEADER_SIZE ? size : FILE_HEADER_SIZE);
    if (memcmp(fixed, data, size) != 0)
        wal_fuzz_read(fixed, size, 0, &m);
    if (fuzz_dbfile_sampled_rarely(data, size, 4))
        wal_fuzz_engine(data, fixed, size);
    free(fixed);
    free(m.v);
    fuzz_dbfile_mem_done();
    return 0;
}

/* One mutation in four sets a fragment's length or type at its bounds
 * (fuzz_formats.h); the others are libFuzzer's own. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    return fuzz_mutate_mixed(data, size, max_size, seed, fuzz_mutate_wal_fragment, NULL);
}
