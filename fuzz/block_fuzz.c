/*
 * block_fuzz.c: fuzz harness for stage 05's stored data blocks
 * (stages/05-blocks/blocks/block.h, table_v2_format.h).
 *
 * The input is one stored block as a table holds it: contents, then the
 * 9-byte trailer (compression type, raw size, checksum).  The harness
 * writes the right checksum into a copy first (the fuzzer could not find
 * one; the table harness covers a wrong one), then reads the block the
 * ways a lookup and a scan do: the trailer's checks, lz4 decompression
 * bounded by the recorded raw size, the restart array, every entry
 * forward and backward, a seek to every key, and a get of every key
 * through the block's hash index (block_hash.h) when it has one.  Nothing
 * may crash or read outside the bytes (ASan), and the answers must agree:
 *   - a backward walk yields the forward walk's entries in reverse, or
 *     stops with KV_ERR_CORRUPT at the same damage;
 *   - if the keys strictly ascend, a seek to each key lands on it;
 *   - a get through the hash index ends KV_OK or KV_ERR_CORRUPT; if the
 *     index is as a builder makes it (every bucket a restart point, empty
 *     or a collision, every key's bucket its run or a collision: kv
 *     check's reading), it lands on the key, and a lookup of any key
 *     answers as the search does;
 *   - a block whose values are cells (block_value.h) has every cell
 *     unpacked into a buffer of exactly its length: refused, or read
 *     within the cell; an lz4 block that says so is damage for the whole
 *     block's search (BV3), so its lookups by steps are not compared;
 *     unpacked into another length, a cell is refused, and so is one
 *     block_value_size refuses;
 *   - an iterator past its last entry stays there through a step, and a
 *     failed one stays failed, for the same reason, through every seek
 *     and step; a fresh one's seek_last lands on the walk's last entry;
 *   - a well-formed block of plain values, written again by a builder
 *     (block_builder.h: a restart point every 1 to 4 entries, values in
 *     cells or not, by the contents' size), reads back the same entries,
 *     its hash index sound and a get of each key through it landing on it.
 *
 * It is in FUZZ_05-blocks (stages/05-blocks/stage.mk): `make fuzz-smoke`
 * runs it, `make fuzz STAGE=05-blocks TARGET=block` is an AFL++ campaign,
 * and `make test` replays its seeds (pieces of real tables cut out by
 * scripts/fuzz_seeds.sh) and regressions (docs/fuzzing.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "block_builder.h"
#include "block_hash.h"
#include "block_value.h"
#include "crc32c.h"
#include "internal_key.h"
#include "kv.h"
#include "lz4_steps.h"
#include "table_v2_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void block_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "block fuzz invariant broken: %s\n", what);
        abort();
    }
}

/* The keys a walk found, back to back: the targets of the lookups. */
typedef struct block_fuzz_keys {
    uint8_t *bytes;
    size_t len, cap;
    size_t *ends; /* each key's end in bytes */
    size_t n, ncap;
} block_fuzz_keys;

static void block_fuzz_keep(block_fuzz_keys *k, const uint8_t *key, size_t len)
{
    if (k->len + len > k->cap) {
        size_t cap = 2 * (k->len + len);
        uint8_t *grown = realloc(k->bytes, cap);
        block_fuzz_check(grown != NULL, "allocate");
        k->bytes = grown;
        k->cap = cap;
    }
    if (k->n == k->ncap) {
        size_t cap = k->ncap ? 2 * k->ncap : 16;
        size_t *grown = realloc(k->ends, cap * sizeof *grown);
        block_fuzz_check(grown != NULL, "allocate");
        k->ends = grown;
        k->ncap = cap;
    }
    memcpy(k->bytes + k->len, key, len);
    k->len += len;
    k->ends[k->n++] = k->len;
}

/* A get of target through b's hash index: KV_OK or KV_ERR_CORRUPT; and
 * if sound (the block well formed, its index as a builder makes it), the
 * answer of the binary search: the same entry if it has target's user
 * key, else none or an entry of another user key. */
