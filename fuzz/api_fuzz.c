/*
 * api_fuzz.c: fuzz harness for the API itself.  The input is a program of
 * kv.h calls; it runs on a fresh database of the stage and, call by call,
 * on an in-memory model (tests/model_map.h, with a frozen copy for each
 * snapshot and iterator: api_check.h).  Every answer of the engine must be
 * the model's; a disagreement, a crash, a sanitizer report or a leak fails
 * the input.  This is what LevelDB's fuzzing does to its DB class; it uses
 * kv.h alone, so every stage builds it.  This file decodes the bytes;
 * api_calls.h makes each call on the engine and on the model.
 * docs/fuzzing.md has the same table and a worked example.
 *
 * The input, byte by byte (bytes past its end read as 0):
 *
 *   input   := options shape op*
 *   options := 1 byte: bits 0-2 segment_bytes, bits 3-5 memtable_bytes (each
 *              an index into api_sizes: 0 = default, then 1 byte .. 1 MiB,
 *              so logs roll over and memtables flush often), bit 6 sync,
 *              bit 7 every write is read back at once with kv_get
 *   shape   := 1 byte, the tables' options (stage 05 on; 0: the defaults):
 *              bits 0-1 block_bytes (default, 64, 256, 1024); bits 2-3
 *              table_bytes, l1_bytes, level_ratio (stage 06 on: default,
 *              1 KiB 2 KiB 2, 4 KiB 8 KiB 3, 16 KiB 64 KiB 4: levels and
 *              compactions from a few KiB written); bits 4-5 compression
 *              (default, none, lz4, lz4 values); bit 6 table_partitions
 *              (stage 09); bit 7 small caches and plain blocks: cache_bytes
 *              4 KiB, max_open_files 2, no bloom filters, a restart point
 *              at every entry, a hash index in every data block,
 *              filters_for_hits 1 (the last table a get can reach is
 *              searched without asking its filter)
 *   op      := 1 byte: bits 0-3 the code, bits 4-7 its argument A; then:
 *
 *   code  bytes        what it does (slots: 4 snapshots, 4 iterators)
 *   0     key value    kv_put
 *   1     key          kv_delete
 *   2     item*        kv_write of a batch of A&7 items (0: an empty batch);
 *                      A&8: the batch first holds one put, then kv_batch_clear;
 *                      item := kind key [value], kind bit 0 = delete
 *   3     key          kv_get
 *   4     key          kv_get_at snapshot slot A&3 (empty slot: snap NULL,
 *                      which must be KV_ERR_INVALID)
 *   5     -            kv_snapshot_new into slot A&3 (freeing what was there)
 *   6     -            kv_snapshot_free of slot A&3 (empty slot: of NULL)
 *   7     source       an iterator into slot A&3 (freeing what was there):
 *                      source&7 = 0-3 kv_iter_new_at snapshot slot (empty:
 *                      snap NULL, i.e. now), 4-5 kv_iter_new, 6-7 at NULL
 *   8     -            kv_iter_free of slot A&3
 *   9     move [key]   on iterator slot A&3 (made now if empty), move&7 =
 *                      0 seek_first, 1 seek_last, 2 seek to key, 3 next,
 *                      4 prev, 5 next n times, 6 prev n times, 7 next then
 *                      prev n times, where n = 1 + move>>3; checked each step
 *   10    -            kv_compact; A&1: kv_flush instead; A&2: first
 *                      kv_set_background_rate of 1 GiB/s (KV_OK from stage
 *                      09, KV_ERR_INVALID before), then of 0
 *   11    options shape  close and open again with those options (above);
 *                      A&1 first kv_close with handles live (must refuse),
 *                      A&2 read-only, A&4 strict_recovery, A&8 kv_check,
 *                      kv_dump, kv_dump_with and kv_repair while closed
 *   12    -            kv_get of every key and a scan both ways, now;
 *                      A&1 at every live snapshot too; A&2 kv_stats; A&4
 *                      kv_multi_get of every key, last to first, each
 *                      with its key a 0x00 byte longer (api_multi_get_all)
 *   13    key value    A+1 puts of keys key, key+4, key+8, ... (mod 256)
 *   14    -            a call kv.h refuses, chosen by A&7 (api_misuse); A = 8:
 *                      NULL for each handle and out-pointer, then a put of
 *                      key "a" with an empty value given as NULL
 *   15    index        A&8 clear: kv_get of the model's entry index % n
 *                      (A&4: at snapshot slot A&3, of its model's entries)
 *   15    key value    A&8 set: a transaction (api_txn): serializable if
 *                      A&1; A>>1&3: alone, a plain write to the key it
 *                      writes, to the key it only reads, or aborted
 *
 *   key   := 1 byte k: bits 0-1 = 0, 1, 2: a key of 1, 2, 3 symbols taken
 *            from bits 2-3, 4-5, 6-7 (symbols 'a', 'b', 0x00, 0xff); = 3: a
 *            long key, bits 2-3 = 0..3: 300, 1000, 1001 bytes or KV_MAX_KEY
 *            (300 starts with 'a', the others with 'L', and each of those
 *            is a prefix of the next)
 *   value := 1 byte v: 0 empty; 1..0xef that many bytes; 0xf0..0xff then a
 *            byte x: 240 + (v&15) * 4096 + 33 * x bytes (up to 70,095)
 *
 * Value bytes come from a count of the values made so far, so an overwrite
 * with a value of the same length differs.  A read-only database must
 * refuse every write with KV_ERR_INVALID and change nothing.  The work per
 * input is bounded: at most API_MAX_OPS operations, API_MAX_REOPENS
 * reopens (later ones are skipped), the offline tools in API_MAX_TOOL_RUNS
 * of them (over a thousand 1-KiB segments they cost 0.1 s a run under
 * ASan; later requests are skipped), and API_MAX_WRITTEN bytes of keys
 * and values a session (from an open to the next reopen): a write (a
 * burst's put, a batch's item, a transaction) that would start past them
 * is skipped, its bytes read all the same, and the program goes on
 * without writing until it reopens.  The largest key and the largest value
 * still fit (one write starts below the bound), so does a record across a
 * log's 32 KiB blocks, and with the small sizes of the options and the
 * shape a few KiB make every flush, compaction and level; more bytes only
 * repeat that work, at the sanitizers' price, and a program that wants a
 * large database (a log past stage 01's 256 KiB reads, dozens of files)
 * pays a reopen for every 32 KiB.  At the end every
 * snapshot is checked and freed, the database closed, opened again (its
 * tables not mapped and a block cache of one byte, so that every block is
 * read from the file, where every other open maps the tables and caches
 * their blocks) and checked whole.
 *
 * The database lives in memory (common/io_mem.h, the I/O layer's backend
 * while the harness runs, emptied before each input): the engine reads and
 * writes its files through common/io.h as always, but no call reaches the
 * operating system, so sync = 1 costs nothing and an input costs the
 * engine's work alone.  With KV_API_TRACE set in the environment, each op
 * is printed to stderr as it starts, and at the end the bytes written
 * and the reopens asked (to read a reproducer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_calls.h"
#include "io.h"
#include "io_mem.h"
#include "kv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define API_MAX_OPS 256
#define API_MAX_REOPENS 4
#define API_MAX_TOOL_RUNS 1
#define API_MAX_WRITTEN (32u * 1024u)
#define API_MAX_VALUE (240u + 15u * 4096u + 33u * 255u)

static const size_t api_sizes[8] = {0, 1, 200, 1024, 4096, 16384, 65536, 1u << 20};
/* The shape byte's choices (api_shape). */
static const size_t api_block_bytes[4] = {0, 64, 256, 1024};
static const struct {
    size_t table_bytes, l1_bytes;
    int level_ratio;
} api_levels[4] = {{0, 0, 0}, {1024, 2048, 2}, {4096, 8192, 3}, {16384, 65536, 4}};
static const int api_compressions[4] = {KV_COMPRESSION_DEFAULT, KV_COMPRESSION_NONE,
                                        KV_COMPRESSION_LZ4, KV_COMPRESSION_LZ4_VALUES};
