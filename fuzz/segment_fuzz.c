/*
 * segment_fuzz.c: fuzz harness for a segment of stages 02 and 03, through
 * the record format the stage links (stages/02-hash/segments/record_io.h:
 * stage 02's log records, stage 03's write-ahead log).
 *
 * The input is 0000000001.log, a segment: a 16-byte file header
 * (record_file_magic: "KVS02SEG" or "KVS03WAL"), then records.  It is read
 * as it is and with every checksum made right (fuzz_formats.h: the
 * header's, then stage 02's records or stage 03's fragments while their
 * lengths fit), so that mutations reach what the checksums guard.  Each
 * time, the file in memory (common/io_mem.h) is read as kv_open and kv_get
 * read it:
 *   - record_replay, the index's rebuild: every op handed out belongs to a
 *     record inside the file, records in increasing order, each key and
 *     value read whole (a read past them is AddressSanitizer's); in stage
 *     02, the records end exactly where the byte table's walk of log
 *     records says (fuzz_log_records_check);
 *   - each key once per record (its last op: stage 03's batches may name
 *     a key twice), and record_read_value, kv_get's read, at the place of
 *     every put replayed: exactly the put's value;
 * then, for one input in sixteen (fuzz_dbfile_sampled), the repaired segment
 * as the only (so the active) segment of a database through the whole
 * engine (fuzz_dbfile.h): open in every mode, iterate, read back, write,
 * reopen, kv check, kv dump; and among other segments and leftovers
 * (segment_fuzz_among_others); for one input in 1,024, every work of
 * fuzz_io_sweep.h with its I/O calls failing in turn, and a snapshot,
 * iterators and kv_compact with allocations refused in turn
 * (fuzz_faults_walk).  One mutation in four is the harness's own
 * (LLVMFuzzerCustomMutator): a record's length (stage 02) or a fragment's
 * length or type (stage 03) set at a bound (fuzz_formats.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "file_header.h"
#include "fuzz_formats.h"
#include "fuzz_dbfile.h"
#include "fuzz_faults.h"
#include "fuzz_io_sweep.h"
#include "io.h"
#include "record_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

#define SEGMENT_FUZZ_PATH "/kvfuzz/0000000001.log"

static void segment_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "segment fuzz invariant broken: %s\n", what);
        abort();
    }
}

/* A put or delete as record_replay handed it out. */
typedef struct segment_fuzz_op {
    uint64_t offset;
    uint32_t size, klen, key_crc, value_crc, vlen;
    int is_delete;
    size_t key_at; /* its key's copy in the key store */
} segment_fuzz_op;

typedef struct segment_fuzz_ctx {
    uint64_t file_size;
    segment_fuzz_op *ops;
    size_t n, cap;
    uint8_t *keys;
    size_t keys_len, keys_cap;
} segment_fuzz_ctx;

static int segment_fuzz_op_fn(void *ctx, const record_op *op)
{
    segment_fuzz_ctx *c = ctx;
    segment_fuzz_check(op->offset >= FILE_HEADER_SIZE && op->offset < c->file_size &&
                           op->size <= c->file_size - op->offset,
                       "an op's record lies inside the file");
    segment_fuzz_check(c->n == 0 || op->offset >= c->ops[c->n - 1].offset,
                       "records come in file order");
    segment_fuzz_check(op->klen >= 1 && op->klen <= KV_MAX_KEY, "a key of 1 to 65535 bytes");
    segment_fuzz_check(op->is_delete ? op->value == NULL : op->vlen <= KV_MAX_VALUE,
                       "a value for a put only, of at most 64 MiB");
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->ops = realloc(c->ops, c->cap * sizeof *c->ops);
        segment_fuzz_check(c->ops != NULL, "realloc");
    }
    if (c->keys_len + op->klen > c->keys_cap) {
        while (c->keys_len + op->klen > c->keys_cap)
            c->keys_cap = c->keys_cap ? 2 * c->keys_cap : 4096;
        c->keys = realloc(c->keys, c->keys_cap);
        segment_fuzz_check(c->keys != NULL, "realloc");
    }
    memcpy(c->keys + c->keys_len, op->key, op->klen);
    c->ops[c->n++] = (segment_fuzz_op){
        .offset = op->offset, .size = op->size, .klen = op->klen,
        .key_crc = crc32c_value(op->key, op->klen),
        .value_crc = op->is_delete ? 0 : crc32c_value(op->value, op->vlen),
        .vlen = op->vlen, .is_delete = op->is_delete, .key_at = c->keys_len};
    c->keys_len += op->klen;
    return 0;
}

/* Ops of the same key in the record at ops[i].offset. */
static int segment_fuzz_ops_of_key(const segment_fuzz_ctx *c, size_t i)
{
    int n = 0;
    for (size_t j = 0; j < c->n; j++)
        n += c->ops[j].offset == c->ops[i].offset && c->ops[j].klen == c->ops[i].klen &&
             memcmp(c->keys + c->ops[j].key_at, c->keys + c->ops[i].key_at, c->ops[i].klen) == 0;
    return n;
}

