/*
 * api_calls.c: each call on the engine and on the model (see api_calls.h).
 */
#include "api_calls.h"

#include <stdlib.h>
#include <string.h>

static void api_model_put(model_map *m, const void *k, size_t kl, const void *v, size_t vl)
{
    if (model_map_put(m, k, kl, v, vl) != 0)
        api_fail("out of memory in the model");
}

/* A write call returned rc; returns whether the engine took it
 * (invariant 1). */
static int api_took(api_db *d, const char *call, int rc)
{
    api_expect_rc(call, rc, d->opt.read_only ? KV_ERR_INVALID : KV_OK);
    if (d->opt.read_only)
        return 0;
    api_view_unref(d->now_view);   /* invariant 3 */
    d->now_view = NULL;
    return 1;
}

void api_db_open(api_db *d, const char *dir, const kv_options *opt, const uint8_t *scratch)
{
    *d = (api_db){.dir = dir, .opt = *opt, .scratch = scratch};
    api_expect_rc("kv_open", kv_open(dir, &d->opt, &d->db), KV_OK);
}

/* ---- writes -------------------------------------------------------------- */

void api_put(api_db *d, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (api_took(d, "kv_put", kv_put(d->db, key, klen, val, vlen))) {
        api_model_put(&d->now, key, klen, val, vlen);
        d->written += klen + vlen;
    }
    if (d->read_back)
        api_check_get(d->db, NULL, &d->now, key, klen);
}

void api_delete(api_db *d, const void *key, size_t klen)
{
    if (api_took(d, "kv_delete", kv_delete(d->db, key, klen))) {
        model_map_del(&d->now, key, klen);
        d->written += klen;
    }
    if (d->read_back)
        api_check_get(d->db, NULL, &d->now, key, klen);
}

void api_batch_begin(api_db *d, int clear_first)
{
    api_expect_rc("kv_batch_new", kv_batch_new(&d->batch), KV_OK);
    if (clear_first) {
        api_expect_rc("kv_batch_put", kv_batch_put(d->batch, "x", 1, "cleared", 7), KV_OK);
        kv_batch_clear(d->batch);
    }
    if (model_map_copy(&d->batch_after, &d->now) != 0)
        api_fail("out of memory in the model");
    d->batch_bytes = 0;
}

void api_batch_put(api_db *d, const void *key, size_t klen, const void *val, size_t vlen)
{
    api_expect_rc("kv_batch_put", kv_batch_put(d->batch, key, klen, val, vlen), KV_OK);
    api_model_put(&d->batch_after, key, klen, val, vlen);
    d->batch_bytes += klen + vlen;
}

void api_batch_delete(api_db *d, const void *key, size_t klen)
{
    api_expect_rc("kv_batch_delete", kv_batch_delete(d->batch, key, klen), KV_OK);
    model_map_del(&d->batch_after, key, klen);
    d->batch_bytes += klen;
}

void api_batch_write(api_db *d)
{
    if (api_took(d, "kv_write", kv_write(d->db, d->batch))) {
        model_map_free(&d->now);
        d->now = d->batch_after;
        d->written += d->batch_bytes;
    } else {
        model_map_free(&d->batch_after);
    }
    d->batch_after = (model_map){0};
    d->batch_bytes = 0;
    kv_batch_free(d->batch);
    d->batch = NULL;
}

void api_compact(api_db *d, unsigned how)
{
    if (how & 2) {
        int paced = strcmp(kv_stage(), "09") > 0;   /* "09-cache" and every stage after */
        api_expect_rc("kv_set_background_rate of 1 GiB/s",
                      kv_set_background_rate(d->db, (size_t)1 << 30),
                      paced ? KV_OK : KV_ERR_INVALID);
        api_expect_rc("kv_set_background_rate of 0", kv_set_background_rate(d->db, 0), KV_OK);
    }
    if (how & 1) {
        api_expect_rc("kv_flush", kv_flush(d->db), d->opt.read_only ? KV_ERR_INVALID : KV_OK);
        return;
    }
    int rc = kv_compact(d->db);
    if (!(d->opt.read_only && rc == KV_ERR_INVALID))  /* or KV_OK: nothing to do */
        api_expect_rc("kv_compact", rc, KV_OK);
}

/* ---- reads --------------------------------------------------------------- */

