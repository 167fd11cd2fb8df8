/*
 * api_calls.h: the calls of the API fuzz harness, each made on the engine
 * through kv.h and on the model, and checked (api_check.h).
 *
 * fuzz/api_fuzz.c decodes the input into these calls; this module knows
 * nothing of bytes.  It keeps the model of the database as it is (`now`),
 * four snapshot slots and four iterator slots, each with the view (frozen
 * model) it must keep showing, and where each iterator stands in its view.
 *
 * Invariants:
 *   1. A write changes `now` only when the engine took it (KV_OK); a
 *      database opened read-only must refuse it (KV_ERR_INVALID).
 *   2. iter_pos[i] is an index into iter_view[i]'s model; its length (n)
 *      stands for "not valid", which is where a new iterator starts.
 *   3. now_view, when not NULL, is a copy of `now` (dropped by every write),
 *      shared by the snapshots and iterators made until the next write.
 * Every check that fails aborts (api_fail).
 */
#ifndef KV_FUZZ_API_CALLS_H
#define KV_FUZZ_API_CALLS_H

#include <stddef.h>
#include <stdint.h>

#include "api_check.h"
#include "kv.h"

#define API_SLOTS 4

typedef struct api_db {
    kv_db *db;
    const char *dir;
    kv_options opt;
    int read_back;               /* read every write back with kv_get */
    model_map now;
    api_view *now_view;
    const kv_snapshot *snap[API_SLOTS];
    api_view *snap_view[API_SLOTS];
    kv_iter *iter[API_SLOTS];
    api_view *iter_view[API_SLOTS];
    size_t iter_pos[API_SLOTS];
    kv_batch *batch;             /* between api_batch_begin and api_batch_write */
    model_map batch_after;       /* `now` with the batch's items applied */
    size_t batch_bytes;
    size_t written;              /* bytes of keys and values the engine took */
    const uint8_t *scratch;      /* KV_MAX_KEY + 1 bytes 'k', for api_misuse */
} api_db;

/* Opens a new database in dir (which must not exist yet) with opt.
 * REQUIRES: dir and scratch outlive d; scratch holds KV_MAX_KEY + 1 bytes
 * 'k' (made once by the caller); opt->read_only is 0. */
void api_db_open(api_db *d, const char *dir, const kv_options *opt, const uint8_t *scratch);

/* The end of a program: checks every live iterator where it stands and
 * everything now and at every snapshot, frees them, closes, opens again
 * read-write with the same sizes, its tables not mapped and a block cache
 * of one byte (KV_NO_MAP, cache_bytes 1: every block a scan or lookup
 * needs is read from the file with positioned reads, where every other
 * open maps the tables and caches 8 MiB), checks everything, closes,
 * frees d. */
void api_db_finish(api_db *d);

void api_put(api_db *d, const void *key, size_t klen, const void *val, size_t vlen);
void api_delete(api_db *d, const void *key, size_t klen);
/* A batch: begin (clear_first: it first holds a put, then kv_batch_clear),
 * any number of items, then kv_write. */
void api_batch_begin(api_db *d, int clear_first);
void api_batch_put(api_db *d, const void *key, size_t klen, const void *val, size_t vlen);
void api_batch_delete(api_db *d, const void *key, size_t klen);
void api_batch_write(api_db *d);
/* kv_compact, or (how & 1) kv_flush; how & 2: first
 * kv_set_background_rate of 1 GiB a second (KV_OK from stage 09, which
 * paces its background writes; KV_ERR_INVALID before), then of 0 (no
 * limit: KV_OK on every stage). */
void api_compact(api_db *d, unsigned how);

/* kv_get now (slot < 0) or kv_get_at snapshot slot (an empty slot: snap
 * NULL, which must be KV_ERR_INVALID). */
void api_get(api_db *d, int slot, const void *key, size_t klen);
/* kv_get, now (slot < 0) or at a live snapshot slot, of the entry
 * index % n of what the model holds there (of "a" if it holds nothing). */
void api_get_entry(api_db *d, int slot, unsigned index);

void api_snapshot_new(api_db *d, unsigned slot);
void api_snapshot_free(api_db *d, unsigned slot);

/* An iterator in slot (what was there is freed), made at snapshot slot
 * `at` (0 to 3; an empty slot: kv_iter_new_at(NULL)), or by kv_iter_new
 * (API_ITER_NEW) or kv_iter_new_at(NULL) (API_ITER_AT_NULL). */
#define API_ITER_NEW (-1)
#define API_ITER_AT_NULL (-2)
void api_iter_new(api_db *d, unsigned slot, int at);
void api_iter_free(api_db *d, unsigned slot);
typedef enum {
    API_SEEK_FIRST, API_SEEK_LAST, API_SEEK, API_NEXT, API_PREV
} api_move;
/* One move of the iterator in slot (made by kv_iter_new if the slot is
 * empty); key is API_SEEK's target. */
void api_iter_move(api_db *d, unsigned slot, api_move move, const void *key, size_t klen);

/* Closes (refused first while handles are live, if refuse_first), runs the
 * offline tools if `tools`, opens with opt, and checks everything. */
void api_reopen(api_db *d, const kv_options *opt, int refuse_first, int tools);

/* Everything now; at_snapshots: at each live snapshot too; stats: kv_stats. */
void api_check_now(api_db *d, int at_snapshots, int stats);

/* kv_multi_get of every key the model holds now, from the last to the
 * first (no lookup may count on the keys coming sorted), each followed by
 * its key with a byte 0x00 more (a key the model may or may not hold),
 * and the last key asked once more: in calls of at most API_MULTI_KEYS
 * keys, so that a call spans more than one of the engine's groups of
 * lookups.  Then a call of no keys (NULL arrays), which must be KV_OK. */
#define API_MULTI_KEYS 600
void api_multi_get_all(api_db *d);

/* A call that kv.h refuses, chosen by what&7 (0-7): empty keys; a key of
 * KV_MAX_KEY + 1; a value of KV_MAX_VALUE + 1; kv_get_at(NULL) and the NULL
 * no-ops; a second kv_open; kv_close with a handle live (a snapshot taken
 * for it if there is none); a batch of refused items; kv_stats.  Nothing
 * may change.  what = 8: NULL for the db of each call that takes one, for
 * kv_open's db pointer, kv_write's batch and kv_stats's text pointer (each
 * KV_ERR_INVALID); then kv_put of key "a" with an empty value given as
 * NULL, which kv.h takes. */
void api_misuse(api_db *d, unsigned what);

/* One transaction (api_txn.c), begun and ended in the call, at
 * KV_TXN_SERIALIZABLE if serializable, else KV_TXN_SNAPSHOT: it reads key
 * and another key (key with a byte more), then, by `what`, nothing else
 * happens, or a kv_put of a different value to key (API_TXN_MEDDLE_WRITTEN:
 * a conflict at both levels) or to the other key (API_TXN_MEDDLE_READ: a
 * conflict only when serializable); it reads both again (still its
 * snapshot), puts val at key, reads its own write, and commits (aborts:
 * API_TXN_ABORT).  The commit must answer what the model says (a database
 * opened read-only refuses it: KV_ERR_INVALID), and afterwards kv_get shows
 * all of the transaction or nothing. */
typedef enum {
    API_TXN_ALONE, API_TXN_MEDDLE_WRITTEN, API_TXN_MEDDLE_READ, API_TXN_ABORT
} api_txn_case;
void api_txn(api_db *d, int serializable, api_txn_case what, const void *key, size_t klen,
             const void *val, size_t vlen);

#endif