static const char *const api_op_names[16] = {
    "put", "delete", "batch", "get", "get_at", "snapshot_new", "snapshot_free", "iter_new",
    "iter_free", "iter_move", "compact/flush", "reopen", "check", "burst", "misuse", "get_live/txn"};

/* The input being decoded, and the key and value it decoded last. */
typedef struct api_input {
    const uint8_t *p, *end, *start;
    const uint8_t *key;       /* the key decoded last: short_key or a long key */
    uint8_t *short_key, *val; /* 3 and API_MAX_VALUE bytes */
    const uint8_t *long_a, *long_l; /* the long keys, made once: 300 bytes
                               starting with 'a', KV_MAX_KEY starting with 'L' */
    const uint8_t *pattern;   /* a value's bytes before its count is mixed in */
    size_t klen, vlen;
    uint64_t values;          /* values made so far: the bytes of the next */
    unsigned reopens, tool_runs;
    size_t session_from;      /* d->written when the database was last opened */
} api_input;

static uint8_t api_byte(api_input *in)
{
    return in->p < in->end ? *in->p++ : 0;
}

static void api_key_of(api_input *in, uint8_t k)
{
    static const uint8_t symbols[4] = {'a', 'b', 0x00, 0xff};
    static const size_t long_keys[4] = {300, 1000, 1001, KV_MAX_KEY};
    if ((k & 3) == 3) {   /* a prefix of one of the two made once */
        in->klen = long_keys[(k >> 2) & 3];
        in->key = in->klen == 300 ? in->long_a : in->long_l;
        return;
    }
    in->klen = (size_t)(k & 3) + 1;
    for (size_t i = 0; i < in->klen; i++)
        in->short_key[i] = symbols[(k >> (2 + 2 * i)) & 3];
    in->key = in->short_key;
}

