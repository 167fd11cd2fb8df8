/*
 * table_blocks_fuzz_read.c: the table_blocks fuzz harness's reading of a
 * table as the engine reads it (table_open, scans both ways, lookups, the
 * filter asked, kv_inspect's parts, kv check, kv dump), checked against
 * the harness's oracle (table_blocks_fuzz_model.c), and the choice of how
 * the I/O layer serves the file (mapped, or through io_fault.h with a
 * call failing).  table_blocks_fuzz.c says what an input is and what it
 * checks.
 *
 * Invariants: every answer is KV_OK, KV_ERR_CORRUPT, or KV_ERR_IO once the
 * I/O layer failed a call (table_blocks_rc), with a message; a whole table
 * scans to the oracle's entries; a table whose reads disagree with its
 * scan fails kv check.
 */
#include <limits.h>
#include <lz4.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "block_hash.h"
#include "bloom.h"
#include "crc32c.h"
#include "error.h"
#include "file_header.h"
#include "fuzz_dbfile.h"
#include "fuzz_faults.h"
#include "internal_key.h"
#include "io_fault.h"
#include "io_mem.h"
#include "kv.h"
#include "table.h"
#include "table_blocks_fuzz.h"
#include "table_inspect.h"
#include "table_v2_format.h"

#include "../tests/alloc/alloc_wrap.h"

/* ---- the table read as the engine reads it ------------------------------------- */

/* The table, a file in memory (common/io_mem.h: no system call, and a
 * table the reader maps is an allocation of exactly its size, so a read
 * past its end is AddressSanitizer's). */
const char table_blocks_path[] = "/kvfuzz/t.tbl";
/* The context the input is read with: table_blocks_kept, made once a
 * process, or table_blocks_fresh, made again for the input
 * (table_blocks_setup). */
table_ctx *table_blocks_ctx;
static table_ctx *table_blocks_kept, *table_blocks_fresh;

static void table_blocks_remove(void)
{
    table_ctx_free(table_blocks_kept);
    table_ctx_free(table_blocks_fresh);
}

/* A block cache full after its first block, so that lookups also take the
 * way of a block the full cache turns away (table_v2_scan.c).  Half of
 * the inputs (by bit 7 of their crc32c) are read with a context made
 * again for the input: the first block the input reads is the one cached
 * (table_v2_block.c: an lz4 block uncompressed into the cache), whatever
 * ran before it in the process; the other half with the one context of
 * the process, whose cache an earlier input filled: each of their blocks
 * is turned away (and an lz4 block's entries decoded as far as a lookup
 * needs). */
void table_blocks_setup(uint32_t crc)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.cache_bytes = 1;
    if (table_blocks_kept == NULL) {
        table_blocks_check(table_ctx_new(&opt, &table_blocks_kept) == KV_OK, "table_ctx_new");
        atexit(table_blocks_remove);
    }
    if ((crc >> 7) & 1) {
        table_blocks_ctx = table_blocks_kept;
        return;
    }
    table_blocks_check(table_ctx_new(&opt, &table_blocks_fresh) == KV_OK, "table_ctx_new");
    table_blocks_ctx = table_blocks_fresh;
}

/* Freed by the input that made it, not by the next one: an input that
 * ends with more blocks allocated than freed is run again by libFuzzer,
 * to look for a leak (docs/fuzzing.md, "Harness speed"). */
void table_blocks_setup_done(void)
{
    table_ctx_free(table_blocks_fresh);
    table_blocks_fresh = NULL;
    table_blocks_ctx = NULL;
}

/* What the forward scan saw of each entry. */
typedef struct table_blocks_entry {
    uint32_t value_crc;
    size_t key_at, key_len; /* the key's copy in the key store */
    uint64_t seq;
    ikey_type type;
} table_blocks_entry;

/* A lookup of the user key [u, u + ulen) at seq: KV_OK or KV_ERR_CORRUPT,
 * the state in *r (its value freed). */
static int table_blocks_get(table *t, const uint8_t *u, size_t ulen, uint64_t seq,
                            table_get_result *r)
{
    ikey_lookup lk;
    table_blocks_check(ikey_lookup_init(&lk, u, ulen, seq) == KV_OK, "lookup key");
    kv_error_clear();
    int rc = table_get(t, &lk, r);
    table_blocks_check(table_blocks_rc(rc), "a lookup fails only with KV_ERR_CORRUPT (or "
                       "KV_ERR_IO where a read failed), with a message");
    ikey_lookup_free(&lk);
    return rc;
}