static void block_fuzz_hashed_get(const block *b, const uint8_t *target, size_t tlen, int sound)
{
    block_iter h = {0}, s = {0};
    block_iter_init(&h, b, TABLE_V2_IKEY_MIN);
    block_hash_seek(&h, target, tlen);
    block_fuzz_check(h.status == KV_OK || h.status == KV_ERR_CORRUPT,
                     "a get through the hash index: only KV_ERR_CORRUPT");
    if (sound) {
        block_iter_init(&s, b, TABLE_V2_IKEY_MIN);
        block_iter_seek(&s, target, tlen);
        size_t ulen = tlen - IKEY_TRAILER_SIZE;
        int found = s.valid && ikey_user_compare(s.key, s.key_len - IKEY_TRAILER_SIZE, target,
                                                 ulen) == 0;
        block_fuzz_check(h.status == KV_OK, "a sound hash index is read without damage");
        if (found)
            block_fuzz_check(h.valid && h.at == s.at,
                             "a get through a sound hash index finds what the search finds");
        else
            block_fuzz_check(!h.valid || ikey_user_compare(h.key, h.key_len - IKEY_TRAILER_SIZE,
                                                           target, ulen) != 0,
                             "a get through a sound hash index finds no key the search misses");
        block_iter_free(&s);
    }
    block_iter_free(&h);
}

/* The value cell [v, v + n) unpacked, as a get does, from an exact-size
 * copy into a buffer of exactly the length it claims: ASan sees a read or
 * a write past either. */
static void block_fuzz_cell(const uint8_t *v, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    block_fuzz_check(c != NULL, "allocate");
    if (n > 0)
        memcpy(c, v, n);
    size_t len;
    const char *why = block_value_size(c, n, &len);
    if (why == NULL) {
        block_fuzz_check(len <= BLOCK_VALUE_MAX && (n == 0 || len <= 256 * n + 64),
                         "a cell's length is bounded by its bytes");
        uint8_t *out = malloc(len + 1);
        block_fuzz_check(out != NULL, "allocate");
        block_value_unpack(c, n, out, len);
        block_fuzz_check(block_value_unpack(c, n, out, len + 1) != NULL,
                         "a cell unpacked into another length than its own is refused");
        free(out);
    } else {
        uint8_t one;
        block_fuzz_check(block_value_unpack(c, n, &one, 1) != NULL,
                         "a cell block_value_size refuses, unpack refuses too");
    }
    free(c);
}

/* An iterator that stopped (past the last entry, or failed) stays so
 * through a step, and a failed one through every seek and a get through
 * the hash index: no call reads on past damage.  key (klen bytes), a key
 * to seek, or NULL. */
static void block_fuzz_stays(block_iter *it, const uint8_t *key, size_t klen)
{
    int status = it->status;
    const char *why = it->why;
    block_iter_next(it);
    block_fuzz_check(!it->valid && it->status == status, "a step past the end stays there");
    if (status == KV_OK)
        return;
    block_iter_seek_first(it);
    block_iter_seek_last(it);
    if (key != NULL) {
        block_iter_seek(it, key, klen);
        block_hash_seek(it, key, klen);
    }
    block_fuzz_check(!it->valid && it->status == status && it->why == why,
                     "a failed iterator stays failed, for the same reason");
}

/* A fresh iterator's seek_last: on the forward walk's last entry (at
 * offset last) if that walk read the block (status forward); if not,
 * there or failed with KV_ERR_CORRUPT. */
static void block_fuzz_last(const block *b, int forward, size_t last)
{
    block_iter it = {0};
    block_iter_init(&it, b, TABLE_V2_IKEY_MIN);
    block_iter_seek_last(&it);
    if (forward == KV_OK)
        block_fuzz_check(it.valid && it.at == last, "seek_last lands on the last entry");
    else
        block_fuzz_check(it.valid || it.status == KV_ERR_CORRUPT,
                         "seek_last of a damaged block: an entry, or KV_ERR_CORRUPT");
    block_iter_free(&it);
}

/* What a builder writes of the entries of the well-formed block b, whose
 * values are not cells, with a restart point every `interval` entries, a
 * hash index where it can have one (not past BLOCK_HASH_MAX_RESTARTS
 * restart points) and the values in cells if `cells`, reads back the
 * same: every entry in order, its value (unpacked) the same, a sound hash
 * index, and a get of each key through it lands on it. */
