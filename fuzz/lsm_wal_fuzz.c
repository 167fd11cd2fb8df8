/*
 * lsm_wal_fuzz.c: fuzz harness for the write-ahead logs of stages 04 to 09
 * (stages/04-lsm/logs/lsm_wal.h: a "KVS04LOG" file header, then stage 03's
 * fragments, each record a batch and its 8-byte sequence number), which
 * every later stage replays at kv_open through the same code.
 *
 * The input is a log, 000000000001.log.  It is read as it is and with its
 * checksums made right (fuzz_formats.h: the header's and every
 * fragment's), so that mutations reach the records.  Each time:
 *   - lsm_wal_record_decode on every record the fragments make (read in
 *     memory by stage 03's reader), held to the byte table: a batch
 *     (fuzz_wal_batch_read) then a sequence number from which every op's
 *     number fits in 1 .. 2^56 - 1, and nothing else;
 *   - lsm_wal_scan_file, kv_open's reading of the log, from a file in
 *     memory (common/io_mem.h): it hands out exactly those records, markers
 *     left out, in order, their numbers rising, until the first that is not
 *     one (the damage); every key and value of each is read whole (a read
 *     past one is AddressSanitizer's); and lsm_wal_judge's verdict on what
 *     it found keeps no byte past the file;
 * then, for one input in sixteen (fuzz_dbfile_sampled), the repaired log as
 * the only log of a database through the whole engine (fuzz_dbfile.h):
 * kv_open replays it into the memtable, and what it keeps opens again;
 * rarer, the log before another, beside stray files and beside tables, and
 * the engine's tools with I/O calls failing (fuzz_faults.h; see
 * lsm_wal_fuzz_engine).
 * Half the mutations are the harness's own (LLVMFuzzerCustomMutator): a
 * fragment's length or type, or a record's sequence number, set at a
 * bound (fuzz_formats.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "file_header.h"
#include "fuzz_dbfile.h"
#include "fuzz_faults.h"
#include "fuzz_formats.h"
#include "internal_key.h"
#include "io.h"
#include "io_mem.h"
#include "kv.h"
#include "lsm_files.h"
#include "lsm_wal.h"
#include "wal_batch.h"
#include "wal_marker.h"
#include "wal_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

#define LSM_WAL_FUZZ_DIR "/kvfuzz/logs"
#define LSM_WAL_FUZZ_STEPS 100000

static void lsm_wal_fuzz_check(int ok, const char *what, uint64_t at)
{
    if (!ok) {
        fprintf(stderr, "lsm_wal fuzz invariant broken at offset %llu: %s\n",
                (unsigned long long)at, what);
        abort();
    }
}

/* A record lsm_wal_scan_file should hand out. */
typedef struct lsm_wal_fuzz_rec {
    uint64_t seq, offset, end;
    size_t count;
} lsm_wal_fuzz_rec;

typedef struct lsm_wal_fuzz_ctx {
    const lsm_wal_fuzz_rec *want;
    size_t n, i;
    uint64_t size;
} lsm_wal_fuzz_ctx;

static int lsm_wal_fuzz_op(void *ctx, size_t i, const batch_op *op)
{
    (void)ctx;
    (void)i;
    /* Every byte of the key and value is read, as the memtable copies them. */
    (void)crc32c_value(op->key, op->klen);
    if (!op->is_delete)
        (void)crc32c_value(op->val, op->vlen);
    return 0;
}

static int lsm_wal_fuzz_record(void *ctx, const lsm_wal_record *r, uint64_t offset, uint64_t end)
{
    lsm_wal_fuzz_ctx *c = ctx;
    lsm_wal_fuzz_check(c->i < c->n, "a record handed out past the first damage", offset);
    const lsm_wal_fuzz_rec *w = &c->want[c->i++];
    lsm_wal_fuzz_check(r->seq == w->seq && r->count == w->count && offset == w->offset &&
                           end == w->end && end <= c->size,
                       "a record is the one its fragments make, with its sequence", offset);
    const char *why;
    size_t count = 0;
    lsm_wal_fuzz_check(wal_batch_decode(r->batch, r->batch_end, lsm_wal_fuzz_op, NULL, &count,
                                        &why) == 0 && count == r->count,
                       "a record's batch decodes to its count of ops", offset);
    return 0;
}

/* The records the fragments make, each held to the byte table, up to the
 * first that the scan must call damage. */
