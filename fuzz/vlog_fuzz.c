/*
 * vlog_fuzz.c: fuzz harness for the bytes stage 08's value log reads
 * (stages/08-vlog/value_log/value_log.h): where a value is (the table value
 * of an IKEY_PUT_ELSEWHERE, vlog_where.c), VLOGCOUNTS (vlog_counts.c), a
 * value-log file (a stage-04 log renamed) as garbage collection and kv
 * check read it (vlog_gc.c, vlog_tools.c), and the read of a value through
 * the store (vlog_store.c).  Everything is done on the parts themselves,
 * with files in memory (common/io_mem.h), not through a whole database:
 * an input costs well under a millisecond; one value-log file in sixteen
 * also goes through the engine (below).
 *
 * The input is a mode byte, then a body:
 *
 *   mode & 3 = 0   the decoders alone, on the body
 *              1   the same, then the body as DIR/VLOGCOUNTS, its two
 *                  crc32c made right: read as kv_open reads it
 *                  (vlog_counts_load), by kv dump (value_store_dump, the
 *                  same reading as kv check's), and by a value
 *                  store over a value-log file of the harness, whose counts
 *                  it gives when they name that file's size (kv_inspect's
 *                  lines, the pick of a job, the job); for one input in
 *                  sixteen, the file as a database's VLOGCOUNTS through
 *                  the engine, then kv_repair's promise on the body as it
 *                  is (a damaged VLOGCOUNTS is set aside)
 *              2   the same, then the body as DIR/000000000001.vlog, its
 *                  file header's and every fragment's crc32c made right
 *                  (fuzz_formats.h): kv dump of it, and a value store's job
 *                  measuring it, which lists every put of the file and
 *                  reads each value back through the where it computed;
 *                  for one input in sixteen (fuzz_dbfile_sampled), the
 *                  file as the value log of a database through the engine
 *                  (fuzz_dbfile.h: opens, reads, kv check, kv dump), then
 *                  kv_repair's promise
 *              3   the same, then the body as a table entry's where, read
 *                  by a value store from a value-log file the harness wrote
 *                  (value_store_load: alone, with its crc32c made right,
 *                  and into a buffer a value of the same span grew, as a
 *                  scan's buffer serves key after key; value_store_load_many
 *                  and value_store_read_ahead of it and its crc-right copy,
 *                  16 at a time when short; value_store_describe_value,
 *                  value_store_dropped)
 *   mode & 8       (modes 1 to 3) the mode's reads again through io_fault
 *                  (common/io_fault.h), which maps no file, so that the
 *                  store reads with calls, and fails call number
 *                  mode >> 4 (0: none) of the I/O layer: in mode 1 kv dump,
 *                  VLOGCOUNTS and an unfinished save beside it loaded by a
 *                  store that may write (which removes both), then counts
 *                  saved again; in mode 2 kv dump, the store and its job;
 *                  in mode 3 every load
 *   mode & 7 = 6   the decoders, then the body as a whole database's files
 *                  (each a name's length byte, the name, a 4-byte
 *                  little-endian size, the bytes: vlog_fuzz_unpack), as
 *                  they are: each value-log file read as mode 2 reads one;
 *                  for one input in sixteen, the database through the
 *                  engine, then kv_compact (fuzz_dbfile_compact_files: a
 *                  value-log file the input damaged is emptied of what its
 *                  keys still read there, value_store_job_offer), then
 *                  kv_repair's promise
 *   mode & 7 = 4   the decoders, then a value store opened over files the
 *                  body names, with settings the body holds
 *                  (vlog_fuzz_settings: value_gc_percent, value_threshold,
 *                  memtable_bytes, a clean close, the logs listed too)
 *
 * The decoders, on every input:
 *   - vlog_where_decode returns 0 or -1 with a reason; a where it accepts
 *     is a place a log can hold a value (a file from 1, an offset past the
 *     file header and outside every block's 7-byte header, a length of 1
 *     to 64 MiB), and encodes again into at most VLOG_WHERE_MAX bytes that
 *     decode to the same where;
 *   - vlog_span is the value's length plus 7 for each block boundary it
 *     crosses (a closed form computed here), and vlog_gather, over a span
 *     whose every byte says its file offset, hands out exactly the bytes
 *     outside the block headers, in order, the last of them the span's
 *     last byte; gathered in place (as a load does) the same;
 *   - vlog_payload_offset, for a record start and a payload index from the
 *     body, and for the indexes around the first two block boundaries the
 *     record's payload crosses, lands outside every header, with exactly
 *     that many payload bytes before it, and agrees with vlog_span;
 *   - vlog_counts_decode returns KV_OK or KV_ERR_CORRUPT, on the body and
 *     on a copy whose two crc32c are made right (or almost no mutation
 *     gets past them); what it accepts is ascending, each file's live
 *     bytes within its bytes, and encodes again to exactly those bytes.
 * VLOGCOUNTS (mode 1): vlog_counts_load hands out exactly the counts the
 * decoder accepts, when their `flushed` is the one asked for, else none;
 * kv dump and the store answer KV_OK or KV_ERR_CORRUPT; after kv_repair
 * of a database whose VLOGCOUNTS it is says KV_OK, a strict open and kv
 * check succeed.
 * A value-log file (mode 2): a job that measures it fails only where the
 * file is damaged (and then gives no value), and every value it gives is
 * a where of file 1 that loads, KV_OK, with its length; through the
 * engine, what fuzz_dbfile.h checks, and after kv_repair says KV_OK, a
 * strict open and kv check succeed.
 * The store (mode 3): a where that does not decode, names another file,
 * or runs past the file's end is KV_ERR_CORRUPT, through a buffer with
 * room for it too; one inside it (of at most 36 KiB) is KV_OK with the
 * bytes the model gathers exactly when its crc32c is theirs (and, with
 * the crc made right, always); in a batch every value as alone, and the
 * batch's answer its first error.
 * The settings (mode 4): the store opens exactly when value_gc_percent is
 * 0 to 99 (else KV_ERR_INVALID, with a message) and no value-log file is
 * also listed as a log (else KV_ERR_CORRUPT, with a message); it then
 * says the threshold and gc_percent it was given (or the defaults for
 * 0), holds a file for each name of a value-log file, those alone, in
 * ascending order, raises the memtable's limit only where
 * memtable_bytes is 0, and a clean close of a read-only store saves no
 * VLOGCOUNTS (of one that may write, counts of no file: none was
 * measured; any other close none); kv dump of those files (zeros) finds damage exactly when a
 * value-log file or VLOGCOUNTS is among them.
 * With a call failing (mode & 8): every answer is what it is with none
 * failing, or that call's error (with a message, never KV_ERR_CORRUPT:
 * nothing is damaged), never KV_OK with other bytes; what a save of the
 * counts wrote is read back, and after a failed one nothing or that.
 * With an allocation refused (modes 2 and 3, every input of the replays,
 * one in 64 when fuzzing: vlog_fuzz_alloc_faults): a store over the file
 * and its job (mode 2), or a store's loads of the where alone and in
 * batches (mode 3), again with each of their allocations refused in turn
 * (48 at most, spread): every answer is what it is with none refused or
 * KV_ERR_NOMEM, with a message; a job that ends gave the same values, a
 * load that succeeds the same bytes; nothing is left allocated.
 * Mode 6, for one input in 64 of those through the engine: kv_check,
 * kv_dump and kv_repair with a call failing, then kv_repair's promise
 * (fuzz_dbfile_repair_faulted).
 * A broken promise aborts (this is a test program); ASan and UBSan catch
 * a read outside the bytes.
 *
 * It is stage 08's entry in FUZZ_08-vlog (stages/08-vlog/stage.mk): `make
 * fuzz-smoke` runs it, `make test` replays its seeds (scripts/fuzz_seeds.sh
 * makes them from real databases: docs/fuzzing.md).
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "file_header.h"
#include "fuzz_dbfile.h"
#include "fuzz_formats.h"
#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"
#include "lsm_files.h"
#include "lsm_wal.h"
#include "value_log.h"
#include "value_store_tools.h"
#include "wal_format.h"

#include "../tests/alloc/alloc_wrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The value-log file of modes 1 and 3: four blocks and a bit, every byte a
 * function of its offset (vlog_fuzz_byte). */
#define VLOG_FUZZ_FILE_SIZE (4u * WAL_BLOCK_SIZE + 1000u)
/* Gathers and loads of longer values check the span's arithmetic only, or
 * only that the load fails no other way than KV_ERR_CORRUPT (speed: each
 * byte costs tens of instructions here; a value from near a block's end
 * crosses a boundary at any length). */
#define VLOG_FUZZ_GATHER_MAX (36u << 10)
/* The name every file of the harness has: file 1. */
#define VLOG_FUZZ_NAME "000000000001" VLOG_SUFFIX

static void vlog_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "vlog fuzz invariant broken: %s (%s)\n", what, kv_errmsg());
        abort();
    }
}

