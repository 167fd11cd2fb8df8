/*
 * table_fuzz.c: fuzz harness for stage 04's table format v1
 * (stages/04-lsm/table/table.h, the format in table_v1_format.h).
 *
 * The input is written as a file and read the ways the engine reads a
 * table: table_open, a scan forward and one backward (table_iter_new), a
 * lookup of every key the scan returned (table_get), the parts kv_inspect
 * shows (table_inspect_parts), then table_check and table_dump.  Every
 * decoder is bounded by the file's size, so none of this may crash, leak
 * or hang, and the answers must agree:
 *   - open, scans, lookups fail only with KV_ERR_CORRUPT (a regular file
 *     that can be read);
 *   - a scan yields well-formed internal keys, never more than the footer
 *     counts;
 *   - if the forward scan reads every record, the backward scan reads the
 *     same records in reverse, and if their keys ascend (and the footer's
 *     smallest and largest keys are the first and last), each lookup finds
 *     the record it should with the scan's value, or fails with
 *     KV_ERR_CORRUPT where it reads what no scan does (stage 09's filter
 *     partitions); a seek to a key lands on it, and a seek just past a
 *     key on the next one (or past the last);
 *   - a table whose scan fails, whose keys do not ascend, or one of whose
 *     lookups failed, fails table_check; one whose scan reads every
 *     record but whose keys do not ascend (every checksum right: a lookup
 *     may miss a key the scan shows, and only a check sees it) fails it
 *     with a line that names the table and a place in it (an offset past
 *     the file header), and so does kv check of a database holding it;
 *   - a table that reads whole, opened again without mapping and its file
 *     cut short under it (where the middle key's crc32c points), then
 *     again with the byte there inverted instead, then opened mapped in a
 *     file cache of one file and cut (each read maps the file again,
 *     shorter than the table says), answers each lookup as
 *     before or fails it with KV_ERR_CORRUPT (a read that comes back short
 *     or whose checksum fails), and a scan reads the records before the
 *     cut as before, then fails with KV_ERR_CORRUPT or ends having read
 *     them all (table_fuzz_cut).
 *
 * It reads the tables of every stage that lists it: 04 (format v1), 05
 * (format v2) and 09 (format v2's version 2, partitions, and version 1).
 * The file is in memory (common/io_mem.h: no system call, and a table the
 * engine maps is an allocation of exactly its size).  Each input is read
 * as it is and, if that changes it, with its checksums made right
 * (fuzz_formats.h: the file header's, and for format v1 every record's,
 * the offset array's and the tail's), so that mutations reach the records
 * and keys behind them.
 * Then, for one input in sixteen (fuzz_dbfile_sampled), the table (its
 * checksums made right as above) is the only table of a database of the
 * stage (fuzz_dbfile_table_name), driven through the whole engine and
 * repaired (fuzz_dbfile.h): kv_repair rewrites a table kv check calls
 * damaged with every entry its salvage can still read (table_salvage:
 * table_v1_salvage.c in stage 04, table_v2_salvage.c in 05,
 * parted_salvage.c in 09, whose repair first rebuilds the levels from the
 * tables, no manifest naming them), and the repaired database must open
 * strictly, take a write newer than what it kept, and check clean.  For
 * a table that reads whole, in stages 04 and 05 the log the writes after
 * it go to lies beside it (its header alone: without it kv_open refuses
 * the directory), and in stage 09 a manifest naming it, and CURRENT (the
 * repair goes without them, and makes the levels again); and what an
 * interrupted compaction leaves, which an open that may write must
 * remove, as the repair's strict open must; from stage 06 the table is
 * also repaired written twice (one input in four of those), as two
 * overlapping tables, which kv repair merges, and must keep what it keeps
 * of the table once (table_fuzz_engine).
 * It is stage 04's entry in FUZZ_04-lsm (stages/04-lsm/stage.mk): `make
 * fuzz-smoke` runs it, `make fuzz STAGE=04-lsm TARGET=table` is an AFL++
 * campaign, and `make test` replays its seeds (docs/fuzzing.md). *
 * The harness is five files (FUZZ_PARTS_table in the Makefile), one idea
 * each: this one, the entry and the table read as the engine reads it
 * (table_fuzz_one); table_fuzz_cut.c, a whole table read again cut short
 * under its reader, with lookups in two steps and keys it lacks;
 * table_fuzz_faults.c, its reads again with the I/O layer failing;
 * table_fuzz_engine.c, the table through the whole engine and kv_repair;
 * table_fuzz.h, what they share.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coding.h"
#include "crc32c.h"
#include "error.h"
#include "file_header.h"
#include "fuzz_dbfile.h"
#include "fuzz_faults.h"
#include "fuzz_formats.h"
#include "internal_key.h"
#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"
#include "lsm_files.h"
#include "lsm_wal.h"
#include "table.h"
#include "table_batch.h"
#include "table_fuzz.h"
#include "table_inspect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

const char table_fuzz_path[] = "/kvfuzz/t.tbl";
static table_ctx *table_fuzz_ctx;
table_ctx *table_fuzz_cut_ctx;
static table_ctx *table_fuzz_crowded_ctx[2]; /* unmapped, mapped */
/* Lookups of the keys a scan gave, about, on an input the engine does not
 * run on (table_fuzz_one; every key on the others). */