/* A lookup of the user key [u, u + ulen), with a 0 byte added if after:
 * whatever it answers, it fails only as table_blocks_get allows. */
static void table_blocks_probe(table *t, const uint8_t *u, size_t ulen, int after)
{
    if (ulen + 1 > KV_MAX_KEY)
        return;
    uint8_t *k = malloc(ulen + 1);
    table_blocks_check(k != NULL, "allocate");
    memcpy(k, u, ulen);
    k[ulen] = 0;
    table_get_result r;
    table_blocks_get(t, k, ulen + (after != 0), IKEY_MAX_SEQ, &r);
    free(r.value);
    free(k);
}

/* Reads the open table t (the file of size bytes, m its entries as the
 * harness reads them); returns NULL, or what a read of it found wrong (kv
 * check must then fail).  Where m is whole, a scan reads its entries, and
 * (where its filters hold them) every lookup answers as they say. */
const char *table_blocks_read(table *t, const table_blocks_model *m, size_t size,
                              int tools)
{
    uint64_t n = table_entries(t); /* the properties' count: anything */
    size_t cap = 64;
    table_blocks_entry *e = malloc(cap * sizeof *e);
    size_t keys_cap = size + 1;
    uint8_t *keys = malloc(keys_cap);
    table_blocks_check(e != NULL && keys != NULL, "allocate");
    size_t keys_len = 0;
    iter *it;
    kv_error_clear();
    int rc = table_iter_new(t, &it);
    table_blocks_check(rc == KV_OK || (rc == KV_ERR_IO && table_blocks_rc(rc)), "table_iter_new");
    if (rc != KV_OK) {
        free(e);
        free(keys);
        return NULL;
    }
    uint64_t got = 0;
    int ascending = 1;
    int wellformed = 1;
    for (iter_seek_first(it); iter_valid(it); iter_next(it), got++) {
        /* A read believes a block whose checksum holds: an entry that is
         * not an internal key, or more entries than the properties count,
         * is for kv check to find (it must). */
        ikey_parsed k = {0};
        if (got >= n || !ikey_decode(it->key, it->key + it->key_len, &k))
            wellformed = 0;
        if (got == cap) {
            table_blocks_entry *grown = realloc(e, 2 * cap * sizeof *e);
            table_blocks_check(grown != NULL, "allocate");
            e = grown;
            cap *= 2;
        }
        if (keys_len + it->key_len > keys_cap) { /* (shared prefixes, lz4) */
            uint8_t *grown = realloc(keys, 2 * (keys_len + it->key_len));
            table_blocks_check(grown != NULL, "allocate");
            keys = grown;
            keys_cap = 2 * (keys_len + it->key_len);
        }
        memcpy(keys + keys_len, it->key, it->key_len);
        e[got] = (table_blocks_entry){crc32c_value(it->value, it->value_len), keys_len,
                                      it->key_len, k.seq, k.type};
        if (got > 0 && ikey_compare(keys + e[got - 1].key_at, e[got - 1].key_len, it->key,
                                    it->key_len) >= 0)
            ascending = 0;
        keys_len += it->key_len;
    }
    int st = iter_status(it);
    table_blocks_check(st == KV_OK || table_blocks_rc(st), "a scan fails only with "
                       "KV_ERR_CORRUPT (or KV_ERR_IO where a read failed), with a message");
    /* A read the I/O layer failed ends the reading: no answer after it
     * is compared, but none may crash, leak, or fail otherwise. */
    int io_failed = st == KV_ERR_IO;
    if (st == KV_OK) {
        uint64_t back = got;
        for (iter_seek_last(it); iter_valid(it); iter_prev(it)) {
            table_blocks_check(back > 0, "a backward scan reads as many entries");
            back--;
            table_blocks_check(it->key_len == e[back].key_len &&
                               memcmp(it->key, keys + e[back].key_at, it->key_len) == 0 &&
                               crc32c_value(it->value, it->value_len) == e[back].value_crc,
                               "a backward scan reads the same entries");
        }
        io_failed = iter_status(it) == KV_ERR_IO && table_blocks_rc(KV_ERR_IO);
        table_blocks_check(io_failed || (iter_status(it) == KV_OK && back == 0),
                           "a backward scan reads what a forward scan read");
    }
    iter_free(it);
    if (m->whole && !io_failed) {
        table_blocks_check(st == KV_OK && got == m->n, "a table the harness reads whole, a "
                           "scan reads whole, as many entries");
        for (size_t i = 0; i < m->n; i++) {
            size_t klen;
            const uint8_t *k = table_blocks_model_key(m, i, &klen);
            table_blocks_check(klen == e[i].key_len && memcmp(k, keys + e[i].key_at, klen) == 0 &&
                               m->value_crc[i] == e[i].value_crc,
                               "a table the harness reads whole, a scan reads the same entries");
        }
    }
    /* Lookups must answer right where the table is whole and its filters
     * hold its keys; elsewhere a wrong answer is for kv check to find. */
    int strict = m->whole && m->filters_hold;
    size_t lo_len, hi_len;
    const uint8_t *lo = table_smallest(t, &lo_len), *hi = table_largest(t, &hi_len);
    int range_ok = got > 0 && lo_len == e[0].key_len &&
                   memcmp(lo, keys + e[0].key_at, lo_len) == 0 &&
                   hi_len == e[got - 1].key_len &&
                   memcmp(hi, keys + e[got - 1].key_at, hi_len) == 0;
    const char *disagree = io_failed ? NULL
                           : st != KV_OK ? "a scan failed"
                           : !ascending ? "the keys do not ascend"
                           : !wellformed ? "an entry is not an internal key, or there are more "
                                           "than the properties count"
                                         : NULL;
    /* Where the scan stopped at damage: lookups of the table's smallest
     * user key and of the one just after the last key the scan read (the
     * block after it, where the damage is), which must fail only with
     * KV_ERR_CORRUPT, whatever they answer. */
    if (st == KV_ERR_CORRUPT && lo_len >= IKEY_TRAILER_SIZE)
        table_blocks_probe(t, lo, lo_len - IKEY_TRAILER_SIZE, 0);
    if (st == KV_ERR_CORRUPT && got > 0)
        table_blocks_probe(t, keys + e[got - 1].key_at, e[got - 1].key_len - IKEY_TRAILER_SIZE, 1);
    /* The first and last keys of each partition, the last keys of the
     * data blocks (as the harness's walk found them: where a top-level key
     * or a separator out of place shows), and other keys, up to
     * TABLE_BLOCKS_LOOKUPS of each but the first, evenly spread, and the
     * last (each lookup reads its blocks again: the cache is full). */
    uint64_t step = got / TABLE_BLOCKS_LOOKUPS + 1, edges = 0, edge_at = 0;
    for (uint64_t i = 0; m->n == got && i < got; i++)
        edges += m->edge[i] == 1;
    uint64_t edge_step = edges / TABLE_BLOCKS_LOOKUPS + 1;
    for (uint64_t i = 0; disagree == NULL && !io_failed && range_ok && i < got; i++) {
        int edge = m->n == got && m->edge[i] && (m->edge[i] == 2 || edge_at++ % edge_step == 0);
        if (i % step != 0 && i + 1 != got && !edge)
            continue;
        const uint8_t *key = keys + e[i].key_at;
        size_t ulen = e[i].key_len - IKEY_TRAILER_SIZE;
        /* The first entry at or after (key, seq): this one, or the one
         * before it if that is a put of the same key at the same sequence
         * (a put sorts before a tombstone). */
        uint64_t want = i;
        if (i > 0 && e[i - 1].seq == e[i].seq && e[i - 1].key_len == e[i].key_len &&
            memcmp(keys + e[i - 1].key_at, key, ulen) == 0)
            want = i - 1;
        table_get_result r;
        rc = table_blocks_get(t, key, ulen, e[i].seq, &r);
        if ((io_failed = rc == KV_ERR_IO) != 0) {
            free(r.value);
            break;
        }
        if (rc != KV_OK || r.state != (e[want].type == IKEY_DELETE ? IKEY_DELETED : IKEY_FOUND) ||
            (r.state == IKEY_FOUND && crc32c_value(r.value, r.value_len) != e[want].value_crc))
            disagree = rc != KV_OK ? "a lookup of a key the scan found failed"
                                   : "a lookup of a key the scan found found something else";
        free(r.value);
        table_blocks_check(!strict || disagree == NULL, "in a whole table whose filters hold its "
                           "keys, a lookup of a key finds it");
        /* For the evenly spread keys: the filter asked as kv check and
         * kv_inspect ask it, and a user key just after this one (a 0 byte
         * added): absent, unless the next user key is that one. */
        if (i % step != 0 && i + 1 != got)
            continue;
        if (table_inspect_filter_says_absent(t, key, ulen))
            disagree = "a filter rules out a key the scan found";
        table_blocks_check(!strict || disagree == NULL, "a filter that holds a key, as "
                           "bloom_may_contain reads it, does not rule it out");
        uint8_t *after = malloc(ulen + 1);
        table_blocks_check(after != NULL, "allocate");
        memcpy(after, key, ulen);
        after[ulen] = 0;
        uint64_t next = i + 1;
        while (next < got && e[next].key_len == e[i].key_len &&
               memcmp(keys + e[next].key_at, key, ulen) == 0)
            next++;
        int next_is_it = next < got && e[next].key_len == e[i].key_len + 1 &&
                         memcmp(keys + e[next].key_at, after, ulen + 1) == 0;
        /* The filter asked for that key too where the table holds it, and
         * after the last key (past every partition: whatever it answers,
         * it answers). */
        if ((next_is_it || i + 1 == got) &&
            table_inspect_filter_says_absent(t, after, ulen + 1) && next_is_it)
            disagree = "a filter rules out a key the scan found";
        table_blocks_check(!strict || disagree == NULL, "a filter that holds a key, as "
                           "bloom_may_contain reads it, does not rule it out");
        rc = table_blocks_get(t, after, ulen + 1, IKEY_MAX_SEQ, &r);
        if ((io_failed = rc == KV_ERR_IO) != 0) {
            free(r.value);
            free(after);
            break;
        }
        if (rc != KV_OK || (!next_is_it && r.state != IKEY_ABSENT))
            disagree = rc != KV_OK ? "a lookup of a key after one the scan found failed"
                                   : "a lookup of a key the scan did not find found it";
        table_blocks_check(!strict || disagree == NULL, "in a whole table, a lookup of a key it "
                           "does not hold finds nothing");
        free(r.value);
        free(after);
    }
    free(e);
    free(keys);
    if (!tools)
        return disagree;
    kv_error_clear();
    rc = table_inspect_parts(t, "t.tbl", fuzz_dbfile_ignore_line, NULL);
    table_blocks_check(table_blocks_rc(rc), "inspecting the parts fails only with "
                       "KV_ERR_CORRUPT (or KV_ERR_IO where a read failed), with a message");
    return disagree;
}