/* The byte at file offset o of every span and file the harness makes. */
static uint8_t vlog_fuzz_byte(uint64_t o)
{
    return (uint8_t)(o ^ (o >> 8) ^ (o >> 16) ^ 0x5a);
}

static int vlog_fuzz_in_header(uint64_t o)
{
    return o % WAL_BLOCK_SIZE < WAL_HEADER_SIZE;
}

/* The span of a value of len bytes at offset, in closed form: the bytes
 * left in the first block, then 7 more for each further block it needs. */
static uint64_t vlog_fuzz_span(uint64_t offset, uint64_t len)
{
    uint64_t first = WAL_BLOCK_SIZE - offset % WAL_BLOCK_SIZE;
    if (len <= first)
        return len;
    uint64_t rest = len - first;
    uint64_t blocks = (rest + WAL_MAX_FRAGMENT - 1) / WAL_MAX_FRAGMENT;
    return len + blocks * WAL_HEADER_SIZE;
}

/* Payload bytes (those outside block headers) in [a, b). */
static uint64_t vlog_fuzz_data_between(uint64_t a, uint64_t b)
{
    uint64_t n = 0;
    while (a < b) {
        uint64_t block_end = a - a % WAL_BLOCK_SIZE + WAL_BLOCK_SIZE;
        uint64_t end = b < block_end ? b : block_end;
        uint64_t data_from = a - a % WAL_BLOCK_SIZE + WAL_HEADER_SIZE;
        uint64_t from = a > data_from ? a : data_from;
        if (end > from)
            n += end - from;
        a = end;
    }
    return n;
}

/* ---- where a value is ----------------------------------------------------- */

static void vlog_fuzz_gather(const vlog_where *w)
{
    uint64_t span = vlog_span(w);
    vlog_fuzz_check(span == vlog_fuzz_span(w->offset, w->len),
                    "vlog_span: the length plus 7 bytes per block boundary crossed");
    vlog_fuzz_check(span >= w->len && (span - w->len) % WAL_HEADER_SIZE == 0,
                    "vlog_span: only whole headers between the value's bytes");
    vlog_fuzz_check(!vlog_fuzz_in_header(w->offset + span - 1),
                    "vlog_span: the span ends on a value byte, not in a header");
    if (w->len > VLOG_FUZZ_GATHER_MAX)
        return;
    uint8_t *s = malloc((size_t)span), *out = malloc(w->len), *model = malloc(w->len);
    vlog_fuzz_check(s != NULL && out != NULL && model != NULL, "malloc");
    for (uint64_t i = 0; i < span; i++)
        s[i] = vlog_fuzz_byte(w->offset + i);
    uint64_t k = 0, last = 0;
    for (uint64_t i = 0; i < span && k < w->len; i++) {
        if (!vlog_fuzz_in_header(w->offset + i)) {
            model[k++] = s[i];
            last = i;
        }
    }
    vlog_fuzz_check(k == w->len && last == span - 1,
                    "vlog_span: the span holds the value's bytes and ends with its last");
    vlog_gather(w, s, out);
    vlog_fuzz_check(memcmp(out, model, w->len) == 0,
                    "vlog_gather: the value's bytes, every block header left out");
    vlog_gather(w, s, s); /* in place, as vlog_load_at does */
    vlog_fuzz_check(memcmp(s, model, w->len) == 0, "vlog_gather in place: the same bytes");
    free(s);
    free(out);
    free(model);
}

/* (p: the body, which ends where the input does, whose buffer libFuzzer
 * and the replay make exactly its size: ASan sees a read past it.) */
static void vlog_fuzz_where(const uint8_t *p, size_t n)
{
    vlog_where w;
    const char *why = NULL;
    int rc = vlog_where_decode(p, n, &w, &why);
    vlog_fuzz_check(rc == 0 || (rc == -1 && why != NULL && why[0] != '\0'),
                    "vlog_where_decode: 0, or -1 with a reason");
    if (rc != 0)
        return;
    vlog_fuzz_check(w.file >= 1, "a where names a log (from 1)");
    vlog_fuzz_check(w.len >= 1 && w.len <= VLOG_MAX_VALUE, "a where's length is 1 .. 64 MiB");
    vlog_fuzz_check(w.offset >= LSM_WAL_START + WAL_HEADER_SIZE && !vlog_fuzz_in_header(w.offset),
                    "a where's offset is a payload byte: past the file header and the first "
                    "fragment's, outside every block header");
    uint8_t *again = malloc(VLOG_WHERE_MAX);
    vlog_fuzz_check(again != NULL, "malloc");
    size_t len = vlog_where_encode(again, &w);
    vlog_where w2;
    vlog_fuzz_check(len <= VLOG_WHERE_MAX && len <= n, "vlog_where_encode: at most "
                    "VLOG_WHERE_MAX bytes, no more than a spelling it decoded");
    vlog_fuzz_check(vlog_where_decode(again, len, &w2, &why) == 0 && w2.file == w.file &&
                        w2.offset == w.offset && w2.len == w.len && w2.crc == w.crc,
                    "a where encoded again decodes to the same where");
    free(again);
    vlog_fuzz_gather(&w);
}

/* vlog_payload_offset for a record start and an index taken from p. */
static void vlog_fuzz_payload(const uint8_t *p, size_t n)
{
    if (n < 12)
        return;
    /* A record starts where a fragment header fits in the block: past
     * the file header, at least 7 bytes before the block's end. */
    uint64_t rs = LSM_WAL_START + coding_get_u64(p) % (UINT64_C(1) << 40);
    if (WAL_BLOCK_SIZE - rs % WAL_BLOCK_SIZE < WAL_HEADER_SIZE)
        rs += WAL_BLOCK_SIZE - rs % WAL_BLOCK_SIZE;
    uint64_t i = coding_get_u32(p + 8) % VLOG_MAX_VALUE;
    /* The index from the input, and those around the first two block
     * boundaries the record's payload crosses (the bounds of the
     * arithmetic), each checked against a count of payload bytes. */
    uint64_t first = wal_block_left(rs) - WAL_HEADER_SIZE;
    uint64_t bounds[] = {i, first - 1, first, first + 1, first + WAL_MAX_FRAGMENT - 1,
                         first + WAL_MAX_FRAGMENT, first + WAL_MAX_FRAGMENT + 1};
    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
        if (bounds[b] >= VLOG_MAX_VALUE)
            continue; /* (first - 1 when first is 0) */
        uint64_t at = vlog_payload_offset(rs, bounds[b]);
        vlog_fuzz_check(at >= rs + WAL_HEADER_SIZE && !vlog_fuzz_in_header(at),
                        "vlog_payload_offset: a payload byte, outside every header");
        vlog_fuzz_check(vlog_fuzz_data_between(rs + WAL_HEADER_SIZE, at) == bounds[b],
                        "vlog_payload_offset: byte i has exactly i payload bytes before it");
    }
    uint64_t at = vlog_payload_offset(rs, i);
    uint64_t len = 1 + (n > 12 ? p[12] * 257u : 0);
    vlog_where w = {.file = 1, .offset = at, .len = (uint32_t)len};
    vlog_fuzz_check(vlog_span(&w) == vlog_payload_offset(rs, i + len - 1) + 1 - at,
                    "vlog_span agrees with vlog_payload_offset on where a value ends");
}

/* ---- VLOGCOUNTS -------------------------------------------------------------- */

/* (p: the body, as vlog_fuzz_where's, or an allocation of exactly n.) */
static void vlog_fuzz_counts_one(const uint8_t *copy, size_t n)
{
    uint64_t flushed = 0;
    vlog_count *c = NULL;
    size_t count = 0;
    int rc = vlog_counts_decode(VLOG_COUNTS_NAME, copy, n, &flushed, &c, &count);
    vlog_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT,
                    "vlog_counts_decode: KV_OK or KV_ERR_CORRUPT");
    if (rc == KV_OK) {
        for (size_t i = 0; i < count; i++)
            vlog_fuzz_check(c[i].start >= 1 && (i == 0 || c[i].start > c[i - 1].start) &&
                                c[i].live_bytes <= c[i].bytes,
                            "counts: files ascending from 1, live bytes within bytes");
        uint8_t *again = NULL;
        size_t len = 0;
        vlog_fuzz_check(vlog_counts_encode(flushed, c, count, &again, &len) == KV_OK,
                        "vlog_counts_encode");
        if (coding_get_u32(copy + 8) != 1u) /* (version 1 is read, never written) */
            vlog_fuzz_check(len == n && memcmp(again, copy, n) == 0,
                            "counts that decode encode again to exactly their bytes");
        uint64_t flushed2 = 0;
        vlog_count *c2 = NULL;
        size_t count2 = 0;
        vlog_fuzz_check(vlog_counts_decode(VLOG_COUNTS_NAME, again, len, &flushed2, &c2,
                                           &count2) == KV_OK &&
                            flushed2 == flushed && count2 == count &&
                            (count == 0 || memcmp(c2, c, count * sizeof *c) == 0),
                        "counts encoded decode again to the same counts");
        free(c2);
        free(again);
    } else {
        vlog_fuzz_check(c == NULL && count == 0, "a refusal hands out no counts");
    }
    free(c);
}