#define TABLE_FUZZ_LOOKUPS 32u

/* A broken invariant, with kv_errmsg() when a call set one since the
 * harness last cleared it (as each input's table opens, and before each
 * lookup): a message an earlier input or step left is never shown as
 * this failure's cause. */
void table_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        const char *why = kv_errmsg();
        fprintf(stderr, "table fuzz invariant broken: %s%s%s%s\n", what, why[0] ? " (" : "",
                why, why[0] ? ")" : "");
        abort();
    }
}

static void table_fuzz_remove(void)
{
    table_ctx_free(table_fuzz_ctx);
    table_ctx_free(table_fuzz_cut_ctx);
    table_ctx_free(table_fuzz_crowded_ctx[0]);
    table_ctx_free(table_fuzz_crowded_ctx[1]);
}

table_ctx *table_fuzz_crowd_in(table_fuzz_crowd *c, int crowded, int mapped, int *rc)
{
    *c = (table_fuzz_crowd){NULL, NULL};
    *rc = KV_OK;
    if (!crowded)
        return table_fuzz_cut_ctx;
    table_ctx **ctx = &table_fuzz_crowded_ctx[mapped != 0];
    if (*ctx == NULL) {
        kv_options opt;
        kv_options_init(&opt);
        opt.cache_bytes = 1;
        opt.max_open_files = 1;
        if (!mapped)
            opt.map_tables = KV_NO_MAP;
        table_fuzz_check(table_ctx_new(&opt, ctx) == KV_OK, "table_ctx_new");
    }
    kv_error_clear();
    *rc = table_open(*ctx, table_fuzz_path, &c->holder);
    if (*rc == KV_OK) {
        kv_error_clear();
        *rc = table_iter_new(c->holder, &c->held);
    }
    return *ctx;
}

void table_fuzz_crowd_end(table_fuzz_crowd *c)
{
    iter_free(c->held);
    table_unref(c->holder);
}

/* Once a process: each option of a table context (kv.h) past its bounds
 * is refused (KV_ERR_INVALID, with a message) by a format that has it,
 * and taken by one that has not (format v1 has none). */
