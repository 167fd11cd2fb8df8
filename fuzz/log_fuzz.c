/*
 * log_fuzz.c: fuzz harness for stage 01's log, data.log (a 16-byte file
 * header "KVS01LOG", then log records: common/log_record.h).
 *
 * The input is data.log.  It is read twice, as it is and with every
 * checksum made right (fuzz_formats.h: the header's, and each record's
 * while their lengths fit), so that mutations reach what lies behind the
 * checksums.  Each time:
 *   - log_record_decode on every record from offset 16, held to the byte
 *     table (fuzz_log_records_check): with the checksums made right, every
 *     record whose lengths fit must decode;
 *   - the file in memory (common/io_mem.h) read the way kv_open reads it
 *     (log_replay_file: the header's verdict, the records, the damage and
 *     the search past it): every record handed out lies inside the file,
 *     end to end from offset 16, each key and value read whole (so a read
 *     past them is AddressSanitizer's), and the valid records end exactly
 *     where the byte table's walk says;
 * then, for one input in sixteen (fuzz_dbfile_sampled), the repaired file as
 * data.log through the whole engine (fuzz_dbfile.h), kv check and kv dump
 * (which list every damaged region) included, and cut behind an open
 * handle's back inside its last valid records (log_fuzz_cut_behind: what
 * the handle reads after is the log's or an error that says why); and for
 * one input in 1,024
 * (fuzz_dbfile_sampled_rarely), kv_check, kv_dump and the opens again
 * with their I/O calls failing in turn (fuzz_io_sweep.h): an error that
 * is the failure's, and a log that reads as before; a snapshot and
 * iterators walked with allocations refused in turn (fuzz_faults_walk);
 * and the search for the next record across more than the 1 MiB it reads
 * at a time (log_fuzz_search_far).  One mutation in four
 * is the harness's own (LLVMFuzzerCustomMutator): a record's key or value
 * length set at a bound (fuzz_mutate_log_record).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "file_header.h"
#include "fuzz_formats.h"
#include "fuzz_dbfile.h"
#include "fuzz_faults.h"
#include "fuzz_io_sweep.h"
#include "io.h"
#include "log_damage.h"
#include "log_db.h"
#include "log_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

#define LOG_FUZZ_PATH "/kvfuzz/data.log"

static void log_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "log fuzz invariant broken: %s\n", what);
        abort();
    }
}

typedef struct log_fuzz_walk {
    uint64_t size, next, records;
    uint32_t sum; /* of every key and value: each byte is read */
} log_fuzz_walk;

static int log_fuzz_record(void *ctx, const log_scan *s)
{
    log_fuzz_walk *w = ctx;
    log_fuzz_check(s->rec_offset == w->next, "records come end to end from offset 16");
    log_fuzz_check(s->rec_size >= LOG_RECORD_HEADER && s->rec_size <= w->size - s->rec_offset,
                   "a record lies inside the file");
    if (!s->rec.is_seal) {
        log_fuzz_check(LOG_RECORD_HEADER + (uint64_t)s->rec.klen + s->rec.vlen == s->rec_size,
                       "a record's lengths add up to its size");
        w->sum = crc32c_extend(w->sum, s->rec.key, s->rec.klen);
        if (s->rec.value != NULL)
            w->sum = crc32c_extend(w->sum, s->rec.value, s->rec.vlen);
    }
    w->next += s->rec_size;
    w->records++;
    return 0;
}

/* One reading of the bytes (as they are, or repaired). */
static void log_fuzz_read(const uint8_t *p, size_t n)
{
    uint64_t records = 0;
    size_t stop = n > FILE_HEADER_SIZE ? fuzz_log_records_check(p, n, FILE_HEADER_SIZE, &records)
                                       : n;
    int header_ok = file_header_check("data.log", p, n, FILE_MAGIC_LOG01, LOG_DB_FORMAT) == KV_OK;

    fuzz_dbfile_mem_reset();
    io_file *f;
    fuzz_dbfile_mem_file(LOG_FUZZ_PATH, p, n, &f);
    log_fuzz_walk w = {.size = n, .next = FILE_HEADER_SIZE};
    log_replay r;
    int rc = log_replay_file(f, n, FILE_MAGIC_LOG01, LOG_DB_FORMAT, log_fuzz_record, &w, &r);
    io_close(f);
    log_fuzz_check(rc == KV_OK, "log_replay_file of a file in memory fails only on I/O");
    log_fuzz_check((r.start.state == FILE_START_OK) == header_ok,
                   "the header's verdict is file_header_check's");
    if (r.start.state == FILE_START_OK) {
        log_fuzz_check(r.records == records && w.records == records,
                       "as many valid records as the byte table finds");
        log_fuzz_check(r.end == stop, "the valid records end where the byte table says");
        log_fuzz_check(r.damaged == (stop < n), "damage exactly where records stop short");
        if (r.damaged)
            log_fuzz_check(r.d.offset == stop && r.d.why != NULL, "the damage is named");
    }
}