static void block_fuzz_rebuild(const block *b, unsigned interval, int cells)
{
    block_builder bb;
    block_builder_init(&bb, interval);
    block_fuzz_check(block_builder_hash_index(&bb) == KV_OK &&
                     (!cells || block_builder_value_cells(&bb) == KV_OK), "a builder");
    block_iter it = {0}, a = {0}, g = {0};
    block_iter_init(&it, b, TABLE_V2_IKEY_MIN);
    for (block_iter_seek_first(&it); it.valid; block_iter_next(&it))
        block_fuzz_check(block_builder_add(&bb, it.key, it.key_len, it.value, it.value_len) ==
                         KV_OK, "an entry added");
    const uint8_t *c;
    size_t n;
    block_fuzz_check(block_builder_finish(&bb, &c, &n) == KV_OK, "a block finished");
    uint8_t *copy = malloc(n);
    block_fuzz_check(copy != NULL, "allocate");
    memcpy(copy, c, n);
    block r;
    size_t at;
    block_fuzz_check(block_init(&r, copy, n) == NULL && r.cells == cells &&
                     block_hash_check_buckets(&r, &at) == NULL,
                     "a block a builder wrote reads, its hash index sound");
    block_iter_init(&a, &r, TABLE_V2_IKEY_MIN);
    block_iter_seek_first(&it);
    for (block_iter_seek_first(&a); a.valid; block_iter_next(&a), block_iter_next(&it)) {
        block_fuzz_check(it.valid && it.key_len == a.key_len &&
                         memcmp(it.key, a.key, a.key_len) == 0,
                         "a block a builder wrote holds the same keys");
        size_t vlen = a.value_len;
        const uint8_t *v = a.value;
        uint8_t *out = NULL;
        if (cells) {
            block_fuzz_check(block_value_size(a.value, a.value_len, &vlen) == NULL,
                             "a cell a builder wrote has a length");
            out = malloc(vlen + 1);
            block_fuzz_check(out != NULL && block_value_unpack(a.value, a.value_len, out, vlen) ==
                             NULL, "a cell a builder wrote unpacks");
            v = out;
        }
        block_fuzz_check(vlen == it.value_len && (vlen == 0 || memcmp(v, it.value, vlen) == 0),
                         "a block a builder wrote holds the same values");
        free(out);
        block_fuzz_check(block_hash_check_entry(&r, a.key, a.key_len, a.restart) == NULL,
                         "each key's hash bucket is its run or a collision");
        block_iter_init(&g, &r, TABLE_V2_IKEY_MIN);
        block_hash_seek(&g, a.key, a.key_len);
        block_fuzz_check(g.valid && g.at == a.at, "a get through the hash index finds the key");
    }
    block_fuzz_check(a.status == KV_OK && !it.valid, "a block a builder wrote holds every entry");
    block_iter_free(&it);
    block_iter_free(&a);
    block_iter_free(&g);
    free(copy);
    block_builder_free(&bb);
}

/* Walks the contents both ways and seeks to every key; keeps the keys in
 * *keys if not NULL.  Returns 1 if the block is well formed: its restart
 * array and every entry read, the keys strictly ascending. */