void api_get(api_db *d, int slot, const void *key, size_t klen)
{
    if (slot < 0) {
        api_check_get(d->db, NULL, &d->now, key, klen);
    } else if (d->snap[slot] != NULL) {
        api_check_get(d->db, d->snap[slot], &d->snap_view[slot]->m, key, klen);
    } else {
        void *val = NULL;
        size_t vlen = 0;
        api_expect_rc("kv_get_at(NULL)", kv_get_at(d->db, NULL, key, klen, &val, &vlen),
                      KV_ERR_INVALID);
    }
}

void api_get_entry(api_db *d, int slot, unsigned index)
{
    const kv_snapshot *snap = slot >= 0 ? d->snap[slot] : NULL;
    const model_map *m = snap ? &d->snap_view[slot]->m : &d->now;
    if (m->n == 0)
        api_check_get(d->db, snap, m, "a", 1);
    else
        api_check_get(d->db, snap, m, m->e[index % m->n].k, m->e[index % m->n].kl);
}

/* ---- snapshots and iterators ----------------------------------------------- */

static api_view *api_now_view(api_db *d)
{
    if (d->now_view == NULL)
        d->now_view = api_view_new(&d->now);
    return api_view_ref(d->now_view);
}

void api_snapshot_free(api_db *d, unsigned slot)
{
    kv_snapshot_free(d->db, d->snap[slot]);
    api_view_unref(d->snap_view[slot]);
    d->snap[slot] = NULL;
    d->snap_view[slot] = NULL;
}

void api_snapshot_new(api_db *d, unsigned slot)
{
    api_snapshot_free(d, slot);
    api_expect_rc("kv_snapshot_new", kv_snapshot_new(d->db, &d->snap[slot]), KV_OK);
    d->snap_view[slot] = api_now_view(d);
}

void api_iter_free(api_db *d, unsigned slot)
{
    kv_iter_free(d->iter[slot]);
    api_view_unref(d->iter_view[slot]);
    d->iter[slot] = NULL;
    d->iter_view[slot] = NULL;
}

void api_iter_new(api_db *d, unsigned slot, int at)
{
    api_iter_free(d, slot);
    const kv_snapshot *snap = at >= 0 ? d->snap[at] : NULL;
    int rc = at == API_ITER_NEW ? kv_iter_new(d->db, &d->iter[slot])
                                : kv_iter_new_at(d->db, snap, &d->iter[slot]);
    api_expect_rc(at == API_ITER_NEW ? "kv_iter_new" : "kv_iter_new_at", rc, KV_OK);
    d->iter_view[slot] = snap ? api_view_ref(d->snap_view[at]) : api_now_view(d);
    d->iter_pos[slot] = d->iter_view[slot]->m.n;   /* not positioned (invariant 2) */
    api_check_position(d->iter[slot], &d->iter_view[slot]->m, d->iter_pos[slot]);
}

void api_iter_move(api_db *d, unsigned slot, api_move move, const void *key, size_t klen)
{
    if (d->iter[slot] == NULL)
        api_iter_new(d, slot, API_ITER_NEW);
    kv_iter *it = d->iter[slot];
    const model_map *m = &d->iter_view[slot]->m;
    size_t *pos = &d->iter_pos[slot];
    switch (move) {
    case API_SEEK_FIRST:
        kv_iter_seek_first(it);
        *pos = 0;
        break;
    case API_SEEK_LAST:
        kv_iter_seek_last(it);
        *pos = m->n ? m->n - 1 : 0;
        break;
    case API_SEEK:
        kv_iter_seek(it, key, klen);
        *pos = model_map_lower_bound(m, key, klen);
        break;
    case API_NEXT:   /* not valid stays not valid (kv.h) */
        kv_iter_next(it);
        *pos += *pos < m->n;
        break;
    case API_PREV:   /* from the first key: not valid */
        kv_iter_prev(it);
        *pos = *pos < m->n && *pos > 0 ? *pos - 1 : m->n;
        break;
    }
    api_check_position(it, m, *pos);
}

static int api_live(const api_db *d)
{
    for (unsigned s = 0; s < API_SLOTS; s++)
        if (d->snap[s] != NULL || d->iter[s] != NULL)
            return 1;
    return 0;
}

static void api_free_handles(api_db *d)
{
    for (unsigned s = 0; s < API_SLOTS; s++) {
        api_snapshot_free(d, s);
        api_iter_free(d, s);
    }
}

/* ---- the whole database ---------------------------------------------------- */

void api_check_now(api_db *d, int at_snapshots, int stats)
{
    api_check_all(d->db, NULL, &d->now);
    for (unsigned s = 0; at_snapshots && s < API_SLOTS; s++)
        if (d->snap[s])
            api_check_all(d->db, d->snap[s], &d->snap_view[s]->m);
    if (stats) {
        char *text = NULL;
        api_expect_rc("kv_stats", kv_stats(d->db, &text), KV_OK);
        if (text == NULL || text[0] == '\0')
            api_fail("kv_stats returned KV_OK with no text");
        kv_free(text);
    }
}

