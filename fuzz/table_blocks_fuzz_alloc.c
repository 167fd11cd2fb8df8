/*
 * table_blocks_fuzz_alloc.c: the table_blocks fuzz harness's reading of a
 * table again with each of its allocations refused in turn (one input in
 * 64 when fuzzing, every input in the replays).  table_blocks_fuzz.c says
 * what an input is and what it checks.
 *
 * Invariants: with an allocation refused, every step answers as it did
 * with none refused or KV_ERR_NOMEM with a message, and nothing is left
 * allocated.
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

/* ---- allocations refused ---------------------------------------------------------- */

/* What one reading of the table answered (table_blocks_alloc_read): each
 * step's rc, the entries its scan and its salvage read. */
typedef struct table_blocks_answers {
    int open, scan, get, salvage;
    uint64_t scanned, salvaged;
    ikey_lookup_state state; /* the lookup's, if KV_OK */
    int absent;             /* the filter's answers: bit 0 for the key, bit 1
                               for the long key */
} table_blocks_answers;

static int table_blocks_count_entry(void *ctx, const uint8_t *ikey, size_t ikey_len,
                                    const uint8_t *value, size_t value_len)
{
    (void)ikey, (void)ikey_len, (void)value, (void)value_len;
    (*(uint64_t *)ctx)++;
    return KV_OK;
}

static void table_blocks_ignore_loss(void *ctx, const table_loss *loss)
{
    (void)ctx, (void)loss;
}

/* An error comes with a message, read at once. */
static int table_blocks_said(int rc)
{
    table_blocks_check(rc == KV_OK || kv_errmsg()[0] != '\0', "an error comes with a message");
    return rc;
}

/* A lookup of t's smallest user key (as its properties say: a key in its
 * range), and its filter asked: into a. */
static void table_blocks_alloc_lookup(table *t, table_blocks_answers *a)
{
    size_t len = 0;
    const uint8_t *smallest = table_smallest(t, &len);
    size_t ulen = len >= IKEY_TRAILER_SIZE ? len - IKEY_TRAILER_SIZE : 0;
    ikey_lookup lk;
    table_get_result r = {0};
    kv_error_clear();
    a->get = table_blocks_said(ikey_lookup_init(&lk, smallest, ulen, IKEY_MAX_SEQ));
    if (a->get == KV_OK) {
        kv_error_clear();
        a->get = table_blocks_said(table_get(t, &lk, &r));
        a->state = r.state;
        free(r.value);
        ikey_lookup_free(&lk);
    }
    /* The filter asked for that key, and for a key longer than a lookup
     * holds without an allocation (IKEY_LOOKUP_INLINE). */
    uint8_t long_key[IKEY_LOOKUP_INLINE + 1];
    memset(long_key, 'k', sizeof long_key);
    a->absent = table_inspect_filter_says_absent(t, smallest, ulen) +
                2 * table_inspect_filter_says_absent(t, long_key, sizeof long_key);
}

/* The table read as a reader and kv repair read it, with a context of
 * its own (so that nothing stays cached after it): opened, scanned, a key
 * looked up and its filter asked, then salvaged (table_salvage); the
 * allocator armed with alloc_fail_at(fail) around it all, or, with
 * lookup_only, around the lookup alone (no scan, no salvage).  Unmapped:
 * the context maps no file (kv_options.map_tables = KV_NO_MAP), so that
 * the scan reads its blocks into a window it allocates, and a lookup
 * reads its block (table_v2_iter.c, table_v2_block.c). */