static int block_fuzz_contents(const uint8_t *p, size_t n, block_fuzz_keys *keys)
{
    block b;
    if (block_init(&b, p, n) != NULL)
        return 0;
    block_iter it = {0};
    block_iter_init(&it, &b, TABLE_V2_IKEY_MIN);
    size_t cap = 64, count = 0;
    size_t *at = malloc(cap * sizeof *at);
    block_fuzz_check(at != NULL, "allocate");
    int ascending = 1;
    block_fuzz_keys walked = {0};
    size_t bucket_at;
    int hash_sound = block_hash_check_buckets(&b, &bucket_at) == NULL;
    uint8_t *prev = NULL;
    size_t prev_len = 0;
    for (block_iter_seek_first(&it); it.valid; block_iter_next(&it)) {
        block_fuzz_check(it.key_len >= TABLE_V2_IKEY_MIN, "keys are internal keys");
        block_fuzz_check(it.value >= p && it.value + it.value_len <= p + n,
                         "values lie inside the block");
        if (b.cells)
            block_fuzz_cell(it.value, it.value_len);
        if (count == cap) {
            size_t *grown = realloc(at, 2 * cap * sizeof *at);
            block_fuzz_check(grown != NULL, "allocate");
            at = grown;
            cap *= 2;
        }
        at[count++] = it.at;
        if (keys != NULL)
            block_fuzz_keep(keys, it.key, it.key_len);
        block_fuzz_keep(&walked, it.key, it.key_len);
        if (prev != NULL && ikey_compare(prev, prev_len, it.key, it.key_len) >= 0)
            ascending = 0;
        if (block_hash_check_entry(&b, it.key, it.key_len, it.restart) != NULL)
            hash_sound = 0;
        uint8_t *copy = realloc(prev, it.key_len);
        block_fuzz_check(copy != NULL, "allocate");
        memcpy(copy, it.key, it.key_len);
        prev = copy;
        prev_len = it.key_len;
    }
    int forward = it.status;
    block_fuzz_check(forward == KV_OK || forward == KV_ERR_CORRUPT, "only KV_ERR_CORRUPT");
    block_fuzz_stays(&it, walked.n > 0 ? walked.bytes : NULL,
                     walked.n > 0 ? walked.ends[0] : 0);
    block_fuzz_last(&b, forward, count > 0 ? at[count - 1] : 0);
    if (forward == KV_OK) {
        size_t back = count;
        for (block_iter_seek_last(&it); it.valid; block_iter_prev(&it)) {
            block_fuzz_check(back > 0 && at[back - 1] == it.at,
                             "a backward walk yields the forward walk's entries");
            back--;
        }
        block_fuzz_check(it.status == KV_OK && back == 0,
                         "a backward walk reads what a forward walk read");
        block_iter_prev(&it);
        block_fuzz_check(!it.valid && it.status == KV_OK, "a step back from before the first "
                         "entry stays there");
    }
    for (size_t i = 0; forward == KV_OK && ascending && i < count; i++) {
        block_iter_seek_first(&it);
        while (it.valid && it.at != at[i])
            block_iter_next(&it);
        block_fuzz_check(it.valid, "the entry is there again");
        size_t klen = it.key_len;
        uint8_t *key = malloc(klen);
        block_fuzz_check(key != NULL, "allocate");
        memcpy(key, it.key, klen);
        block_iter_seek(&it, key, klen);
        block_fuzz_check(it.valid && it.at == at[i], "a seek to a key lands on it");
        free(key);
    }
    /* Gets through the index of every key the walk read, and of a key
     * beside each (its user key's last byte one more: another bucket),
     * whatever the block: the index's own checks, not the walk's, stand
     * between a get and the bytes. */
    for (size_t i = 0; i < walked.n; i++) {
        size_t from = i == 0 ? 0 : walked.ends[i - 1], len = walked.ends[i] - from;
        uint8_t *key = malloc(len);
        block_fuzz_check(key != NULL, "allocate");
        memcpy(key, walked.bytes + from, len);
        for (int beside = 0; beside < 2; beside++) {
            key[len - IKEY_TRAILER_SIZE - 1] += (uint8_t)beside;
            block_fuzz_hashed_get(&b, key, len, forward == KV_OK && ascending && hash_sound);
        }
        free(key);
    }
    free(walked.bytes);
    free(walked.ends);
    free(prev);
    free(at);
    block_iter_free(&it);
    /* Written again by a builder: one restart point every 1 to 4 entries,
     * values in cells or not, by the contents' size. */
    if (forward == KV_OK && ascending && !b.cells)
        block_fuzz_rebuild(&b, 1 + (unsigned)(n % 4), (n >> 2) & 1);
    return forward == KV_OK && ascending && hash_sound;
}

/* One lookup of target in the lz4 block [p, p + stored) of raw bytes, by
 * steps (table_v2_scan) and, if whole (the decoded contents, well
 * formed), by the whole block's search: the same answer. */