static void api_read_key(api_input *in)
{
    api_key_of(in, api_byte(in));
}

/* A value's bytes in the input, passed over: a write skipped. */
static void api_skip_value(api_input *in)
{
    if (api_byte(in) >= 0xf0)
        api_byte(in);
}

static void api_read_value(api_input *in)
{
    uint8_t v = api_byte(in);
    in->vlen = v < 0xf0 ? v : 240u + (v & 15u) * 4096u + 33u * api_byte(in);
    /* Byte i is (values * 167) ^ (i * 31) ^ (i >> 8), the pattern's byte
     * with the count's low byte mixed in, eight bytes at a time. */
    uint64_t mix = (uint8_t)(in->values * 167) * UINT64_C(0x0101010101010101);
    for (size_t i = 0; i < in->vlen; i += 8) {
        uint64_t w;
        memcpy(&w, in->pattern + i, 8);
        w ^= mix;
        memcpy(in->val + i, &w, in->vlen - i < 8 ? in->vlen - i : 8);
    }
    in->values++;
}

/* The tables' options of the shape byte (stages before 05 ignore them). */
static void api_shape(kv_options *opt, uint8_t shape)
{
    opt->block_bytes = api_block_bytes[shape & 3];
    opt->table_bytes = api_levels[(shape >> 2) & 3].table_bytes;
    opt->l1_bytes = api_levels[(shape >> 2) & 3].l1_bytes;
    opt->level_ratio = api_levels[(shape >> 2) & 3].level_ratio;
    opt->compression = api_compressions[(shape >> 4) & 3];
    opt->table_partitions = (shape >> 6) & 1 ? KV_PARTITIONS : 0;
    if (shape >> 7) {
        opt->cache_bytes = 4096;
        opt->max_open_files = 2;
        opt->bloom_bits_per_key = KV_NO_BLOOM;
        opt->block_restart_interval = 1;
        opt->block_hash_index = 1;
        opt->filters_for_hits = 1; /* the last table searched unasked */
    }
}

/* The options and shape bytes; returns bit 7 of the options (read every
 * write back). */
static int api_read_options(api_input *in, kv_options *opt)
{
    uint8_t o = api_byte(in);
    kv_options_init(opt);
    opt->segment_bytes = api_sizes[o & 7];
    opt->memtable_bytes = api_sizes[(o >> 3) & 7];
    opt->sync = (o >> 6) & 1;
    api_shape(opt, api_byte(in));
    return o >> 7;
}

/* Whether the program may still write in this session (API_MAX_WRITTEN,
 * counting what a batch being made holds). */