void api_multi_get_all(api_db *d)
{
    const model_map *m = &d->now;
    const void **keys = malloc(API_MULTI_KEYS * sizeof *keys);
    size_t *klens = malloc(API_MULTI_KEYS * sizeof *klens);
    uint8_t **longer = malloc(API_MULTI_KEYS * sizeof *longer);   /* the keys made here */
    if (keys == NULL || klens == NULL || longer == NULL)
        api_fail("out of memory for the keys of kv_multi_get");
    size_t i = m->n, n = 0, made = 0;
    do {
        if (i > 0) {   /* key i - 1, then its key a byte longer */
            const model_entry *e = &m->e[--i];
            keys[n] = e->k;
            klens[n++] = e->kl;
            if (e->kl < KV_MAX_KEY) {
                uint8_t *k = longer[made++] = malloc(e->kl + 1);
                if (k == NULL)
                    api_fail("out of memory for a key of kv_multi_get");
                memcpy(k, e->k, e->kl);
                k[e->kl] = 0x00;
                keys[n] = k;
                klens[n++] = e->kl + 1;
            }
        } else {   /* the model holds nothing */
            keys[n] = "a";
            klens[n++] = 1;
        }
        if (n + 2 >= API_MULTI_KEYS || i == 0) {   /* the last key asked, again */
            keys[n] = keys[n - 1];
            klens[n] = klens[n - 1];
            n++;
            api_check_multi_get(d->db, m, n, keys, klens);
            while (made > 0)
                free(longer[--made]);
            n = 0;
        }
    } while (i > 0);
    api_expect_rc("kv_multi_get of no keys", kv_multi_get(d->db, 0, NULL, NULL, NULL, NULL, NULL),
                  KV_OK);
    free(keys);
    free(klens);
    free(longer);
}

/* kv_close must refuse while a snapshot or iterator is live, and leave the
 * database as it was. */
static void api_close_refused(api_db *d)
{
    api_expect_rc("kv_close with live handles", kv_close(d->db), KV_ERR_INVALID);
    api_get_entry(d, -1, 0);
}