/* One reading of the bytes (as they are, or repaired). */
static void segment_fuzz_read(const uint8_t *p, size_t n)
{
    fuzz_dbfile_mem_reset();
    io_file *f;
    fuzz_dbfile_mem_file(SEGMENT_FUZZ_PATH, p, n, &f);
    segment_fuzz_ctx c = {.file_size = n};
    record_damage d;
    int rc = record_replay(f, n, segment_fuzz_op_fn, &c, &d);
    segment_fuzz_check(rc == KV_OK || rc == RECORD_DAMAGED,
                       "record_replay of a file in memory: records, or damage");
    if (rc == RECORD_DAMAGED)
        segment_fuzz_check(d.offset <= n && d.why != NULL && (!d.has_next || d.next > d.offset),
                           "damage inside the file, named, and any next record after it");
    int log_records = strcmp(record_file_magic, FILE_MAGIC_SEG02) == 0;
    if (log_records && file_header_check("s", p, n, record_file_magic, RECORD_FILE_VERSION) ==
                           KV_OK) {
        uint64_t records;
        size_t stop = fuzz_log_records_check(p, n, FILE_HEADER_SIZE, &records);
        segment_fuzz_check(rc == KV_OK ? stop == n : d.offset == stop,
                           "the records end where the byte table's walk says");
    }
    /* kv_get's read of every put, at the place the index would keep. */
    uint8_t *buf = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < c.n; i++) {
        segment_fuzz_check(segment_fuzz_ops_of_key(&c, i) == 1,
                           "a record hands out each of its keys once (its last op)");
        if (c.ops[i].is_delete)
            continue;
        hash_loc loc = {.offset = c.ops[i].offset, .seg = 1, .size = c.ops[i].size};
        const uint8_t *val = NULL;
        size_t vlen = 0;
        int r = record_read_value(f, n, &loc, c.keys + c.ops[i].key_at, c.ops[i].klen, &buf,
                                  &cap, &val, &vlen);
        segment_fuzz_check(r == KV_OK && vlen == c.ops[i].vlen &&
                               crc32c_value(val, vlen) == c.ops[i].value_crc,
                           "kv_get's read finds the value the replay found");
    }
    free(buf);
    free(c.ops);
    free(c.keys);
    io_close(f);
}

/* The segment among others, as a directory a crash or a merge cut short
 * leaves it: the input as a closed segment (0000000001.log), again as the
 * segment after it (0000000002.log), then an active segment of a header
 * and nothing more (its first 16 bytes: a header whole or torn), beside
 * what an interrupted merge leaves (a segment being written, a hint whose
 * segment is gone) and files of no stage (names a segment's almost has:
 * id 0, an id past 32 bits, nine digits, another suffix); then those
 * leftovers alone.  kv_open judges the closed segment by the rule for
 * segments that are not the last (it must end with its seal, and a torn
 * tail there is damage), drops or keeps the empty active one, and removes
 * the leftovers; kv_check says the same. */
static void segment_fuzz_among_others(const uint8_t *p, size_t n)
{
    static const uint8_t hint[] = "KVHINT02 of no segment";
    fuzz_dbfile files[] = {{"0000000001.log", p, n},
                           {"0000000002.log", p, n},
                           {"0000000003.log", p, n < FILE_HEADER_SIZE ? n : FILE_HEADER_SIZE},
                           {"0000000004.log.tmp", p, n},
                           {"0000000009.hint", hint, sizeof hint - 1},
                           {"notes.txt", hint, sizeof hint - 1},
                           {"0000000000.log", hint, sizeof hint - 1},
                           {"9999999999.log", hint, sizeof hint - 1},
                           {"000000001.log", hint, sizeof hint - 1},
                           {"0000000005.logs", hint, sizeof hint - 1}};
    size_t nfiles = sizeof files / sizeof files[0];
    fuzz_dbfile_run_files(files, nfiles);
    /* The leftovers alone: no segment, an empty database once they go. */
    fuzz_dbfile_run_files(files + 3, nfiles - 3);
    if (fuzz_dbfile_sampled_rarely(p, n, 64))
        fuzz_io_sweep(files, nfiles, NULL, FUZZ_IO_SWEEP_CHECK | FUZZ_IO_SWEEP_WRITE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    segment_fuzz_read(data, size);
    uint8_t *fixed = malloc(size ? size : 1);
    segment_fuzz_check(fixed != NULL, "malloc");
    memcpy(fixed, data, size);
    fuzz_fix_file_header(fixed, size);
    if (strcmp(record_file_magic, FILE_MAGIC_SEG02) == 0)
        fuzz_fix_log_records(fixed, size, FILE_HEADER_SIZE);
    else
        fuzz_fix_wal_fragments(fixed, size, FILE_HEADER_SIZE);
    if (memcmp(fixed, data, size) != 0)
        segment_fuzz_read(fixed, size);
    if (fuzz_dbfile_sampled(data, size)) {
        fuzz_dbfile_run("0000000001.log", fixed, size);
        fuzz_dbfile_repair("0000000001.log", fixed, size);
        segment_fuzz_among_others(fixed, size);
    }
    if (fuzz_dbfile_sampled_rarely(data, size, 64)) {
        fuzz_dbfile f = {"0000000001.log", fixed, size};
        fuzz_io_sweep(&f, 1, NULL, FUZZ_IO_SWEEP_ALL);
        fuzz_faults_walk(&f, 1, crc32c_value(fixed, size));
    }
    free(fixed);
    fuzz_dbfile_mem_done();
    return 0;
}

/* One mutation in four sets a field of one record at its bounds
 * (fuzz_formats.h: a log record's lengths in stage 02, a fragment's
 * length or type in stage 03); the others are libFuzzer's own. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    int log_records = strcmp(record_file_magic, FILE_MAGIC_SEG02) == 0;
    return fuzz_mutate_mixed(data, size, max_size, seed,
                             log_records ? fuzz_mutate_log_record : fuzz_mutate_wal_fragment, NULL);
}
