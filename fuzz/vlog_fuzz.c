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
 *                  memtable_bytes, a clean close, the logs listed too);
 *                  with bit 7 of the body's byte 5, instead, the files
 *                  kv_open hands a store and the logs handed over after,
 *                  then again with each I/O call failing in turn
 *                  (vlog_fuzz_handover.c, which says what it checks)
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
 * file is damaged, gives no value where kv dump finds it damaged (the
 * same scan), and every value it gives is
 * a where of file 1 that loads, KV_OK, with its length; through the
 * engine, what fuzz_dbfile.h checks, and after kv_repair says KV_OK, a
 * strict open and kv check succeed.
 * The store (mode 3): a where that does not decode, names another file,
 * or runs past the file's end is KV_ERR_CORRUPT, through a buffer with
 * room for it too, and no load allocates more than the file's size; one inside it (of at most 36 KiB) is KV_OK with the
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
 * (fuzz_dbfile_repair_faulted; a database over 64 KiB with one call
 * failing and no allocation refused, vlog_fuzz_db.c says why).
 * A broken promise aborts (this is a test program); ASan and UBSan catch
 * a read outside the bytes.
 *
 * It is stage 08's entry in FUZZ_08-vlog (stages/08-vlog/stage.mk): `make
 * fuzz-smoke` runs it, `make test` replays its seeds (scripts/fuzz_seeds.sh
 * makes them from real databases: docs/fuzzing.md).
 *
 * The harness is six files (FUZZ_PARTS_vlog in the Makefile), one idea
 * each: this one, the entry and the decoders every input goes through;
 * vlog_fuzz_files.c, the harness's files in memory, its value stores and
 * modes 1 and 2; vlog_fuzz_db.c, a whole database (mode 6) and a store's
 * settings (mode 4); vlog_fuzz_handover.c, the files handed to a store
 * (mode 4, bit 7); vlog_fuzz_load.c, a value read through the store
 * (mode 3) and the allocations refused; vlog_fuzz.h, what they share.
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
#include "vlog_fuzz.h"
#include "wal_format.h"

#include "../tests/alloc/alloc_wrap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void vlog_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "vlog fuzz invariant broken: %s (%s)\n", what, kv_errmsg());
        abort();
    }
}

/* The byte at file offset o of every span and file the harness makes. */
uint8_t vlog_fuzz_byte(uint64_t o)
{
    return (uint8_t)(o ^ (o >> 8) ^ (o >> 16) ^ 0x5a);
}

int vlog_fuzz_in_header(uint64_t o)
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
        if (n > 5 && (body[5] & 128) != 0)
            vlog_fuzz_handover(body, n);
        else
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
