/*
 * kvg_model.h: what an engine should answer: an in-memory ordered map,
 * the writes sent since the last point where the engine's state was known
 * (the history), and the rules for what a crash may leave.
 *
 * The history is base (a known state) and writes w[0..n), each a list of
 * pairs applied together (an MSET is one write, or, when batches may be
 * torn (durability none), one write per pair).  cur is base with every
 * write applied: what a read sent now must see.  acked writes got their
 * reply; durable ones must survive any crash (they were acknowledged
 * before a clean stop).
 *
 * After a crash the engine holds some state R.  Under the prefix rule, R
 * must be the state after w[0..p) for some p in [lo, n]: nothing
 * invented, nothing lost out of order (kvg_model_match_prefix).  Under
 * the weaker rule for a power cut without durability, every key of R
 * must hold a value that was once written to it (kvg_model_check_invented).
 * Either way the history then starts again from R (kvg_model_rebase).
 *
 * REQUIRES: keys and values are byte strings; the map is kept sorted in
 * unsigned byte order, shorter first (the order RANGE promises).
 */
#ifndef KVGRADE_KVG_MODEL_H
#define KVGRADE_KVG_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "kvg_resp.h"

typedef struct kvg_map {
    size_t n, cap;
    kvg_buf *keys, *vals;
} kvg_map;

void kvg_map_free(kvg_map *m);
void kvg_map_copy(kvg_map *to, const kvg_map *from);
/* The index of key, or -1 (and *at: where it would go). */
long kvg_map_find(const kvg_map *m, kvg_buf key, size_t *at);
void kvg_map_put(kvg_map *m, kvg_buf key, kvg_buf val);   /* copies */
int  kvg_map_del(kvg_map *m, kvg_buf key);                /* 1 if it was there */
int  kvg_map_eq(const kvg_map *a, const kvg_map *b);
/* RANGE start end limit on the map, as the reply an engine must give. */
kvg_reply kvg_map_range(const kvg_map *m, kvg_buf start, kvg_buf end, size_t limit);

typedef struct kvg_pair {
    kvg_buf key, val;
    int del;
} kvg_pair;

typedef struct kvg_write {
    size_t n;
    kvg_pair *pairs;
    long step;          /* the step (kvg_run.h) that sent it */
} kvg_write;

typedef struct kvg_model {
    kvg_map base, cur;
    kvg_write *w;
    size_t n, cap;
    size_t acked, durable;
    int split_batches;  /* an MSET may be half applied after a crash */
    int empty_key;      /* -1 not known yet, 0 refused, 1 stored like any key */
    kvg_map ever;       /* key -> the 64-bit hashes of every value written to it */
} kvg_model;

void kvg_model_init(kvg_model *m, int split_batches);
void kvg_model_free(kvg_model *m);

/* What a request is, for the model. */
enum { KVG_Q_READ, KVG_Q_WRITE, KVG_Q_ERROR, KVG_Q_EMPTYKEY };
/* Classifies the request and, for reads and writes, sets *want to the
 * reply the engine must give (a write is then added to the history and
 * *first, *count say which writes it became).  KVG_Q_ERROR: any error
 * reply is right (an unknown command).  KVG_Q_EMPTYKEY: a write of the
 * empty key before the engine showed whether it refuses it: nothing is
 * applied; call kvg_model_empty_key with the reply. */
int kvg_model_expect(kvg_model *m, const kvg_req *r, kvg_reply *want, size_t *first,
                     size_t *count, long step);
/* The reply to a KVG_Q_EMPTYKEY write: an error (the engine refuses the
 * empty key) or the right reply (it stores it: then it is applied).
 * 1 if the reply is one of those, 0 if it is wrong. */
int kvg_model_empty_key(kvg_model *m, const kvg_req *r, const kvg_reply *got, long step);
/* The reply to a read of the empty key while the engine refuses it may
 * be an error or nil. */
int kvg_model_empty_read_ok(const kvg_model *m, const kvg_req *r, const kvg_reply *got);

/* The state after w[0..p). */
void kvg_model_state_at(const kvg_model *m, size_t p, kvg_map *out);
/* The largest p in [lo, n] with state(p) == R: 1 (and *p), or 0 and
 * *why, the closest prefix's differences, malloc'd. */
int  kvg_model_match_prefix(const kvg_model *m, const kvg_map *R, size_t lo, size_t *p,
                            char **why);
/* The acknowledged write R lacks, for saying why: of w[0..lo), each key's
 * last write whose pair R does not hold; the oldest such SET (its value's
 * bytes can be looked for), else the oldest such DEL.  1 and *w, *pair
 * (the pair of w[*w]); 0 if R holds every one. */
int  kvg_model_lost_write(const kvg_model *m, const kvg_map *R, size_t lo, size_t *w, size_t *pair);
/* 1 if every key of R holds a value once written to it; else 0 and *why. */
int  kvg_model_check_invented(const kvg_model *m, const kvg_map *R, char **why);
/* The history starts again from R (acked and durable: all of it). */
void kvg_model_rebase(kvg_model *m, const kvg_map *R);
/* Every key ever written (for the reads of a check), sorted. */
const kvg_map *kvg_model_keys(const kvg_model *m);

/* "w17 (acknowledged)" and the like, for messages. */
void kvg_model_describe_value(const kvg_model *m, kvg_buf key, const kvg_buf *val, char *out,
                              size_t cap);

#endif
