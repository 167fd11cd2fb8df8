/*
 * api_fuzz.c: fuzz harness for the API itself.  The input is a program of
 * kv.h calls; it runs on a fresh database of the stage and, call by call,
 * on an in-memory model (tests/model_map.h, with a frozen copy for each
 * snapshot and iterator: api_check.h).  Every answer of the engine must be
 * the model's; a disagreement, a crash, a sanitizer report or a leak fails
 * the input.  This is what LevelDB's fuzzing does to its DB class; it uses
 * kv.h alone, so every stage builds it.  docs/fuzzing.md shows examples.
 *
 * The input, byte by byte (bytes past its end read as 0):
 *
 *   input   := options op*
 *   options := 1 byte: bits 0-2 segment_bytes, bits 3-5 memtable_bytes (each
 *              an index into api_sizes: 0 = default, then 1 byte .. 1 MiB,
 *              so logs roll over and memtables flush often), bit 6 sync,
 *              bit 7 every write is read back at once with kv_get
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
 *   10    -            kv_compact
 *   11    options      close and open again with those options (above);
 *                      A&1 first kv_close with handles live (must refuse),
 *                      A&2 read-only, A&4 strict_recovery, A&8 kv_check,
 *                      kv_dump, kv_dump_with and kv_repair while closed
 *   12    -            kv_get of every key and a scan both ways, now;
 *                      A&1 at every live snapshot too; A&2 kv_stats
 *   13    key value    A+1 puts of keys key, key+4, key+8, ... (mod 256)
 *   14    -            a call kv.h refuses, chosen by A&7 (api_misuse)
 *   15    index        kv_get of the model's entry index % n (A&4: at
 *                      snapshot slot A&3, of its model's entries)
 *
 *   key   := 1 byte k: bits 0-1 = 0, 1, 2: a key of 1, 2, 3 symbols taken
 *            from bits 2-3, 4-5, 6-7 (symbols 'a', 'b', 0x00, 0xff); = 3: a
 *            long key, bits 2-3 = 0..3: 300, 1000, 1001 bytes or KV_MAX_KEY
 *            (each a prefix of the next; 300 starts with 'a', others 'L')
 *   value := 1 byte v: 0 empty; 1..0xef that many bytes; 0xf0..0xff then a
 *            byte x: 240 + (v&15) * 4096 + 33 * x bytes (up to 70,095)
 *
 * Value bytes come from a counter of writes, so an overwrite with a value
 * of the same length differs.  A read-only database must refuse every write
 * with KV_ERR_INVALID and change nothing.  The work per input is bounded: at
 * most API_MAX_OPS operations, API_MAX_REOPENS reopens (later ones are
 * skipped), and the program ends once API_MAX_WRITTEN bytes of keys and
 * values were written.  At the end every snapshot is checked and freed,
 * the database closed, opened again and checked whole.
 *
 * The database lives in $TMPDIR, else /dev/shm, else /tmp: sync = 1 makes
 * every write an fsync, which costs milliseconds on a disk and nothing in
 * memory.  With KV_API_TRACE set in the environment, each op is printed to
 * stderr as it starts (to read a reproducer).
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_check.h"
#include "kv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define API_MAX_OPS 256
#define API_MAX_REOPENS 16
#define API_MAX_WRITTEN (1024u * 1024u)
#define API_MAX_VALUE (240u + 15u * 4096u + 33u * 255u)
#define API_SLOTS 4

static const size_t api_sizes[8] = {0, 1, 200, 1024, 4096, 16384, 65536, 1u << 20};
static const char *const api_op_names[16] = {
    "put", "delete", "batch", "get", "get_at", "snapshot_new", "snapshot_free", "iter_new",
    "iter_free", "iter_move", "compact", "reopen", "check", "burst", "misuse", "get_live"};

typedef struct api_run {
    const uint8_t *in, *end, *start;
    kv_db *db;
    kv_options opt;
    int read_back;             /* options bit 7 */
    model_map now;             /* the database as it is */
    api_view *now_view;        /* a frozen copy of `now`, NULL after a write */
    const kv_snapshot *snap[API_SLOTS];
    api_view *snap_view[API_SLOTS];
    kv_iter *iter[API_SLOTS];
    api_view *iter_view[API_SLOTS];
    size_t iter_pos[API_SLOTS]; /* index into the view's model; n = not valid */
    unsigned reopens;
    size_t written;
    uint64_t stamp;            /* writes so far: the bytes of the next value */
    uint8_t *key, *val;        /* KV_MAX_KEY + 1 and API_MAX_VALUE bytes */
    size_t klen, vlen;
} api_run;