static void vlog_fuzz_counts(const uint8_t *p, size_t n)
{
    vlog_fuzz_counts_one(p, n);
    if (n < FILE_HEADER_SIZE + 20 || memcmp(p, FILE_MAGIC_VLC08, 8) != 0)
        return;
    /* Both crc32c made right: the header's, and the one over the rest. */
    uint8_t *fixed = malloc(n);
    vlog_fuzz_check(fixed != NULL, "malloc");
    memcpy(fixed, p, n);
    fuzz_fix_body_crc(fixed, n);
    vlog_fuzz_counts_one(fixed, n);
    free(fixed);
}

/* ---- the harness's directories ---------------------------------------------- */

/* Two directories, in memory (common/io_mem.h, the I/O layer's backend
 * once the harness runs: no system call, and a file the store maps is an
 * allocation of exactly its size): `fixed` holds the value-log file of
 * modes 1 and 3 (and, in mode 1, the input as VLOGCOUNTS beside it);
 * `input` holds mode 2's input as the value-log file. */
static const char vlog_fuzz_fixed[] = "/kvvlog/fixed", vlog_fuzz_input[] = "/kvvlog/input";

static void vlog_fuzz_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    vlog_fuzz_check(io_mem_put(path, p, n) == 0, "a file of the harness in memory");
}

static void vlog_fuzz_remove(const char *dir, const char *name)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    io_unlink(path);
}

/* The fixed file's bytes (vlog_fuzz_byte of each offset), made once. */
static uint8_t *vlog_fuzz_image_bytes;

static void vlog_fuzz_image_free(void)
{
    free(vlog_fuzz_image_bytes);
}

static const uint8_t *vlog_fuzz_image(void)
{
    if (vlog_fuzz_image_bytes == NULL) {
        vlog_fuzz_image_bytes = malloc(VLOG_FUZZ_FILE_SIZE);
        vlog_fuzz_check(vlog_fuzz_image_bytes != NULL, "malloc");
        for (uint64_t o = 0; o < VLOG_FUZZ_FILE_SIZE; o++)
            vlog_fuzz_image_bytes[o] = vlog_fuzz_byte(o);
        atexit(vlog_fuzz_image_free);
    }
    return vlog_fuzz_image_bytes;
}

/* Both directories, the fixed file in one: made again after an input
 * that ran the engine (fuzz_dbfile_run empties the memory). */
static void vlog_fuzz_dirs(void)
{
    char path[160];
    const uint8_t *bytes = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", vlog_fuzz_fixed, VLOG_FUZZ_NAME);
    if (io_get_ops() == &io_mem_ops && io_mem_get(path, &bytes, &n) == 0)
        return;
    fuzz_dbfile_mem_reset();
    vlog_fuzz_check(io_mkdir("/kvvlog") == KV_OK && io_mkdir(vlog_fuzz_input) == KV_OK,
                    "mkdir");
    vlog_fuzz_write(vlog_fuzz_fixed, VLOG_FUZZ_NAME, vlog_fuzz_image(), VLOG_FUZZ_FILE_SIZE);
}

/* The end of an input: every file it left goes but the fixed file, which
 * is kept between inputs (made again if an engine run emptied the memory),
 * so that an input frees what it allocated (fuzz_dbfile_mem_done says
 * why).  The fixed file's bytes are a function of their offsets alone: no
 * input sees another's. */
static void vlog_fuzz_tidy(void)
{
    const char *dirs[2] = {vlog_fuzz_fixed, vlog_fuzz_input};
    const uint8_t *bytes = NULL;
    size_t n = 0;
    char path[160];
    snprintf(path, sizeof path, "%s/%s", vlog_fuzz_fixed, VLOG_FUZZ_NAME);
    if (io_mem_get(path, &bytes, &n) != 0) {
        fuzz_dbfile_mem_done();
        vlog_fuzz_dirs();
        return;
    }
    for (int d = 0; d < 2; d++) {
        char **names = NULL;
        size_t count = 0;
        if (io_list(dirs[d], &names, &count) != KV_OK)
            continue;
        for (size_t i = 0; i < count; i++)
            if (d == 1 || strcmp(names[i], VLOG_FUZZ_NAME) != 0)
                vlog_fuzz_remove(dirs[d], names[i]);
        io_list_free(names, count);
    }
}

/* A copy of p[0, n) in an allocation of exactly its size (1 if empty). */
static uint8_t *vlog_fuzz_copy(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    vlog_fuzz_check(c != NULL, "malloc");
    if (n > 0)
        memcpy(c, p, n);
    return c;
}

/* A value store over dir, which holds one value-log file, file 1, as kv_open
 * makes it (read only: it writes nothing).  faulted: an I/O call may fail
 * under it (io_fault): then the open may fail with that call's error (a
 * message, not KV_ERR_CORRUPT), and NULL is returned. */
/* value_store_open of such a store into *vs (to be closed whatever it
 * returns), its error's message kept. */
static int vlog_fuzz_store_try(const char *dir, uint64_t flushed, value_store **vs)
{
    db_dir d = {.path = (char *)dir};
    kv_options opt;
    kv_options_init(&opt);
    opt.read_only = 1;
    size_t memtable = 4u << 20;
    value_store_env env = {.dir = &d, .opt = &opt, .memtable_limit = &memtable};
    char name[] = VLOG_FUZZ_NAME;
    char *others[] = {name};
    lsm_listing l;
    memset(&l, 0, sizeof l);
    l.others = others;
    l.nothers = 1;
    int has_jobs = 0;
    *vs = NULL;
    kv_error_clear();
    return value_store_open(&env, &l, flushed, vs, &has_jobs);
}

static value_store *vlog_fuzz_store_open(const char *dir, uint64_t flushed, int faulted)
{
    value_store *vs = NULL;
    int rc = vlog_fuzz_store_try(dir, flushed, &vs);
    if (faulted && rc != KV_OK) {
        vlog_fuzz_check(rc != KV_ERR_CORRUPT && kv_errmsg()[0] != '\0',
                        "an open the I/O layer fails answers its error, with a message");
        vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
        return NULL;
    }
    vlog_fuzz_check(rc == KV_OK, "value_store_open over the harness's value-log file");
    return vs;
}

/* Whether rc, where an I/O call may have failed (faulted), is such a
 * failure: an error with a message, not KV_ERR_CORRUPT (nothing is
 * damaged). */
static int vlog_fuzz_failed(int rc, int faulted)
{
    if (!faulted || rc == KV_OK || rc == KV_ERR_CORRUPT)
        return 0;
    vlog_fuzz_check(kv_errmsg()[0] != '\0', "an I/O call's failure has a message");
    return 1;
}

/* A job of the store, if it picks one, run as the engine runs it: every
 * value it gives is a where of file 1, and loads (the file is whole, or
 * the job gives nothing).  faulted: a failure of the I/O layer may stop
 * it (vlog_fuzz_failed), no other error. */
static void vlog_fuzz_job(value_store *vs, int faulted)
{
    value_job *job = NULL;
    kv_error_clear();
    int rc = value_store_pick(vs, UINT64_MAX, &job);
    if (vlog_fuzz_failed(rc, faulted))
        return;
    vlog_fuzz_check(rc == KV_OK, "value_store_pick");
    if (job == NULL)
        return;
    vlog_fuzz_check(!value_store_job_wants_keys(job), "a file not known damaged is read for its "
                    "values");
    value_move m;
    int got, status = KV_OK;
    kv_error_clear();
    while ((got = value_store_job_next(job, &m)) == 1) {
        vlog_where w;
        const char *why = NULL;
        vlog_fuzz_check(vlog_where_decode(m.where, m.wlen, &w, &why) == 0 && w.file == 1,
                        "a job's value is a where of its file");
        const uint8_t *val = NULL;
        size_t vlen = 0;
        kv_error_clear();
        rc = value_store_job_value(job, &val, &vlen);
        if (vlog_fuzz_failed(rc, faulted)) {
            status = rc;
            break;
        }
        vlog_fuzz_check(rc == KV_OK && vlen == w.len,
                        "every value a job reads from a whole file loads, with its length");
        value_store_job_result(job, VALUE_LIVE);
        kv_error_clear();
    }
    vlog_fuzz_check(got == 0 || got == 1 || got == KV_ERR_CORRUPT || got == KV_ERR_NOMEM ||
                        vlog_fuzz_failed(got, faulted),
                    "value_store_job_next: 1, 0, or an error");
    if (got < 0)
        status = got;
    value_store_job_end(vs, job, 1, status);
}

/* Names a mode-4 body lists, at most. */
#define VLOG_FUZZ_LISTED 8

/* What value_store_describe said (its lines, and kv_inspect's): the
 * settings, the count of files and their live bytes, and the files'
 * numbers in order. */
typedef struct vlog_fuzz_said {
    uint64_t threshold, files, live;
    long gc_percent;
    uint64_t starts[VLOG_FUZZ_LISTED + 1];
    size_t nstarts;
    int ascending;
} vlog_fuzz_said;