static void table_fuzz_options_refused(void)
{
    for (int i = 0; i < 14; i++) {
        kv_options opt;
        kv_options_init(&opt);
        switch (i) {
        case 0: opt.block_bytes = 1; break;
        case 1: opt.block_bytes = (size_t)1 << 40; break;
        case 2: opt.block_restart_interval = -1; break;
        case 3: opt.block_restart_interval = 1 << 30; break;
        case 4: opt.block_hash_index = 2; break;
        case 5: opt.bloom_bits_per_key = KV_NO_BLOOM - 1; break;
        case 6: opt.bloom_bits_per_key = 1 << 30; break;
        case 7: opt.filters_for_hits = 2; break;
        case 8: opt.compression = 99; break;
        case 9: opt.map_tables = 2; break;
        case 10: opt.max_open_files = -1; break;
        case 11: opt.max_open_files = 1 << 30; break;
        case 12: opt.record_cache_percent = 101; break;
        default: opt.table_partitions = 2; break;
        }
        /* Format v2 (stage 05 on) has the first twelve; stage 09 all. */
        int has = strncmp(kv_stage(), i < 12 ? "05" : "09", 2) >= 0;
        table_ctx *ctx = NULL;
        int rc = table_ctx_new(&opt, &ctx);
        table_fuzz_check(has ? rc == KV_ERR_INVALID && ctx == NULL && kv_errmsg()[0] != '\0'
                             : rc == KV_OK,
                         "an option out of range is refused, with a message");
        table_ctx_free(ctx);
    }
}

static void table_fuzz_setup(void)
{
    if (table_fuzz_ctx != NULL)
        return;
    /* A block cache full after its first block, so that lookups also
     * take the way of a block the full cache turns away (formats with a
     * block cache: stage 05's table_v2_scan.c). */
    kv_options opt;
    kv_options_init(&opt);
    opt.cache_bytes = 1;
    table_fuzz_check(table_ctx_new(&opt, &table_fuzz_ctx) == KV_OK, "table_ctx_new");
    /* Tables not mapped: every block a lookup or a scan needs is a
     * positioned read of the file, which then says where the file ends
     * (table_fuzz_cut). */
    opt.map_tables = KV_NO_MAP;
    table_fuzz_check(table_ctx_new(&opt, &table_fuzz_cut_ctx) == KV_OK, "table_ctx_new");
    atexit(table_fuzz_remove);
    table_fuzz_options_refused();
}

void table_fuzz_said_line(void *ctx, const char *line)
{
    table_fuzz_said *s = ctx;
    size_t n = strlen(s->label);
    if (strncmp(line, s->label, n) != 0 || line[n] != ':')
        return;
    for (const char *p = line + n; (p = strpbrk(p, "0123456789")) != NULL;) {
        char *end;
        unsigned long long at = strtoull(p, &end, 10);
        size_t before = (size_t)(p - line);
        if (((before >= 7 && memcmp(p - 7, "offset ", 7) == 0) ||
             (before >= 4 && memcmp(p - 4, " at ", 4) == 0)) &&
            at >= FILE_HEADER_SIZE && at < s->size)
            s->placed = 1;
        p = end;
    }
}

/* The record a lookup of record i's key at its sequence finds: the first
 * at or after the lookup key, i or the first before it of the same key at
 * the same sequence (at one sequence the types sort descending: a put
 * whose value is elsewhere, a put, a tombstone). */
uint64_t table_fuzz_want(const table_fuzz_entry *e, const uint8_t *keys, uint64_t i)
{
    const uint8_t *key = keys + e[i].key_at;
    uint64_t want = i;
    while (want > 0 && e[want - 1].seq == e[i].seq && e[want - 1].key_len == e[i].key_len &&
           memcmp(keys + e[want - 1].key_at, key, e[i].key_len - 8) == 0)
        want--;
    return want;
}

/* A seek to the internal key right after record i's (its user key, its
 * trailer one less: table_fuzz.h's entries ascend) lands on record i + 1,
 * or past the last, or meets damage (KV_ERR_CORRUPT). */
