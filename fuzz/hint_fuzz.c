/*
 * hint_fuzz.c: fuzz harness for the hint files of stages 02 and 03
 * (stages/02-hash/segments/hint.h), alone and in a database.
 *
 * The input: a 4-byte little-endian length H, then H bytes of a hint file,
 * then the segment it describes (the rest; seeds are a merge's output and
 * its hint).  An input too short for that is a hint with no segment.
 *
 * The hint is loaded with hint_load from memory (common/io_mem.h), for the
 * segment id and size its own header names (and for the next id, and one
 * byte more, which it must refuse), twice: as it is, and with its
 * checksum made right (fuzz_formats.h), so that mutations reach the
 * entries.  The harness reads the hint itself by the byte table and
 * aborts unless hint_load agrees: it accepts exactly the hints that pass
 * every check of hint.h (size, checksum, magic, version, segment, entries
 * whose lengths fit and whose records cover the segment end to end from
 * offset 16, their count), hands out exactly their entries (key bytes,
 * offset, size), and calls back nothing for a hint it refuses.  The
 * callback reads every key whole, as the engine's index does (a read past
 * one is AddressSanitizer's).
 *
 * Then, where the hint is valid for the segment (naming segment 1 and its
 * size, its checksum made right), the read kv_get makes of each key it
 * names, where it puts the record, in the segment as it is: KV_OK or
 * KV_ERR_CORRUPT, and in stage 02 a value only from a record of that key
 * (hint_fuzz_reads).
 * Then, for one input in sixteen (fuzz_dbfile_sampled), the engine is handed
 * the hint: the segment as 0000000001.log (its checksums made right), the
 * hint as 0000000001.hint (naming segment 1 and the segment's size, its
 * checksum made right) and an empty active segment 0000000002.log (the
 * segment's header), through the whole engine (fuzz_dbfile.h): kv_open
 * indexes segment 1 from the hint, keys and all, and reads what it says.
 * Where the segment as it is differs from that (its checksums were not
 * right), the same directory with the segment as it is goes through the
 * engine (kv_check must say that kv_open indexes it from its hint without
 * reading the damage) and kv_compact (fuzz_dbfile_compact_files): the
 * hint still indexes it, so
 * the merge is the first to read its damage, and must undo itself, every
 * answer as before.  And for one input in 1,024, the three files through
 * every work of fuzz_io_sweep.h with their I/O calls failing in turn (the
 * hint optional: an engine that cannot read it reads the segment).
 *
 * The input is nested, and the segment is most of its bytes, so a plain
 * mutation would nearly always change the segment and leave the hint, the
 * format under test, as it was.  The harness's mutator
 * (LLVMFuzzerCustomMutator, which libFuzzer calls instead of its own)
 * mutates the hint alone seven times in eight, and puts the segment back
 * after it; the eighth time, the whole input.  A mutation of the hint is
 * libFuzzer's own (LLVMFuzzerMutate) three times in four; the fourth,
 * fuzz_mutate_hint sets one field of one entry to a value at its bounds
 * (an empty key, a record of an empty value, one byte less, an entry
 * doubled...) and rebuilds the hint around it, so that the rest still
 * checks out and only that field is wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "crc32c.h"
#include "file_header.h"
#include "fuzz_formats.h"
#include "fuzz_dbfile.h"
#include "fuzz_io_sweep.h"
#include "hint.h"
#include "io_mem.h"
#include "kv.h"
#include "log_record.h"
#include "record_io.h"
#include "segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

#define HINT_FUZZ_PATH "/kvfuzz/0000000001.hint"

static void hint_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "hint fuzz invariant broken: %s\n", what);
        abort();
    }
}

/* The hint as the byte table reads it: valid or not, and its entries. */
typedef struct hint_fuzz_entry {
    const uint8_t *key;
    uint32_t klen, size;
    uint64_t offset;
} hint_fuzz_entry;

typedef struct hint_fuzz_model {
    int valid;
    hint_fuzz_entry *e;
    size_t n;
} hint_fuzz_model;