static void vlog_fuzz_said_line(void *ctx, const char *line)
{
    vlog_fuzz_said *s = ctx;
    unsigned long long v;
    long g;
    const char *file = strstr(line, " file=");
    if (sscanf(line, "values.threshold: %llu", &v) == 1)
        s->threshold = v;
    else if (sscanf(line, "values.gc_percent: %ld", &g) == 1)
        s->gc_percent = g;
    else if (sscanf(line, "values.files: %llu", &v) == 1)
        s->files = v;
    else if (sscanf(line, "values.live_bytes: %llu", &v) == 1)
        s->live = v;
    else if (strncmp(line, "vlog", 4) == 0 && file != NULL && sscanf(file, " file=%llu", &v) == 1 &&
             s->nstarts <= VLOG_FUZZ_LISTED) {
        if (s->nstarts > 0 && s->starts[s->nstarts - 1] > v)
            s->ascending = 0;
        s->starts[s->nstarts++] = v;
    }
}

/* ---- VLOGCOUNTS, as a file (mode 1) -------------------------------------------- */

/* Values a merge drops come off file 1's live bytes (value_store_dropped,
 * V2): one of a byte takes at most that byte, and one as long as a value
 * may be leaves none. */
static void vlog_fuzz_dropped(value_store *vs)
{
    uint8_t where[VLOG_WHERE_MAX];
    vlog_fuzz_said before = {.ascending = 1}, after = {.ascending = 1};
    vlog_where w = {.file = 1, .offset = LSM_WAL_START + WAL_HEADER_SIZE, .len = 1};
    vlog_fuzz_check(value_store_describe(vs, 0, vlog_fuzz_said_line, &before) == KV_OK,
                    "value_store_describe");
    value_store_dropped(vs, where, vlog_where_encode(where, &w));
    vlog_fuzz_check(value_store_describe(vs, 0, vlog_fuzz_said_line, &after) == KV_OK &&
                        after.live <= before.live && before.live - after.live <= 1,
                    "a dropped value of a byte takes at most a byte off the live bytes");
    w.len = VLOG_MAX_VALUE;
    value_store_dropped(vs, where, vlog_where_encode(where, &w));
    vlog_fuzz_check(value_store_describe(vs, 0, vlog_fuzz_said_line, &after) == KV_OK &&
                        after.live == 0,
                    "a dropped value as long as a value may be leaves no live bytes");
}

static void vlog_fuzz_counts_file(const uint8_t *p, size_t n)
{
    uint8_t *fixed = vlog_fuzz_copy(p, n);
    fuzz_fix_body_crc(fixed, n);
    uint64_t flushed = 0;
    vlog_count *c = NULL;
    size_t count = 0;
    int decodes = vlog_counts_decode(VLOG_COUNTS_NAME, fixed, n, &flushed, &c, &count) == KV_OK;
    vlog_fuzz_write(vlog_fuzz_fixed, VLOG_COUNTS_NAME, fixed, n);
    free(fixed);

    /* As kv_open reads it, for the `flushed` it holds and for another. */
    for (int other = 0; other < 2; other++) {
        vlog_count *got = NULL;
        size_t ngot = 0;
        int rc = vlog_counts_load(vlog_fuzz_fixed, 1, flushed + (uint64_t)other, &got, &ngot);
        vlog_fuzz_check(rc == KV_OK, "vlog_counts_load: a damaged file is no error");
        if (decodes && !other)
            vlog_fuzz_check(ngot == count && (count == 0 || memcmp(got, c, count * sizeof *c) == 0),
                            "vlog_counts_load hands out the counts the file holds");
        else
            vlog_fuzz_check(ngot == 0 && got == NULL, "counts that do not decode, or of "
                            "another state of the directory, are not used");
        free(got);
    }
    free(c);
    int rc = value_store_dump(vlog_fuzz_fixed, fuzz_dbfile_ignore_line, NULL);
    vlog_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT, "value_store_dump: only "
                    "KV_ERR_CORRUPT");
    /* A store that takes the counts when they name the file's size. */
    value_store *vs = vlog_fuzz_store_open(vlog_fuzz_fixed, flushed, 0);
    rc = value_store_describe(vs, 1, fuzz_dbfile_ignore_line, NULL);
    vlog_fuzz_check(rc == KV_OK, "value_store_describe");
    vlog_fuzz_job(vs, 0);
    vlog_fuzz_dropped(vs);
    vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
    vlog_fuzz_remove(vlog_fuzz_fixed, VLOG_COUNTS_NAME);
    /* As a database's (one input in sixteen): the engine on the counts
     * made right, then kv_repair's promise on them as they are, damage
     * and all (fuzz_dbfile.h). */
    if (fuzz_dbfile_sampled(p, n)) {
        fixed = vlog_fuzz_copy(p, n);
        fuzz_fix_body_crc(fixed, n);
        fuzz_dbfile_run(VLOG_COUNTS_NAME, fixed, n);
        fuzz_dbfile_repair(VLOG_COUNTS_NAME, p, n);
        free(fixed);
    }
}

/* ---- a value-log file (mode 2) ---------------------------------------------------- */

static void vlog_fuzz_log_file(const uint8_t *p, size_t n, int engine)
{
    uint8_t *fixed = vlog_fuzz_copy(p, n);
    fuzz_fix_file_header(fixed, n);
    fuzz_fix_wal_fragments(fixed, n, n < LSM_WAL_START ? n : LSM_WAL_START);
    vlog_fuzz_write(vlog_fuzz_input, VLOG_FUZZ_NAME, fixed, n);
    int rc = value_store_dump(vlog_fuzz_input, fuzz_dbfile_ignore_line, NULL);
    vlog_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT, "value_store_dump: only "
                    "KV_ERR_CORRUPT");
    value_store *vs = vlog_fuzz_store_open(vlog_fuzz_input, 0, 0);
    vlog_fuzz_job(vs, 0);
    vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
    vlog_fuzz_remove(vlog_fuzz_input, VLOG_FUZZ_NAME);
    /* The file as a database's (one input in sixteen): kv_open, reads,
     * kv check and kv dump, then kv_repair's promise (fuzz_dbfile.h). */
    if (engine && fuzz_dbfile_sampled(p, n)) {
        fuzz_dbfile_run(VLOG_FUZZ_NAME, fixed, n);
        fuzz_dbfile_repair(VLOG_FUZZ_NAME, fixed, n);
    }
    free(fixed);
}

/* ---- the same with the I/O layer failing a call (the mode byte's bit 3) ------ */

/* Installs io_fault over the backend in memory: every call of the I/O
 * layer counted, the nth failing with EIO (0: none fails, but files are
 * read with calls: io_fault maps none). */
static void vlog_fuzz_fault(long nth)
{
    io_fault_plan plan = {.kinds = IO_FAULT_ALL, .fail_at = nth};
    io_fault_install(&plan);
}

/* Mode 1 with a failing call: VLOGCOUNTS (its crc32c made right) and an
 * unfinished save beside it (VLOGCOUNTS.tmp) loaded by a store that may
 * write (vlog_counts_load removes both), then the counts it holds (or, if
 * it holds none, one file's) saved again, then kv dump, the nth call of
 * the three failing: each KV_OK or the failure's error, with a message; a load that
 * fails hands out nothing, one that succeeds the decoder's counts.  After
 * them, with no call failing, the file holds exactly what a save that
 * succeeded wrote, and after a failed save nothing or that. */
static void vlog_fuzz_counts_faulted(const uint8_t *p, size_t n, long nth)
{
    uint8_t *fixed = vlog_fuzz_copy(p, n);
    fuzz_fix_body_crc(fixed, n);
    uint64_t flushed = 0;
    vlog_count *c = NULL;
    size_t count = 0;
    int decodes = vlog_counts_decode(VLOG_COUNTS_NAME, fixed, n, &flushed, &c, &count) == KV_OK;
    vlog_fuzz_write(vlog_fuzz_fixed, VLOG_COUNTS_NAME, fixed, n);
    vlog_fuzz_write(vlog_fuzz_fixed, VLOG_COUNTS_NAME ".tmp", fixed, n / 2);
    free(fixed);
    vlog_fuzz_fault(nth);
    vlog_count *got = NULL;
    size_t ngot = 0;
    kv_error_clear();
    int rc = vlog_counts_load(vlog_fuzz_fixed, 0, flushed, &got, &ngot);
    if (!vlog_fuzz_failed(rc, 1)) {
        vlog_fuzz_check(rc == KV_OK, "vlog_counts_load: a damaged file is no error");
        vlog_fuzz_check(decodes ? ngot == count &&
                                      (count == 0 || memcmp(got, c, count * sizeof *c) == 0)
                                : ngot == 0,
                        "vlog_counts_load hands out the counts the file holds");
    } else {
        vlog_fuzz_check(got == NULL && ngot == 0, "a load that fails hands out nothing");
    }
    free(got);
    vlog_count one = {.start = 1, .bytes = VLOG_FUZZ_FILE_SIZE, .value_bytes = 1000,
                      .live_bytes = 600, .undropped = 100, .counted_at = 7};
    const vlog_count *saved = decodes && count > 0 ? c : &one;
    size_t nsaved = decodes && count > 0 ? count : 1;
    kv_error_clear();
    int save_rc = vlog_counts_save(vlog_fuzz_fixed, flushed, saved, nsaved);
    vlog_fuzz_check(save_rc == KV_OK || vlog_fuzz_failed(save_rc, 1),
                    "vlog_counts_save: KV_OK, or the failure");
    kv_error_clear();
    rc = value_store_dump(vlog_fuzz_fixed, fuzz_dbfile_ignore_line, NULL);
    vlog_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT || vlog_fuzz_failed(rc, 1),
                    "value_store_dump: KV_ERR_CORRUPT, or the failure");
    io_fault_uninstall();
    got = NULL;
    ngot = 0;
    rc = vlog_counts_load(vlog_fuzz_fixed, 1, flushed, &got, &ngot);
    vlog_fuzz_check(rc == KV_OK, "vlog_counts_load");
    vlog_fuzz_check(ngot == 0 ? save_rc != KV_OK
                              : ngot == nsaved && memcmp(got, saved, nsaved * sizeof *got) == 0,
                    "what a save wrote is read back, and what it did not write is not");
    free(got);
    free(c);
    vlog_fuzz_remove(vlog_fuzz_fixed, VLOG_COUNTS_NAME);
    vlog_fuzz_remove(vlog_fuzz_fixed, VLOG_COUNTS_NAME ".tmp");
}