static char api_root[128], api_dir[160];

static uint8_t api_byte(api_run *r)
{
    return r->in < r->end ? *r->in++ : 0;
}

/* ---- keys and values --------------------------------------------------- */

static void api_key_of(api_run *r, uint8_t k)
{
    static const uint8_t symbols[4] = {'a', 'b', 0x00, 0xff};
    static const size_t long_keys[4] = {300, 1000, 1001, KV_MAX_KEY};
    if ((k & 3) == 3) {
        r->klen = long_keys[(k >> 2) & 3];
        r->key[0] = r->klen == 300 ? 'a' : 'L';
        for (size_t i = 1; i < r->klen; i++)
            r->key[i] = (uint8_t)('0' + (i * 7) % 43);
        return;
    }
    r->klen = (size_t)(k & 3) + 1;
    for (size_t i = 0; i < r->klen; i++)
        r->key[i] = symbols[(k >> (2 + 2 * i)) & 3];
}

static void api_read_key(api_run *r)
{
    api_key_of(r, api_byte(r));
}

static void api_read_value(api_run *r)
{
    uint8_t v = api_byte(r);
    r->vlen = v < 0xf0 ? v : 240u + (v & 15u) * 4096u + 33u * api_byte(r);
    for (size_t i = 0; i < r->vlen; i++)
        r->val[i] = (uint8_t)((r->stamp * 167) ^ (i * 31) ^ (i >> 8));
}

/* ---- writes: to the engine, then (if it took them) to the model -------- */

static void api_wrote(api_run *r, size_t bytes)
{
    r->stamp++;
    r->written += bytes;
    api_view_unref(r->now_view);
    r->now_view = NULL;
}

/* A write call returned rc: KV_OK, or KV_ERR_INVALID on a read-only
 * database.  Returns whether the model should apply it. */
static int api_write_took(api_run *r, const char *call, int rc)
{
    api_expect_rc(call, rc, r->opt.read_only ? KV_ERR_INVALID : KV_OK);
    return !r->opt.read_only;
}

static void api_put(api_run *r)
{
    if (api_write_took(r, "kv_put", kv_put(r->db, r->key, r->klen, r->val, r->vlen))) {
        if (model_map_put(&r->now, r->key, r->klen, r->val, r->vlen) != 0)
            api_fail("out of memory in the model");
        api_wrote(r, r->klen + r->vlen);
    }
    if (r->read_back)
        api_check_get(r->db, NULL, &r->now, r->key, r->klen);
}

static void api_delete(api_run *r)
{
    if (api_write_took(r, "kv_delete", kv_delete(r->db, r->key, r->klen))) {
        model_map_del(&r->now, r->key, r->klen);
        api_wrote(r, r->klen);
    }
    if (r->read_back)
        api_check_get(r->db, NULL, &r->now, r->key, r->klen);
}

/* The items go into the batch and into a copy of the model, which becomes
 * the model once kv_write has taken the batch. */