static size_t lsm_wal_fuzz_model(const uint8_t *p, size_t n, lsm_wal_fuzz_rec **out)
{
    size_t cap = 64, k = 0;
    lsm_wal_fuzz_rec *v = malloc(cap * sizeof *v);
    lsm_wal_fuzz_check(v != NULL, "malloc", 0);
    wal_reader r;
    wal_reader_init_mem(&r, p, n < FILE_HEADER_SIZE ? n : FILE_HEADER_SIZE, n);
    uint64_t after = 0;
    for (int steps = 0; steps < LSM_WAL_FUZZ_STEPS && wal_reader_next(&r) == WAL_READ_RECORD;
         steps++) {
        uint64_t synced_to;
        if (wal_marker_decode(r.rec, r.rec + r.rec_len, &synced_to))
            continue;
        size_t count = 0;
        int batch = r.rec_len > 8 &&
                    fuzz_wal_batch_read(r.rec, r.rec + r.rec_len - 8, NULL, 0, &count);
        uint64_t seq = r.rec_len >= 8 ? coding_get_u64(r.rec + r.rec_len - 8) : 0;
        int in_range = batch && seq != 0 && seq <= IKEY_MAX_SEQ && count - 1 <= IKEY_MAX_SEQ - seq;
        lsm_wal_record rec;
        const char *why = NULL;
        int got = lsm_wal_record_decode(r.rec, r.rec_len, &rec, &why);
        lsm_wal_fuzz_check(got == (in_range ? 0 : -1),
                           "lsm_wal_record_decode accepts exactly the records of the byte table",
                           r.rec_start);
        if (got == 0)
            lsm_wal_fuzz_check(rec.seq == seq && rec.count == count && rec.batch == r.rec &&
                                   rec.batch_end == r.rec + r.rec_len - 8,
                               "a record's batch and sequence, where the byte table puts them",
                               r.rec_start);
        else
            lsm_wal_fuzz_check(why != NULL, "a refused record is named", r.rec_start);
        if (!in_range || seq <= after)
            break;
        if (k == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof *v);
            lsm_wal_fuzz_check(v != NULL, "realloc", 0);
        }
        v[k++] = (lsm_wal_fuzz_rec){seq, r.rec_offset, r.rec_end, count};
        after = seq + count - 1;
    }
    wal_reader_free(&r);
    *out = v;
    return k;
}

static void lsm_wal_fuzz_read(const uint8_t *p, size_t n, const char *name)
{
    lsm_wal_fuzz_rec *want;
    size_t k = lsm_wal_fuzz_model(p, n, &want);
    int header_ok = file_header_check(name, p, n, FILE_MAGIC_LOG04, LSM_WAL_VERSION) == KV_OK;

    fuzz_dbfile_mem_reset();
    char path[256];
    snprintf(path, sizeof path, "%s/%s", LSM_WAL_FUZZ_DIR, name);
    io_file *f;
    fuzz_dbfile_mem_file(path, p, n, &f);
    lsm_wal_fuzz_ctx c = {.want = want, .n = header_ok ? k : 0, .size = n};
    lsm_wal_scan s;
    int rc = lsm_wal_scan_file(f, n, 1, lsm_wal_fuzz_record, &c, &s);
    io_close(f);
    lsm_wal_fuzz_check(rc == KV_OK, "lsm_wal_scan_file of a file in memory fails only on I/O", 0);
    lsm_wal_fuzz_check(!header_ok || c.i == k, "every record of the byte table handed out", n);
    lsm_wal_fuzz_check(s.end <= n && (!s.damaged || (s.bad <= n && s.why != NULL)) &&
                           s.spare <= n && (!s.has_next || s.next > s.bad),
                       "what the scan found lies inside the file", s.bad);
    for (int last = 0; last < 2; last++) {
        for (int strict = 0; strict < 2; strict++) {
            lsm_wal_verdict v;
            lsm_wal_judge(n, &s, last, strict, &v);
            lsm_wal_fuzz_check(v.action >= LSM_WAL_KEEP && v.action <= LSM_WAL_REFUSE &&
                                   v.keep <= n && (v.action != LSM_WAL_CUT || v.keep + v.cut == n),
                               "a verdict keeps no byte past the file", v.keep);
        }
    }
    free(want);
}