/* Mode 2 with a failing call: kv dump of the value-log file, a store over
 * it and its job (which reads with calls under io_fault), each KV_OK, or
 * what mode 2 allows, or the failure's error. */
static void vlog_fuzz_log_file_faulted(const uint8_t *p, size_t n, long nth)
{
    uint8_t *fixed = vlog_fuzz_copy(p, n);
    fuzz_fix_file_header(fixed, n);
    fuzz_fix_wal_fragments(fixed, n, n < LSM_WAL_START ? n : LSM_WAL_START);
    vlog_fuzz_write(vlog_fuzz_input, VLOG_FUZZ_NAME, fixed, n);
    free(fixed);
    vlog_fuzz_fault(nth);
    kv_error_clear();
    int rc = value_store_dump(vlog_fuzz_input, fuzz_dbfile_ignore_line, NULL);
    vlog_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT || vlog_fuzz_failed(rc, 1),
                    "value_store_dump: KV_ERR_CORRUPT, or the failure");
    value_store *vs = vlog_fuzz_store_open(vlog_fuzz_input, 0, 1);
    if (vs != NULL) {
        vlog_fuzz_job(vs, 1);
        vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
    }
    io_fault_uninstall();
    vlog_fuzz_remove(vlog_fuzz_input, VLOG_FUZZ_NAME);
}

/* ---- a whole database (mode 6) ------------------------------------------------ */

/* Files of a database, at most this many. */
#define VLOG_FUZZ_DB_FILES 12
/* A name, at most this long. */
#define VLOG_FUZZ_NAME_MAX 40

/* Whether name[0, n) may name a file of the directory: letters, digits,
 * '.', '-' and '_', not "." or "..", and not IDENTITY or LOCK (the
 * directory's own, fuzz_dbfile.h). */
static int vlog_fuzz_good_name(const char *name, size_t n)
{
    if (n == 0 || n > VLOG_FUZZ_NAME_MAX || (n <= 2 && memcmp(name, "..", n) == 0))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return !(n == 8 && memcmp(name, "IDENTITY", 8) == 0) && !(n == 4 && memcmp(name, "LOCK", 4) == 0);
}

/* The body as files: each a name's length (one byte), the name, its size
 * (4 bytes, little-endian) and its bytes, until the body ends or an entry
 * does not fit or names no file (or one named before).  Their names go in
 * names; returns how many. */
static size_t vlog_fuzz_unpack(const uint8_t *p, size_t n, fuzz_dbfile *files,
                               char names[][VLOG_FUZZ_NAME_MAX + 1])
{
    size_t count = 0, at = 0;
    while (count < VLOG_FUZZ_DB_FILES && at < n) {
        size_t len = p[at];
        if (n - at - 1 < len + 4 || !vlog_fuzz_good_name((const char *)p + at + 1, len))
            break;
        uint32_t size = coding_get_u32(p + at + 1 + len);
        if (n - at - 5 - len < size)
            break;
        memcpy(names[count], p + at + 1, len);
        names[count][len] = '\0';
        int again = 0;
        for (size_t i = 0; i < count; i++)
            again |= strcmp(names[i], names[count]) == 0;
        if (again)
            break;
        files[count] = (fuzz_dbfile){names[count], p + at + 5 + len, size};
        count++;
        at += 5 + len + size;
    }
    return count;
}

/* Mode 6: a database of stage 08 (its tables, manifest, value-log files,
 * VLOGCOUNTS, logs), each file as it is, no checksum made right.  Each
 * value-log file is read as mode 2 reads one (kv dump, a job measuring
 * it); one input in sixteen, the database goes through the engine, then
 * kv_compact (fuzz_dbfile_compact_files), where a value-log file the
 * input damaged is found so by a job that measures it and then emptied of
 * what the keys still read there (value_store_job_offer: the tables name
 * its values, since its own records cannot be walked past the damage),
 * every answer as it was; then kv_repair's promise. */
static void vlog_fuzz_db(const uint8_t *p, size_t n)
{
    fuzz_dbfile files[VLOG_FUZZ_DB_FILES];
    char names[VLOG_FUZZ_DB_FILES][VLOG_FUZZ_NAME_MAX + 1];
    size_t count = vlog_fuzz_unpack(p, n, files, names);
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(files[i].name);
        if (len > 5 && strcmp(files[i].name + len - 5, VLOG_SUFFIX) == 0)
            vlog_fuzz_log_file(files[i].data, files[i].size, 0);
    }
    if (count > 0 && fuzz_dbfile_sampled(p, n)) {
        fuzz_dbfile_run_files(files, count);
        fuzz_dbfile_compact_files(files, count);
        fuzz_dbfile_repair_files(files, count);
        /* (One in 64 of those, every one in a replay: kv_check, kv_dump
         * and kv_repair with calls of the I/O layer failing, then
         * kv_repair's promise; a failure kv_open meets in kv_repair may
         * make the engine wait before it retries: a run costs tenths of
         * a second of waiting.) */
        if (fuzz_dbfile_sampled_rarely(p, n, 64))
            fuzz_dbfile_repair_faulted(files, count, 4, crc32c_value(p, n));
    }
}

/* ---- a store's settings and listing (mode 4) ---------------------------------- */

/* Whether name is a value-log file's, as the harness reads the format
 * (docs/formats.md): its number from 1 in twelve digits (more only if it
 * needs them: no zero before a number of twelve), ".vlog"; *start its
 * number.  -1 where the number has 20 digits (whether it fits in 64 bits
 * is not this reading's to say; with 21 it cannot). */
static int vlog_fuzz_vlog_name(const char *name, uint64_t *start)
{
    size_t digits = 0, lead = 0;
    while (name[digits] >= '0' && name[digits] <= '9')
        digits++;
    if (strcmp(name + digits, VLOG_SUFFIX) != 0)
        return 0;
    while (lead < digits && name[lead] == '0')
        lead++;
    if (digits - lead >= 20)
        return digits - lead == 20 && digits == 20 ? -1 : 0;
    *start = 0;
    for (size_t i = lead; i < digits; i++)
        *start = *start * 10 + (uint64_t)(name[i] - '0');
    size_t want = digits - lead > 12 ? digits - lead : 12;
    return *start > 0 && digits == want;
}

/* Mode 4: a value store opened (read only) over the input directory,
 * which holds a small file of each name the body lists, with settings
 * from the body:
 *   byte 0      value_gc_percent, a signed byte
 *   bytes 1-4   value_threshold (little-endian)
 *   byte 5      bit 0: memtable_bytes of 1 MiB; bit 1: a clean close;
 *               bit 2: each value-log file listed as a log too; bit 3:
 *               the memtable's limit 128 MiB before the open (else 4 KiB);
 *               bit 4: the files empty (else 64 zero bytes each); bit 6:
 *               a store that may write (else read only)
 *   then names  each a length byte and the name (vlog_fuzz_good_name),
 *               at most VLOG_FUZZ_LISTED
 * held to what value_store_open promises (the header's "settings"). */
