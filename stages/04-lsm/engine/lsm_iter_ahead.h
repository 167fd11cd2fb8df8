/*
 * lsm_iter_ahead.h: a scan's values read ahead, for a store that keeps
 * values elsewhere (value_store.h; stage 08's value log).  A kv_iter
 * stepping forward through entries kept elsewhere takes the next entries
 * of its user iterator into a window (their keys and table values
 * copied), tells the store about all their values at once
 * (value_store_read_ahead: it starts their reads together, and reads now
 * those it could not read as fast alone), and serves kv_iter_key and
 * kv_iter_value from the window until it is used up.  A value the store
 * left is read, and checked, when kv_iter_value asks for it, once: a seek
 * followed by a few steps reads no value it does not return.  What the
 * store keeps to read a value left (value_buf.held: its file, held) is let
 * go when the window moves on, closes or is freed.  Nothing
 * changes for a store that keeps every value in place: no entry is kept
 * elsewhere, no window is opened.
 *
 * Invariants, while the window is open (n > 0): entry `at` is the
 * iterator's current one; the user iterator stands on the entry after the
 * window's last (or is not valid); at < n.  A seek closes the window; a
 * step back closes it and puts the user iterator back where the window
 * stood.  A value not read in the window (left for later, or its read
 * failed) is read alone when it is asked for, so kv_errmsg() names that
 * value.
 */
#ifndef KV_LSM_ITER_AHEAD_H
#define KV_LSM_ITER_AHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "iterator.h"
#include "value_store.h"

/* At most this many entries, and about this many bytes of values; the
 * first window of a scan takes LSM_AHEAD_FIRST entries (or the store's
 * value_store_ahead_min, if more), each next one twice as many as the one
 * before (a seek then a few steps takes few entries it does not need; a
 * long scan tells the store about many at once). */
#define LSM_AHEAD_FIRST 4
#define LSM_AHEAD_ENTRIES 32
#define LSM_AHEAD_BYTES (256u << 10)

typedef struct ahead_entry {
    uint8_t *key;           /* a copy of the user key */
    size_t klen, kcap;
    uint8_t *val;           /* the table value (for an entry elsewhere: where) */
    size_t vlen, vcap;
    int elsewhere;
    value_buf loaded;       /* an entry elsewhere: its value, once read */
    const uint8_t *lval;    /* (into loaded) */
    size_t llen;
    int read;               /* lval holds the value, read and checked */
} ahead_entry;

typedef struct lsm_ahead {
    ahead_entry *e;         /* LSM_AHEAD_ENTRIES of them, allocated by the
                               first fill: an iterator that never reads
                               ahead (every iterator of a store keeping
                               values in place) allocates nothing */
    size_t n, at;           /* entries in the window (0: closed); the current */
    size_t next;            /* entries the next window takes (0: the first) */
    size_t min;             /* value_store_ahead_min (0: not asked yet) */
    unsigned steps;         /* forward steps in a row, since a seek */
} lsm_ahead;

/* Whether a forward step from u's entry should open a window: the entry
 * is kept elsewhere, and the iterator has been stepping forward (for at
 * least LSM_AHEAD_AFTER steps, and as many as vs's ahead_min). */
int  lsm_ahead_wanted(lsm_ahead *a, iter *u, value_store *vs);
/* Fills the window from u's entry on (u moves past what it takes) and
 * tells the store about the values kept elsewhere together.  KV_OK (n may be 0: u was not
 * valid), or KV_ERR_NOMEM (the window closed, u past what it took). */
int  lsm_ahead_fill(lsm_ahead *a, iter *u, value_store *vs);
/* The current entry's value (*vlen bytes, valid until the window moves
 * on), read now if the window has not read it.  NULL and *rc the read's
 * error (naming the value) if it could not be read, else *rc KV_OK.
 * REQUIRES: n > 0. */
const void *lsm_ahead_value(lsm_ahead *a, value_store *vs, size_t *vlen, int *rc);
/* The window closed (what vs keeps for its values not read let go); for
 * a step back, u back on the window's current entry first. */
void lsm_ahead_close(lsm_ahead *a, iter *u, value_store *vs, int put_back);
void lsm_ahead_free(lsm_ahead *a, value_store *vs);

#endif