/* A table of the stage holding a put and a delete (sequences 1 and 2), as
 * kv_flush writes it, made once by the engine in memory; *n gets its
 * size. */
static uint8_t *lsm_wal_fuzz_table_bytes;
static void lsm_wal_fuzz_table_free(void)
{
    free(lsm_wal_fuzz_table_bytes);
}

static const uint8_t *lsm_wal_fuzz_table(size_t *n)
{
    static size_t len;
    if (lsm_wal_fuzz_table_bytes == NULL) {
        fuzz_faults_place(NULL, 0);
        kv_db *db = NULL;
        lsm_wal_fuzz_check(kv_open(FUZZ_DBFILE_DIR, NULL, &db) == KV_OK &&
                               kv_put(db, "a", 1, "1", 1) == KV_OK &&
                               kv_delete(db, "b", 1) == KV_OK && kv_flush(db) == KV_OK &&
                               kv_close(db) == KV_OK, "a table made by kv_flush", 0);
        char **names = NULL;
        size_t k = 0;
        lsm_wal_fuzz_check(io_list(FUZZ_DBFILE_DIR, &names, &k) == KV_OK, "io_list", 0);
        for (size_t i = 0; i < k && lsm_wal_fuzz_table_bytes == NULL; i++) {
            uint64_t lo, hi;
            char path[256];
            const uint8_t *bytes;
            if (lsm_file_parse(names[i], &lo, &hi) != LSM_FILE_TABLE)
                continue;
            snprintf(path, sizeof path, "%s/%s", FUZZ_DBFILE_DIR, names[i]);
            lsm_wal_fuzz_check(io_mem_get(path, &bytes, &len) == 0 &&
                                   (lsm_wal_fuzz_table_bytes = malloc(len)) != NULL,
                               "a table's bytes", 0);
            memcpy(lsm_wal_fuzz_table_bytes, bytes, len);
            atexit(lsm_wal_fuzz_table_free);
        }
        io_list_free(names, k);
        lsm_wal_fuzz_check(lsm_wal_fuzz_table_bytes != NULL, "kv_flush wrote a table", 0);
        fuzz_dbfile_mem_done();
    }
    *n = len;
    return lsm_wal_fuzz_table_bytes;
}

/* The repaired log through the whole engine (fuzz_dbfile.h): as the only
 * log; for one input in FUZZ_DBFILE_SAMPLE * 16, as the log before another
 * (an empty one, for the writes from LSM_WAL_FUZZ_NEXT on), which it must
 * end with its seal for kv_open to take it, beside stray files, and
 * beside tables; for one in FUZZ_DBFILE_SAMPLE * 64, kv check, kv dump,
 * kv_inspect, kv_repair and an open with a quarter of their I/O calls
 * failing in turn (fuzz_faults.h).  Every input of a replay takes all of
 * them. */