/* Whether the tools read this input too (kv_inspect's parts, then kv check
 * on one half of those inputs and kv dump on the other, by the crc32c of
 * the input): they walk every block again, ask the filter for every key
 * and format a line for each, two thirds of an input's time where every
 * input ran them (callgrind, docs/fuzzing.md "Harness speed").  So one
 * input in TABLE_BLOCKS_TOOLS, by its crc32c, or 2 (check and dump both)
 * for every input where the engine reads every input (KV_FUZZ_ENGINE=all,
 * as the replay drivers set it: what `make test` replays reaches them). */
#define TABLE_BLOCKS_TOOLS 4u
int table_blocks_tools(uint32_t crc)
{
    static int every = -1;
    if (every < 0) {
        const char *e = getenv("KV_FUZZ_ENGINE");
        every = e != NULL && strcmp(e, "all") == 0;
    }
    return every ? 2 : (crc >> 1) % TABLE_BLOCKS_TOOLS == 0;
}

/* The I/O layer's mode for this input, from the file header's checksum as
 * the input holds it (bytes 12-15, which table_blocks_repair writes
 * again): the right one, as in every table a stage writes, for the
 * reading with the file mapped; else their difference says the reading
 * without a mapping (io_fault.h, wrapped around the files in memory, maps
 * nothing: every block is read with a positioned read), with its low byte
 * N the number of the I/O call that fails with EIO (0: none), once, or
 * from then on if the next bit is set.  Returns 1 if it installed it. */
int table_blocks_faults(const uint8_t *data, const uint8_t *f, size_t size)
{
    if (size < FILE_HEADER_SIZE + TABLE_V2_FOOTER)
        return 0;
    uint32_t diff = coding_get_u32(data + 12) ^ coding_get_u32(f + 12);
    if (diff == 0)
        return 0;
    fuzz_faults_io_fail((long)(diff & 0xff), (diff >> 8) & 1);
    table_blocks_fault_armed = 1;
    return 1;
}