static void table_fuzz_seek_past(iter *it, const table_fuzz_entry *e, const uint8_t *keys,
                                 uint64_t got, uint64_t i)
{
    uint8_t past[KV_MAX_KEY + IKEY_TRAILER_SIZE];
    size_t len = e[i].key_len;
    if (len < IKEY_TRAILER_SIZE || len > sizeof past)
        return;
    memcpy(past, keys + e[i].key_at, len);
    uint64_t trailer = coding_get_u64(past + len - IKEY_TRAILER_SIZE);
    if (trailer == 0)
        return; /* nothing sorts between it and the next user key */
    coding_put_u64(past + len - IKEY_TRAILER_SIZE, trailer - 1);
    iter_seek(it, past, len);
    int next = i + 1 < got;
    table_fuzz_check(iter_status(it) == KV_ERR_CORRUPT ||
                         (next ? iter_valid(it) && crc32c_value(it->key, it->key_len) ==
                                                       e[i + 1].key_crc
                               : !iter_valid(it) && iter_status(it) == KV_OK),
                     "a seek just past a key the scan gave lands on the next one");
}

/* Returns whether the table reads whole: it opens, its scan reads every
 * record, in ascending order, from the footer's smallest key to its
 * largest, and every lookup finds what the scan found; *w then says what
 * it holds (free its keys).  *disordered says whether the scan read every
 * record but their keys do not ascend (every checksum right): kv check
 * must name the table and the place.  sampled: the input goes through
 * the engine too (fuzz_dbfile_sampled). */