static void vlog_fuzz_settings(const uint8_t *p, size_t n)
{
    if (n < 6)
        return;
    kv_options opt;
    kv_options_init(&opt);
    int writable = (p[5] & 64) != 0;
    opt.read_only = !writable;
    opt.value_gc_percent = (int8_t)p[0];
    opt.value_threshold = coding_get_u32(p + 1);
    opt.memtable_bytes = p[5] & 1 ? (size_t)1 << 20 : 0;
    char names[VLOG_FUZZ_LISTED][VLOG_FUZZ_NAME_MAX + 1];
    char *others[VLOG_FUZZ_LISTED];
    lsm_listed_wal wals[VLOG_FUZZ_LISTED + 1];
    size_t count = 0, nwals = 0, vlogs = 0;
    int unsure = 0, lists_counts = 0;
    for (size_t at = 6; count < VLOG_FUZZ_LISTED && at < n;) {
        size_t len = p[at];
        if (n - at - 1 < len || !vlog_fuzz_good_name((const char *)p + at + 1, len))
            break;
        memcpy(names[count], p + at + 1, len);
        names[count][len] = '\0';
        others[count] = names[count];
        uint64_t start = 0;
        int is_vlog = vlog_fuzz_vlog_name(names[count], &start);
        unsure |= is_vlog < 0;
        lists_counts |= strcmp(names[count], VLOG_COUNTS_NAME) == 0;
        if (is_vlog > 0) {
            vlogs++;
            if (p[5] & 4)
                wals[nwals++] = (lsm_listed_wal){.start = start};
        }
        uint8_t zeros[64];
        memset(zeros, 0, sizeof zeros);
        vlog_fuzz_write(vlog_fuzz_input, names[count], zeros, p[5] & 16 ? 0 : sizeof zeros);
        count++;
        at += 1 + len;
    }
    /* (The last log is the one being written: never a value-log file.) */
    wals[nwals++] = (lsm_listed_wal){.start = UINT64_MAX};
    db_dir d = {.path = (char *)vlog_fuzz_input};
    size_t memtable = p[5] & 8 ? (size_t)128 << 20 : (size_t)4 << 10, before = memtable;
    value_store_env env = {.dir = &d, .opt = &opt, .memtable_limit = &memtable};
    lsm_listing l;
    memset(&l, 0, sizeof l);
    l.others = others;
    l.nothers = count;
    l.wals = wals;
    l.nwals = nwals;
    value_store *vs = NULL;
    int has_jobs = 0;
    kv_error_clear();
    int rc = value_store_open(&env, &l, UINT64_MAX, &vs, &has_jobs);
    int gc_ok = opt.value_gc_percent >= 0 && opt.value_gc_percent <= 99;
    if (!gc_ok)
        vlog_fuzz_check(rc == KV_ERR_INVALID && kv_errmsg()[0] != '\0',
                        "value_gc_percent outside 0 to 99 is KV_ERR_INVALID, with a message");
    else if (nwals > 1)
        vlog_fuzz_check(rc == KV_ERR_CORRUPT && kv_errmsg()[0] != '\0',
                        "a value-log file also listed as a log is KV_ERR_CORRUPT, with a "
                        "message");
    else
        vlog_fuzz_check(rc == KV_OK, "value_store_open with settings in range");
    if (rc == KV_OK) {
        vlog_fuzz_said said = {.ascending = 1};
        vlog_fuzz_check(value_store_describe(vs, 0, vlog_fuzz_said_line, &said) == KV_OK &&
                            value_store_describe(vs, 1, vlog_fuzz_said_line, &said) == KV_OK,
                        "value_store_describe");
        vlog_fuzz_check(said.threshold == (opt.value_threshold ? opt.value_threshold
                                                               : VLOG_DEFAULT_THRESHOLD) &&
                            said.gc_percent == (opt.value_gc_percent ? opt.value_gc_percent
                                                                     : VLOG_DEFAULT_GC_PERCENT),
                        "the store says the threshold and gc_percent it was given, or the "
                        "defaults for 0");
        vlog_fuzz_check(unsure || (said.files == vlogs && said.nstarts == vlogs),
                        "a file for each name of a value-log file, those alone");
        vlog_fuzz_check(said.ascending, "the store's files ascend");
        vlog_fuzz_check(memtable == (opt.memtable_bytes == 0 && before < VLOG_MEMTABLE_BYTES
                                         ? VLOG_MEMTABLE_BYTES
                                         : before),
                        "the memtable's limit raised only where memtable_bytes is 0");
    }
    int clean = rc == KV_OK && (p[5] & 2) != 0, opened = rc == KV_OK;
    vlog_fuzz_check(value_store_close(vs, clean) == KV_OK, "value_store_close");
    char counts[160];
    snprintf(counts, sizeof counts, "%s/%s", vlog_fuzz_input, VLOG_COUNTS_NAME);
    int exists = 1;
    vlog_fuzz_check(io_exists(counts, &exists) == KV_OK, "io_exists");
    if (!writable || !opened) {
        vlog_fuzz_check(exists == lists_counts, "a read-only store's close, or a failed open's, "
                        "saves no VLOGCOUNTS");
    } else {
        /* The open set the listed VLOGCOUNTS (zeros) aside; a clean close
         * saved the counts, of no file (none was measured). */
        vlog_count *got = NULL;
        size_t ngot = 0;
        vlog_fuzz_check(exists == clean, "a clean close of a store that may write saves "
                        "VLOGCOUNTS, and only a clean close");
        vlog_fuzz_check(vlog_counts_load(vlog_fuzz_input, 1, UINT64_MAX, &got, &ngot) == KV_OK &&
                            ngot == 0,
                        "the counts a clean close saved read back: no file was measured");
        free(got);
    }
    /* kv dump of the directory: every file there holds zeros, so a
     * value-log file among them is damage, and VLOGCOUNTS where no clean
     * close wrote it again; nothing else is the value log's. */
    int counts_zeros = exists && !(writable && opened);
    kv_error_clear();
    rc = value_store_dump(vlog_fuzz_input, fuzz_dbfile_ignore_line, NULL);
    vlog_fuzz_check(rc == KV_OK || (rc == KV_ERR_CORRUPT && kv_errmsg()[0] != '\0'),
                    "value_store_dump: KV_OK, or KV_ERR_CORRUPT with a message");
    vlog_fuzz_check(unsure || (rc == KV_ERR_CORRUPT) == (vlogs > 0 || counts_zeros),
                    "kv dump of value-log files of zeros, or VLOGCOUNTS of zeros, finds "
                    "damage, and of no such file none");
}

/* ---- a value read through the store (mode 3) --------------------------------- */

/* What a load of a where from the fixed file must answer, by the model. */
typedef struct vlog_fuzz_expect {
    int decodes;    /* the where decodes */
    vlog_where w;   /* (if it does) */
    int inside;     /* it names file 1, and its span lies inside the file */
    int modelled;   /* inside, and at most VLOG_FUZZ_GATHER_MAX bytes: model holds them */
    uint8_t *model; /* (malloc'd) */
    int matches;    /* modelled, and its crc32c is the model's */
} vlog_fuzz_expect;

static void vlog_fuzz_expect_of(const uint8_t *p, size_t n, vlog_fuzz_expect *e)
{
    memset(e, 0, sizeof *e);
    const char *why = NULL;
    e->decodes = vlog_where_decode(p, n, &e->w, &why) == 0;
    e->inside = e->decodes && e->w.file == 1 &&
                e->w.offset + vlog_span(&e->w) <= VLOG_FUZZ_FILE_SIZE;
    e->modelled = e->inside && e->w.len <= VLOG_FUZZ_GATHER_MAX;
    if (!e->modelled)
        return;
    e->model = malloc(e->w.len);
    vlog_fuzz_check(e->model != NULL, "malloc");
    /* The file's bytes from the offset on, each block's header left out. */
    const uint8_t *image = vlog_fuzz_image();
    for (uint64_t k = 0, o = e->w.offset; k < e->w.len;) {
        if (vlog_fuzz_in_header(o)) {
            o += WAL_HEADER_SIZE - o % WAL_BLOCK_SIZE;
            continue;
        }
        uint64_t run = WAL_BLOCK_SIZE - o % WAL_BLOCK_SIZE;
        if (run > e->w.len - k)
            run = e->w.len - k;
        memcpy(e->model + k, image + o, (size_t)run);
        k += run;
        o += run;
    }
    e->matches = crc32c_value(e->model, e->w.len) == e->w.crc;
}

/* A load's answer (rc; *val and vlen when KV_OK) held to the model: a
 * where that does not decode, names a file that is not there, or runs
 * past the file's end is KV_ERR_CORRUPT; one inside it (of at most 36 KiB)
 * is KV_OK with the bytes the model gathers exactly when its crc32c is
 * theirs; a longer one KV_OK or KV_ERR_CORRUPT.  faulted: a call of the
 * I/O layer may have failed under the load, and its error (with a
 * message, never KV_ERR_CORRUPT: the bytes are not damaged) may stand for
 * that answer; KV_OK still only with the model's bytes. */