static void api_batch(api_run *r, unsigned a)
{
    kv_batch *b = NULL;
    api_expect_rc("kv_batch_new", kv_batch_new(&b), KV_OK);
    if (a & 8) {
        api_expect_rc("kv_batch_put", kv_batch_put(b, "x", 1, "cleared", 7), KV_OK);
        kv_batch_clear(b);
    }
    model_map after;
    if (model_map_copy(&after, &r->now) != 0)
        api_fail("out of memory in the model");
    size_t bytes = 0;
    for (unsigned i = 0; i < (a & 7); i++) {
        uint8_t kind = api_byte(r);
        api_read_key(r);
        if (kind & 1) {
            api_expect_rc("kv_batch_delete", kv_batch_delete(b, r->key, r->klen), KV_OK);
            model_map_del(&after, r->key, r->klen);
            bytes += r->klen;
            continue;
        }
        api_read_value(r);
        api_expect_rc("kv_batch_put", kv_batch_put(b, r->key, r->klen, r->val, r->vlen), KV_OK);
        if (model_map_put(&after, r->key, r->klen, r->val, r->vlen) != 0)
            api_fail("out of memory in the model");
        bytes += r->klen + r->vlen;
        r->stamp++;
    }
    if (api_write_took(r, "kv_write", kv_write(r->db, b))) {
        model_map_free(&r->now);
        r->now = after;
        api_wrote(r, bytes);
    } else {
        model_map_free(&after);
    }
    kv_batch_free(b);
}

/* ---- snapshots and iterators ------------------------------------------- */

static api_view *api_now(api_run *r)
{
    if (r->now_view == NULL)
        r->now_view = api_view_new(&r->now);
    return api_view_ref(r->now_view);
}

static void api_snap_free(api_run *r, unsigned s)
{
    kv_snapshot_free(r->db, r->snap[s]);
    api_view_unref(r->snap_view[s]);
    r->snap[s] = NULL;
    r->snap_view[s] = NULL;
}

static void api_snap_new(api_run *r, unsigned s)
{
    api_snap_free(r, s);
    api_expect_rc("kv_snapshot_new", kv_snapshot_new(r->db, &r->snap[s]), KV_OK);
    r->snap_view[s] = api_now(r);
}

static void api_iter_free(api_run *r, unsigned i)
{
    kv_iter_free(r->iter[i]);
    api_view_unref(r->iter_view[i]);
    r->iter[i] = NULL;
    r->iter_view[i] = NULL;
}

/* source&7: 0-3 at that snapshot slot (empty: NULL), 4-5 kv_iter_new, 6-7
 * kv_iter_new_at(NULL).  A new iterator is not positioned. */
static void api_iter_new(api_run *r, unsigned i, uint8_t source)
{
    api_iter_free(r, i);
    const kv_snapshot *at = (source & 4) ? NULL : r->snap[source & 3];
    int rc = (source & 6) == 4 ? kv_iter_new(r->db, &r->iter[i])
                               : kv_iter_new_at(r->db, at, &r->iter[i]);
    api_expect_rc("kv_iter_new", rc, KV_OK);
    r->iter_view[i] = at ? api_view_ref(r->snap_view[source & 3]) : api_now(r);
    r->iter_pos[i] = r->iter_view[i]->m.n;
    api_check_position(r->iter[i], &r->iter_view[i]->m, r->iter_pos[i]);
}

/* One step of the iterator in slot i, on the engine and on its model. */
static void api_iter_step(api_run *r, unsigned i, unsigned move)
{
    const model_map *m = &r->iter_view[i]->m;
    size_t *pos = &r->iter_pos[i];
    switch (move) {
    case 0: kv_iter_seek_first(r->iter[i]); *pos = 0; break;
    case 1: kv_iter_seek_last(r->iter[i]); *pos = m->n ? m->n - 1 : 0; break;
    case 2:
        kv_iter_seek(r->iter[i], r->key, r->klen);
        *pos = model_map_lower_bound(m, r->key, r->klen);
        break;
    case 3: kv_iter_next(r->iter[i]); *pos += *pos < m->n; break;
    default: kv_iter_prev(r->iter[i]); *pos = *pos < m->n && *pos > 0 ? *pos - 1 : m->n;
    }
    if (*pos > m->n)
        *pos = m->n;
    api_check_position(r->iter[i], m, *pos);
}