static void hint_fuzz_model_read(const uint8_t *p, size_t n, uint32_t id, uint64_t seg_bytes,
                                 hint_fuzz_model *m)
{
    m->valid = 0;
    m->n = 0;
    m->e = NULL;
    uint64_t most = HINT_HEADER + HINT_TRAILER + (seg_bytes > 16 ? seg_bytes - 16 : 0);
    if (n < HINT_HEADER + HINT_TRAILER || n > most)
        return;
    const uint8_t *trailer = p + n - HINT_TRAILER;
    if (crc32c_value(p, n - 4) != coding_get_u32(trailer + 8) || memcmp(p, "KVHINT02", 8) != 0 ||
        coding_get_u32(p + 8) != 1 || coding_get_u32(p + 12) != id ||
        coding_get_u64(p + 16) != seg_bytes)
        return;
    m->e = malloc((n / 3 + 1) * sizeof *m->e); /* an entry takes 3 bytes at least */
    hint_fuzz_check(m->e != NULL, "malloc");
    uint64_t offset = 16;
    for (const uint8_t *q = p + HINT_HEADER; q < trailer;) {
        uint32_t klen, rsize;
        q = coding_get_varint32(q, trailer, &klen);
        q = q ? coding_get_varint32(q, trailer, &rsize) : NULL;
        if (q == NULL || klen == 0 || klen > KV_MAX_KEY || (size_t)(trailer - q) < klen ||
            rsize < 10 + (uint64_t)klen || rsize - 10 - (uint64_t)klen > KV_MAX_VALUE ||
            seg_bytes < offset || rsize > seg_bytes - offset)
            return;
        m->e[m->n++] = (hint_fuzz_entry){q, klen, rsize, offset};
        offset += rsize;
        q += klen;
    }
    m->valid = offset == seg_bytes && m->n == coding_get_u64(trailer);
}

typedef struct hint_fuzz_ctx {
    const hint_fuzz_model *m;
    size_t i;
} hint_fuzz_ctx;

static int hint_fuzz_entry_fn(void *ctx, const uint8_t *key, size_t klen, uint64_t offset,
                              uint32_t size)
{
    hint_fuzz_ctx *c = ctx;
    hint_fuzz_check(c->m->valid, "an entry handed out of a hint that is not valid");
    hint_fuzz_check(c->i < c->m->n, "more entries than the hint holds");
    const hint_fuzz_entry *e = &c->m->e[c->i++];
    /* Every byte of the key is read, as the index copies it. */
    (void)crc32c_value(key, klen);
    hint_fuzz_check(klen == e->klen && memcmp(key, e->key, klen) == 0,
                    "an entry's key is the one the hint holds");
    hint_fuzz_check(offset == e->offset && size == e->size,
                    "an entry's record is where the hint puts it");
    return 0;
}

/* hint_load of p[0, n) for segment `id` of seg_bytes bytes, against the
 * model. */
static void hint_fuzz_load_for(const uint8_t *p, size_t n, uint32_t id, uint64_t seg_bytes)
{
    hint_fuzz_model m;
    hint_fuzz_model_read(p, n, id, seg_bytes, &m);
    fuzz_dbfile_mem_reset();
    hint_fuzz_check(io_mem_put(HINT_FUZZ_PATH, p, n) == 0, "the hint in memory");
    hint_fuzz_ctx c = {.m = &m};
    uint64_t file_bytes = 0;
    int rc = hint_load(HINT_FUZZ_PATH, id, seg_bytes, hint_fuzz_entry_fn, &c, &file_bytes);
    hint_fuzz_check(rc == (m.valid ? KV_OK : KV_ERR_CORRUPT),
                    "hint_load accepts exactly the hints the byte table allows");
    hint_fuzz_check(!m.valid || c.i == m.n, "every entry handed out");
    hint_fuzz_check(file_bytes == n, "the hint's size");
    free(m.e);
}

/* hint_load of p[0, n) for the segment its header names, then for the
 * next segment and for one byte more (a hint of another segment, or of
 * the segment before a write cut short was cut off): each against the
 * model. */
static void hint_fuzz_load(const uint8_t *p, size_t n)
{
    uint32_t id = n >= 16 ? coding_get_u32(p + 12) : 1;
    uint64_t seg_bytes = n >= 24 ? coding_get_u64(p + 16) : 0;
    hint_fuzz_load_for(p, n, id, seg_bytes);
    hint_fuzz_load_for(p, n, id + 1, seg_bytes);
    hint_fuzz_load_for(p, n, id, seg_bytes + 1);
}

/* kv_get's read of each key a valid hint names, where the hint puts its
 * record, in the segment as it is (the engine indexes a segment from its
 * hint and reads none of it until a key is read or a merge copies it):
 * KV_OK exactly for a record whose checksum holds and that is a put of
 * that key, with a value that fits in it; else KV_ERR_CORRUPT. */