static int table_fuzz_one(const uint8_t *data, size_t size, int sampled, table_fuzz_whole *w,
                          int *disordered)
{
    fuzz_dbfile_mem_reset();
    kv_error_clear();
    table_fuzz_check(io_mem_put(table_fuzz_path, data, size) == 0, "the input in memory");
    table *t = NULL;
    int rc = table_open(table_fuzz_ctx, table_fuzz_path, &t);
    table_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT, "open: only KV_ERR_CORRUPT");
    int scan_ok = 0, ascending = 1, lookup_failed = 0, whole = 0;
    if (rc == KV_OK) {
        uint64_t n = table_entries(t);
        table_fuzz_entry *e = calloc(n, sizeof *e);
        uint8_t *keys = malloc(size + 1); /* the keys are inside the file */
        table_fuzz_check(e != NULL && keys != NULL, "allocate");
        size_t keys_len = 0;
        iter *it;
        table_fuzz_check(table_iter_new(t, &it) == KV_OK, "table_iter_new");
        uint64_t got = 0;
        for (iter_seek_first(it); iter_valid(it); iter_next(it), got++) {
            ikey_parsed k;
            table_fuzz_check(got < n, "a scan yields no more records than the footer counts");
            table_fuzz_check(ikey_decode(it->key, it->key + it->key_len, &k),
                             "a scan yields internal keys");
            table_fuzz_check(keys_len + it->key_len <= size, "keys come from the file");
            memcpy(keys + keys_len, it->key, it->key_len);
            e[got] = (table_fuzz_entry){crc32c_value(it->key, it->key_len),
                                        crc32c_value(it->value, it->value_len), keys_len,
                                        it->key_len, k.seq, k.type};
            if (got > 0 && ikey_compare(keys + e[got - 1].key_at, e[got - 1].key_len, it->key,
                                        it->key_len) >= 0)
                ascending = 0;
            keys_len += it->key_len;
        }
        table_fuzz_check(iter_status(it) == KV_OK || iter_status(it) == KV_ERR_CORRUPT,
                         "a scan fails only with KV_ERR_CORRUPT");
        scan_ok = iter_status(it) == KV_OK;
        if (scan_ok) {
            uint64_t back = got;
            for (iter_seek_last(it); iter_valid(it); iter_prev(it)) {
                table_fuzz_check(back > 0, "a backward scan reads as many records");
                back--;
                table_fuzz_check(crc32c_value(it->key, it->key_len) == e[back].key_crc &&
                                 crc32c_value(it->value, it->value_len) == e[back].value_crc,
                                 "a backward scan reads the same records");
            }
            table_fuzz_check(iter_status(it) == KV_OK && back == 0,
                             "a backward scan reads what a forward scan read");
        }
        /* A seek to a few of the keys the scan gave, in ascending keys,
         * lands on each (or meets damage: KV_ERR_CORRUPT). */
        for (uint64_t i = 0; scan_ok && ascending && i < got; i += got / 4 + 1) {
            iter_seek(it, keys + e[i].key_at, e[i].key_len);
            table_fuzz_check(iter_status(it) == KV_ERR_CORRUPT ||
                             (iter_valid(it) && crc32c_value(it->key, it->key_len) ==
                                                    e[i].key_crc),
                             "a seek to a key the scan gave lands on it");
        }
        /* A seek just past a key the scan gave (every key on the inputs
         * the engine runs on, a few on the others) lands on the next one,
         * or ends the iterator after the last: past a block's last key,
         * below the separator after it, the seek's block holds no answer
         * and the next block's first key is it. */
        for (uint64_t i = 0; scan_ok && ascending && i < got; i += sampled ? 1 : got / 4 + 1)
            table_fuzz_seek_past(it, e, keys, got, i);
        iter_free(it);
        /* Lookups trust the footer's key range (kv check verifies it). */
        size_t lo_len, hi_len;
        const uint8_t *lo = table_smallest(t, &lo_len), *hi = table_largest(t, &hi_len);
        int range_ok = got > 0 && lo_len == e[0].key_len &&
                       memcmp(lo, keys + e[0].key_at, lo_len) == 0 &&
                       hi_len == e[got - 1].key_len &&
                       memcmp(hi, keys + e[got - 1].key_at, hi_len) == 0;
        /* Every key on the inputs the engine runs on (every input in a
         * replay), about TABLE_FUZZ_LOOKUPS spread over the table on the
         * others: the lookups of a table of 600 keys took a third of the
         * harness's time, and each takes the same steps. */
        uint64_t stride = sampled ? 1 : got / TABLE_FUZZ_LOOKUPS + 1;
        for (uint64_t i = 0; scan_ok && ascending && range_ok && i < got; i += stride) {
            ikey_lookup lk;
            table_fuzz_check(ikey_lookup_init(&lk, keys + e[i].key_at, e[i].key_len - 8,
                                              e[i].seq) == KV_OK, "lookup key");
            uint64_t want = table_fuzz_want(e, keys, i);
            table_get_result r;
            kv_error_clear();
            rc = table_get(t, &lk, &r);
            /* A lookup may read what no scan reads (stage 09's filter
             * partitions): damage there fails it, and kv check with it. */
            table_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT,
                             "a lookup fails only with KV_ERR_CORRUPT");
            if (rc != KV_OK) {
                lookup_failed = 1;
                ikey_lookup_free(&lk);
                continue;
            }
            table_fuzz_check(r.state == (e[want].type != IKEY_DELETE ? IKEY_FOUND : IKEY_DELETED),
                             "a lookup finds the record the scan found");
            if (r.state == IKEY_FOUND)
                table_fuzz_check(crc32c_value(r.value, r.value_len) == e[want].value_crc,
                                 "a lookup returns the scan's value");
            free(r.value);
            ikey_lookup_free(&lk);
        }
        /* Keys the table lacks: each user key with a zero byte after it
         * (the next user key there is, bytewise), at the newest sequence,
         * finds nothing, unless the table holds that very key. */
        for (uint64_t i = 0; scan_ok && ascending && range_ok && !lookup_failed && i < got;
             i += stride)
            table_fuzz_absent(t, e, keys, got, i);
        rc = table_inspect_parts(t, "t.tbl", fuzz_dbfile_ignore_line, NULL);
        table_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT,
                         "inspecting the parts fails only with KV_ERR_CORRUPT");
        table_unref(t);
        whole = scan_ok && ascending && range_ok && !lookup_failed;
        if (whole) {
            for (int damage = 0; damage < 2; damage++)
                table_fuzz_cut(data, size, e, keys, got, damage, 0);
            table_fuzz_cut(data, size, e, keys, got, 0, 1);
            free(w->smallest);
            free(w->largest);
            *w = (table_fuzz_whole){malloc(e[0].key_len), malloc(e[got - 1].key_len),
                                    e[0].key_len, e[got - 1].key_len, n, 0};
            table_fuzz_check(w->smallest != NULL && w->largest != NULL, "allocate");
            memcpy(w->smallest, keys + e[0].key_at, e[0].key_len);
            memcpy(w->largest, keys + e[got - 1].key_at, e[got - 1].key_len);
            for (uint64_t i = 0; i < got; i++)
                w->last_seq = e[i].seq > w->last_seq ? e[i].seq : w->last_seq;
        }
        free(e);
        free(keys);
    }
    /* Format v1: a record whose lengths do not fill its span exactly is
     * damage (table_v1_format.h), which a scan must meet. */
    if (scan_ok)
        table_fuzz_check(fuzz_table_v1_spans_exact(data, size) != 0,
                         "a scan reads a v1 record whose lengths disagree with its span");
    table_fuzz_said said = {"t.tbl", size, 0};
    rc = table_check(table_fuzz_path, said.label, table_fuzz_said_line, &said);
    table_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT, "check: only KV_ERR_CORRUPT");
    if (!scan_ok || !ascending || lookup_failed)
        table_fuzz_check(rc == KV_ERR_CORRUPT, "check fails a table that cannot be read");
    /* Keys out of order where every record reads: a lookup may miss a key
     * the scan shows, and only check sees it, so it must say where. */
    *disordered = scan_ok && !ascending;
    if (*disordered)
        table_fuzz_check(said.placed, "check names the table and the place of keys out of "
                         "order");
    /* The dump on the inputs the engine runs on (every one in a replay):
     * it walks the blocks as check has just done, and formatting the
     * lines of every entry, which no one reads here, took a quarter of
     * the harness's time. */
    if (sampled) {
        rc = table_dump(table_fuzz_path, "t.tbl", fuzz_dbfile_ignore_line, NULL);
        table_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT, "dump: only KV_ERR_CORRUPT");
    }
    return whole;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    table_fuzz_setup();
    table_fuzz_whole w = {0};
    int disordered, sampled = fuzz_dbfile_sampled(data, size);
    int whole = table_fuzz_one(data, size, sampled, &w, &disordered);
    uint8_t *fixed = malloc(size ? size : 1);
    table_fuzz_check(fixed != NULL, "malloc");
    memcpy(fixed, data, size);
    fuzz_fix_table_v1(fixed, size);
    if (memcmp(fixed, data, size) != 0)
        whole = table_fuzz_one(fixed, size, sampled, &w, &disordered);
    /* One input in sixteen: the table as a database's only table, through
     * the engine, kv check, kv dump and kv repair, whose salvage reads what
     * a damaged table still holds (fuzz_dbfile.h). */
    if (sampled) {
        table_fuzz_faults(data, size); /* (the input last read is fixed) */
        table_fuzz_engine(data, fixed, size, whole, &w, disordered);
    }
    free(w.smallest);
    free(w.largest);
    free(fixed);
    fuzz_dbfile_mem_done();
    return 0;
}

/* A v1 table (stage 04): one mutation in four rewrites a record's key or
 * value length at a bound (fuzz_mutate_table_v1).  Other formats:
 * libFuzzer's own mutations. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    if (size < 52 || memcmp(data + size - 52, "KVS04TBL", 8) != 0)
        return fuzz_mutate_default(data, size, max_size);
    return fuzz_mutate_mixed(data, size, max_size, seed, fuzz_mutate_table_v1, NULL);
}
