/*
 * table_fuzz_cut.c: the table fuzz harness on a table that read whole,
 * opened again without mapping and its file cut short (or a byte
 * inverted) under its reader, where the input's middle key says, or
 * opened mapped in a crowded file cache and its file cut short, so that
 * each read maps the file again, shorter than the table says; its
 * lookups also made in two steps, kv_multi_get's (table_batch.h); and
 * keys the table lacks.  table_fuzz.c says what an input is and what it
 * checks.
 *
 * Invariants: each lookup of the cut table answers as before or fails
 * with KV_ERR_CORRUPT, alone or in two steps alike; a key the table lacks
 * finds nothing unless the next key the scan gave is that key.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
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

/* A lookup in two steps, kv_multi_get's (table_batch.h): the first answers,
 * or names the one read it needs, which is made (io_read_batch) and handed
 * to the second; or, when give_back, the lookup is given back unread
 * (*released: *r says nothing then).  last: table_get_last's lookup. */
int table_fuzz_get_batched(table *t, const ikey_lookup *lk, int last, int give_back,
                           table_get_result *r, int *released)
{
    table_pending p;
    int pending = 0;
    *released = 0;
    int rc = table_get_start(t, lk, last, r, &p, &pending);
    if (rc != KV_OK || !pending)
        return rc;
    if (give_back) {
        table_pending_release(&p);
        *released = 1;
        return KV_OK;
    }
    io_read_req req = p.read;
    req.buf = malloc(req.len ? req.len : 1);
    table_fuzz_check(req.buf != NULL, "allocate");
    io_read_batch(&req, 1);
    rc = table_get_finish(&p, &req, lk, r);
    free(req.buf);
    return rc;
}

/* The table read whole (its scan, the lookups) is opened again, its file
 * is cut short under it (a disk or another program that truncated it),
 * and read through positioned reads only, or, if remap, through mappings
 * made after the cut: the file cache holds one file, which an iterator of
 * another table of the same file holds (file_cache.h, FC1), so that each
 * read of the table opens and maps its file again, shorter than the table
 * says (and a read past the mapping is a positioned read).  Every lookup
 * answers as before or fails with KV_ERR_CORRUPT (the read that comes
 * back short: table_v2 names the offset and the bytes it got), and a scan
 * reads the records before the cut as before, then fails with
 * KV_ERR_CORRUPT, or, when the cut left every record, reads them all.
 * The file is put back after. */