static void api_iter_move(api_run *r, unsigned i, uint8_t move)
{
    if (r->iter[i] == NULL)
        api_iter_new(r, i, 4);
    unsigned n = 1u + (move >> 3);
    switch (move & 7) {
    case 2: api_read_key(r); api_iter_step(r, i, 2); break;
    case 5: while (n--) api_iter_step(r, i, 3); break;
    case 6: while (n--) api_iter_step(r, i, 4); break;
    case 7:
        while (n--) {
            api_iter_step(r, i, 3);
            api_iter_step(r, i, 4);
        }
        break;
    default: api_iter_step(r, i, move & 7);
    }
}

static int api_live_handles(const api_run *r)
{
    int live = 0;
    for (unsigned s = 0; s < API_SLOTS; s++)
        live += (r->snap[s] != NULL) + (r->iter[s] != NULL);
    return live;
}

static void api_free_handles(api_run *r)
{
    for (unsigned s = 0; s < API_SLOTS; s++) {
        api_snap_free(r, s);
        api_iter_free(r, s);
    }
}

/* ---- opening, closing, and the rest ------------------------------------- */

static void api_set_options(api_run *r, uint8_t o)
{
    r->opt.segment_bytes = api_sizes[o & 7];
    r->opt.memtable_bytes = api_sizes[(o >> 3) & 7];
    r->opt.sync = (o >> 6) & 1;
    r->read_back = o >> 7;
}