static int api_may_write(const api_input *in, const api_db *d)
{
    return d->written - in->session_from + d->batch_bytes < API_MAX_WRITTEN;
}

/* A batch whose items past API_MAX_WRITTEN are left out (read all the
 * same); none at all once the program may not write. */
static void api_batch(api_input *in, api_db *d, unsigned a)
{
    int write = api_may_write(in, d);
    if (write)
        api_batch_begin(d, a & 8);
    for (unsigned i = 0; i < (a & 7); i++) {
        uint8_t kind = api_byte(in);
        api_read_key(in);
        if (!(write && api_may_write(in, d))) {
            if (!(kind & 1))
                api_skip_value(in);
        } else if (kind & 1) {
            api_batch_delete(d, in->key, in->klen);
        } else {
            api_read_value(in);
            api_batch_put(d, in->key, in->klen, in->val, in->vlen);
        }
    }
    if (write)
        api_batch_write(d);
}

/* A+1 puts of keys k, k+4, k+8..., each with a value of the same spec,
 * as long as the program may write. */
static void api_burst(api_input *in, api_db *d, unsigned a)
{
    uint8_t k = api_byte(in);
    const uint8_t *value_at = in->p;
    api_skip_value(in);
    for (unsigned i = 0; i <= a && api_may_write(in, d); i++, k = (uint8_t)(k + 4)) {
        const uint8_t *after = in->p;
        api_key_of(in, k);
        in->p = value_at;
        api_read_value(in);
        api_put(d, in->key, in->klen, in->val, in->vlen);
        in->p = after;
    }
}

static void api_moves(api_input *in, api_db *d, unsigned slot)
{
    uint8_t move = api_byte(in);
    unsigned n = 1u + (move >> 3);
    switch (move & 7) {
    case 2:
        api_read_key(in);
        api_iter_move(d, slot, API_SEEK, in->key, in->klen);
        break;
    case 5: while (n--) api_iter_move(d, slot, API_NEXT, NULL, 0); break;
    case 6: while (n--) api_iter_move(d, slot, API_PREV, NULL, 0); break;
    case 7:
        while (n--) {
            api_iter_move(d, slot, API_NEXT, NULL, 0);
            api_iter_move(d, slot, API_PREV, NULL, 0);
        }
        break;
    default: api_iter_move(d, slot, (api_move)(move & 7), NULL, 0);
    }
}

static void api_reopen_op(api_input *in, api_db *d, unsigned a)
{
    kv_options opt;
    int read_back = api_read_options(in, &opt);
    opt.read_only = (a >> 1) & 1;
    opt.strict_recovery = (a >> 2) & 1;
    int tools = (a >> 3) & 1 && in->tool_runs < API_MAX_TOOL_RUNS;
    if (in->reopens++ < API_MAX_REOPENS) {
        in->tool_runs += tools;
        api_reopen(d, &opt, a & 1, tools);
        d->read_back = read_back;
        in->session_from = d->written;
    }
}

static void api_op(api_input *in, api_db *d, unsigned op, unsigned a)
{
    switch (op) {
    case 0:
        api_read_key(in);
        if (!api_may_write(in, d)) {
            api_skip_value(in);
            break;
        }
        api_read_value(in);
        api_put(d, in->key, in->klen, in->val, in->vlen);
        break;
    case 1:
        api_read_key(in);
        if (api_may_write(in, d))
            api_delete(d, in->key, in->klen);
        break;
    case 2: api_batch(in, d, a); break;
    case 3: api_read_key(in); api_get(d, -1, in->key, in->klen); break;
    case 4: api_read_key(in); api_get(d, (int)(a & 3), in->key, in->klen); break;
    case 5: api_snapshot_new(d, a & 3); break;
    case 6: api_snapshot_free(d, a & 3); break;
    case 7: {
        uint8_t source = api_byte(in) & 7;   /* 0-3 a snapshot slot, 4-5 now, 6-7 at NULL */
        api_iter_new(d, a & 3, source < 4 ? (int)source : source < 6 ? API_ITER_NEW
                                                                    : API_ITER_AT_NULL);
        break;
    }
    case 8: api_iter_free(d, a & 3); break;
    case 9: api_moves(in, d, a & 3); break;
    case 10: api_compact(d, a & 3); break;
    case 11: api_reopen_op(in, d, a); break;
    case 12:
        api_check_now(d, a & 1, (a >> 1) & 1);
        if (a & 4)
            api_multi_get_all(d);
        break;
    case 13: api_burst(in, d, a); break;
    case 14: api_misuse(d, a); break;
    default:
        if (a & 8) {   /* a transaction: isolation a & 1, what (a >> 1) & 3 */
            api_read_key(in);
            if (!api_may_write(in, d)) {
                api_skip_value(in);
                break;
            }
            api_read_value(in);
            api_txn(d, (int)(a & 1), (api_txn_case)((a >> 1) & 3), in->key, in->klen, in->val,
                    in->vlen);
        } else {
            api_get_entry(d, (a & 4) ? (int)(a & 3) : -1, api_byte(in));
        }
    }
}