static void vlog_fuzz_answer(const vlog_fuzz_expect *e, int rc, const uint8_t *val, size_t vlen,
                             int faulted)
{
    vlog_fuzz_check(rc == KV_OK || kv_errmsg()[0] != '\0', "an error has a message");
    if (faulted && rc != KV_OK && rc != KV_ERR_CORRUPT)
        return;
    vlog_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT,
                    "value_store_load: KV_OK or KV_ERR_CORRUPT, where no I/O call fails");
    if (!e->inside) {
        vlog_fuzz_check(rc == KV_ERR_CORRUPT, "a where that does not decode, names a file "
                        "that is not there, or runs past the file's end is KV_ERR_CORRUPT");
    } else if (e->modelled) {
        vlog_fuzz_check(e->matches ? rc == KV_OK : rc == KV_ERR_CORRUPT,
                        "a value inside the file loads exactly when its crc32c matches");
        if (rc == KV_OK)
            vlog_fuzz_check(vlen == e->w.len && memcmp(val, e->model, e->w.len) == 0,
                            "value_store_load: the value's bytes, block headers left out");
    }
}

static void vlog_fuzz_load(value_store *vs, const uint8_t *p, size_t n,
                           const vlog_fuzz_expect *e, value_buf *buf, int faulted)
{
    const uint8_t *val = NULL;
    size_t vlen = 0;
    kv_error_clear(); /* (an error must say why itself) */
    int rc = value_store_load(vs, p, n, buf, &val, &vlen);
    vlog_fuzz_answer(e, rc, val, vlen, faulted);
}

/* e's where with its crc32c made right, into out (VLOG_WHERE_MAX):
 * its length, 0 if e is not modelled. */
static size_t vlog_fuzz_crc_right(const vlog_fuzz_expect *e, uint8_t *out)
{
    if (!e->modelled)
        return 0;
    vlog_where w = e->w;
    w.crc = crc32c_value(e->model, w.len);
    return vlog_where_encode(out, &w);
}

/* A where of a value inside the file whose span is e's (the same offset
 * in an early block, the same length), its crc32c right, into out: its
 * length, 0 if there is none (e does not decode, names another file, is
 * longer than the model goes, or no early block holds it). */
static size_t vlog_fuzz_same_span(const vlog_fuzz_expect *e, uint8_t *out)
{
    if (!e->decodes || e->w.file != 1 || e->w.len > VLOG_FUZZ_GATHER_MAX)
        return 0;
    vlog_where r = e->w;
    r.offset = e->w.offset % WAL_BLOCK_SIZE;
    if (r.offset < LSM_WAL_START + WAL_HEADER_SIZE)
        r.offset += WAL_BLOCK_SIZE;
    if (r.offset + vlog_span(&r) > VLOG_FUZZ_FILE_SIZE)
        return 0;
    uint8_t enc[VLOG_WHERE_MAX];
    size_t len = vlog_where_encode(enc, &r);
    vlog_fuzz_expect re;
    vlog_fuzz_expect_of(enc, len, &re);
    len = vlog_fuzz_crc_right(&re, out);
    free(re.model);
    return len;
}

/* Values at most this long are read 16 at a time together (a batch that
 * long asks the kernel for a mapped file's pages first); longer ones 2 at
 * a time. */
#define VLOG_FUZZ_BATCH_SHORT 1024u

/* The where, and the same with its crc32c made right, read together
 * (value_store_load_many), then told ahead (value_store_read_ahead), each
 * value left for later then loaded through its buffer: every answer as
 * the model says, as a load alone gives it; into buffers a batch of
 * `same` (a value of the where's span inside the file, if slen > 0)
 * grew first. */
static void vlog_fuzz_batch(value_store *vs, const uint8_t *p, size_t n,
                            const vlog_fuzz_expect *e, const uint8_t *fixed, size_t flen,
                            const vlog_fuzz_expect *ef, const uint8_t *same, size_t slen,
                            int faulted)
{
    enum { MAX = 16 };
    size_t m = !e->decodes || e->w.len <= VLOG_FUZZ_BATCH_SHORT ? MAX : 2;
    const uint8_t *where[MAX], *vals[MAX];
    size_t wlen[MAX], vlens[MAX];
    const vlog_fuzz_expect *ex[MAX];
    value_buf bufs[MAX];
    int rcs[MAX];
    memset(bufs, 0, sizeof bufs);
    for (size_t i = 0; i < m; i++) {
        int alt = i % 2 == 1 && flen > 0;
        where[i] = alt ? fixed : p;
        wlen[i] = alt ? flen : n;
        ex[i] = alt ? ef : e;
    }
    /* The buffers first grown by a batch of a value of the same span
     * inside the file (when there is one), as a scan's are by the values
     * before: then only the reads meet the file's end. */
    if (slen > 0) {
        const uint8_t *sw[MAX];
        size_t sl[MAX];
        for (size_t i = 0; i < m; i++) {
            sw[i] = same;
            sl[i] = slen;
        }
        kv_error_clear();
        int rc = value_store_load_many(vs, m, sw, sl, bufs, vals, vlens, rcs);
        vlog_fuzz_check(rc == KV_OK || vlog_fuzz_failed(rc, faulted),
                        "a batch of a value inside the file loads");
    }
    /* No values at all: nothing to read, KV_OK. */
    vlog_fuzz_check(value_store_load_many(vs, 0, where, wlen, bufs, vals, vlens, rcs) == KV_OK &&
                        value_store_read_ahead(vs, 0, where, wlen, bufs, vals, vlens, rcs) ==
                            KV_OK,
                    "a batch of no values is KV_OK");
    for (int ahead = 0; ahead < 2; ahead++) {
        kv_error_clear();
        int first = ahead ? value_store_read_ahead(vs, m, where, wlen, bufs, vals, vlens, rcs)
                          : value_store_load_many(vs, m, where, wlen, bufs, vals, vlens, rcs);
        int want_first = KV_OK;
        for (size_t i = 0; i < m && want_first == KV_OK; i++)
            want_first = rcs[i];
        vlog_fuzz_check(first == want_first, "a batch returns its first error");
        for (size_t i = 0; i < m; i++) {
            if (ahead && rcs[i] == KV_OK && vals[i] == NULL) { /* left for the load */
                kv_error_clear();
                rcs[i] = value_store_load(vs, where[i], wlen[i], &bufs[i], &vals[i], &vlens[i]);
            }
            vlog_fuzz_answer(ex[i], rcs[i], vals[i], vlens[i], faulted);
        }
    }
    for (size_t i = 0; i < m; i++) {
        value_store_let_go(vs, &bufs[i]);
        value_buf_free(&bufs[i]);
    }
}

/* Mode 3: the where loaded by a store over the fixed file, alone, with
 * its crc32c made right, into a buffer an earlier value of the same span
 * grew (as a scan's buffer serves key after key: only the read, not the
 * buffer's growth, then meets the file's end), and in batches; described
 * and dropped.  faulted: the I/O layer is io_fault's (it reads with
 * calls, no file is mapped), whose plan may fail one of them. */
static void vlog_fuzz_store(const uint8_t *p, size_t n, int faulted)
{
    value_store *vs = vlog_fuzz_store_open(vlog_fuzz_fixed, 0, faulted);
    if (vs == NULL)
        return;
    uint64_t pin = value_store_pin(vs);
    vlog_fuzz_expect e, ef;
    vlog_fuzz_expect_of(p, n, &e);
    value_buf buf = {0};
    vlog_fuzz_load(vs, p, n, &e, &buf, faulted);
    value_buf_free(&buf);
    uint8_t fixed[VLOG_WHERE_MAX], same[VLOG_WHERE_MAX];
    size_t flen = vlog_fuzz_crc_right(&e, fixed);
    vlog_fuzz_expect_of(fixed, flen, &ef);
    if (flen > 0) {
        vlog_fuzz_check(ef.matches, "a where's crc32c made right matches");
        vlog_fuzz_load(vs, fixed, flen, &ef, &buf, faulted);
        value_buf_free(&buf);
    }
    size_t slen = vlog_fuzz_same_span(&e, same);
    if (slen > 0) {
        vlog_fuzz_expect es;
        vlog_fuzz_expect_of(same, slen, &es);
        vlog_fuzz_load(vs, same, slen, &es, &buf, faulted);
        vlog_fuzz_load(vs, p, n, &e, &buf, faulted);
        value_buf_free(&buf);
        free(es.model);
    }
    vlog_fuzz_batch(vs, p, n, &e, fixed, flen, &ef, same, slen, faulted);
    vlog_fuzz_check(value_store_value_size(vs, p, n) == (e.decodes ? e.w.len : 0),
                    "value_store_value_size: the where's length, 0 if it does not decode");
    size_t dlen = 0;
    int d = value_store_describe_value(vs, p, n, &dlen, fuzz_dbfile_ignore_line, NULL);
    vlog_fuzz_check(e.decodes ? d == KV_OK && dlen == e.w.len : d == KV_ERR_CORRUPT,
                    "value_store_describe_value: KV_OK with the length, exactly when the "
                    "where decodes");
    value_store_dropped(vs, p, n);
    free(e.model);
    free(ef.model);
    value_store_unpin(vs, pin);
    vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
}

/* ---- allocations refused (modes 2 and 3) ------------------------------------------ */

/* What a reading answered (vlog_fuzz_alloc_job, vlog_fuzz_alloc_loads):
 * each step's rc, and a crc32c over what it gave. */