static void api_ignore_line(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

/* kv_close must refuse while snapshots or iterators are live, and leave the
 * database as it was. */
static void api_close_refused(api_run *r)
{
    api_expect_rc("kv_close with live handles", kv_close(r->db), KV_ERR_INVALID);
    api_check_get(r->db, NULL, &r->now, r->now.n ? r->now.e[0].k : (const void *)"a",
                  r->now.n ? r->now.e[0].kl : 1);
}

static void api_reopen(api_run *r, unsigned a, uint8_t options)
{
    if (r->reopens++ >= API_MAX_REOPENS)
        return;
    if ((a & 1) && api_live_handles(r))
        api_close_refused(r);
    api_free_handles(r);
    api_expect_rc("kv_close", kv_close(r->db), KV_OK);
    r->db = NULL;
    if (a & 8) {
        api_expect_rc("kv_check", kv_check(api_dir, api_ignore_line, NULL), KV_OK);
        api_expect_rc("kv_dump", kv_dump(api_dir, api_ignore_line, NULL), KV_OK);
        api_expect_rc("kv_dump_with", kv_dump_with(api_dir, KV_DUMP_FRAMES, api_ignore_line,
                                                   NULL), KV_OK);
        int rc = kv_repair(api_dir, api_ignore_line, NULL);
        if (rc != KV_OK)   /* stages 01 and 02 have no kv_repair */
            api_expect_rc("kv_repair", rc, KV_ERR_INVALID);
    }
    api_set_options(r, options);
    r->opt.read_only = (a >> 1) & 1;
    r->opt.strict_recovery = (a >> 2) & 1;
    api_expect_rc("kv_open", kv_open(api_dir, &r->opt, &r->db), KV_OK);
    api_check_all(r->db, NULL, &r->now);
}

static void api_check_op(api_run *r, unsigned a)
{
    api_check_all(r->db, NULL, &r->now);
    for (unsigned s = 0; (a & 1) && s < API_SLOTS; s++)
        if (r->snap[s])
            api_check_all(r->db, r->snap[s], &r->snap_view[s]->m);
    if (a & 2) {
        char *text = NULL;
        api_expect_rc("kv_stats", kv_stats(r->db, &text), KV_OK);
        if (text == NULL || text[0] == '\0')
            api_fail("kv_stats returned KV_OK with no text");
        kv_free(text);
    }
}

/* Calls kv.h refuses; none may change anything. */
static void api_misuse(api_run *r, unsigned what)
{
    void *val = NULL;
    size_t vlen = 0;
    kv_db *second = NULL;
    kv_batch *b = NULL;
    memset(r->key, 'k', KV_MAX_KEY + 1);
    switch (what) {
    case 0:
        api_expect_rc("kv_put of an empty key", kv_put(r->db, "k", 0, "v", 1), KV_ERR_INVALID);
        api_expect_rc("kv_delete of an empty key", kv_delete(r->db, "k", 0), KV_ERR_INVALID);
        api_expect_rc("kv_get of an empty key", kv_get(r->db, "k", 0, &val, &vlen),
                      KV_ERR_INVALID);
        break;
    case 1:
        api_expect_rc("kv_put of a key too long",
                      kv_put(r->db, r->key, KV_MAX_KEY + 1, "v", 1), KV_ERR_INVALID);
        api_expect_rc("kv_get of a key too long",
                      kv_get(r->db, r->key, KV_MAX_KEY + 1, &val, &vlen), KV_ERR_INVALID);
        break;
    case 2:   /* the length is checked before a byte of the value is read */
        api_expect_rc("kv_put of a value too long",
                      kv_put(r->db, "k", 1, r->val, (size_t)KV_MAX_VALUE + 1), KV_ERR_INVALID);
        break;
    case 3:
        api_expect_rc("kv_get_at of snapshot NULL",
                      kv_get_at(r->db, NULL, "a", 1, &val, &vlen), KV_ERR_INVALID);
        kv_snapshot_free(r->db, NULL);
        kv_batch_free(NULL);
        api_expect_rc("kv_close(NULL)", kv_close(NULL), KV_OK);
        break;
    case 4:
        api_expect_rc("a second kv_open", kv_open(api_dir, NULL, &second), KV_ERR_BUSY);
        break;
    case 5:
        if (api_live_handles(r) == 0) {
            api_snap_new(r, 0);
            api_close_refused(r);
            api_snap_free(r, 0);
        } else {
            api_close_refused(r);
        }
        break;
    case 6:   /* refused items leave the batch empty */
        api_expect_rc("kv_batch_new", kv_batch_new(&b), KV_OK);
        api_expect_rc("kv_batch_put of an empty key", kv_batch_put(b, "k", 0, "v", 1),
                      KV_ERR_INVALID);
        api_expect_rc("kv_batch_delete of a key too long",
                      kv_batch_delete(b, r->key, KV_MAX_KEY + 1), KV_ERR_INVALID);
        api_expect_rc("kv_batch_put of a value too long",
                      kv_batch_put(b, "k", 1, r->val, (size_t)KV_MAX_VALUE + 1),
                      KV_ERR_INVALID);
        api_write_took(r, "kv_write of a batch left empty", kv_write(r->db, b));
        kv_batch_free(b);
        break;
    default:
        api_check_op(r, 2);
    }
    if (second != NULL)
        api_fail("a second kv_open of an open database succeeded");
}

/* get_live: a key the model (now, or at a snapshot) holds. */
static void api_get_live(api_run *r, unsigned a, uint8_t index)
{
    const kv_snapshot *snap = (a & 4) ? r->snap[a & 3] : NULL;
    const model_map *m = snap ? &r->snap_view[a & 3]->m : &r->now;
    if (m->n == 0) {
        api_key_of(r, index);
        api_check_get(r->db, snap, m, r->key, r->klen);
        return;
    }
    const model_entry *e = &m->e[index % m->n];
    api_check_get(r->db, snap, m, e->k, e->kl);
}

static void api_op(api_run *r, unsigned op, unsigned a)
{
    switch (op) {
    case 0: api_read_key(r); api_read_value(r); api_put(r); break;
    case 1: api_read_key(r); api_delete(r); break;
    case 2: api_batch(r, a); break;
    case 3: api_read_key(r); api_check_get(r->db, NULL, &r->now, r->key, r->klen); break;
    case 4:
        api_read_key(r);
        if (r->snap[a & 3] == NULL) {
            void *val = NULL;
            size_t vlen = 0;
            api_expect_rc("kv_get_at(NULL)", kv_get_at(r->db, NULL, r->key, r->klen, &val,
                                                       &vlen), KV_ERR_INVALID);
        } else {
            api_check_get(r->db, r->snap[a & 3], &r->snap_view[a & 3]->m, r->key, r->klen);
        }
        break;
    case 5: api_snap_new(r, a & 3); break;
    case 6: api_snap_free(r, a & 3); break;
    case 7: api_iter_new(r, a & 3, api_byte(r)); break;
    case 8: api_iter_free(r, a & 3); break;
    case 9: api_iter_move(r, a & 3, api_byte(r)); break;
    case 10: {
        int rc = kv_compact(r->db);
        if (!(r->opt.read_only && rc == KV_ERR_INVALID))  /* or KV_OK: nothing to do */
            api_expect_rc("kv_compact", rc, KV_OK);
        break;
    }
    case 11: api_reopen(r, a, api_byte(r)); break;
    case 12: api_check_op(r, a); break;
    case 13: {
        uint8_t k = api_byte(r);
        const uint8_t *value_at = r->in;
        for (unsigned i = 0; i <= a; i++, k = (uint8_t)(k + 4)) {
            api_key_of(r, k);
            r->in = value_at;
            api_read_value(r);
            api_put(r);
        }
        break;
    }
    case 14: api_misuse(r, a & 7); break;
    default: api_get_live(r, a, api_byte(r));
    }
}

/* ---- one input ---------------------------------------------------------- */

static int api_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void api_dirs_remove(void)
{
    nftw(api_root, api_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void api_dirs_init(void)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0' || strlen(base) > 64)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(api_root, sizeof api_root, "%s/kvapi.XXXXXX", base);
    if (mkdtemp(api_root) == NULL)
        api_fail("mkdtemp %s failed", api_root);
    snprintf(api_dir, sizeof api_dir, "%s/db", api_root);
    atexit(api_dirs_remove);
}

static void api_finish(api_run *r)
{
    api_context("the end of the program: live handles, then everything");
    for (unsigned i = 0; i < API_SLOTS; i++)
        if (r->iter[i])
            api_check_position(r->iter[i], &r->iter_view[i]->m, r->iter_pos[i]);
    api_check_op(r, 1);
    api_free_handles(r);
    api_view_unref(r->now_view);
    api_expect_rc("kv_close", kv_close(r->db), KV_OK);
    api_context("the end of the program: reopened with default options");
    r->opt.read_only = r->opt.strict_recovery = r->opt.sync = 0;
    api_expect_rc("kv_open", kv_open(api_dir, &r->opt, &r->db), KV_OK);
    api_check_all(r->db, NULL, &r->now);
    api_expect_rc("kv_close", kv_close(r->db), KV_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *key, *val;
    static int trace;
    if (key == NULL) {
        trace = getenv("KV_API_TRACE") != NULL;
        api_dirs_init();
        key = malloc(KV_MAX_KEY + 1);
        val = malloc(API_MAX_VALUE);
        if (key == NULL || val == NULL)
            api_fail("out of memory for the key and value buffers");
    }
    api_run r = {.in = data, .end = data + size, .start = data, .key = key, .val = val};
    kv_options_init(&r.opt);
    api_set_options(&r, api_byte(&r));
    api_context("kv_open of a new database");
    api_expect_rc("kv_open", kv_open(api_dir, &r.opt, &r.db), KV_OK);
    for (unsigned n = 0; n < API_MAX_OPS && r.in < r.end && r.written < API_MAX_WRITTEN; n++) {
        uint8_t op = api_byte(&r);
        api_context("op %u (%s, argument %u) at input byte %zu", n, api_op_names[op & 15],
                    op >> 4, (size_t)(r.in - 1 - r.start));
        if (trace)
            fprintf(stderr, "op %u: %s, argument %u, at byte %zu\n", n, api_op_names[op & 15],
                    op >> 4, (size_t)(r.in - 1 - r.start));
        api_op(&r, op & 15, op >> 4);
    }
    api_finish(&r);
    model_map_free(&r.now);
    nftw(api_dir, api_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