static void hint_fuzz_reads(const uint8_t *hint, size_t hint_len, const uint8_t *seg,
                            size_t seg_len)
{
    hint_fuzz_model m;
    hint_fuzz_model_read(hint, hint_len, 1, seg_len, &m);
    if (!m.valid) {
        free(m.e);
        return;
    }
    fuzz_dbfile_mem_reset();
    io_file *f;
    fuzz_dbfile_mem_file("/kvfuzz/0000000001.log", seg, seg_len, &f);
    uint8_t *buf = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < m.n; i++) {
        hash_loc loc = {.offset = m.e[i].offset, .seg = 1, .size = m.e[i].size};
        const uint8_t *val = NULL;
        size_t vlen = 0;
        int rc = record_read_value(f, seg_len, &loc, m.e[i].key, m.e[i].klen, &buf, &cap, &val,
                                   &vlen);
        hint_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT,
                        "kv_get's read where a hint says: KV_OK or KV_ERR_CORRUPT");
        if (rc == KV_OK)
            hint_fuzz_check(vlen + m.e[i].klen < m.e[i].size,
                            "a value read where a hint says fits in its record");
        /* Stage 02's record of one op: a read that answers read a record
         * of the hint's key, so its header, that key, the value (and the
         * seal a merge's last record carries) add up to the hint's size. */
        uint64_t rec = LOG_RECORD_HEADER + (uint64_t)m.e[i].klen + vlen;
        if (rc == KV_OK && strcmp(KV_STAGE_NAME, "02-hash") == 0)
            hint_fuzz_check(rec == m.e[i].size || rec + LOG_RECORD_SEAL_SIZE == m.e[i].size,
                            "a value read where a hint says is of a record of its key");
    }
    free(buf);
    io_close(f);
    free(m.e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t hint_len = size;
    const uint8_t *hint = data, *seg = NULL;
    size_t seg_len = 0;
    if (size >= 4 && coding_get_u32(data) <= size - 4) {
        hint_len = coding_get_u32(data);
        hint = data + 4;
        seg = hint + hint_len;
        seg_len = size - 4 - hint_len;
    }
    uint8_t *fixed = malloc(hint_len + 1);
    hint_fuzz_check(fixed != NULL, "malloc");
    memcpy(fixed, hint, hint_len);
    fuzz_fix_hint(fixed, hint_len);
    hint_fuzz_load(fixed, hint_len);
    if (memcmp(fixed, hint, hint_len) != 0)
        hint_fuzz_load(hint, hint_len);

    if (seg_len >= FILE_HEADER_SIZE) {
        /* The hint as the engine gets it: naming segment 1, of the
         * segment's size, its checksum made right. */
        if (hint_len >= HINT_HEADER) {
            coding_put_u32(fixed + 12, 1);
            coding_put_u64(fixed + 16, seg_len);
        }
        fuzz_fix_hint(fixed, hint_len);
        hint_fuzz_reads(fixed, hint_len, seg, seg_len);
    }
    if (seg_len >= FILE_HEADER_SIZE && fuzz_dbfile_sampled(data, size)) {
        uint8_t *s = malloc(seg_len);
        hint_fuzz_check(s != NULL, "malloc");
        memcpy(s, seg, seg_len);
        fuzz_fix_file_header(s, seg_len);
        if (strcmp(record_file_magic, FILE_MAGIC_SEG02) == 0)
            fuzz_fix_log_records(s, seg_len, FILE_HEADER_SIZE);
        else
            fuzz_fix_wal_fragments(s, seg_len, FILE_HEADER_SIZE);
        fuzz_dbfile files[] = {{"0000000001.log", s, seg_len},
                               {"0000000001.hint", fixed, hint_len},
                               {"0000000002.log", s, FILE_HEADER_SIZE}};
        fuzz_dbfile_run_files(files, 3);
        fuzz_dbfile_repair_files(files, 3);
        /* The segment as it is, where that differs (damage its records'
         * checksums do not vouch for), behind the hint made right: kv_open
         * indexes it from the hint and reads none of it, so kv_compact is
         * the first to read its records, and meets the damage half-way
         * through a merge, which it must undo (merge.c). */
        if (fuzz_dbfile_sampled_rarely(data, size, 64))
            fuzz_io_sweep(files, 3, "0000000001.hint", FUZZ_IO_SWEEP_ALL);
        if (memcmp(s, seg, seg_len) != 0) {
            files[0].data = seg;
            fuzz_dbfile_run_files(files, 3);
            fuzz_dbfile_compact_files(files, 3);
        }
        free(s);
    }
    free(fixed);
    fuzz_dbfile_mem_done();
    return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    size_t hint_len = size >= 4 ? coding_get_u32(data) : (size_t)-1;
    int nested = size >= 4 && hint_len <= size - 4;
    if (!nested) /* a hint alone */
        return fuzz_mutate_mixed(data, size, max_size, seed, fuzz_mutate_hint, NULL);
    size_t seg_len = size - 4 - hint_len;
    if (seed % 8 == 0 || max_size < 4 + seg_len + 1)
        return fuzz_mutate_default(data, size, max_size); /* the segment too */
    uint8_t *seg = malloc(seg_len ? seg_len : 1);
    if (seg == NULL)
        return fuzz_mutate_default(data, size, max_size);
    memcpy(seg, data + 4 + hint_len, seg_len);
    /* The hint alone: a field of one entry at its bounds (fuzz_formats.h)
     * one time in four, libFuzzer's mutations the others. */
    size_t n = fuzz_mutate_mixed(data + 4, hint_len, max_size - 4 - seg_len, seed / 8,
                                 fuzz_mutate_hint, NULL);
    coding_put_u32(data, (uint32_t)n);
    memcpy(data + 4 + n, seg, seg_len);
    free(seg);
    return 4 + n + seg_len;
}