/* An answer of a handle whose log was cut: KV_OK (or KV_NOT_FOUND), or an
 * error with its message. */
static void log_fuzz_cut_answer(int rc, int ok, const char *what)
{
    if (rc < 0)
        log_fuzz_check(kv_errmsg()[0] != '\0', what);
    else
        log_fuzz_check(ok, what);
}

/* The log cut behind an open handle's back (another process truncating
 * it; kv_open's locks keep out only databases): a read-only open, its
 * first key's value and an iterator taken, then data.log cut to `cut`
 * bytes through a second handle.  What the handle read before the cut
 * stays its own; every read after it answers KV_OK with a value the log
 * held before the cut, or an error with its message (the scans name the
 * change: "the file changed since it was opened"); nothing crashes. */
static void log_fuzz_cut_behind(const uint8_t *p, size_t n, uint64_t cut)
{
    fuzz_dbfile f = {"data.log", p, n};
    fuzz_dbfile_place_files(&f, 1);
    kv_options opt;
    kv_options_init(&opt);
    opt.read_only = 1;
    kv_db *db = NULL;
    if (kv_open(FUZZ_DBFILE_DIR, &opt, &db) != KV_OK)
        return;
    kv_iter *before = NULL, *after = NULL;
    void *first = NULL, *got = NULL;
    size_t first_len = 0, klen = 0, got_len = 0;
    uint8_t *key = NULL;
    log_fuzz_check(kv_iter_new(db, &before) == KV_OK, "kv_iter_new before the cut");
    kv_iter_seek_first(before);
    if (kv_iter_valid(before)) {
        const void *k = kv_iter_key(before, &klen);
        key = malloc(klen);
        log_fuzz_check(key != NULL, "malloc");
        memcpy(key, k, klen);
        log_fuzz_check(kv_get(db, key, klen, &first, &first_len) == KV_OK,
                       "kv_get before the cut of the first key the iterator gives");
    }
    io_file *w;
    log_fuzz_check(io_open(FUZZ_DBFILE_DIR "/data.log", IO_WRITE, &w) == KV_OK &&
                       io_truncate(w, cut) == KV_OK && io_close(w) == KV_OK,
                   "cut data.log through a second handle");
    /* The iterator taken before: its values are read now. */
    kv_error_clear();
    for (; kv_iter_valid(before); kv_iter_next(before))
        if (kv_iter_value(before, &got_len) == NULL)
            break;
    log_fuzz_cut_answer(kv_iter_status(before), 1, "an iterator's error after the cut says why");
    if (klen > 0) {
        kv_error_clear();
        int rc = kv_get(db, key, klen, &got, &got_len);
        log_fuzz_cut_answer(rc, rc == KV_OK && got_len == first_len &&
                                    memcmp(got, first, got_len) == 0,
                            "kv_get after the cut: the value before it, or an error and why");
        kv_free(got);
        kv_error_clear();
        log_fuzz_cut_answer(kv_inspect_get(db, key, klen, fuzz_dbfile_ignore_line, NULL), 1,
                            "kv_inspect_get after the cut: an error says why");
    }
    kv_error_clear();
    int rc = kv_iter_new(db, &after);
    log_fuzz_cut_answer(rc, 1, "kv_iter_new after the cut: an error says why");
    kv_error_clear();
    log_fuzz_cut_answer(kv_inspect(db, KV_INSPECT_DETAIL, fuzz_dbfile_ignore_line, NULL), 1,
                        "kv_inspect after the cut: an error says why");
    kv_iter_free(after);
    kv_iter_free(before);
    kv_free(first);
    free(key);
    log_fuzz_check(kv_close(db) == KV_OK, "kv_close after the cut");
}

