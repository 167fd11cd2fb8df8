/*
 * lsm_iter_ahead.h: a scan's values read ahead, for a store that keeps
 * values elsewhere (value_store.h; stage 08's value log).  A kv_iter
 * stepping forward through entries kept elsewhere takes the next entries
 * of its user iterator into a window (their keys and table values
 * copied), asks the store for all their values at once
 * (value_store_load_many), and serves kv_iter_key and kv_iter_value from
 * the window until it is used up.  Nothing changes for a store that keeps
 * every value in place: no entry is kept elsewhere, no window is opened.
 *
 * Invariants, while the window is open (n > 0): entry `at` is the
 * iterator's current one; the user iterator stands on the entry after the
 * window's last (or is not valid); at < n.  A seek closes the window; a
 * step back closes it and puts the user iterator back where the window
 * stood.  A value whose read failed in the window is read again alone
 * when it is asked for, so kv_errmsg() names that value.
 */
#ifndef KV_LSM_ITER_AHEAD_H
#define KV_LSM_ITER_AHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "iterator.h"
#include "value_store.h"

/* At most this many entries, and about this many bytes of values; the
 * first window of a scan takes LSM_AHEAD_FIRST entries, each next one
 * twice as many as the one before (a seek then a few steps reads few
 * values it does not need; a long scan reads many at once). */
#define LSM_AHEAD_FIRST 4
#define LSM_AHEAD_ENTRIES 32
#define LSM_AHEAD_BYTES (256u << 10)

typedef struct ahead_entry {
    uint8_t *key;           /* a copy of the user key */
    size_t klen, kcap;
    uint8_t *val;           /* the table value (for an entry elsewhere: where) */
    size_t vlen, vcap;
    int elsewhere;
    value_buf loaded;       /* an entry elsewhere: its value, read */
    const uint8_t *lval;
    size_t llen;
    int rc;                 /* the read's result */
} ahead_entry;

typedef struct lsm_ahead {
    ahead_entry *e;         /* LSM_AHEAD_ENTRIES of them, allocated by the
                               first fill: an iterator that never reads
                               ahead (every iterator of a store keeping
                               values in place) allocates nothing */
    size_t n, at;           /* entries in the window (0: closed); the current */
    size_t next;            /* entries the next window takes (0: the first) */
    unsigned steps;         /* forward steps in a row, since a seek */
} lsm_ahead;

/* Whether a forward step from u's entry should open a window: the entry
 * is kept elsewhere, and the iterator has been stepping forward. */
int  lsm_ahead_wanted(lsm_ahead *a, iter *u);
/* Fills the window from u's entry on (u moves past what it takes) and
 * reads the values kept elsewhere together.  KV_OK (n may be 0: u was not
 * valid), or KV_ERR_NOMEM (the window closed, u past what it took). */
int  lsm_ahead_fill(lsm_ahead *a, iter *u, value_store *vs);
/* The window closed; for a step back, u back on the window's current
 * entry first. */
void lsm_ahead_close(lsm_ahead *a, iter *u, int put_back);
void lsm_ahead_free(lsm_ahead *a);

#endif