static void api_ignore_line(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

void api_reopen(api_db *d, const kv_options *opt, int refuse_first, int tools)
{
    if (refuse_first && api_live(d))
        api_close_refused(d);
    api_free_handles(d);
    api_expect_rc("kv_close", kv_close(d->db), KV_OK);
    d->db = NULL;
    if (tools) {   /* a cleanly closed database is intact */
        api_expect_rc("kv_check", kv_check(d->dir, api_ignore_line, NULL), KV_OK);
        api_expect_rc("kv_dump", kv_dump(d->dir, api_ignore_line, NULL), KV_OK);
        api_expect_rc("kv_dump_with", kv_dump_with(d->dir, KV_DUMP_FRAMES, api_ignore_line,
                                                   NULL), KV_OK);
        int rc = kv_repair(d->dir, api_ignore_line, NULL);
        if (rc != KV_OK)   /* stages 01 and 02 have no kv_repair */
            api_expect_rc("kv_repair", rc, KV_ERR_INVALID);
    }
    d->opt = *opt;
    api_expect_rc("kv_open", kv_open(d->dir, &d->opt, &d->db), KV_OK);
    api_check_now(d, 0, 0);
}

void api_db_finish(api_db *d)
{
    for (unsigned i = 0; i < API_SLOTS; i++)
        if (d->iter[i])
            api_check_position(d->iter[i], &d->iter_view[i]->m, d->iter_pos[i]);
    api_check_now(d, 1, 0);
    kv_options opt = d->opt;
    opt.read_only = opt.strict_recovery = opt.sync = 0;
    opt.map_tables = KV_NO_MAP;   /* the checks read the tables the other way too: */
    opt.cache_bytes = 1;          /* positioned reads, every block from the file */
    api_reopen(d, &opt, 0, 0);
    api_expect_rc("kv_close", kv_close(d->db), KV_OK);
    api_view_unref(d->now_view);
    model_map_free(&d->now);
    *d = (api_db){0};
}

/* ---- calls kv.h refuses ------------------------------------------------------ */

void api_misuse(api_db *d, unsigned what)
{
    void *val = NULL;
    size_t vlen = 0;
    kv_db *second = NULL;
    kv_batch *b = NULL;
    const uint8_t *big = d->scratch;   /* KV_MAX_KEY + 1 bytes 'k' */
    if (what == 8) {   /* NULL where kv.h needs a pointer: refused, nothing written */
        char *text = NULL;
        api_expect_rc("kv_open with no db pointer", kv_open(d->dir, NULL, NULL),
                      KV_ERR_INVALID);
        api_expect_rc("kv_put(NULL db)", kv_put(NULL, "a", 1, "v", 1), KV_ERR_INVALID);
        api_expect_rc("kv_delete(NULL db)", kv_delete(NULL, "a", 1), KV_ERR_INVALID);
        api_expect_rc("kv_write(NULL db)", kv_write(NULL, NULL), KV_ERR_INVALID);
        api_expect_rc("kv_write of no batch", kv_write(d->db, NULL), KV_ERR_INVALID);
        api_expect_rc("kv_stats(NULL db)", kv_stats(NULL, &text), KV_ERR_INVALID);
        api_expect_rc("kv_stats with no text pointer", kv_stats(d->db, NULL), KV_ERR_INVALID);
        api_expect_rc("kv_flush(NULL)", kv_flush(NULL), KV_ERR_INVALID);
        api_expect_rc("kv_compact(NULL)", kv_compact(NULL), KV_ERR_INVALID);
        api_expect_rc("kv_set_background_rate(NULL db)", kv_set_background_rate(NULL, 0),
                      KV_ERR_INVALID);
        if (text != NULL)
            api_fail("kv_stats(NULL db) set its text");
        /* and an empty value given as NULL, which kv.h takes */
        if (api_took(d, "kv_put of an empty value given as NULL", kv_put(d->db, "a", 1, NULL, 0)))
            api_model_put(&d->now, "a", 1, "", 0);
        if (d->read_back)
            api_check_get(d->db, NULL, &d->now, "a", 1);
        return;
    }
    switch (what & 7) {
    case 0:
        api_expect_rc("kv_put of an empty key", kv_put(d->db, "k", 0, "v", 1), KV_ERR_INVALID);
        api_expect_rc("kv_delete of an empty key", kv_delete(d->db, "k", 0), KV_ERR_INVALID);
        api_expect_rc("kv_get of an empty key", kv_get(d->db, "k", 0, &val, &vlen),
                      KV_ERR_INVALID);
        break;
    case 1:
        api_expect_rc("kv_put of a key too long", kv_put(d->db, big, KV_MAX_KEY + 1, "v", 1),
                      KV_ERR_INVALID);
        api_expect_rc("kv_get of a key too long",
                      kv_get(d->db, big, KV_MAX_KEY + 1, &val, &vlen), KV_ERR_INVALID);
        break;
    case 2:   /* the length is checked before a byte of the value is read */
        api_expect_rc("kv_put of a value too long",
                      kv_put(d->db, "k", 1, big, (size_t)KV_MAX_VALUE + 1), KV_ERR_INVALID);
        break;
    case 3:
        api_expect_rc("kv_get_at(NULL)", kv_get_at(d->db, NULL, "a", 1, &val, &vlen),
                      KV_ERR_INVALID);
        kv_snapshot_free(d->db, NULL);
        kv_batch_free(NULL);
        api_expect_rc("kv_close(NULL)", kv_close(NULL), KV_OK);
        break;
    case 4:
        api_expect_rc("a second kv_open", kv_open(d->dir, NULL, &second), KV_ERR_BUSY);
        break;
    case 5:
        if (api_live(d)) {
            api_close_refused(d);
        } else {
            api_snapshot_new(d, 0);
            api_close_refused(d);
            api_snapshot_free(d, 0);
        }
        break;
    case 6:   /* refused items leave the batch empty */
        api_expect_rc("kv_batch_new", kv_batch_new(&b), KV_OK);
        api_expect_rc("kv_batch_put of an empty key", kv_batch_put(b, "k", 0, "v", 1),
                      KV_ERR_INVALID);
        api_expect_rc("kv_batch_delete of a key too long",
                      kv_batch_delete(b, big, KV_MAX_KEY + 1), KV_ERR_INVALID);
        api_expect_rc("kv_batch_put of a value too long",
                      kv_batch_put(b, "k", 1, big, (size_t)KV_MAX_VALUE + 1), KV_ERR_INVALID);
        api_took(d, "kv_write of a batch left empty", kv_write(d->db, b));
        kv_batch_free(b);
        break;
    default:
        api_check_now(d, 0, 1);
    }
    if (second != NULL)
        api_fail("a second kv_open of an open database succeeded");
}