/* Zero bytes between the two copies of log_fuzz_search_far: more than the
 * 1 MiB the search reads at a time (log_damage.c). */
#define LOG_FUZZ_FAR (1100u * 1024u)

/* The search for the next record (log_damage_resync) over a region wider
 * than it reads at a time: the input's records (past its header), then
 * LOG_FUZZ_FAR zero bytes, then the same records again, searched from
 * offset 0.  What it finds must be the first offset where a record
 * decodes, or nothing if there is none (decoding at every offset; a
 * header that lies wholly in the zeros is no record: its key length is 0
 * and its value-length field no seal's). */
static void log_fuzz_search_far(const uint8_t *p, size_t n)
{
    if (n <= FILE_HEADER_SIZE)
        return;
    size_t part = n - FILE_HEADER_SIZE, total = 2 * part + LOG_FUZZ_FAR;
    uint8_t *buf = calloc(total, 1);
    log_fuzz_check(buf != NULL, "calloc");
    memcpy(buf, p + FILE_HEADER_SIZE, part);
    memcpy(buf + part + LOG_FUZZ_FAR, p + FILE_HEADER_SIZE, part);
    fuzz_dbfile_mem_reset();
    io_file *f;
    fuzz_dbfile_mem_file(LOG_FUZZ_PATH, buf, total, &f);
    uint64_t next = 0;
    int found = log_damage_resync(f, 0, total, &next);
    io_close(f);
    uint64_t want = UINT64_MAX;
    for (size_t y = 0; y + LOG_RECORD_HEADER <= total; y++) {
        if (y >= part && y + LOG_RECORD_HEADER <= part + LOG_FUZZ_FAR) {
            y = part + LOG_FUZZ_FAR - LOG_RECORD_HEADER; /* (the loop adds 1) */
            continue;
        }
        log_record rec;
        uint64_t rec_size;
        const char *why;
        if (log_record_decode(buf + y, buf + total, &rec, &rec_size, &why) == LOG_DECODE_OK) {
            want = y;
            break;
        }
    }
    log_fuzz_check(found == (want != UINT64_MAX) && (!found || next == want),
                   "the search past 1 MiB of zeros finds the first offset where a record decodes");
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_fuzz_read(data, size);
    uint8_t *fixed = malloc(size ? size : 1);
    log_fuzz_check(fixed != NULL, "malloc");
    memcpy(fixed, data, size);
    fuzz_fix_file_header(fixed, size);
    size_t fixed_to = size > FILE_HEADER_SIZE ? fuzz_fix_log_records(fixed, size, FILE_HEADER_SIZE)
                                              : size;
    uint64_t records;
    if (size > FILE_HEADER_SIZE)
        log_fuzz_check(fuzz_log_records_check(fixed, size, FILE_HEADER_SIZE, &records) == fixed_to,
                       "every record whose checksum was made right decodes");
    if (memcmp(fixed, data, size) != 0)
        log_fuzz_read(fixed, size);
    if (fuzz_dbfile_sampled(data, size)) {
        fuzz_dbfile_run("data.log", fixed, size);
        fuzz_dbfile_repair("data.log", fixed, size);
        if (fixed_to > FILE_HEADER_SIZE + 1)
            log_fuzz_cut_behind(fixed, size, fixed_to - 1 - crc32c_value(data, size) % 8 %
                                                              (fixed_to - FILE_HEADER_SIZE));
    }
    if (fuzz_dbfile_sampled_rarely(data, size, 64)) {
        fuzz_dbfile f = {"data.log", fixed, size};
        fuzz_io_sweep(&f, 1, NULL, FUZZ_IO_SWEEP_CHECK | FUZZ_IO_SWEEP_DUMP | FUZZ_IO_SWEEP_READ |
                                     FUZZ_IO_SWEEP_WRITE);
        fuzz_faults_walk(&f, 1, crc32c_value(fixed, size));
        log_fuzz_search_far(fixed, size);
    }
    free(fixed);
    fuzz_dbfile_mem_done();
    return 0;
}

/* One mutation in four sets a field of one record at its bounds
 * (fuzz_formats.h); the others are libFuzzer's own. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    return fuzz_mutate_mixed(data, size, max_size, seed, fuzz_mutate_log_record, NULL);
}