static void block_fuzz_lookup(const uint8_t *p, uint32_t stored, uint32_t raw,
                              const block *whole, const uint8_t *target, size_t tlen)
{
    table t;
    memset(&t, 0, sizeof t);
    t.path = "block";
    table_v2_handle h = {.offset = TABLE_V2_DATA_AT, .size = stored};
    table_v2_blockref ref = {.lz4 = p, .lz4_size = stored, .raw = raw};
    uint8_t *once = malloc((size_t)raw + LZ4_STEPS_SLACK); /* exactly: ASan sees a step past it */
    block_fuzz_check(once != NULL, "allocate");
    table_get_result a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    int rc = table_v2_scan(&t, h, &ref, once, target, tlen, &a);
    block_fuzz_check(rc == KV_OK || rc == KV_ERR_CORRUPT, "a lookup by steps: only KV_ERR_CORRUPT");
    if (whole != NULL) {
        int rc2 = table_v2_block_search(&t, whole, h.offset, target, tlen, &b);
        block_fuzz_check(rc == rc2 && a.state == b.state,
                         "a lookup by steps answers as the whole block's search");
        if (rc == KV_OK && a.state != IKEY_ABSENT)
            block_fuzz_check(a.seq == b.seq, "a lookup by steps finds the same version");
        if (rc == KV_OK && a.state == IKEY_FOUND)
            block_fuzz_check(a.value_len == b.value_len && a.elsewhere == b.elsewhere &&
                             memcmp(a.value, b.value, a.value_len) == 0,
                             "a lookup by steps finds the same value");
    }
    free(a.value);
    free(b.value);
    free(once);
}

/* The lookups of an lz4 block: every key the whole block's walk found
 * (none if liblz4 cannot decode it), one below every key and one above. */
static void block_fuzz_lookups(const uint8_t *p, uint32_t stored, uint32_t raw,
                               const uint8_t *contents, int well_formed,
                               const block_fuzz_keys *keys)
{
    block b;
    const block *whole = NULL;
    if (contents != NULL && well_formed &&
        table_v2_block_init(&b, contents, raw, TABLE_V2_LZ4) == NULL)
        whole = &b;
    size_t from = 0;
    for (size_t i = 0; i < keys->n; i++) {
        block_fuzz_lookup(p, stored, raw, whole, keys->bytes + from, keys->ends[i] - from);
        from = keys->ends[i];
    }
    static const uint8_t low[TABLE_V2_IKEY_MIN] = {0};
    uint8_t high[TABLE_V2_IKEY_MIN + 8];
    memset(high, 0xff, sizeof high);
    block_fuzz_lookup(p, stored, raw, whole, low, sizeof low);
    block_fuzz_lookup(p, stored, raw, whole, high, sizeof high);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < TABLE_V2_TRAILER)
        return 0;
    uint8_t *copy = malloc(size); /* exactly the input: ASan sees overreads */
    block_fuzz_check(copy != NULL, "allocate");
    memcpy(copy, data, size);
    uint32_t stored = (uint32_t)(size - TABLE_V2_TRAILER);
    uint8_t *tr = copy + stored;
    coding_put_u32(tr + 5, crc32c_extend(crc32c_value(copy, stored), tr, 5));
    int type;
    uint32_t raw;
    if (table_v2_stored_check(copy, stored, &type, &raw) == NULL) {
        block_fuzz_check(type == TABLE_V2_RAW ? raw == stored : type == TABLE_V2_LZ4,
                         "the trailer's checks hold");
        if (type == TABLE_V2_RAW) {
            block_fuzz_contents(copy, stored, NULL);
        } else {
            /* raw as the trailer's checks let it through, uncapped here:
             * a bound they forgot reaches this allocation and the fuzzer's
             * malloc limit (scripts/fuzz_limits.sh), as it would reach a
             * reader's. */
            uint8_t *out = malloc(raw);
            block_fuzz_check(out != NULL, "allocate");
            block_fuzz_keys keys = {0};
            int decoded = table_v2_uncompress(copy, stored, out, raw) == NULL;
            int well_formed = decoded && block_fuzz_contents(out, raw, &keys);
            block_fuzz_lookups(copy, stored, raw, decoded ? out : NULL, well_formed, &keys);
            free(keys.bytes);
            free(keys.ends);
            free(out);
        }
    }
    /* The contents alone, as if stored uncompressed. */
    block_fuzz_contents(copy, stored, NULL);
    free(copy);
    return 0;
}