#define VLOG_FUZZ_STEPS 6
typedef struct vlog_fuzz_answers {
    int rc[VLOG_FUZZ_STEPS];
    uint32_t gave;
} vlog_fuzz_answers;

/* Whether got is want, or a refusal's error: KV_ERR_NOMEM (or KV_ERR_IO,
 * the disk in memory refusing), with a message (vlog_fuzz_told). */
static int vlog_fuzz_refused(int got, int want)
{
    return got == want || got == KV_ERR_NOMEM || got == KV_ERR_IO;
}

/* An error comes with a message, read at once. */
static int vlog_fuzz_told(int rc)
{
    vlog_fuzz_check(rc == KV_OK || kv_errmsg()[0] != '\0', "an error comes with a message");
    return rc;
}

/* Mode 2's store over the input directory and its job: the open, the
 * pick, the job's end; gave: the wheres and lengths of its values. */
static void vlog_fuzz_alloc_job(vlog_fuzz_answers *a)
{
    memset(a, 0, sizeof *a);
    value_store *vs = NULL;
    a->rc[0] = vlog_fuzz_told(vlog_fuzz_store_try(vlog_fuzz_input, 0, &vs));
    a->rc[1] = a->rc[2] = a->rc[0]; /* (a step not taken answers as the one that failed) */
    value_job *job = NULL;
    if (a->rc[0] == KV_OK) {
        kv_error_clear();
        a->rc[1] = a->rc[2] = vlog_fuzz_told(value_store_pick(vs, UINT64_MAX, &job));
    }
    if (job != NULL) {
        value_move m;
        int got;
        kv_error_clear();
        while ((got = value_store_job_next(job, &m)) == 1) {
            const uint8_t *val = NULL;
            size_t vlen = 0;
            kv_error_clear();
            int rc = vlog_fuzz_told(value_store_job_value(job, &val, &vlen));
            if (rc != KV_OK) {
                got = rc;
                break;
            }
            a->gave = crc32c_extend(crc32c_extend(a->gave, m.where, m.wlen), val, vlen);
            value_store_job_result(job, VALUE_LIVE);
            kv_error_clear();
        }
        a->rc[2] = vlog_fuzz_told(got < 0 ? got : KV_OK);
        value_store_job_end(vs, job, 1, a->rc[2]);
    }
    vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
}

/* Mode 3's loads of the where p[0, n) by a store over the fixed file:
 * alone, then with its crc-right copy in a batch and told ahead (each
 * value's rc a step); gave: the values loaded. */
static void vlog_fuzz_alloc_loads(const uint8_t *p, size_t n, const uint8_t *fixed, size_t flen,
                                  vlog_fuzz_answers *a)
{
    memset(a, 0, sizeof *a);
    value_store *vs = NULL;
    a->rc[0] = vlog_fuzz_told(vlog_fuzz_store_try(vlog_fuzz_fixed, 0, &vs));
    for (int i = 1; i < VLOG_FUZZ_STEPS; i++)
        a->rc[i] = a->rc[0]; /* (steps not taken) */
    if (a->rc[0] == KV_OK) {
        value_buf buf = {0};
        const uint8_t *val = NULL;
        size_t vlen = 0;
        kv_error_clear();
        a->rc[1] = vlog_fuzz_told(value_store_load(vs, p, n, &buf, &val, &vlen));
        if (a->rc[1] == KV_OK)
            a->gave = crc32c_extend(a->gave, val, vlen);
        value_buf_free(&buf);
        const uint8_t *where[2] = {p, flen > 0 ? fixed : p}, *vals[2];
        size_t wlen[2] = {n, flen > 0 ? flen : n}, vlens[2];
        int rcs[2];
        for (int ahead = 0; ahead < 2; ahead++) {
            value_buf bufs[2];
            memset(bufs, 0, sizeof bufs);
            kv_error_clear();
            (void)vlog_fuzz_told(ahead ? value_store_read_ahead(vs, 2, where, wlen, bufs, vals,
                                                                 vlens, rcs)
                                       : value_store_load_many(vs, 2, where, wlen, bufs, vals,
                                                               vlens, rcs));
            for (int i = 0; i < 2; i++) {
                a->rc[2 + 2 * ahead + i] = rcs[i];
                if (rcs[i] == KV_OK && vals[i] != NULL)
                    a->gave = crc32c_extend(a->gave, vals[i], vlens[i]);
                value_store_let_go(vs, &bufs[i]);
                value_buf_free(&bufs[i]);
            }
        }
    }
    vlog_fuzz_check(value_store_close(vs, 0) == KV_OK, "value_store_close");
}

/* Runs on every input in the replays, one in 64 when fuzzing. */
#define VLOG_FUZZ_ALLOC_RARELY 64
/* Readings with an allocation refused, at most, per input. */
#define VLOG_FUZZ_ALLOC_RUNS 48

/* Mode 2's job (mode 2) or mode 3's loads once with their allocations
 * counted, then with allocation k refused (tests/alloc/alloc_wrap.h:
 * NULL, once), for every k if there are at most VLOG_FUZZ_ALLOC_RUNS,
 * else that many spread evenly, the first by seed: each step answers as
 * without the refusal or KV_ERR_NOMEM, with a message; where every step
 * answered KV_OK, what they gave is the same; nothing is left allocated. */
static void vlog_fuzz_alloc_faults(int mode, const uint8_t *p, size_t n, uint32_t seed)
{
    uint8_t fixed[VLOG_WHERE_MAX];
    size_t flen = 0;
    if (mode == 2) {
        uint8_t *file = vlog_fuzz_copy(p, n);
        fuzz_fix_file_header(file, n);
        fuzz_fix_wal_fragments(file, n, n < LSM_WAL_START ? n : LSM_WAL_START);
        vlog_fuzz_write(vlog_fuzz_input, VLOG_FUZZ_NAME, file, n);
        free(file);
    } else {
        vlog_fuzz_expect e;
        vlog_fuzz_expect_of(p, n, &e);
        flen = vlog_fuzz_crc_right(&e, fixed);
        free(e.model);
    }
    vlog_fuzz_answers want, got;
    alloc_fail_at(LONG_MAX);
    if (mode == 2)
        vlog_fuzz_alloc_job(&want);
    else
        vlog_fuzz_alloc_loads(p, n, fixed, flen, &want);
    long calls = alloc_calls();
    alloc_disarm();
    long stride = calls / VLOG_FUZZ_ALLOC_RUNS + 1;
    for (long k = 1 + (long)(seed % (uint32_t)stride); k <= calls; k += stride) {
        long live = alloc_live();
        alloc_fail_at(k);
        if (mode == 2)
            vlog_fuzz_alloc_job(&got);
        else
            vlog_fuzz_alloc_loads(p, n, fixed, flen, &got);
        if (!alloc_disarm())
            break; /* this reading made fewer allocations */
        int all_ok = 1;
        for (int i = 0; i < VLOG_FUZZ_STEPS; i++) {
            vlog_fuzz_check(vlog_fuzz_refused(got.rc[i], want.rc[i]),
                            "an allocation refused: each step's answer without it, or "
                            "KV_ERR_NOMEM");
            all_ok &= got.rc[i] == want.rc[i];
        }
        vlog_fuzz_check(!all_ok || got.gave == want.gave,
                        "an allocation refused: steps that answer as without it give the same");
        vlog_fuzz_check(alloc_live() == live, "an allocation refused: nothing left allocated");
    }
    vlog_fuzz_remove(vlog_fuzz_input, VLOG_FUZZ_NAME);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    vlog_fuzz_dirs();
    int mode = (data[0] & 7) == 6 || (data[0] & 7) == 4 ? data[0] & 7 : data[0] & 3;
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    vlog_fuzz_where(body, n);
    vlog_fuzz_payload(body, n);
    vlog_fuzz_counts(body, n);
    /* Bit 3: the mode again through io_fault, call number data[0] >> 4
     * failing (0: none). */
    int faults = mode < 4 && (data[0] & 8) != 0;
    long nth = data[0] >> 4;
    switch (mode) {
    case 1:
        vlog_fuzz_counts_file(body, n);
        if (faults)
            vlog_fuzz_counts_faulted(body, n, nth);
        break;
    case 2:
        vlog_fuzz_log_file(body, n, 1);
        if (faults)
            vlog_fuzz_log_file_faulted(body, n, nth);
        break;
    case 6:
        vlog_fuzz_db(body, n);
        break;
    case 4:
        vlog_fuzz_settings(body, n);
        break;
    case 3:
        vlog_fuzz_store(body, n, 0);
        if (faults) {
            vlog_fuzz_fault(nth);
            vlog_fuzz_store(body, n, 1);
            io_fault_uninstall();
        }
        break;
    }
    if ((mode == 2 || mode == 3) && !faults &&
        (fuzz_dbfile_every() || fuzz_dbfile_sampled_rarely(data, size, VLOG_FUZZ_ALLOC_RARELY))) {
        vlog_fuzz_dirs();
        vlog_fuzz_alloc_faults(mode, body, n, crc32c_value(data, size));
    }
    vlog_fuzz_tidy();
    return 0;
}