/* ---- one input ------------------------------------------------------------ */

/* The database's directory, in memory. */
#define API_ROOT "/kvapi"
#define API_DIR API_ROOT "/db"

/* An empty file system in memory, with the directory the database goes in. */
static void api_mem_reset(void)
{
    if (io_get_ops() != &io_mem_ops)
        io_set_ops(&io_mem_ops);
    io_mem_reset();
    if (io_mkdir(API_ROOT) != KV_OK)
        api_fail("mkdir %s in memory failed", API_ROOT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *short_key, *val, *scratch, *long_a, *long_l, *pattern;
    static int trace;
    if (short_key == NULL) {
        trace = getenv("KV_API_TRACE") != NULL;
        short_key = malloc(3);
        val = malloc(API_MAX_VALUE);
        scratch = malloc(KV_MAX_KEY + 1);
        long_a = malloc(300);
        long_l = malloc(KV_MAX_KEY);
        pattern = malloc(API_MAX_VALUE + 8); /* read eight bytes at a time */
        if (short_key == NULL || val == NULL || scratch == NULL || long_a == NULL ||
            long_l == NULL || pattern == NULL)
            api_fail("out of memory for the key and value buffers");
        /* Made once: the same bytes for every input (speed: a key of
         * KV_MAX_KEY bytes made, or even copied, for each use cost more
         * than its put).  Byte i > 0 of a long key is '0' + (i * 7) % 43. */
        for (size_t i = 1; i < KV_MAX_KEY; i++)
            long_l[i] = (uint8_t)('0' + (i * 7) % 43);
        long_l[0] = 'L';
        memcpy(long_a, long_l, 300);
        long_a[0] = 'a';
        memset(scratch, 'k', KV_MAX_KEY + 1); /* api_misuse's oversized keys */
        for (size_t i = 0; i < API_MAX_VALUE + 8; i++)
            pattern[i] = (uint8_t)((i * 31) ^ (i >> 8));
    }
    api_mem_reset();
    api_input in = {.p = data, .end = data + size, .start = data, .key = short_key,
                    .short_key = short_key, .val = val, .long_a = long_a, .long_l = long_l,
                    .pattern = pattern};
    api_db d;
    kv_options opt;
    api_context("kv_open of a new database");
    int read_back = api_read_options(&in, &opt);
    api_db_open(&d, API_DIR, &opt, scratch);
    d.read_back = read_back;
    for (unsigned n = 0; n < API_MAX_OPS && in.p < in.end; n++) {
        uint8_t op = api_byte(&in);
        size_t at = (size_t)(in.p - 1 - in.start);
        api_context("op %u (%s, argument %u) at input byte %zu", n, api_op_names[op & 15],
                    op >> 4, at);
        if (trace)
            fprintf(stderr, "op %u: %s, argument %u, at byte %zu\n", n, api_op_names[op & 15],
                    op >> 4, at);
        api_op(&in, &d, op & 15, op >> 4);
    }
    if (trace)
        fprintf(stderr, "end: %zu bytes of keys and values written, %u reopens asked\n",
                d.written, in.reopens);
    api_context("the end of the program: everything, then again after a reopen");
    api_db_finish(&d);
    io_mem_reset();
    return 0;
}