void table_fuzz_cut(const uint8_t *data, size_t size, const table_fuzz_entry *e,
                    const uint8_t *keys, uint64_t got, int damage, int remap)
{
    table_fuzz_crowd crowd;
    int rc;
    table_ctx *ctx = table_fuzz_crowd_in(&crowd, remap, 1, &rc);
    table_fuzz_check(rc == KV_OK, "a table that opened opens again, with an iterator");
    table *t = NULL;
    table_fuzz_check(table_open(ctx, table_fuzz_path, &t) == KV_OK,
                     "a table that opened opens again");
    /* Held to the file it has (table_retire: kv_compact's output about to
     * take its name), which the cut then shortens under it; remapped, the
     * file the cut left is opened again for each read. */
    table_fuzz_check(remap || (table_retire(t) == KV_OK && table_retire(t) == KV_OK),
                     "a table that opened keeps its file");
    /* Where the cut falls: a point of the file the middle key picks; if
     * damage, the byte there is inverted instead (the file cut there, then
     * written again from it), so that a lookup reads the block whole and
     * finds its checksum wrong. */
    uint64_t cut = e[got / 2].key_crc % size;
    uint8_t inverted = (uint8_t)~data[cut];
    io_file *f = NULL;
    table_fuzz_check(io_open(table_fuzz_path, IO_WRITE, &f) == KV_OK &&
                     io_truncate(f, cut) == KV_OK &&
                     (!damage || (io_append_bytes(f, &inverted, 1) == KV_OK &&
                                  io_append_bytes(f, data + cut + 1, size - cut - 1) == KV_OK)) &&
                     io_close(f) == KV_OK, "cut or damage the file");
    uint64_t step = got / TABLE_FUZZ_CUT_LOOKUPS + 1;
    for (uint64_t i = got - 1;; i = i >= step ? i - step : 0) {
        ikey_lookup lk;
        table_fuzz_check(ikey_lookup_init(&lk, keys + e[i].key_at, e[i].key_len - 8,
                                          e[i].seq) == KV_OK, "lookup key");
        uint64_t want = table_fuzz_want(e, keys, i);
        /* table_get, then the same lookup in two steps (TB1: the same
         * answers), as the last table a lookup reaches for every other
         * key, and given back unread for one in four. */
        for (int batched = 0; batched < 2; batched++) {
            table_get_result r;
            int released = 0;
            int rc = batched ? table_fuzz_get_batched(t, &lk, (int)(i & 1), i % 4 == 3, &r,
                                                      &released)
                             : table_get(t, &lk, &r);
            table_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT,
                             "a lookup in a file cut short fails only with KV_ERR_CORRUPT");
            if (rc == KV_OK && !released) {
                table_fuzz_check(r.state == (e[want].type != IKEY_DELETE ? IKEY_FOUND
                                                                         : IKEY_DELETED),
                                 "a lookup in a file cut short finds what it found before");
                if (r.state == IKEY_FOUND)
                    table_fuzz_check(crc32c_value(r.value, r.value_len) == e[want].value_crc,
                                     "a lookup in a file cut short returns the value it did");
                free(r.value);
            }
        }
        ikey_lookup_free(&lk);
        if (i == 0)
            break;
    }
    iter *it;
    table_fuzz_check(table_iter_new(t, &it) == KV_OK, "table_iter_new");
    uint64_t read = 0;
    for (iter_seek_first(it); iter_valid(it); iter_next(it), read++)
        table_fuzz_check(read < got && crc32c_value(it->key, it->key_len) == e[read].key_crc &&
                         crc32c_value(it->value, it->value_len) == e[read].value_crc,
                         "a scan of a file cut short reads the records before the cut");
    table_fuzz_check(iter_status(it) == KV_ERR_CORRUPT || (iter_status(it) == KV_OK &&
                                                           read == got),
                     "a scan of a file cut short reads every record, or fails with "
                     "KV_ERR_CORRUPT");
    iter_free(it);
    table_unref(t);
    table_fuzz_crowd_end(&crowd);
    table_fuzz_check(io_mem_put(table_fuzz_path, data, size) == 0, "the input in memory");
}

/* A lookup of the key right after record i's user key (a zero byte
 * appended: no user key lies between them) in a table that reads whole:
 * it finds nothing unless the next user key the scan gave is that key
 * (each record's last version of its user key only). */
void table_fuzz_absent(table *t, const table_fuzz_entry *e, const uint8_t *keys,
                       uint64_t got, uint64_t i)
{
    size_t ulen = e[i].key_len - 8;
    const uint8_t *ukey = keys + e[i].key_at;
    if (i + 1 < got && e[i + 1].key_len - 8 == ulen &&
        memcmp(keys + e[i + 1].key_at, ukey, ulen) == 0)
        return; /* (not the last version of the key) */
    if (ulen >= KV_MAX_KEY)
        return;
    uint8_t probe[KV_MAX_KEY];
    memcpy(probe, ukey, ulen);
    probe[ulen] = 0;
    int held = i + 1 < got && e[i + 1].key_len - 8 == ulen + 1 &&
               memcmp(keys + e[i + 1].key_at, probe, ulen + 1) == 0;
    ikey_lookup lk;
    table_fuzz_check(ikey_lookup_init(&lk, probe, ulen + 1, IKEY_MAX_SEQ) == KV_OK,
                     "lookup key");
    /* (Every other one as the last table a lookup reaches: where the
     * context says so, past the filter, to the block's end.) */
    table_get_result r;
    int rc = i % 2 ? table_get_last(t, &lk, &r) : table_get(t, &lk, &r);
    table_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT,
                     "a lookup fails only with KV_ERR_CORRUPT");
    if (rc == KV_OK) {
        table_fuzz_check(held || r.state == IKEY_ABSENT,
                         "a lookup of a key the table lacks finds nothing");
        free(r.value);
    }
    ikey_lookup_free(&lk);
}