#define LSM_WAL_FUZZ_NEXT 1000000000000ull
static void lsm_wal_fuzz_engine(const uint8_t *data, const uint8_t *fixed, size_t size,
                                const char *name)
{
    fuzz_dbfile_run(name, fixed, size);
    fuzz_dbfile_repair(name, fixed, size);
    if (!fuzz_dbfile_sampled_rarely(data, size, 16))
        return;
    char next[LSM_NAME_MAX];
    lsm_wal_name(next, LSM_WAL_FUZZ_NEXT);
    uint8_t header[FILE_HEADER_SIZE];
    file_header_encode(header, FILE_MAGIC_LOG04, LSM_WAL_VERSION);
    fuzz_dbfile two[2] = {{name, fixed, size}, {next, header, sizeof header}};
    int opened = fuzz_dbfile_run_files(two, 2);
    fuzz_dbfile_repair_files(two, 2);
    /* The same beside files whose names are not a log's or a table's
     * (lsm_files.h): those of an unfinished write (.tmp), which an open
     * that may write removes, and others, which it leaves; it answers as
     * without them. */
    static const char *const strays[] = {
        "000000000001.log.tmp", "000000000001-000000000002.tbl.tmp", /* unfinished */
        "00000000001.log", "000000000000.log", "123456789012345678.log",
        "99999999999999999.log", "000000000002-000000000001.tbl", "000000000001-x.tbl",
        "000000000001-000000000002.tbx", "000000000001.lgx", "000000000001-",
        "IDENTITY.tmp" /* a create cut short, beside the IDENTITY it did write */};
    enum { LSM_WAL_FUZZ_STRAYS = sizeof strays / sizeof strays[0] };
    fuzz_dbfile with[2 + LSM_WAL_FUZZ_STRAYS] = {two[0], two[1]};
    for (size_t i = 0; i < LSM_WAL_FUZZ_STRAYS; i++)
        with[2 + i] = (fuzz_dbfile){strays[i], header, 0};
    lsm_wal_fuzz_check(fuzz_dbfile_run_files(with, 2 + LSM_WAL_FUZZ_STRAYS) == opened,
                       "files not the stage's change nothing kv_open answers", 0);
    for (size_t i = 0; opened && i < LSM_WAL_FUZZ_STRAYS; i++)
        lsm_wal_fuzz_check(fuzz_dbfile_exists(strays[i]) == (i >= 2),
                           "an open removes the unfinished files and leaves the others", i);
    /* Beside tables (lsm_files.h F1-F4; their writes by their names, the
     * table itself a put and a delete at sequences 1 and 2): 1-2, and 2-2, which 1-2
     * contains, so that the log's records up to 2 are in the tables
     * (skipped by the replay) and 2-2 is removed unread; 1-999999999999,
     * which covers the log (removed unread) and 2-3 (removed unread too); 1-3 and 2-4, which overlap
     * (refused); and 1-2 with the input as log 3, the log the tables owe
     * their next writes to (F4: one that holds not even its header is
     * damage, which kv_repair replaces with an empty log). */
    size_t tlen;
    const uint8_t *t = lsm_wal_fuzz_table(&tlen);
    fuzz_dbfile contained[4] = {two[0], {"000000000001-000000000002.tbl", t, tlen},
                                {"000000000002-000000000002.tbl", t, tlen}, two[1]};
    fuzz_dbfile_run_files(contained, 4);
    fuzz_dbfile_repair_files(contained, 4);
    fuzz_dbfile covered[4] = {two[0], {"000000000001-999999999999.tbl", t, tlen},
                              {"000000000002-000000000003.tbl", t, tlen}, two[1]};
    fuzz_dbfile_run_files(covered, 4);
    fuzz_dbfile overlap[4] = {two[0], {"000000000001-000000000003.tbl", t, tlen},
                              {"000000000002-000000000004.tbl", t, tlen}, two[1]};
    lsm_wal_fuzz_check(!fuzz_dbfile_run_files(overlap, 4), "tables whose writes overlap are "
                       "refused", 0);
    char owed_name[LSM_NAME_MAX];
    lsm_wal_name(owed_name, 3);
    fuzz_dbfile owed[2] = {{"000000000001-000000000002.tbl", t, tlen}, {owed_name, fixed, size}};
    fuzz_dbfile_run_files(owed, 2);
    fuzz_dbfile_repair_files(owed, 2);
    if (!fuzz_dbfile_sampled_rarely(data, size, 64))
        return;
    uint32_t seed = crc32c_value(data, size);
    fuzz_faults_tools(two, 2, seed);
    fuzz_faults_repair(two, 2, seed);
    fuzz_faults_open(two, 1, seed);
    fuzz_faults_open(contained, 4, seed);
    fuzz_faults_repair(owed, 2, seed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char name[LSM_NAME_MAX];
    lsm_wal_name(name, 1);
    lsm_wal_fuzz_read(data, size, name);
    uint8_t *fixed = malloc(size ? size : 1);
    lsm_wal_fuzz_check(fixed != NULL, "malloc", 0);
    memcpy(fixed, data, size);
    fuzz_fix_file_header(fixed, size);
    fuzz_fix_wal_fragments(fixed, size, size < FILE_HEADER_SIZE ? size : FILE_HEADER_SIZE);
    if (memcmp(fixed, data, size) != 0)
        lsm_wal_fuzz_read(fixed, size, name);
    if (fuzz_dbfile_sampled(data, size))
        lsm_wal_fuzz_engine(data, fixed, size, name);
    free(fixed);
    fuzz_dbfile_mem_done();
    return 0;
}

/* One mutation in four sets a fragment's length or type at its bounds,
 * one a record's sequence number (fuzz_formats.h); the others are
 * libFuzzer's own. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    return fuzz_mutate_mixed(data, size, max_size, seed, fuzz_mutate_wal_fragment,
                             fuzz_mutate_lsm_wal_seq);
}