static void table_blocks_alloc_read(table_blocks_answers *a, long fail, int lookup_only,
                                    int unmapped)
{
    kv_options opt;
    kv_options_init(&opt);
    opt.cache_bytes = 1;
    if (unmapped)
        opt.map_tables = KV_NO_MAP;
    table_ctx *ctx = NULL;
    table *t = NULL;
    memset(a, 0, sizeof *a);
    if (!lookup_only)
        alloc_fail_at(fail);
    kv_error_clear();
    a->open = table_blocks_said(table_ctx_new(&opt, &ctx));
    if (a->open == KV_OK)
        a->open = table_blocks_said(table_open(ctx, table_blocks_path, &t));
    a->scan = a->get = a->salvage = a->open;
    if (a->open == KV_OK && !lookup_only) {
        iter *it = NULL;
        kv_error_clear();
        a->scan = table_blocks_said(table_iter_new(t, &it));
        if (a->scan == KV_OK) { /* (an iterator made failed keeps its message) */
            for (iter_seek_first(it); iter_valid(it); iter_next(it))
                a->scanned++;
            a->scan = table_blocks_said(iter_status(it));
            iter_free(it);
        }
    }
    if (a->open == KV_OK) {
        if (lookup_only)
            alloc_fail_at(fail);
        table_blocks_alloc_lookup(t, a);
    }
    table_unref(t);
    table_ctx_free(ctx);
    if (lookup_only)
        return;
    table_salvage_info info;
    kv_error_clear();
    a->salvage = table_blocks_said(table_salvage(table_blocks_path, table_blocks_count_entry,
                                                 table_blocks_ignore_loss, &a->salvaged,
                                                 &info));
}

/* Whether rc, with an allocation refused, is what the reading without
 * one answered (want), or the refusal's KV_ERR_NOMEM, or KV_ERR_IO (the
 * disk in memory out of memory). */
static int table_blocks_refused(int rc, int want)
{
    return rc == want || rc == KV_ERR_NOMEM || rc == KV_ERR_IO;
}

/* Readings with an allocation refused, at most, per input. */
#define TABLE_BLOCKS_ALLOC_RUNS 48

/* The reading (table_blocks_alloc_read) once with its allocations counted,
 * then with allocation k refused (tests/alloc/alloc_wrap.h: NULL, once),
 * for every k if there are at most TABLE_BLOCKS_ALLOC_RUNS, else for that
 * many spread evenly, the first chosen by seed; then the same for the
 * lookup alone (its few allocations, each refused in turn), the file
 * mapped or not as bit 12 of seed says: each step
 * answers as without the refusal or with KV_ERR_NOMEM (KV_ERR_IO), with a
 * message; a scan or salvage that succeeds reads as many entries, a
 * lookup that succeeds finds what it found; and no block is left
 * allocated after it. */
void table_blocks_alloc_faults(uint32_t seed)
{
    int unmapped = (int)((seed >> 12) & 1);
    for (int lookup_only = 0; lookup_only < 2; lookup_only++) {
        table_blocks_answers want, got;
        table_blocks_alloc_read(&want, LONG_MAX, lookup_only, unmapped);
        long calls = alloc_calls();
        alloc_disarm();
        long stride;
        for (long k = fuzz_faults_spread(calls, TABLE_BLOCKS_ALLOC_RUNS, seed, &stride);
             k <= calls; k += stride) {
            long live = alloc_live();
            table_blocks_alloc_read(&got, k, lookup_only, unmapped);
            if (!alloc_disarm())
                break; /* this reading made fewer allocations */
            table_blocks_check(table_blocks_refused(got.open, want.open) &&
                                   table_blocks_refused(got.scan, want.scan) &&
                                   table_blocks_refused(got.get, want.get) &&
                                   table_blocks_refused(got.salvage, want.salvage),
                               "an allocation refused: each step's answer without it, or "
                               "KV_ERR_NOMEM");
            table_blocks_check((got.scan != KV_OK || got.scanned == want.scanned) &&
                                   (got.get != KV_OK || got.state == want.state) &&
                                   (got.salvage != KV_OK || got.salvaged == want.salvaged),
                               "an allocation refused: a scan or salvage that succeeds reads "
                               "as many entries, a lookup that succeeds finds what it found");
            table_blocks_check((got.absent & ~want.absent) == 0,
                               "an allocation refused: a filter that cannot be asked rules "
                               "nothing out");
            table_blocks_check(alloc_live() == live,
                               "an allocation refused: nothing left allocated");
        }
    }
}

